"""Painted videos: generated people drawn as stick figures into video files, for trying raw-video input.

:func:`unsupvad.datasets.make_synthetic_videos` makes skeleton tracks, not
pixels. :func:`paint_people` draws a video's skeletons (OpenPose-18 joints)
as thick dark stick figures with a round head on a fixed, lightly textured
background, and :func:`write_painted_videos` writes the result as video
files: footage with known people, known anomalies and known frame labels,
made without a download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._video import Video
from ..datasets._layouts import OPENPOSE18_BONES
from ._decode import write_video

NOSE = 0
_LIMB_WIDTH = 0.1
_TORSO_WIDTH = 0.22
_HEAD_RADIUS = 0.07
TORSO_BONES = ((1, 8), (1, 11), (8, 11))
"""Neck to hips and hip to hip: the skeleton layout joins the hips to the shoulders only; a drawn body needs a trunk."""
_PALETTE = np.array([[40, 40, 90], [90, 30, 30], [30, 75, 40], [70, 50, 20], [60, 25, 70], [25, 60, 75]], np.uint8)


def scene_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A static camera's empty scene: a light vertical gradient with a faint texture, ``(height, width, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(205.0, 165.0, height)[:, None, None]
    tint = np.array([1.0, 0.98, 0.93])[None, None, :]
    texture = rng.normal(0.0, 3.0, size=(height, width, 1))
    return np.clip(rows * tint + texture, 0, 255).astype(np.uint8)


def _segment_mask(p: np.ndarray, q: np.ndarray, radius: float, shape: tuple[int, int]):
    """Pixels within ``radius`` of the segment p-q: ``(rows slice, cols slice, mask)``, None when off the frame."""
    height, width = shape
    x0, x1 = int(np.floor(min(p[0], q[0]) - radius)), int(np.ceil(max(p[0], q[0]) + radius)) + 1
    y0, y1 = int(np.floor(min(p[1], q[1]) - radius)), int(np.ceil(max(p[1], q[1]) + radius)) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    d = q - p
    t = np.clip(((xs - p[0]) * d[0] + (ys - p[1]) * d[1]) / max(float(d @ d), 1e-12), 0.0, 1.0)
    dist2 = (xs - p[0] - t * d[0]) ** 2 + (ys - p[1] - t * d[1]) ** 2
    return slice(y0, y1), slice(x0, x1), dist2 <= radius * radius


def _draw(frame: np.ndarray, p, q, radius: float, colour: np.ndarray) -> None:
    hit = _segment_mask(np.asarray(p, np.float64), np.asarray(q, np.float64), radius, frame.shape[:2])
    if hit is not None:
        rows, cols, mask = hit
        frame[rows, cols][mask] = colour


def _paint_person(frame: np.ndarray, joints: np.ndarray, colour: np.ndarray) -> None:
    """One skeleton ``(18, 3)`` drawn into ``frame``: every bone whose two joints are seen, and the head."""
    seen = joints[:, 2] > 0
    if not seen.any():
        return
    xy = joints[:, :2].astype(np.float64)
    extent = np.ptp(xy[seen], axis=0).max()
    for bones, width in ((OPENPOSE18_BONES, _LIMB_WIDTH), (TORSO_BONES, _TORSO_WIDTH)):
        radius = max(1.5, width * extent / 2)
        for a, b in bones:
            if seen[a] and seen[b]:
                _draw(frame, xy[a], xy[b], radius, colour)
    if seen[NOSE]:
        _draw(frame, xy[NOSE], xy[NOSE], max(2.0, _HEAD_RADIUS * extent), colour)


def _check_paintable(video: Video) -> tuple[int, int]:
    if video.frame_size is None:
        raise ValueError(f"video {video.name!r}: painting needs a frame size")
    tracks = video.tracks
    if tracks is not None and (tracks.kind != "keypoints" or tracks.layout != "openpose18"):
        raise ValueError(f"video {video.name!r}: painting draws OpenPose-18 skeletons, got {tracks.kind} tracks "
                         f"of layout {tracks.layout!r}")
    return video.frame_size


def paint_people(video: Video, *, background: np.ndarray | None = None) -> np.ndarray:
    """Frames of a video whose people are drawn as stick figures.

    Parameters
    ----------
    video : Video
        A video with a frame size and OpenPose-18 keypoint tracks, such as
        one of :func:`unsupvad.datasets.make_synthetic_videos` (a video
        without tracks gives the empty scene).
    background : ndarray of shape (height, width, 3), uint8, optional
        The empty scene; default :func:`scene_background`.

    Returns
    -------
    frames : ndarray of shape (n_frames, height, width, 3), uint8
        RGB frames. Each person is a dark figure (its colour fixed by its
        track id) with limbs 10 % and a trunk 22 % of the body's extent wide
        (at least 3 px) and a round head; joints of confidence 0 are not drawn.
    """
    width, height = _check_paintable(video)
    scene = scene_background(width, height) if background is None else np.asarray(background)
    if scene.shape != (height, width, 3) or scene.dtype != np.uint8:
        raise ValueError(f"background must be uint8 of shape {(height, width, 3)}, got {scene.dtype} {scene.shape}")
    frames = np.repeat(scene[None], video.n_frames, axis=0)
    tracks = video.tracks
    if tracks is not None:
        for frame, track_id, joints in zip(tracks.frame, tracks.track_id, tracks.points):
            _paint_person(frames[frame], joints, _PALETTE[track_id % len(_PALETTE)])
    return frames


def write_painted_videos(videos, folder, *, suffix: str = ".mkv", codec: str = "ffv1") -> list[Path]:
    """Paint videos (:func:`paint_people`) and write one file per video, ``folder/<name><suffix>``.

    Parameters
    ----------
    videos : iterable of Video
        Videos with frame sizes and OpenPose-18 tracks; their fps is used
        (25 when unknown).
    folder : path
        Created when missing.
    suffix : str, default='.mkv'
        The container.
    codec : str, default='ffv1'
        Lossless by default, so that the frames read back bit for bit.

    Returns
    -------
    list of Path
        The written files, in the order of ``videos``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for video in videos:
        fps = 25.0 if video.fps is None else video.fps
        paths.append(write_video(folder / f"{video.name}{suffix}", paint_people(video), fps=fps, codec=codec))
    return paths
