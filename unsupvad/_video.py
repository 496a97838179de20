"""One video and its person tracks: validated, immutable records.

A :class:`Video` holds what is known about one video: its frame count, its
snippet features, its person tracks, optionally its file (for models that
read frames) and, for evaluation only, its frame labels. Every check that
can be made on one video is made here, and every error names the video.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_SNIPPET_LEN = 16
TRACK_KINDS = ("keypoints", "boxes")
_FINITE_CHECK_CHUNK = 4096
_FLOAT_EXACT = 2.0**53


def video_error(name: str, problem: str) -> ValueError:
    """A ValueError whose message names the video and the problem."""
    return ValueError(f"video {name!r}: {problem}")


def _as_index_array(values, what: str) -> np.ndarray:
    """Integer array of frame indices or track ids; non-integral values are refused, not truncated."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            raise ValueError(f"track {what} values must be integers, got non-integral values such as "
                             f"{arr[bad][0]!r}")
        # above 2**53 a float no longer holds every integer: two ids could already have merged
        if arr.size and np.abs(arr).max() >= _FLOAT_EXACT:
            raise ValueError(f"track {what} values given as floats must lie below 2**53 in size to be exact, "
                             f"got {np.abs(arr).max():g}: pass an integer array")
    elif arr.dtype.kind == "u":
        if arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"track {what} values must fit in a 64-bit signed integer, got {arr.max()}")
    elif arr.dtype.kind not in "ib":
        raise ValueError(f"track {what} values must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _whole_number(value, what: str, name: str) -> int:
    """An int from an int or an integral float; anything else (bool, 856.9, NaN, text) is refused."""
    if isinstance(value, (bool, np.bool_)):
        raise video_error(name, f"{what} must be a whole number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise video_error(name, f"{what} must be a whole number, got {value!r}")


def check_frame_size(size, name: str) -> tuple[int, int]:
    """``(width, height)`` as two positive ints; a ValueError naming the video otherwise.

    Integral floats (``856.0``) and NumPy integers are accepted; ``856.9`` is
    refused rather than truncated.
    """
    try:
        parts = tuple(size) if not isinstance(size, (str, bytes)) else ()
    except TypeError:
        parts = ()
    if len(parts) != 2:
        raise video_error(name, f"frame_size must be (width, height), got {size!r}")
    width, height = (_whole_number(p, f"frame_size {tuple(parts)!r}: {side}", name)
                     for p, side in zip(parts, ("width", "height")))
    if width < 1 or height < 1:
        raise video_error(name, f"frame_size must be (width, height) > 0, got {size!r}")
    return width, height


def check_fps(fps, name: str) -> float:
    """``fps`` as a positive, finite float; a ValueError naming the video otherwise."""
    number = isinstance(fps, (int, float, np.integer, np.floating)) and not isinstance(fps, (bool, np.bool_))
    try:
        value = float(fps) if number else math.nan
    except OverflowError:  # an int beyond float range
        value = math.inf
    if not (math.isfinite(value) and value > 0):
        raise video_error(name, f"fps must be a positive, finite number, got {fps!r}")
    return value


@dataclass(frozen=True, eq=False)
class Tracks:
    """Person tracks of one video, one row per (frame, track).

    Parameters
    ----------
    frame : ndarray of shape (n_rows,)
        0-based frame index of each row.
    track_id : ndarray of shape (n_rows,)
        Integer track id of each row (ids are per video).
    points : ndarray of shape (n_rows, n_points, 3)
        ``(x, y, confidence)`` in pixels. For ``kind='keypoints'`` the points
        are the skeleton joints in the order of ``layout``; for
        ``kind='boxes'`` they are the two corners ``(left, top)`` and
        ``(right, bottom)`` of the box, both with the detection confidence.
    kind : {'keypoints', 'boxes'}
    layout : str, optional
        Name of the point layout, e.g. ``'coco17'``, ``'openpose18'``,
        ``'box'``.

    Notes
    -----
    Rows are kept sorted by ``(track_id, frame)``. Use :meth:`from_boxes` for
    MOTChallenge-style ``(left, top, width, height)`` boxes.
    """

    frame: np.ndarray
    track_id: np.ndarray
    points: np.ndarray
    kind: str = "keypoints"
    layout: str | None = None
    _track_starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        frame = _as_index_array(self.frame, "frame")
        track_id = _as_index_array(self.track_id, "track_id")
        points = np.asarray(self.points, dtype=np.float32)
        order = np.lexsort((frame, track_id))
        object.__setattr__(self, "frame", frame[order].astype(np.int64))
        object.__setattr__(self, "track_id", track_id[order].astype(np.int64))
        object.__setattr__(self, "points", np.ascontiguousarray(points[order]) if points.ndim == 3 else points)
        for arr in (self.frame, self.track_id, self.points):
            arr.setflags(write=False)
        if self.kind == "boxes" and self.layout is None:
            object.__setattr__(self, "layout", "box")
        tid = self.track_id
        starts = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1]]) if len(tid) else np.zeros(0, np.int64)
        object.__setattr__(self, "_track_starts", starts)

    @classmethod
    def from_boxes(cls, frame, track_id, boxes, confidence=None):
        """Tracks from ``(left, top, width, height)`` boxes in pixels."""
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes must have shape (n_rows, 4), got {boxes.shape}")
        conf = np.ones(len(boxes)) if confidence is None else np.asarray(confidence, dtype=np.float64)
        left, top, width, height = boxes.T
        points = np.stack(
            [np.stack([left, top, conf], axis=1), np.stack([left + width, top + height, conf], axis=1)],
            axis=1,
        )
        return cls(frame=frame, track_id=track_id, points=points, kind="boxes", layout="box")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_points(self) -> int:
        """Number of points (joints, or 2 box corners) per row."""
        return self.points.shape[1]

    @property
    def track_ids(self) -> np.ndarray:
        """The distinct track ids, sorted."""
        return self.track_id[self._track_starts]

    @property
    def track_slices(self) -> list[slice]:
        """Row slice of every track, in the order of :attr:`track_ids`."""
        bounds = np.r_[self._track_starts, len(self.frame)]
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    @property
    def boxes(self) -> np.ndarray:
        """``(left, top, width, height)`` per row: the box, or the keypoints' bounding box."""
        xy = self.points[:, :, :2]
        if self.kind == "keypoints":
            valid = self.points[:, :, 2:3] > 0
            lo = np.where(valid, xy, np.inf).min(axis=1)
            hi = np.where(valid, xy, -np.inf).max(axis=1)
            empty = ~valid.any(axis=1)[:, 0]
            lo[empty] = xy[empty].min(axis=1)
            hi[empty] = xy[empty].max(axis=1)
        else:
            lo, hi = xy[:, 0], xy[:, 1]
        return np.concatenate([lo, hi - lo], axis=1)

    def validate(self, video: str, n_frames: int) -> None:
        """Raise a ValueError naming ``video`` if the tracks cannot belong to it."""
        n = len(self.frame)
        if self.kind not in TRACK_KINDS:
            raise video_error(video, f"track kind must be one of {TRACK_KINDS}, got {self.kind!r}")
        if self.track_id.shape != (n,) or self.frame.shape != (n,):
            raise video_error(video, "track frame and track_id must be 1-D arrays of the same length")
        if self.points.ndim != 3 or self.points.shape[0] != n or self.points.shape[2] != 3:
            raise video_error(
                video, f"track points must have shape (n_rows, n_points, 3), got {self.points.shape}"
            )
        if self.kind == "boxes" and self.points.shape[1] != 2:
            raise video_error(video, "box tracks must have exactly 2 points (the two corners)")
        if n == 0:
            return
        if not np.isfinite(self.points).all():
            bad = int(np.flatnonzero(~np.isfinite(self.points).all(axis=(1, 2)))[0])
            raise video_error(video, f"track row at frame {self.frame[bad]} has a NaN or infinite coordinate")
        outside = (self.frame < 0) | (self.frame >= n_frames)
        if outside.any():
            bad = int(self.frame[outside][0])
            raise video_error(
                video, f"track row at frame index {bad} lies outside the video (frames 0..{n_frames - 1})"
            )
        dup = (np.diff(self.track_id) == 0) & (np.diff(self.frame) == 0)
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise video_error(
                video, f"duplicate rows for track {self.track_id[i]} at frame {self.frame[i]}"
            )
        if self.kind == "boxes":
            size = self.points[:, 1, :2] - self.points[:, 0, :2]
            bad = (size <= 0).any(axis=1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise video_error(
                    video,
                    f"box of track {self.track_id[i]} at frame {self.frame[i]} has a non-positive "
                    f"width or height ({size[i, 0]:g} x {size[i, 1]:g})",
                )


MAX_FEATURE_MAGNITUDE = 1e15
"""Largest absolute feature value. The models sum squared features in float32 (max ~3.4e38): at
1e15 a sum of 1e8 squares still fits, far beyond it a variance or a distance overflows to inf and the
scores silently carry nothing. No extractor's output comes near it (I3D/C3D features lie within about
1e2); a unit error or a corrupted file does."""


def _check_finite(name: str, features: np.ndarray) -> None:
    """Check features for NaN/inf and for absurd magnitudes, in chunks (a memory-mapped file is never loaded whole)."""
    for start in range(0, len(features), _FINITE_CHECK_CHUNK):
        chunk = np.asarray(features[start : start + _FINITE_CHECK_CHUNK])
        peak = np.abs(chunk).max() if chunk.size else 0.0  # one pass: NaN propagates, inf is not finite
        if peak <= MAX_FEATURE_MAGNITUDE:
            continue
        rows = chunk.reshape(len(chunk), -1)
        if not np.isfinite(peak):
            row = start + int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0])
            raise video_error(name, f"features contain NaN or infinite values (first at snippet {row})")
        row = start + int(np.flatnonzero((np.abs(rows) > MAX_FEATURE_MAGNITUDE).any(axis=1))[0])
        raise video_error(name, f"features reach {np.abs(rows[row - start]).max():.3g} at snippet {row}, beyond "
                                f"{MAX_FEATURE_MAGNITUDE:.0e}: squared in float32 they would overflow; "
                                "rescale the features (wrong unit or a corrupted file?)")


