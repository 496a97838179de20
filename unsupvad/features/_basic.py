"""The 16 basic motion features of a snippet: counts, speeds, accelerations, sizes, directions."""

from __future__ import annotations

import numpy as np

from ._rows import TrackRows, previous

BASIC_FEATURE_NAMES = (
    "people_mean",
    "people_max",
    "n_tracks",
    "births",
    "deaths",
    "speed_mean",
    "speed_max",
    "speed_quantile",
    "speed_deviation_max",
    "stationary_fraction",
    "accel_mean",
    "accel_max",
    "height_mean",
    "aspect_change_mean",
    "aspect_change_max",
    "direction_spread",
)


def grouped_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """``np.quantile(values[groups == g], q)`` (linear) for every group g; 0 for empty groups."""
    out = np.zeros(n_groups)
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    v = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    pos = starts[has] + q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, starts[has] + counts[has] - 1)
    out[has] = v[lo] + (pos - lo) * (v[hi] - v[lo])
    return out


def _people_counts(videos) -> tuple[np.ndarray, np.ndarray]:
    """Mean and max over each snippet's frames of the number of rows per frame."""
    n_frames = np.array([v.n_frames for v in videos], np.int64)
    frame_offsets = np.r_[0, np.cumsum(n_frames)]
    rows = [frame_offsets[v] + video.tracks.frame for v, video in enumerate(videos)]
    per_frame = np.bincount(np.concatenate(rows), minlength=int(frame_offsets[-1])).astype(np.float64)
    starts = np.concatenate([frame_offsets[v] + video.snippet_bounds()[0] for v, video in enumerate(videos)])
    lengths = np.diff(np.r_[starts, frame_offsets[-1]])
    return np.add.reduceat(per_frame, starts) / lengths, np.maximum.reduceat(per_frame, starts)


def basic_features(videos, rows: TrackRows, quantile: float, stationary_speed: float) -> np.ndarray:
    """The basic features of every snippet of every video, ``(sum T_v, 16)`` float64 (see the class)."""
    videos = list(videos)
    n_snippets = rows.n_snippets
    frame, snippet = rows.frame, rows.snippet
    ux, uy, speed, vel_def, gap = rows.ux, rows.uy, rows.speed, rows.vel_def, rows.gap
    acc_def = vel_def & previous(vel_def, False)
    accel = np.where(acc_def, np.hypot(ux - previous(ux), uy - previous(uy)) / gap, 0.0)
    aspect = rows.w / rows.safe_h
    asp_def = rows.has_prev & rows.ok_h & previous(rows.ok_h, False)
    aspect_change = np.where(asp_def, np.abs(aspect - previous(aspect)) / gap, 0.0)
    rel_height = rows.h / rows.frame_h if len(rows) else np.zeros(0)

    people = rows.people
    s_p, s_def = people.mean(speed, vel_def)
    a_p, a_def = people.mean(accel, acc_def)
    d_p, d_def = people.mean(aspect_change, asp_def)
    h_p, h_def = people.mean(rel_height, rows.ok_h)
    mux, _ = people.mean(ux, vel_def)
    muy, _ = people.mean(uy, vel_def)

    out = np.zeros((n_snippets, len(BASIC_FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(BASIC_FEATURE_NAMES)}
    if videos:
        out[:, col["people_mean"]], out[:, col["people_max"]] = _people_counts(videos)
    out[:, col["n_tracks"]] = np.bincount(people.snippet, minlength=n_snippets)
    born = rows.new_track & (frame > 0)
    died = rows.last_of_track & (frame < rows.last_frame)
    out[:, col["births"]] = np.bincount(snippet[born].astype(np.int64), minlength=n_snippets)
    out[:, col["deaths"]] = np.bincount(snippet[died].astype(np.int64), minlength=n_snippets)

    out[:, col["speed_mean"]] = people.snippet_mean(s_p, s_def)
    out[:, col["speed_max"]] = people.snippet_max(s_p, s_def)
    s_snip = people.snippet[s_def]
    out[:, col["speed_quantile"]] = grouped_quantile(s_p[s_def], s_snip, n_snippets, quantile)
    median = grouped_quantile(s_p[s_def], s_snip, n_snippets, 0.5)
    deviation = np.zeros(len(s_p))
    deviation[s_def] = np.abs(s_p[s_def] - median[s_snip])
    out[:, col["speed_deviation_max"]] = people.snippet_max(deviation, s_def)
    net_speed = np.hypot(mux, muy)
    out[:, col["stationary_fraction"]] = people.snippet_mean((net_speed < stationary_speed).astype(np.float64), s_def)

    out[:, col["accel_mean"]] = people.snippet_mean(a_p, a_def)
    out[:, col["accel_max"]] = people.snippet_max(a_p, a_def)
    out[:, col["height_mean"]] = people.snippet_mean(h_p, h_def)
    out[:, col["aspect_change_mean"]] = people.snippet_mean(d_p, d_def)
    out[:, col["aspect_change_max"]] = people.snippet_max(d_p, d_def)

    moving = s_def & (net_speed >= stationary_speed) & (net_speed > 0)
    safe_norm = np.where(moving, net_speed, 1.0)
    n_moving = np.bincount(people.snippet[moving], minlength=n_snippets)
    sum_x = np.bincount(people.snippet[moving], weights=(mux / safe_norm)[moving], minlength=n_snippets)
    sum_y = np.bincount(people.snippet[moving], weights=(muy / safe_norm)[moving], minlength=n_snippets)
    resultant = np.divide(np.hypot(sum_x, sum_y), n_moving, out=np.ones(n_snippets), where=n_moving > 0)
    out[:, col["direction_spread"]] = np.clip(1.0 - resultant, 0.0, 1.0)
    return out
