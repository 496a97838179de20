"""Trajectory shape (turning, wiggle, reversals) and interaction (nearest person, closing speed) per snippet.

Headings come from a smoothed velocity, the displacement between the rows two
steps before and two steps after a row of the same track (divided by the box
height and the frames between them), so that a standing person's box jitter
does not read as turning. Distances between people are between box centres,
in units of the two boxes' mean height.
"""

from __future__ import annotations

import numpy as np

from ._rows import TrackRows

SHAPE_FEATURE_NAMES = (
    "turning_max",
    "wiggle_max",
    "reversals_max",
    "nearest_person_min",
    "closing_speed_max",
)
ALONE_DISTANCE = 10.0  # box heights: "nobody near" (also the value of a snippet with at most one person)
MIN_PATH = 0.2  # box heights travelled in a snippet before its wiggle counts
MAX_PAIR_GAP = 5  # frames between two sightings of a pair for a closing speed


def _turning(rows: TrackRows, stationary_speed: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: heading change since the previous row (radians per frame), reversal flag, and where defined."""
    vx, vy, defined = rows.smoothed_velocity()
    moving = defined & (np.hypot(vx, vy) >= stationary_speed)
    prev_moving = np.r_[False, moving[:-1]] & rows.has_prev
    both = moving & prev_moving
    px, py = np.r_[0.0, vx[:-1]], np.r_[0.0, vy[:-1]]
    angle = np.abs(np.arctan2(vx * py - vy * px, vx * px + vy * py))  # in [0, pi]
    turn = np.where(both, angle / rows.gap, 0.0)
    reversal = both & (angle > np.pi / 2)
    return turn, reversal.astype(np.float64), both


def _wiggle(rows: TrackRows) -> tuple[np.ndarray, np.ndarray]:
    """Per person: ``1 - net displacement / path length`` over its rows in the snippet (moving people)."""
    people = rows.people
    step = np.where(rows.has_prev & rows.ok_h,
                    np.hypot(rows.cx - np.r_[0.0, rows.cx[:-1]], rows.cy - np.r_[0.0, rows.cy[:-1]]) / rows.safe_h,
                    0.0)
    first_in_person = np.zeros(len(rows), bool)
    first_in_person[people.starts] = True
    path = people.total(step, ~first_in_person)
    if not len(people):
        return np.zeros(0), np.zeros(0, bool)
    last = np.r_[people.starts[1:] - 1, len(rows) - 1]
    first = people.starts
    net = np.hypot(rows.cx[last] - rows.cx[first], rows.cy[last] - rows.cy[first]) / rows.safe_h[last]
    defined = path >= MIN_PATH
    return np.where(defined, 1 - np.minimum(net / np.where(defined, path, 1.0), 1.0), 0.0), defined


def _pairs(rows: TrackRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of rows in the same frame of the same video: row indices ``(a, b)`` and distance."""
    order = np.lexsort((rows.frame, rows.video))
    key = rows.video[order] * (2**31) + rows.frame[order]
    a_parts, b_parts = [], []
    d = 1
    while d < len(order):
        same = key[d:] == key[:-d]
        if not same.any():
            break
        a_parts.append(order[:-d][same])
        b_parts.append(order[d:][same])
        d += 1
    if not a_parts:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    scale = (rows.h[a] + rows.h[b]) / 2
    dist = np.hypot(rows.cx[a] - rows.cx[b], rows.cy[a] - rows.cy[b]) / np.where(scale > 0, scale, 1.0)
    return a, b, dist


def _closing_speed(rows: TrackRows, a: np.ndarray, b: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Per row: the fastest rate (box heights per frame) at which another person gets closer."""
    out = np.zeros(len(rows))
    if not len(a):
        return out
    lo = np.minimum(rows.track[a], rows.track[b])
    hi = np.maximum(rows.track[a], rows.track[b])
    order = np.lexsort((rows.frame[a], hi, lo, rows.video[a]))
    video, lo, hi = rows.video[a][order], lo[order], hi[order]
    frame, dist, ra, rb = rows.frame[a][order], dist[order], a[order], b[order]
    same = (video[1:] == video[:-1]) & (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])
    gap = frame[1:] - frame[:-1]
    ok = same & (gap <= MAX_PAIR_GAP)
    approach = np.where(ok, (dist[:-1] - dist[1:]) / np.maximum(gap, 1), 0.0)
    np.maximum.at(out, ra[1:][ok], approach[ok])
    np.maximum.at(out, rb[1:][ok], approach[ok])
    return out


def shape_features(rows: TrackRows, stationary_speed: float) -> np.ndarray:
    """The shape and interaction features of every snippet, ``(n_snippets, 5)``.

    Per person (its rows in the snippet): mean turning rate, wiggle, number
    of reversals, mean distance to the nearest other person (``ALONE_DISTANCE``
    when alone) and largest closing speed; then the largest over the
    snippet's people (the smallest for the nearest person; 0, or
    ``ALONE_DISTANCE``, without people).
    """
    people = rows.people
    out = np.zeros((rows.n_snippets, len(SHAPE_FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(SHAPE_FEATURE_NAMES)}
    turn, reversal, both = _turning(rows, stationary_speed)
    per_person, defined = people.mean(turn, both)
    out[:, col["turning_max"]] = people.snippet_max(per_person, defined)
    wiggle, defined = _wiggle(rows)
    out[:, col["wiggle_max"]] = people.snippet_max(wiggle, defined)
    reversals = people.total(reversal, both)
    out[:, col["reversals_max"]] = people.snippet_max(reversals, np.ones(len(people), bool))
    a, b, dist = _pairs(rows)
    nearest = np.full(len(rows), ALONE_DISTANCE)
    np.minimum.at(nearest, a, dist)
    np.minimum.at(nearest, b, dist)
    per_person, defined = people.mean(nearest, np.ones(len(rows), bool))
    out[:, col["nearest_person_min"]] = people.snippet_min(per_person, defined, ALONE_DISTANCE)
    closing = people.maximum(_closing_speed(rows, a, b, dist), np.ones(len(rows), bool))
    out[:, col["closing_speed_max"]] = people.snippet_max(closing, np.ones(len(people), bool))
    return out
