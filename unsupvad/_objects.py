"""Objects: fixed-length windows cut from person tracks.

An *object* (the paper's X_i, an STG-NF segment) is one tracked person over
``seg_len`` consecutive detections. :func:`cut_windows` cuts them from the
tracks of a set of videos; the :class:`Objects` table remembers, for each
window, its video, its track and the track rows it is made of, so that the
VideoSet can map it to frames and snippets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Objects:
    """Windows of person tracks; one row per object.

    Attributes
    ----------
    video : ndarray of shape (n_objects,)
        Index of the object's video in the VideoSet's ``videos``.
    track_id : ndarray of shape (n_objects,)
        Track id within that video.
    rows : ndarray of shape (n_objects, seg_len)
        Row indices into the video's :class:`~unsupvad.Tracks`.
    start_frame, stop_frame : ndarray of shape (n_objects,)
        First frame and one past the last frame of the window.
    centre_frame : ndarray of shape (n_objects,)
        STG-NF's anchor frame: the frame of the window's middle detection
        (row ``seg_len // 2``), where the window's score is placed.
    seg_len, stride, max_missing : int
        The windowing that produced the table.
    """

    video: np.ndarray
    track_id: np.ndarray
    rows: np.ndarray
    start_frame: np.ndarray
    stop_frame: np.ndarray
    centre_frame: np.ndarray
    seg_len: int
    stride: int
    max_missing: int

    def __len__(self) -> int:
        return len(self.video)

    def subset(self, mask) -> Objects:
        """The objects selected by a boolean mask or index array."""
        return Objects(
            video=self.video[mask],
            track_id=self.track_id[mask],
            rows=self.rows[mask],
            start_frame=self.start_frame[mask],
            stop_frame=self.stop_frame[mask],
            centre_frame=self.centre_frame[mask],
            seg_len=self.seg_len,
            stride=self.stride,
            max_missing=self.max_missing,
        )


def track_windows(frames: np.ndarray, seg_len: int, stride: int, max_missing: int) -> np.ndarray:
    """Start positions (row offsets) of the windows kept in one track.

    Candidate starts are ``0, stride, 2 * stride, ...`` up to and including the
    last full window. A window of ``seg_len`` consecutive detections is kept
    when at least ``seg_len - max_missing`` of them fall in the frame range
    ``[frame[start], frame[start] + seg_len)``, i.e. at most ``max_missing``
    frames of that range have no detection (STG-NF's continuity test).
    """
    n = len(frames)
    if n < seg_len:
        return np.zeros(0, np.int64)
    starts = np.arange(0, n - seg_len + 1, stride, dtype=np.int64)
    check = seg_len - 1 - max_missing
    if check <= 0:
        return starts
    ok = frames[starts + check] <= frames[starts] + seg_len - 1
    return starts[ok]


def cut_windows(videos, seg_len: int, stride: int, max_missing: int) -> Objects:
    """Cut every track of every video into windows (see :func:`track_windows`)."""
    if seg_len < 1 or stride < 1 or max_missing < 0:
        raise ValueError(
            f"seg_len and stride must be >= 1 and max_missing >= 0, got {seg_len}, {stride}, {max_missing}"
        )
    parts = []
    offsets = np.arange(seg_len, dtype=np.int64)
    for v, video in enumerate(videos):
        tracks = video.tracks
        if tracks is None or len(tracks) == 0:
            continue
        for sl in tracks.track_slices:
            starts = track_windows(tracks.frame[sl], seg_len, stride, max_missing) + sl.start
            if len(starts):
                parts.append((v, int(tracks.track_id[sl.start]), starts[:, None] + offsets))
    if not parts:
        empty = np.zeros(0, np.int64)
        no_rows = np.zeros((0, seg_len), np.int64)
        return Objects(empty, empty, no_rows, empty, empty, empty, seg_len, stride, max_missing)
    video = np.concatenate([np.full(len(r), v, np.int64) for v, _, r in parts])
    track_id = np.concatenate([np.full(len(r), t, np.int64) for _, t, r in parts])
    rows = np.concatenate([r for _, _, r in parts])
    frames_of = {v: videos[v].tracks.frame for v in {p[0] for p in parts}}
    start = np.empty(len(rows), np.int64)
    stop = np.empty(len(rows), np.int64)
    centre = np.empty(len(rows), np.int64)
    for v, fr in frames_of.items():
        sel = video == v
        start[sel] = fr[rows[sel, 0]]
        stop[sel] = fr[rows[sel, -1]] + 1
        centre[sel] = fr[rows[sel, seg_len // 2]]
    return Objects(video, track_id, rows, start, stop, centre, seg_len, stride, max_missing)


def detection_scores(videos, objects: Objects, scores) -> list[np.ndarray]:
    """Per video, one score per row of its tracks: the largest score of the windows that hold the row.

    Parameters
    ----------
    videos : sequence of Video
        The videos ``objects`` were cut from (their ``tracks``).
    objects : Objects
        Windows of those videos.
    scores : array-like of shape (n_objects,)
        One anomaly score per window (higher = more abnormal).

    Returns
    -------
    list of ndarray
        Per video, ``len(video.tracks)`` floats (an empty array without
        tracks), in the rows' order; NaN for a detection no window holds (a
        track too short or too broken to be cut).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(objects),):
        raise ValueError(f"scores must hold one score per object ({len(objects)}), got shape {scores.shape}")
    n_rows = np.array([0 if video.tracks is None else len(video.tracks) for video in videos], np.int64)
    offsets = np.r_[0, np.cumsum(n_rows)]
    best = np.full(int(offsets[-1]), -np.inf)
    # every video's rows in one array: a row's place is its video's offset plus its index there
    places = (offsets[objects.video][:, None] + objects.rows).reshape(-1)
    np.maximum.at(best, places, np.repeat(scores, objects.rows.shape[1]))
    best[np.isneginf(best)] = np.nan
    return np.split(best, offsets[1:-1]) if len(n_rows) else []
