"""Who appears in a synthetic video: pedestrian streams along the walkways, and the actors of planted anomalies."""

from __future__ import annotations

import math

import numpy as np

from ._synthetic_motion import _SEGMENT, _speed_coeffs, _walk
from ._synthetic_render import _inside, _render, _roots_in_view, _visible
from ._synthetic_scene import (
    _EVENT_LENGTHS,
    _EVENT_MIN,
    _MIN_EVENT,
    ANOMALY_KINDS,
    _concat,
    _line_span,
    _make_person,
    _Person,
    _Scene,
    _Track,
)


# ---------------------------------------------------------------------- paths
def _pick_lane(scene: _Scene, rng, flow: int | None = None) -> tuple[int, np.ndarray]:
    flow = int(rng.choice(len(scene.headings), p=scene.weights)) if flow is None else flow
    theta = scene.headings[flow]
    normal = np.array([-np.sin(theta), np.cos(theta)])
    point = scene.centres[flow] + normal * rng.uniform(-1, 1) * scene.half_widths[flow]
    return flow, point


def _entry(point, theta, scene: _Scene, scale: float) -> tuple[np.ndarray, float] | None:
    """Where a person walking through ``point`` along ``theta`` enters, and the path length to the exit."""
    u = np.array([np.cos(theta), np.sin(theta)])
    span = _line_span(point, u, scene, margin=0.12 * scene.h_near * scale)
    if span is None:
        return None
    return point + span[0] * u, span[1] - span[0]


def _crossing_frames(p0, theta, length: float, person: _Person, scene: _Scene) -> int:
    """Frames needed to walk ``length`` pixels from ``p0`` along ``theta``."""
    u = np.array([np.cos(theta), np.sin(theta)])
    alpha, beta = _speed_coeffs(p0, u, person, scene)
    if abs(beta) < 1e-12:
        return int(math.ceil(length / alpha))
    arg = 1 + beta * length / alpha
    if arg <= 0:
        return 10_000
    return int(math.ceil(math.log(arg) / beta))


def _frames_to_exit(point, theta, person: _Person, scene: _Scene) -> int:
    """Frames to walk from ``point`` along ``theta`` until out of view (at least one)."""
    u = np.array([np.cos(theta), np.sin(theta)])
    span = _line_span(point, u, scene, margin=0.12 * scene.h_near * person.scale)
    if span is None or span[1] <= 0:
        return 1
    return max(1, min(_crossing_frames(point, theta, span[1], person, scene) + 2, 5000))


def _walker(scene: _Scene, rng) -> _Track:
    """A normal pedestrian crossing the scene along one of the dominant flows."""
    person = _make_person(rng)
    for _ in range(20):
        flow, point = _pick_lane(scene, rng)
        theta = scene.headings[flow] + rng.normal(0.0, 0.1)
        found = _entry(point, theta, scene, person.scale)
        if found is not None:
            break
    else:
        raise RuntimeError("could not place a walker in the scene")
    start, length = found
    n = min(_crossing_frames(start, theta, length, person, scene), 5000)
    return _concat([_walk(start, theta, n, person, scene, rng)], person.scale)


def _walkers(scene: _Scene, n_frames: int, n_slots: int, rng) -> list[_Track]:
    """Pedestrians in ``n_slots`` independent streams: as one leaves, the next enters."""
    tracks = []
    for _ in range(n_slots):
        t = None
        while t is None or t < n_frames:
            track = _walker(scene, rng)
            track.start = -int(rng.integers(0, track.n)) if t is None else t
            tracks.append(track)
            t = track.start + track.n + int(rng.integers(0, 60))
    return tracks



