"""Training-free reference scores computed from person tracks."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ._video import Video, video_error
from ._videoset import VideoSet


def _row_speeds(video: Video) -> np.ndarray:
    """Box-centre displacement since the track's previous row, over the current box height."""
    tracks = video.tracks
    boxes = tracks.boxes.astype(np.float64)
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    step = np.zeros(len(boxes))
    if len(boxes) > 1:
        step[1:] = np.hypot(*(centre[1:] - centre[:-1]).T)
        step[1:][tracks.track_id[1:] != tracks.track_id[:-1]] = 0.0
    height = boxes[:, 3]
    return np.divide(step, height, out=np.zeros_like(step), where=height > 0)


def speed_frame_scores(X: VideoSet, window: int = 15) -> list[np.ndarray]:
    """Training-free anomaly score: the speed of the fastest person in each frame.

    A person's speed at a track row is the distance between its box centre
    there and at its previous row (same track), divided by its box height
    there; it is 0 at a track's first row (and on a row whose box has no
    height, such as a skeleton with a single confident joint). A frame's score is the largest
    speed among the people in it (0 when nobody is there), then a centred
    moving mean over ``window`` frames with reflected edges.

    Parameters
    ----------
    X : VideoSet
        Videos with person tracks (boxes or keypoints; keypoints are
        reduced to their bounding box).
    window : int, default=15
        Length of the moving mean (:func:`scipy.ndimage.uniform_filter1d`);
        1 leaves the scores unsmoothed.

    Returns
    -------
    list of ndarray of shape (n_frames,)
        Frame scores of every video, higher = more abnormal.

    Raises
    ------
    ValueError
        When a video has no tracks, or ``window`` is not a positive integer.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    scores = []
    for video in X.videos:
        if video.tracks is None:
            raise video_error(video.name, "has no person tracks")
        frame_score = np.zeros(video.n_frames)
        if len(video.tracks):
            np.maximum.at(frame_score, video.tracks.frame, _row_speeds(video))
        scores.append(uniform_filter1d(frame_score, int(window)))
    return scores