def check_video_file(path, name: str) -> Path:
    """``path`` as a Path (a str or path-like, not empty); a ValueError naming the video otherwise.

    Only the type is checked: whether the file exists is checked by the model
    that reads the frames, when it reads them.
    """
    if isinstance(path, (bool, bytes)) or not isinstance(path, (str, os.PathLike)):
        raise video_error(name, f"video_file must be a path (str or os.PathLike), got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise video_error(name, f"video_file must be a non-empty path, got {path!r}")
    return Path(text)


def snippet_count_range(n_frames: int, snippet_len: int) -> tuple[int, int]:
    """Snippet counts accepted for a video of ``n_frames``: floor and ceil of n / L (at least 1)."""
    return max(1, n_frames // snippet_len), math.ceil(n_frames / snippet_len)


@dataclass(frozen=True, eq=False)
class Video:
    """One video: frame count, optional snippet features, tracks, video file and frame labels.

    Parameters
    ----------
    name : str
        Unique video id. Always a string: integer (scene, clip) keys collide
        on ShanghaiTech (``01_0014`` vs ``01_014``).
    n_frames : int
        Number of frames, at least 1.
    fps : float, optional
        Frames per second (used for plots only), positive and finite.
    frame_size : (width, height), optional
        Frame size in whole pixels (used to normalise coordinates). Integral
        floats such as ``856.0`` are accepted; ``856.9`` is an error, not
        truncated.
    features : ndarray of shape (T, D) or (T, n_crops, D), optional
        Snippet features, possibly a read-only memory map. T must be
        ``floor(n_frames / snippet_len)`` or ``ceil(n_frames / snippet_len)``.
    tracks : Tracks, optional
        Person tracks (keypoints or boxes).
    labels : ndarray of shape (n_frames,), optional
        Frame labels (1 = abnormal). For evaluation only: no estimator's
        ``fit`` reads them.
    snippet_len : int, default=16
        Frames per snippet.
    scene : str, optional
        The camera (scene) the video was recorded by. Videos of one scene
        share a view, so models of where and how people normally move there
        (:class:`~unsupvad.TrackSnippetFeatures`) are learned per scene.
    video_file : path, optional
        The video file itself, for models that read its frames
        (:class:`~unsupvad.Jigsaw`). Stored as a :class:`~pathlib.Path`;
        whether the file exists is checked when a model reads it, with an
        error naming the video. Its frames must be the frames the tracks
        were made on (same count and size).

    Notes
    -----
    **Snippets.** Snippet ``i`` covers frames ``[i * L, (i + 1) * L)``, except
    the last snippet, which covers every frame from ``(T - 1) * L`` to the
    end of the video. When T = ceil(n / L) the last snippet is the partial
    one (fewer than L frames); when a feature extractor dropped the partial
    tail (T = floor(n / L)) the leftover frames belong to the last snippet.
    Either way every frame belongs to exactly one snippet.
    """

    name: str
    n_frames: int
    fps: float | None = None
    frame_size: tuple[int, int] | None = None
    features: np.ndarray | None = None
    tracks: Tracks | None = None
    labels: np.ndarray | None = None
    snippet_len: int = DEFAULT_SNIPPET_LEN
    scene: str | None = None
    video_file: Path | None = None

    def __post_init__(self):
        name = self.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"video name must be a non-empty string, got {name!r}")
        if isinstance(self.n_frames, bool) or not isinstance(self.n_frames, (int, np.integer)):
            raise video_error(name, f"n_frames must be an integer, got {self.n_frames!r}")
        object.__setattr__(self, "n_frames", int(self.n_frames))
        if self.n_frames < 1:
            raise video_error(name, f"the video is empty (n_frames={self.n_frames})")
        snippet_len = self.snippet_len
        if isinstance(snippet_len, bool) or not isinstance(snippet_len, (int, np.integer)) or snippet_len < 1:
            raise video_error(name, f"snippet_len must be a positive integer, got {self.snippet_len!r}")
        if self.scene is not None and (not isinstance(self.scene, str) or not self.scene):
            raise video_error(name, f"scene must be a non-empty string or None, got {self.scene!r}")
        if self.video_file is not None:
            object.__setattr__(self, "video_file", check_video_file(self.video_file, name))
        if self.fps is not None:
            object.__setattr__(self, "fps", check_fps(self.fps, name))
        if self.frame_size is not None:
            object.__setattr__(self, "frame_size", check_frame_size(self.frame_size, name))
        if self.features is not None:
            self._validate_features()
        if self.tracks is not None:
            if not isinstance(self.tracks, Tracks):
                raise video_error(name, f"tracks must be a Tracks object, got {type(self.tracks).__name__}")
            self.tracks.validate(name, self.n_frames)
        if self.labels is not None:
            self._validate_labels()

    def _validate_features(self):
        feats = self.features
        if not isinstance(feats, np.ndarray):
            feats = np.asarray(feats)
        if feats.dtype.kind not in "fiu":
            raise video_error(self.name, f"features must be numeric, got dtype {feats.dtype}")
        if feats.ndim not in (2, 3):
            raise video_error(
                self.name, f"features must have shape (T, D) or (T, n_crops, D), got {feats.shape}"
            )
        if feats.shape[0] == 0 or 0 in feats.shape[1:]:
            raise video_error(self.name, f"features are empty (shape {feats.shape})")
        low, high = snippet_count_range(self.n_frames, self.snippet_len)
        if not low <= feats.shape[0] <= high:
            raise video_error(
                self.name,
                f"features have T={feats.shape[0]} snippets but a video of {self.n_frames} frames "
                f"has {low}..{high} snippets of {self.snippet_len} frames",
            )
        _check_finite(self.name, feats)
        object.__setattr__(self, "features", feats)

    def _validate_labels(self):
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or len(labels) != self.n_frames:
            raise video_error(
                self.name,
                f"frame labels have shape {labels.shape} but the video has {self.n_frames} frames",
            )
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise video_error(self.name, "frame labels contain NaN or infinite values")
        if not np.isin(labels, (0, 1)).all():
            raise video_error(self.name, "frame labels must be 0 (normal) or 1 (abnormal)")
        labels = labels.astype(np.uint8)
        labels.setflags(write=False)
        object.__setattr__(self, "labels", labels)

    @property
    def n_snippets(self) -> int:
        """Number of snippets T (from the features when present, else ceil(n / L))."""
        if self.features is not None:
            return int(self.features.shape[0])
        return math.ceil(self.n_frames / self.snippet_len)

    def snippet_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """First frame and one-past-last frame of every snippet."""
        starts = np.arange(self.n_snippets, dtype=np.int64) * self.snippet_len
        stops = np.minimum(starts + self.snippet_len, self.n_frames)
        stops[-1] = self.n_frames
        return starts, stops

    def frame_to_snippet(self, frames) -> np.ndarray:
        """Snippet index of each frame index (see the class notes for the last snippet)."""
        frames = np.asarray(frames, dtype=np.int64)
        if frames.size and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise video_error(self.name, f"frame index out of range 0..{self.n_frames - 1}")
        return np.minimum(frames // self.snippet_len, self.n_snippets - 1)

    def replace(self, **changes) -> Video:
        """A copy with some fields replaced (validated again)."""
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        values.update(changes)
        return Video(**values)
