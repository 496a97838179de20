"""The synthetic generator's shared pieces: constants, the camera (scene), people and their tracks.

Used by :mod:`._synthetic_motion`, :mod:`._synthetic_render`,
:mod:`._synthetic_people`, :mod:`._synthetic_features` and
:mod:`._synthetic`, which assembles them into ``make_synthetic_videos``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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



# ---------------------------------------------------------------------- people and tracks
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


def _crop_frames(track: _Track, lo: int, hi: int) -> _Track:
    """The track's local frames ``[lo, hi)`` (for tracks without an event)."""
    hi = max(lo, hi)
    return _Track(root=track.root[lo:hi], facing=track.facing[lo:hi], style=track.style[lo:hi],
                  tilt=track.tilt[lo:hi], scale=track.scale, start=track.start + lo)
