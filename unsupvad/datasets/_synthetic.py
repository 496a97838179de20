"""Synthetic surveillance videos: walking people, snippet features and planted anomalies.

The generator simulates what a pose tracker and a snippet feature extractor
would return for a fixed camera over a pedestrian area; no pixels are drawn.
Everything is vectorised over frames, so a few hundred people render in a
fraction of a second.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .._video import Tracks, Video
from .._videoset import VideoSet

ANOMALY_KINDS = ("running", "falling", "loitering", "wrong_way")

_REF_FPS = 24.0
_REF_HEIGHT = 0.18  # person height, as a share of the frame height, at which speeds are quoted
_MIN_VISIBLE = 0.6  # share of a skeleton's box inside the frame for it to be detected
_DROPOUT = 0.01  # share of detections missed outside anomalies
_MIN_EVENT = 16
_EVENT_LENGTHS = {"running": (24, 72), "falling": (48, 120), "loitering": (48, 160), "wrong_way": (48, 120)}
_EVENT_MIN = {"running": 16, "falling": 40, "loitering": 24, "wrong_way": 40}

# gait style columns: leg swing, arm swing, knee flexion, elbow flexion, forward lean (rad),
# gait cycle length (in body heights), extra phase per frame (stepping in place)
LEG, ARM, KNEE, ELBOW, LEAN, CYCLE, STEP = range(7)
_WALK = np.array([0.36, 0.30, 0.40, 0.25, 0.03, 0.50, 0.0])
_RUN = np.array([0.70, 0.75, 1.20, 1.40, 0.22, 0.80, 0.0])
_LIE = np.array([0.05, 0.20, 0.30, 0.60, 0.00, 0.50, 0.0])
_SHUFFLE = np.array([0.18, 0.12, 0.25, 0.35, 0.02, 0.50, 2 * np.pi / 36])


# ---------------------------------------------------------------------- scene
@dataclass
class _Scene:
    """A fixed camera: frame size, perspective and the walkways people follow."""

    width: float
    height: float
    fps: float
    headings: np.ndarray
    centres: np.ndarray
    half_widths: np.ndarray
    weights: np.ndarray
    h_far: float
    h_near: float
    feature_offset: np.ndarray = field(repr=False)

    def person_height(self, y: np.ndarray, scale: float) -> np.ndarray:
        """Skeleton height in pixels of a person whose hips are at image row ``y``."""
        frac = np.clip(y / self.height, -0.3, 1.3)
        return scale * np.maximum(self.h_far + (self.h_near - self.h_far) * frac, 0.04 * self.height)


def _angle_gap(a: float, b: float) -> float:
    return abs((a - b + np.pi) % (2 * np.pi) - np.pi)


def _flow_headings(rng: np.random.Generator, n_flows: int) -> np.ndarray:
    """Headings of the dominant flows: distinct, and no flow runs against another."""
    headings: list[float] = []
    while len(headings) < n_flows:
        theta = rng.uniform(-np.pi, np.pi)
        if all(_angle_gap(theta, h) > np.radians(40) and _angle_gap(theta, h + np.pi) > np.radians(50)
               for h in headings):
            headings.append(theta)
    return np.array(headings)


def _make_scene(rng: np.random.Generator, frame_size, fps: float, latent: np.ndarray) -> _Scene:
    width, height = float(frame_size[0]), float(frame_size[1])
    n_flows = int(rng.integers(1, 4))
    centres = np.column_stack([rng.uniform(0.3, 0.7, n_flows) * width,
                               rng.uniform(0.35, 0.75, n_flows) * height])
    offset = rng.normal(0.0, 0.6, latent.shape[0]) @ latent
    return _Scene(
        width=width, height=height, fps=fps,
        headings=_flow_headings(rng, n_flows),
        centres=centres,
        half_widths=rng.uniform(0.08, 0.25, n_flows) * height,
        weights=rng.dirichlet(np.full(n_flows, 3.0)),
        h_far=rng.uniform(0.10, 0.13) * height,
        h_near=rng.uniform(0.24, 0.30) * height,
        feature_offset=offset,
    )


def _line_span(point: np.ndarray, u: np.ndarray, scene: _Scene, margin: float) -> tuple[float, float] | None:
    """Parameters where the line ``point + s u`` enters and leaves the frame grown by ``margin``."""
    lo, hi = -np.inf, np.inf
    for axis, size in ((0, scene.width), (1, scene.height)):
        if abs(u[axis]) < 1e-9:
            if not -margin <= point[axis] <= size + margin:
                return None
            continue
        a = (-margin - point[axis]) / u[axis]
        b = (size + margin - point[axis]) / u[axis]
        lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return (lo, hi) if hi > lo else None


# ---------------------------------------------------------------------- motion
@dataclass
class _Person:
    """Per-person constants: body size, walking speed and style."""

    scale: float
    speed: float
    style: np.ndarray
    sway: float
    sway_period: float


def _make_person(rng: np.random.Generator) -> _Person:
    style = _WALK * np.r_[rng.uniform(0.85, 1.15, 4), rng.uniform(0.5, 1.5), rng.uniform(0.9, 1.1), 1.0]
    return _Person(scale=rng.uniform(0.9, 1.1), speed=rng.uniform(1.0, 2.0), style=style,
                   sway=rng.uniform(0.01, 0.04), sway_period=rng.uniform(50, 150))


@dataclass
class _Track:
    """One person's motion over consecutive frames (local frame 0 = video frame ``start``)."""

    root: np.ndarray
    facing: np.ndarray
    style: np.ndarray
    tilt: np.ndarray
    scale: float
    start: int = 0
    event: tuple[int, int, str] | None = None
    points: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.root)


