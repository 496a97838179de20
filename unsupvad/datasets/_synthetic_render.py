"""Rendering of the synthetic generator: skeletons, visibility, detections and the output tracks (poses or boxes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._video import Tracks
from ._synthetic_scene import (
    _DROPOUT,
    _MIN_VISIBLE,
    ARM,
    CYCLE,
    ELBOW,
    KNEE,
    LEAN,
    LEG,
    STEP,
    _crop_frames,
    _Scene,
    _Track,
)


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


# ---------------------------------------------------------------------- detections and output tracks
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
