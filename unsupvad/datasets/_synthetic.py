"""Synthetic surveillance videos: walking people, snippet features and planted anomalies.

The generator simulates what a pose tracker and a snippet feature extractor
would return for a fixed camera over a pedestrian area; no pixels are drawn.
Everything is vectorised over frames, so a few hundred people render in a
fraction of a second.

The pieces live in private modules: ``_synthetic_scene`` (constants, scenes,
people, tracks), ``_synthetic_motion`` (walking and abnormal trajectories),
``_synthetic_people`` (pedestrian streams and anomaly actors),
``_synthetic_render`` (skeletons, detections, poses and boxes) and
``_synthetic_features`` (snippet features); this module checks the
arguments and assembles the videos.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._video import Video
from .._videoset import VideoSet
from ._synthetic_features import _features, _make_feature_model
from ._synthetic_people import _KindDeck, _place_events, _plan_events, _walkers
from ._synthetic_render import _detections, _make_tracks
from ._synthetic_scene import _MIN_EVENT, ANOMALY_KINDS, _make_scene

__all__ = ["ANOMALY_KINDS", "make_synthetic_videos"]

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