def _concat(parts: list[tuple], scale: float) -> _Track:
    root, facing, style, tilt = (np.concatenate(x) for x in zip(*parts, strict=True))
    return _Track(root=root, facing=facing, style=style, tilt=tilt, scale=scale)


def _exprel(x: np.ndarray) -> np.ndarray:
    """``expm1(x) / x``, equal to 1 at 0."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-8
    return np.where(small, 1.0 + x / 2, np.expm1(x) / np.where(small, 1.0, x))


def _speed_coeffs(p0: np.ndarray, u: np.ndarray, person: _Person, scene: _Scene) -> tuple[float, float]:
    """``(alpha, beta)`` with speed ``alpha + beta * s`` after ``s`` pixels along ``u`` (perspective)."""
    k = person.speed * person.scale * (_REF_FPS / scene.fps) / (_REF_HEIGHT * scene.height)
    slope = (scene.h_near - scene.h_far) / scene.height
    return k * (scene.h_far + slope * p0[1]), k * slope * u[1]


def _travel(p0, theta, time_warp, person: _Person, scene: _Scene, rng) -> np.ndarray:
    """Hip positions after each frame of walking from ``p0`` along ``theta``.

    ``time_warp`` is the cumulative speed factor (``arange(1, n + 1)`` for a
    plain walk). Speed scales with the person's apparent height, which grows
    linearly with the image row, so the path length has the closed form of
    ``ds/dt = f(t) (alpha + beta s)``.
    """
    u = np.array([np.cos(theta), np.sin(theta)])
    alpha, beta = _speed_coeffs(p0, u, person, scene)
    s = alpha * time_warp * _exprel(beta * time_warp)
    t = np.arange(1, len(time_warp) + 1)
    phase = rng.uniform(0, 2 * np.pi)
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    sway = person.sway * h0 * (np.sin(2 * np.pi * t / person.sway_period + phase) - np.sin(phase))
    normal = np.array([-u[1], u[0]])
    return p0 + s[:, None] * u + sway[:, None] * normal


def _walk(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    root = _travel(p0, theta, np.arange(1, n + 1, dtype=np.float64), person, scene, rng)
    return root, np.full(n, theta), np.tile(person.style, (n, 1)), np.zeros(n)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _ramp(n: int, n_ramp: int) -> np.ndarray:
    """0 → 1 over ``n_ramp`` frames, 1, then back to 0 over the last ``n_ramp`` frames."""
    t = np.arange(n, dtype=np.float64)
    return np.minimum(_smoothstep((t + 1) / n_ramp), _smoothstep((n - t) / n_ramp))


def _run(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Running at 3-5 times the walking speed, with a faster, wider gait and a forward lean."""
    mix = _ramp(n, min(8, max(1, n // 4)))
    factor = 1.0 + (rng.uniform(3.0, 5.0) - 1.0) * mix
    root = _travel(p0, theta, np.cumsum(factor), person, scene, rng)
    style = person.style + mix[:, None] * (_RUN - person.style)
    return root, np.full(n, theta), style, np.zeros(n)


def _fall(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Falling to the ground (rotation to horizontal), lying still, then getting up."""
    n_fall = min(int(rng.integers(10, 18)), n // 4)
    n_up = min(int(rng.integers(18, 30)), n // 3)
    n_lie = n - n_fall - n_up
    side = np.sign(np.cos(theta)) if abs(np.cos(theta)) > 0.3 else rng.choice([-1.0, 1.0])
    down = side * rng.uniform(1.35, 1.5)
    t = np.arange(n, dtype=np.float64)
    tilt = np.where(t < n_fall, down * ((t + 1) / n_fall) ** 2, down)
    tilt = np.where(t >= n_fall + n_lie, down * (1 - _smoothstep((t - n_fall - n_lie + 1) / n_up)), tilt)
    tilt[n_fall:n_fall + n_lie] += rng.normal(0, 0.01, n_lie).cumsum() * 0.3
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    u = np.array([np.cos(theta), np.sin(theta)])
    slide = 0.15 * h0 * _smoothstep((t + 1) / n_fall)
    root = p0 + slide[:, None] * u + rng.normal(0, 0.3, (n, 2))
    lying = np.clip(np.abs(tilt) / abs(down), 0, 1)[:, None]
    style = person.style + lying * (_LIE - person.style)
    return root, np.full(n, theta), style, tilt


def _ar1(rng, n: int, rho: float, std: float, size=None) -> np.ndarray:
    """A stationary AR(1) series with coefficient ``rho`` and marginal ``std``."""
    shape = (n,) if size is None else (n, size)
    noise = rng.normal(0.0, std * math.sqrt(1 - rho * rho), shape)
    noise[0] /= math.sqrt(1 - rho * rho)
    return lfilter([1.0], [1.0, -rho], noise, axis=0)


def _wrap_to(angle: np.ndarray, target: float) -> np.ndarray:
    return target + (angle - target + np.pi) % (2 * np.pi) - np.pi


def _loiter(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Erratic loitering: a bounded random walk, turning in place, shuffling steps."""
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    vel = _ar1(rng, n, 0.9, 0.9 * h0 / (_REF_HEIGHT * scene.height) * (_REF_FPS / scene.fps), 2)
    offset = lfilter([1.0], [1.0, -0.97], vel, axis=0)
    root = p0 + offset
    facing = theta + np.cumsum(_ar1(rng, n, 0.9, 0.09))
    settle = _smoothstep((np.arange(n) - (n - 10)) / 10.0)
    facing = facing + settle * (_wrap_to(np.array([theta]), facing[-1])[0] - facing[-1])
    mix = _ramp(n, min(6, max(1, n // 4)))[:, None]
    style = person.style + mix * (_SHUFFLE - person.style)
    return root, facing, style, np.zeros(n)


def _turn(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Stopping and turning round on the spot."""
    facing = theta + np.pi * rng.choice([-1.0, 1.0]) * _smoothstep((np.arange(n) + 1) / n)
    root = p0 + rng.normal(0, 0.3, (n, 2))
    style = np.tile(person.style + 0.6 * (_SHUFFLE - person.style), (n, 1))
    return root, facing, style, np.zeros(n)


def _wrong_way(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Turning round, walking back against the flow, then turning round again."""
    n_turn = min(int(rng.integers(8, 15)), n // 4)
    first = _turn(p0, theta, n_turn, person, scene, rng)
    back = _walk(first[0][-1], theta + np.pi, n - 2 * n_turn, person, scene, rng)
    second = _turn(back[0][-1], theta + np.pi, n_turn, person, scene, rng)
    return tuple(np.concatenate(x) for x in zip(first, back, second, strict=True))


# ---------------------------------------------------------------------- skeleton
def _gait_phase(track: _Track, h: np.ndarray, rng) -> np.ndarray:
    step = np.r_[0.0, np.linalg.norm(np.diff(track.root, axis=0), axis=1)]
    rate = 2 * np.pi * step / (track.style[:, CYCLE] * h) + track.style[:, STEP]
    return rng.uniform(0, 2 * np.pi) + np.cumsum(rate)


def _limb(start_x, start_y, fwd, angle, length):
    return start_x + fwd * length * np.sin(angle), start_y + length * np.cos(angle)


def _skeleton(facing: np.ndarray, phase: np.ndarray, style: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    """OpenPose-18 joints in body heights, relative to the mid-hip (y down), shape (n, 18, 2)."""
    fwd, fy = np.cos(facing), np.sin(facing)
    lat = -(0.85 * fy + 0.15 * fwd)
    sin_p, cos_p = np.sin(phase), np.cos(phase)
    x = np.zeros((len(phase), 18))
    y = np.zeros((len(phase), 18))
    x[:, 0], y[:, 0] = 0.035 * fwd, -0.405
    y[:, 1] = -0.33
    for side, (sh, el, wr, hip, kn, an, eye, ear) in ((1, (2, 3, 4, 8, 9, 10, 14, 16)),
                                                     (-1, (5, 6, 7, 11, 12, 13, 15, 17))):
        x[:, sh], y[:, sh] = side * lat * 0.12, -0.31
        arm = -side * style[:, ARM] * sin_p
        x[:, el], y[:, el] = _limb(x[:, sh], y[:, sh], fwd, arm, 0.18)
        x[:, wr], y[:, wr] = _limb(x[:, el], y[:, el], fwd, arm + style[:, ELBOW], 0.16)
        x[:, hip] = side * lat * 0.09
        leg = side * style[:, LEG] * sin_p
        x[:, kn], y[:, kn] = _limb(x[:, hip], y[:, hip], fwd, leg, 0.245)
        flex = style[:, KNEE] * np.maximum(0.0, side * cos_p)
        x[:, an], y[:, an] = _limb(x[:, kn], y[:, kn], fwd, leg - flex, 0.245)
        x[:, eye], y[:, eye] = side * lat * 0.025 + 0.03 * fwd, -0.42
        x[:, ear], y[:, ear] = side * lat * 0.055 - 0.01 * fwd, -0.41
    upper = y < -0.05
    x = x + upper * (fwd * style[:, LEAN])[:, None] * -y
    y = y - (0.03 * style[:, LEG] * np.abs(cos_p))[:, None]
    gy = y - 0.49
    ct, st = np.cos(tilt)[:, None], np.sin(tilt)[:, None]
    return np.stack([x * ct - gy * st, x * st + gy * ct + 0.49], axis=-1)


def _render_many(tracks: list[_Track], scene: _Scene, rng) -> list[np.ndarray]:
    """Noisy keypoints ``(n, 18, 2)`` in pixels of every track, before clipping to the frame."""
    heights = [scene.person_height(t.root[:, 1], t.scale) for t in tracks]
    phase = np.concatenate([_gait_phase(t, h, rng) for t, h in zip(tracks, heights, strict=True)])
    h = np.concatenate(heights)[:, None, None]
    root = np.concatenate([t.root for t in tracks])
    body = _skeleton(np.concatenate([t.facing for t in tracks]), phase,
                     np.concatenate([t.style for t in tracks]), np.concatenate([t.tilt for t in tracks]))
    points = root[:, None, :] + h * body
    points += rng.normal(0.0, 0.006, points.shape) * h
    points += rng.normal(0.0, 0.4, (len(root), 1, 2))
    return np.split(points, np.cumsum([t.n for t in tracks])[:-1])


def _render(track: _Track, scene: _Scene, rng) -> np.ndarray:
    """Noisy keypoints ``(n, 18, 2)`` of one track."""
    return _render_many([track], scene, rng)[0]


def _roots_in_view(root: np.ndarray, scale: float, scene: _Scene) -> bool:
    """Cheap test before rendering: whole skeletons around these hip positions would fit in the frame."""
    h = scene.person_height(root[:, 1], scale)
    x, y = root[:, 0], root[:, 1]
    return bool(np.all((x > 0.3 * h) & (x < scene.width - 0.3 * h) & (y > 0.45 * h)
                       & (y < scene.height - 0.5 * h)))


def _inside(points: np.ndarray, scene: _Scene) -> bool:
    """Whether every joint of one skeleton ``(18, 2)`` lies inside the frame."""
    return bool((points.min(axis=0) >= 0).all() and points[:, 0].max() < scene.width
                and points[:, 1].max() < scene.height)


def _visible(points: np.ndarray, scene: _Scene) -> np.ndarray:
    """Rows whose skeleton box lies mostly inside the frame."""
    lo, hi = points.min(axis=1), points.max(axis=1)
    area = np.prod(np.maximum(hi - lo, 1e-6), axis=1)
    size = np.array([scene.width, scene.height])
    inside = np.prod(np.clip(np.minimum(hi, size) - np.maximum(lo, 0.0), 0.0, None), axis=1)
    return inside >= _MIN_VISIBLE * area


# ---------------------------------------------------------------------- people
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
_SEGMENT = {"running": _run, "falling": _fall, "loitering": _loiter, "wrong_way": _wrong_way}


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


def _crop_frames(track: _Track, lo: int, hi: int) -> _Track:
    """The track's local frames ``[lo, hi)`` (for tracks without an event)."""
    hi = max(lo, hi)
    return _Track(root=track.root[lo:hi], facing=track.facing[lo:hi], style=track.style[lo:hi],
                  tilt=track.tilt[lo:hi], scale=track.scale, start=track.start + lo)


# ---------------------------------------------------------------------- assembly
@dataclass
class _Rows:
    """Detections of one video, in video frames."""

    frame: np.ndarray
    track_id: np.ndarray
    points: np.ndarray
    speed: np.ndarray
    labels: np.ndarray
    events: list[dict]


def _detections(tracks: list[_Track], scene: _Scene, n_frames: int, rng) -> _Rows:
    """Visible, in-video detections of every track; track ids by first appearance."""
    frames, points, speeds, first = [], [], [], []
    labels = np.zeros(n_frames, np.uint8)
    events = []
    tracks = [t if t.points is not None else _crop_frames(t, max(0, -t.start), min(t.n, n_frames - t.start))
              for t in tracks]
    tracks = [t for t in tracks if t.n > 0]
    fresh = [t for t in tracks if t.points is None]
    for track, pts in zip(fresh, _render_many(fresh, scene, rng) if fresh else [], strict=True):
        track.points = pts
    visible = np.split(_visible(np.concatenate([t.points for t in tracks]), scene),
                       np.cumsum([t.n for t in tracks])[:-1]) if tracks else []
    for track, seen in zip(tracks, visible, strict=True):
        frame = track.start + np.arange(track.n)
        keep = seen & (frame >= 0) & (frame < n_frames)
        miss = rng.random(track.n) < _DROPOUT
        if track.event is not None:
            a, b, _ = track.event
            miss[a:b] = False
        keep &= ~miss
        if not keep.any():
            continue
        h = scene.person_height(track.root[:, 1], track.scale)
        speed = np.r_[0.0, np.linalg.norm(np.diff(track.root, axis=0), axis=1)] / h
        frames.append(frame[keep])
        points.append(track.points[keep])
        speeds.append(speed[keep])
        first.append(int(frame[keep][0]))
        if track.event is not None:
            a, b, kind = track.event
            labels[track.start + a:track.start + b] = 1
            events.append({"slot": len(first) - 1, "kind": kind,
                           "start": track.start + a, "stop": track.start + b})
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable") if first else np.zeros(0, int)
    for ev in events:
        ev["track_id"] = int(rank[ev.pop("slot")])
    track_id = [np.full(len(f), rank[i], np.int64) for i, f in enumerate(frames)]
    def cat(parts, shape):
        return np.concatenate(parts) if parts else np.zeros(shape)

    return _Rows(
        frame=cat(frames, (0,)).astype(np.int64),
        track_id=cat(track_id, (0,)).astype(np.int64),
        points=cat(points, (0, 18, 2)),
        speed=cat(speeds, (0,)),
        labels=labels,
        events=events,
    )


def _make_tracks(rows: _Rows, scene: _Scene, kind: str, rng) -> Tracks:
    xy = rows.points.copy()
    xy[..., 0] = np.clip(xy[..., 0], 0.0, scene.width - 1)
    xy[..., 1] = np.clip(xy[..., 1], 0.0, scene.height - 1)
    conf = rng.uniform(0.8, 1.0, xy.shape[:2])
    if kind == "keypoints":
        points = np.concatenate([xy, conf[..., None]], axis=-1)
        return Tracks(frame=rows.frame, track_id=rows.track_id, points=points, kind="keypoints",
                      layout="openpose18")
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    size = np.maximum(hi - lo, 1.0)
    return Tracks.from_boxes(rows.frame, rows.track_id, np.concatenate([lo, size], axis=1),
                             confidence=conf.mean(axis=1))


# ---------------------------------------------------------------------- features
@dataclass
class _FeatureModel:
    """Snippet features: a low-rank Gaussian with temporal drift, plus content and anomaly terms."""

    mean: np.ndarray
    latent: np.ndarray
    density: np.ndarray
    motion: np.ndarray
    anomaly: dict
    crops: np.ndarray | None
    noise: float = 0.25


def _unit(rng, n: int) -> np.ndarray:
    v = rng.normal(size=n)
    return v / np.linalg.norm(v)


def _make_feature_model(rng, n_features: int, n_crops: int | None) -> _FeatureModel:
    rank = min(8, n_features)
    common = _unit(rng, n_features)
    anomaly = {k: (common + 0.7 * _unit(rng, n_features)) for k in ANOMALY_KINDS}
    return _FeatureModel(
        mean=0.4 + 0.3 * np.abs(rng.normal(size=n_features)),
        latent=rng.normal(size=(rank, n_features)) / np.sqrt(n_features) * 1.5,
        density=_unit(rng, n_features),
        motion=_unit(rng, n_features),
        anomaly={k: v / np.linalg.norm(v) for k, v in anomaly.items()},
        crops=None if n_crops is None else rng.normal(0.0, 0.1, (n_crops, n_features)),
    )


def _snippet_stats(rows: _Rows, n_frames: int, snippet_len: int, n_snippets: int):
    """Mean people per frame and mean speed (body heights per frame) of every snippet."""
    snip = np.minimum(rows.frame // snippet_len, n_snippets - 1)
    frames_per = np.bincount(np.minimum(np.arange(n_frames) // snippet_len, n_snippets - 1),
                             minlength=n_snippets)
    count = np.bincount(snip, minlength=n_snippets)
    speed = np.bincount(snip, weights=rows.speed, minlength=n_snippets)
    return count / frames_per, np.divide(speed, count, out=np.zeros(n_snippets), where=count > 0)


def _features(model: _FeatureModel, scene: _Scene, rows: _Rows, n_frames: int, snippet_len: int,
              fps: float, rng) -> np.ndarray:
    n_snip = math.ceil(n_frames / snippet_len)
    rank = model.latent.shape[0]
    z = _ar1(rng, n_snip, 0.9, 1.0, rank) + rng.normal(0.0, 0.3, rank)
    people, speed = _snippet_stats(rows, n_frames, snippet_len, n_snip)
    walk = 0.018 * _REF_FPS / fps
    feats = (model.mean + scene.feature_offset + z @ model.latent
             + 0.35 * (people - 3.0)[:, None] * model.density
             + 0.5 * np.clip((speed - walk) / walk, -1.0, 4.0)[:, None] * model.motion
             + rng.normal(0.0, model.noise, (n_snip, len(model.mean))))
    feats = _plant_anomalies(feats, model, rows, n_frames, snippet_len, rng)
    if model.crops is not None:
        feats = feats[:, None, :] + model.crops + rng.normal(0.0, 0.1, (n_snip, *model.crops.shape))
    return feats.astype(np.float32)


def _plant_anomalies(feats, model: _FeatureModel, rows: _Rows, n_frames: int, snippet_len: int, rng):
    """Shift and enlarge the snippets that overlap an anomaly, in proportion to the overlap."""
    n_snip = len(feats)
    owner = np.minimum(np.arange(n_frames) // snippet_len, n_snip - 1)
    frames_per = np.bincount(owner, minlength=n_snip)
    for ev in rows.events:
        mask = np.zeros(n_frames)
        mask[ev["start"]:ev["stop"]] = 1.0
        share = np.bincount(owner, weights=mask, minlength=n_snip) / frames_per
        shift = rng.uniform(1.5, 3.0)
        feats = feats * (1.0 + 0.2 * share)[:, None] + (shift * share)[:, None] * model.anomaly[ev["kind"]]
    return feats


# ---------------------------------------------------------------------- public
def _int_range(value, name: str, minimum: int) -> tuple[int, int]:
    lo, hi = (value, value) if np.ndim(value) == 0 else tuple(value)
    lo, hi = int(lo), int(hi)
    if lo < minimum or hi < lo:
        raise ValueError(f"{name} must be an integer >= {minimum} or a range (low, high) with "
                         f"{minimum} <= low <= high, got {value!r}")
    return lo, hi


def _check_args(n_videos, anomaly_ratio, abnormal_video_fraction, tracks, features, n_features, n_crops,
                snippet_len, frame_size, fps) -> None:
    if isinstance(n_videos, bool) or not isinstance(n_videos, (int, np.integer)) or n_videos < 1:
        raise ValueError(f"n_videos must be a positive integer, got {n_videos!r}")
    if not 0.0 <= anomaly_ratio < 0.5:
        raise ValueError(f"anomaly_ratio must lie in [0, 0.5), got {anomaly_ratio!r}")
    if not 0.0 <= abnormal_video_fraction <= 1.0:
        raise ValueError(f"abnormal_video_fraction must lie in [0, 1], got {abnormal_video_fraction!r}")
    if anomaly_ratio > 0 and abnormal_video_fraction == 0:
        raise ValueError("anomaly_ratio > 0 needs abnormal_video_fraction > 0")
    if tracks not in ("keypoints", "boxes", None):
        raise ValueError(f"tracks must be 'keypoints', 'boxes' or None, got {tracks!r}")
    if not features and tracks is None:
        raise ValueError("nothing to generate: features=False and tracks=None")
    if n_features < 1 or (n_crops is not None and n_crops < 1) or snippet_len < 1:
        raise ValueError("n_features, n_crops and snippet_len must be positive integers")
    if len(frame_size) != 2 or min(frame_size) < 64:
        raise ValueError(f"frame_size must be (width, height), each at least 64 pixels, got {frame_size!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")


def _check_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in ANOMALY_KINDS]
    if not kinds or unknown:
        raise ValueError(f"anomaly_kinds must be a non-empty subset of {ANOMALY_KINDS}, got {kinds!r}")
    return kinds


def _abnormal_videos(n_videos: int, anomaly_ratio: float, fraction: float, rng) -> np.ndarray:
    if anomaly_ratio == 0:
        return np.zeros(0, np.int64)
    n_abnormal = int(round(fraction * n_videos))
    upper = n_videos if fraction >= 1 or n_videos == 1 else n_videos - 1
    n_abnormal = min(max(n_abnormal, 1), upper)
    return np.sort(rng.choice(n_videos, n_abnormal, replace=False))


def _budgets(lengths: np.ndarray, abnormal: np.ndarray, anomaly_ratio: float) -> dict[int, float]:
    """Abnormal frames wanted in each abnormal video, proportional to its length."""
    total = anomaly_ratio * lengths.sum()
    room = lengths[abnormal].sum()
    if total > 0.5 * room:
        raise ValueError(
            f"anomaly_ratio={anomaly_ratio} asks for {total:.0f} abnormal frames, more than half of the "
            f"{room} frames of the abnormal videos; raise abnormal_video_fraction"
        )
    return {int(v): total * lengths[v] / room for v in abnormal}


def _warn_if_fewer(videos: list[Video], abnormal: np.ndarray) -> None:
    n_with = sum(bool(v.labels.any()) for v in videos)
    if n_with < len(abnormal):
        warnings.warn(
            f"only {n_with} of the {len(abnormal)} abnormal videos received an anomaly: their share of "
            f"abnormal frames is shorter than the shortest event ({_MIN_EVENT} frames), so it was carried "
            "over to the next abnormal video; use longer videos, a larger anomaly_ratio or a smaller "
            "abnormal_video_fraction",
            UserWarning, stacklevel=3,
        )


def make_synthetic_videos(
    n_videos: int = 20,
    *,
    n_frames: int | tuple[int, int] = (240, 480),
    anomaly_ratio: float = 0.1,
    abnormal_video_fraction: float = 0.5,
    anomaly_kinds=ANOMALY_KINDS,
    tracks: str | None = "keypoints",
    features: bool = True,
    n_people: int | tuple[int, int] = (2, 5),
    n_features: int = 64,
    n_crops: int | None = None,
    n_scenes: int = 4,
    snippet_len: int = 16,
    frame_size: tuple[int, int] = (856, 480),
    fps: float = 24,
    return_events: bool = False,
    random_state=None,
):
    """Generate surveillance-like videos with person tracks, snippet features and planted anomalies.

    Each video shows a fixed camera over a pedestrian area (one of
    ``n_scenes`` scenes). Every scene has one to three walkways with a
    dominant walking direction each (no two opposite) and a linear
    perspective (people are about 11-13 % of the frame height at the top and
    24-30 % at the bottom). Pedestrians enter at the frame edges, walk along a
    walkway at 1-2 px/frame (at 18 % of the frame height, 24 fps; speeds scale
    with apparent size) with a slow lateral sway, and leave: track births and
    deaths. They come in ``n_people`` streams (when one person leaves, the
    next enters after a pause of up to 60 frames), so on average about
    0.8 ``n_people`` people are in view; about 1 % of their detections are
    missed (never during an anomaly).

    **Skeletons** are articulated stick figures with a walking gait: leg and
    arm swing, knee and elbow flexion and a small vertical bob, whose phase
    advances with the distance walked. The body's width and the swing's
    direction follow the walking direction (side view vs. frontal). Joints
    carry Gaussian noise of 0.6 % of the body height plus 0.4 px of detector
    jitter, and confidences uniform in [0.8, 1.0]. Keypoints are in
    OpenPose-18 order (0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7
    left, 8-10 right hip/knee/ankle, 11-13 left, 14/15 right/left eye, 16/17
    right/left ear), clipped to the frame; a person is detected while at
    least 60 % of their skeleton box is inside it. Boxes are the skeletons'
    bounding boxes ``(left, top, width, height)``.

    **Planted anomalies** (in ``round(abnormal_video_fraction * n_videos)``
    videos, at least one and, unless the fraction is 1, leaving at least one
    normal video): each is one person over one contiguous interval, and the
    intervals cover about ``anomaly_ratio`` of all frames of the set,
    spread over the abnormal videos in proportion to their length. The
    abnormal person is visible (detected) on every frame of the interval:

    ``'running'``
        Speed ramps up to 3-5 times walking speed, with a longer, faster
        stride, wide arm swing, bent elbows and knees and a forward lean.
    ``'falling'``
        The body rotates about the feet to (almost) horizontal in 10-17
        frames, lies still, then gets up in 18-29 frames (shorter phases for
        short events) and walks on.
    ``'loitering'``
        Erratic, bounded random-walk motion with short shuffling steps and
        turning on the spot, then walking on.
    ``'wrong_way'``
        The person stops, turns round, walks back against the dominant flow,
        then turns round again and walks on.

    Running and falling change speed or shape and are visible to simple
    kinematic cues; loitering and walking the wrong way are not, and need a
    model of the scene's normal motion.

    **Snippet features** (one per ``snippet_len`` frames, the last one
    partial: ``T = ceil(n_frames / snippet_len)``) imitate pooled clip
    features: positive mean, a scene-specific offset, a rank-8 latent factor
    drifting smoothly in time (AR(1), 0.9 per snippet), terms that follow the
    number of people in view and their speed, and isotropic noise (std 0.25).
    A snippet overlapping an anomaly by a share ``p`` of its frames is scaled
    by ``1 + 0.2 p`` and shifted by ``p * m`` (``m`` uniform in [1.5, 3]
    per event) along a fixed unit direction per anomaly kind (the kinds'
    directions share a common component). With ``n_crops`` each crop adds a
    fixed offset and its own noise.

    Parameters
    ----------
    n_videos : int, default=20
        Number of videos.
    n_frames : int or (int, int), default=(240, 480)
        Frames per video, or the inclusive range to draw it from.
    anomaly_ratio : float, default=0.1
        Share of all frames that are abnormal, in [0, 0.5).
    abnormal_video_fraction : float, default=0.5
        Share of videos that contain anomalies.
    anomaly_kinds : sequence of str, default=ANOMALY_KINDS
        Which kinds of anomaly to plant, dealt about equally often: a
        non-empty subset of ``('running', 'falling', 'loitering',
        'wrong_way')``. ``('running', 'falling')`` plants only anomalies of
        body motion and shape, the ones a pose model that normalises away
        position and direction (STG-NF) can see.
    tracks : {'keypoints', 'boxes'} or None, default='keypoints'
        Person tracks to attach: OpenPose-18 skeletons, their bounding boxes,
        or none.
    features : bool, default=True
        Whether to attach snippet features.
    n_people : int or (int, int), default=(2, 5)
        Number of pedestrian streams per video (on average about 0.8 times
        as many people are in view), or the inclusive range to draw it from.
        Anomalous people come on top of them.
    n_features : int, default=64
        Feature dimension D.
    n_crops : int, optional
        With it, features have shape ``(T, n_crops, D)`` instead of ``(T, D)``.
    n_scenes : int, default=4
        Number of distinct scenes (cameras) shared by the videos.
    snippet_len : int, default=16
        Frames per snippet.
    frame_size : (int, int), default=(856, 480)
        Frame width and height in pixels.
    fps : float, default=24
        Frame rate; speeds in pixels per frame scale with ``24 / fps``.
    return_events : bool, default=False
        Also return the table of planted anomalies.
    random_state : int, numpy Generator, RandomState or None
        Seed; the same seed gives identical videos. The people, their
        motion and the labels do not depend on which modalities are asked
        for: with one seed, ``tracks='boxes'`` gives the bounding boxes of
        the ``tracks='keypoints'`` skeletons, and ``features=False`` the
        same tracks.

    Returns
    -------
    X : VideoSet
        Videos ``synthetic_000``, ``synthetic_001``, ... with frame labels
        (1 exactly on the anomalous intervals), features and/or tracks, and
        their camera as ``scene`` (``scene_0`` ... ``scene_{n_scenes - 1}``).
    events : pandas.DataFrame
        Only with ``return_events=True``: one row per anomaly with columns
        ``video`` (name), ``track_id``, ``kind``, ``start`` and ``stop``
        (frames, stop exclusive).
    """
    _check_args(n_videos, anomaly_ratio, abnormal_video_fraction, tracks, features, n_features, n_crops,
                snippet_len, frame_size, fps)
    kinds = _check_kinds(anomaly_kinds)
    frames_range = _int_range(n_frames, "n_frames", 2 * snippet_len)
    people_range = _int_range(n_people, "n_people", 0)
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(np.iinfo(np.int32).max)
    rng, feature_rng, output_rng = (np.random.default_rng(s) for s in
                                    np.random.default_rng(random_state).integers(2**63, size=3))
    lengths = rng.integers(frames_range[0], frames_range[1] + 1, n_videos)
    abnormal = _abnormal_videos(n_videos, anomaly_ratio, abnormal_video_fraction, rng)
    budgets = _budgets(lengths, abnormal, anomaly_ratio) if len(abnormal) else {}
    model = _make_feature_model(feature_rng, n_features, n_crops)
    scenes = [_make_scene(rng, frame_size, fps, model.latent) for _ in range(max(1, min(n_scenes, n_videos)))]
    scene_of = rng.permutation(n_videos) % len(scenes)
    videos, events, carry, deck = [], [], 0.0, _KindDeck(rng, kinds)
    for v in range(n_videos):
        scene, n = scenes[scene_of[v]], int(lengths[v])
        people = _walkers(scene, n, int(rng.integers(people_range[0], people_range[1] + 1)), rng)
        actors = []
        if v in budgets:
            budget = int(round(budgets[v] + carry))
            actors = _place_events(_plan_events(budget, scene, deck, rng), n, rng)
        rows = _detections(people + actors, scene, n, rng)
        if v in budgets:
            carry = budgets[v] + carry - int(rows.labels.sum())
        name = f"synthetic_{v:03d}"
        feats = _features(model, scene, rows, n, snippet_len, fps, feature_rng) if features else None
        track_obj = _make_tracks(rows, scene, tracks, output_rng) if tracks is not None else None
        videos.append(Video(name=name, n_frames=n, fps=float(fps), frame_size=tuple(frame_size),
                            features=feats, tracks=track_obj, labels=rows.labels, snippet_len=snippet_len,
                            scene=f"scene_{scene_of[v]}"))
        events += [{"video": name, **ev} for ev in rows.events]
    _warn_if_fewer(videos, abnormal)
    X = VideoSet(videos)
    if not return_events:
        return X
    table = pd.DataFrame(events, columns=["video", "track_id", "kind", "start", "stop"])
    return X, table
