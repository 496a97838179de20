"""Every track row of a list of videos, with its kinematics, and per-person means over snippets.

A *row* is one person at one frame. Rows are concatenated over the videos and
kept sorted by (video, track, frame), the order :class:`~unsupvad.Tracks`
stores them in, so that "the previous row of the same track" is the previous
array element. A *person* of a snippet is a run of rows of one track within
that snippet.
"""

from __future__ import annotations

import numpy as np

SMOOTHING_HALF_WINDOW = 2  # rows on each side of a row's smoothed velocity


def previous(a: np.ndarray, fill=0) -> np.ndarray:
    """``a`` shifted by one row: ``out[i] = a[i - 1]``, ``fill`` first."""
    out = np.empty_like(a)
    out[1:] = a[:-1]
    out[:1] = fill
    return out


def shifted(a: np.ndarray, k: int, same: np.ndarray) -> np.ndarray:
    """``a[i + k]`` where row ``i + k`` exists; ``same`` tells where it belongs to the same track."""
    out = np.zeros_like(a)
    if k > 0:
        out[:-k] = a[k:]
    elif k < 0:
        out[-k:] = a[:k]
    else:
        out[:] = a
    return np.where(same, out, 0)


def smoothed_velocity(rows: TrackRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(vx, vy, defined)`` per row: the displacement between the rows ``SMOOTHING_HALF_WINDOW`` before and
    after it in its track, per box height and frame (undefined near a track's ends)."""
    n = len(rows)
    k = SMOOTHING_HALF_WINDOW
    same_ahead = np.zeros(n, bool)
    same_behind = np.zeros(n, bool)
    if n > k:
        same = (rows.video[k:] == rows.video[:-k]) & (rows.track[k:] == rows.track[:-k])
        same_ahead[:-k] = same
        same_behind[k:] = same
    defined = same_ahead & same_behind & rows.ok_h
    frames = shifted(rows.frame, k, same_ahead) - shifted(rows.frame, -k, same_behind)
    frames = np.where(defined, np.maximum(frames, 1), 1)
    vx = np.where(defined, (shifted(rows.cx, k, same_ahead) - shifted(rows.cx, -k, same_behind)) /
                  (rows.safe_h * frames), 0.0)
    vy = np.where(defined, (shifted(rows.cy, k, same_ahead) - shifted(rows.cy, -k, same_behind)) /
                  (rows.safe_h * frames), 0.0)
    return vx, vy, defined


class PerPerson:
    """Means of row values over the runs of rows of one track in one snippet (a person)."""

    def __init__(self, starts: np.ndarray, snippet: np.ndarray, n_snippets: int):
        self.starts = starts
        self.snippet = snippet
        self.n_snippets = n_snippets

    def __len__(self) -> int:
        return len(self.starts)

    def mean(self, values: np.ndarray, defined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-person mean of the defined row values, and whether the person has any."""
        if not len(self.starts):
            return np.zeros(0), np.zeros(0, bool)
        total = np.add.reduceat(np.where(defined, values, 0.0), self.starts)
        count = np.add.reduceat(defined.astype(np.int64), self.starts)
        has = count > 0
        return np.divide(total, count, out=np.zeros(len(total)), where=has), has

    def maximum(self, values: np.ndarray, defined: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """Per-person largest defined row value (``empty`` for a person without any)."""
        if not len(self.starts):
            return np.zeros(0)
        out = np.maximum.reduceat(np.where(defined, values, -np.inf), self.starts)
        return np.where(np.isfinite(out), out, empty)

    def total(self, values: np.ndarray, defined: np.ndarray) -> np.ndarray:
        """Per-person sum of the defined row values (0 for a person without any)."""
        if not len(self.starts):
            return np.zeros(0)
        return np.add.reduceat(np.where(defined, values, 0.0), self.starts)

    def snippet_mean(self, values: np.ndarray, defined: np.ndarray) -> np.ndarray:
        count = np.bincount(self.snippet[defined], minlength=self.n_snippets)
        total = np.bincount(self.snippet[defined], weights=values[defined], minlength=self.n_snippets)
        return np.divide(total, count, out=np.zeros(self.n_snippets), where=count > 0)

    def snippet_max(self, values: np.ndarray, defined: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """Largest defined value per snippet (``empty`` when none, and the floor of the result)."""
        out = np.full(self.n_snippets, float(empty))
        np.maximum.at(out, self.snippet[defined], values[defined])
        return out

    def snippet_min(self, values: np.ndarray, defined: np.ndarray, empty: float) -> np.ndarray:
        """Smallest defined value per snippet (``empty`` when none, and the ceiling of the result)."""
        out = np.full(self.n_snippets, float(empty))
        np.minimum.at(out, self.snippet[defined], values[defined])
        return out


class TrackRows:
    """The rows of ``videos``, concatenated, with positions, velocities and snippets.

    Attributes (one entry per row unless said otherwise): ``video`` (index
    into ``videos``), ``track``, ``frame``, ``snippet`` (global snippet index:
    the videos' snippets concatenated), ``cx, cy, w, h`` (box centre and size
    in pixels), ``frame_w, frame_h`` (the video's frame size in pixels, NaN
    for an unknown width), ``gap`` (frames since the previous row of the
    track, 1 for a track's first row), ``has_prev``, ``ok_h`` (positive box
    height), ``vel_def`` and ``ux, uy, speed`` (velocity in box heights per
    frame), ``new_track``, ``last_of_track``, and ``people``
    (:class:`PerPerson`).
    """

    def __init__(self, videos, frame_height: float | None = None):
        videos = list(videos)
        self.n_snippets = int(sum(v.n_snippets for v in videos))
        self._concat(videos, frame_height)
        n = len(self.frame)
        self.new_track = np.ones(n, bool)
        self.new_track[1:] = (self.video[1:] != self.video[:-1]) | (self.track[1:] != self.track[:-1])
        self.has_prev = ~self.new_track
        self.last_of_track = np.r_[self.new_track[1:], True] if n else np.zeros(0, bool)
        self.ok_h = self.h > 0
        self.gap = np.ones(n)
        self.gap[1:] = np.maximum(self.frame[1:] - self.frame[:-1], 1)
        self.safe_h = np.where(self.ok_h, self.h, 1.0)
        self.vel_def = self.has_prev & self.ok_h
        self.ux = np.where(self.vel_def, (self.cx - previous(self.cx)) / (self.safe_h * self.gap), 0.0)
        self.uy = np.where(self.vel_def, (self.cy - previous(self.cy)) / (self.safe_h * self.gap), 0.0)
        self.speed = np.hypot(self.ux, self.uy)
        new_person = self.new_track.copy()
        new_person[1:] |= self.snippet[1:] != self.snippet[:-1]
        starts = np.flatnonzero(new_person)
        self.people = PerPerson(starts, self.snippet[starts].astype(np.int64), self.n_snippets)
        self.person = np.cumsum(new_person) - 1 if n else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.frame)

    def smoothed_velocity(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(vx, vy, defined)``, computed once: see :func:`smoothed_velocity`."""
        if not hasattr(self, "_smoothed"):
            self._smoothed = smoothed_velocity(self)
        return self._smoothed

    def _concat(self, videos, frame_height) -> None:
        parts = {k: [] for k in ("video", "track", "frame", "boxes", "snippet", "frame_w", "frame_h", "last_frame")}
        snippet_offset = 0
        for v, video in enumerate(videos):
            tracks = video.tracks
            n = len(tracks)
            if video.frame_size is not None:
                size = (float(video.frame_size[0]), float(video.frame_size[1]))
            else:
                size = (np.nan, float(frame_height))
            parts["video"].append(np.full(n, v, np.int64))
            parts["track"].append(tracks.track_id)
            parts["frame"].append(tracks.frame)
            parts["boxes"].append(tracks.boxes.astype(np.float64).reshape(n, 4))
            parts["snippet"].append(video.frame_to_snippet(tracks.frame) + snippet_offset)
            parts["frame_w"].append(np.full(n, size[0]))
            parts["frame_h"].append(np.full(n, size[1]))
            parts["last_frame"].append(np.full(n, video.n_frames - 1, np.int64))
            snippet_offset += video.n_snippets
        rows = {k: np.concatenate(p) if p else np.zeros(0, np.int64) for k, p in parts.items()}
        boxes = rows.pop("boxes").reshape(-1, 4).astype(np.float64)
        for k, value in rows.items():
            setattr(self, k, value)
        left, top, self.w, self.h = (boxes[:, i] for i in range(4))
        self.cx, self.cy = left + self.w / 2, top + self.h / 2
        self.frame_w = self.frame_w.astype(np.float64)
        self.frame_h = self.frame_h.astype(np.float64)