# ---------------------------------------------------------------------- anomalies
def _actor(kind: str, length: int, scene: _Scene, rng) -> _Track | None:
    """A person who enters walking, behaves abnormally for ``length`` frames, then walks on.

    Returns None when the planned path does not keep the person in view
    during the anomaly, or does not show all of them when it starts.
    """
    person = _make_person(rng)
    flow, point = _pick_lane(scene, rng)
    theta = scene.headings[flow] + rng.normal(0.0, 0.1)
    found = _entry(point, theta, scene, person.scale)
    if found is None:
        return None
    entry, path = found
    crossing = _crossing_frames(entry, theta, path, person, scene)
    if crossing < 24:
        return None
    earliest = min(length, crossing - 9) if kind == "wrong_way" else 4
    n_pre = int(rng.integers(earliest, max(earliest + 1, crossing - 8)))
    pre = _walk(entry, theta, n_pre, person, scene, rng)
    middle = _SEGMENT[kind](pre[0][-1], theta, length, person, scene, rng)
    n_post = _frames_to_exit(middle[0][-1], theta, person, scene)
    post = _walk(middle[0][-1], theta, n_post, person, scene, rng)
    track = _concat([pre, middle, post], person.scale)
    a, b = n_pre, n_pre + length
    if not _roots_in_view(track.root[a:b], track.scale, scene):
        return None
    track.points = _render(track, scene, rng)
    visible = _visible(track.points, scene)
    if not visible[a:b].all() or not _inside(track.points[a], scene):
        return None
    track.event = (a, b, kind)
    return _crop_to_view(track, visible)


def _crop_to_view(track: _Track, visible: np.ndarray) -> _Track:
    """Drop the frames before the first and after the last visible one."""
    idx = np.flatnonzero(visible)
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    a, b, kind = track.event
    return _Track(root=track.root[lo:hi], facing=track.facing[lo:hi], style=track.style[lo:hi],
                  tilt=track.tilt[lo:hi], scale=track.scale, event=(a - lo, b - lo, kind),
                  points=track.points[lo:hi])


def _plan_actor(kind: str, length: int, scene: _Scene, rng) -> _Track | None:
    for attempt in range(40):
        track = _actor(kind, max(_EVENT_MIN[kind], int(length * 0.9 ** (attempt // 4))), scene, rng)
        if track is not None:
            return track
    return None


class _KindDeck:
    """Anomaly kinds dealt from shuffled decks, so that every kind is about equally frequent."""

    def __init__(self, rng, kinds: tuple[str, ...] = ANOMALY_KINDS):
        self.rng = rng
        self.kinds = kinds
        self.cards: list[str] = []

    def deal(self, remaining: int) -> str | None:
        """The next kind whose shortest event fits in ``remaining`` frames."""
        if not any(_EVENT_MIN[k] <= remaining for k in self.kinds):
            return None
        while True:
            if not self.cards:
                self.cards = [self.kinds[i] for i in self.rng.permutation(len(self.kinds))]
            for i, kind in enumerate(self.cards):
                if _EVENT_MIN[kind] <= remaining:
                    return self.cards.pop(i)
            self.cards = []


def _plan_events(budget: int, scene: _Scene, deck: _KindDeck, rng) -> list[_Track]:
    """Actors whose anomalies add up to about ``budget`` frames."""
    actors: list[_Track] = []
    failed: set[str] = set()
    remaining = budget
    for _ in range(60):
        kind = deck.deal(remaining) if len(actors) < 12 else None
        if kind is None:
            break
        low, high = _EVENT_LENGTHS[kind]
        length = int(min(remaining, rng.integers(low, high + 1)))
        if remaining - length < _MIN_EVENT:
            length = remaining
        track = _plan_actor(kind, length, scene, rng)
        if track is None:
            if kind not in failed:
                deck.cards.append(kind)
                failed.add(kind)
            continue
        actors.append(track)
        remaining -= track.event[1] - track.event[0]
    return actors


def _place_events(actors: list[_Track], n_frames: int, rng) -> list[_Track]:
    """Give the actors disjoint anomaly intervals in the video, in random order and gaps."""
    lengths = [t.event[1] - t.event[0] for t in actors]
    while actors and sum(lengths) > n_frames - 2 * len(actors):
        actors, lengths = actors[:-1], lengths[:-1]
    if not actors:
        return []
    order = rng.permutation(len(actors))
    free = n_frames - sum(lengths)
    gaps = np.floor(rng.dirichlet(np.ones(len(actors) + 1)) * free).astype(int)
    t = 0
    for gap, i in zip(gaps[:-1], order, strict=True):
        t += int(gap)
        actors[i].start = t - actors[i].event[0]
        t += lengths[i]
    return actors
