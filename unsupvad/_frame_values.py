"""Per-video frame labels and scores as the metrics and the plots accept them, checked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def is_single(values) -> bool:
    """True when ``values`` is one video's 1-D array rather than a sequence of videos."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        if values.ndim > 1:
            raise ValueError(
                f"got a {values.ndim}-D array of shape {values.shape}; pass one 1-D array per video "
                "(a list of arrays) or a single 1-D array for one video"
            )
        return True
    if isinstance(values, Sequence) and len(values) and all(np.ndim(v) == 0 for v in values):
        return True
    return False


def as_videos(values, what: str) -> list[np.ndarray]:
    """Per-video 1-D arrays from a sequence of arrays or a single array."""
    if is_single(values):
        return [np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values).reshape(-1)]
    videos = []
    for i, v in enumerate(values):
        arr = np.asarray(v)
        if arr.ndim != 1:
            raise ValueError(f"video {i}: {what} must be 1-D (one value per frame), got shape {arr.shape}")
        videos.append(arr)
    if not videos:
        raise ValueError(f"{what} holds no video")
    return videos


def check_labels(labels: np.ndarray, video: int) -> np.ndarray:
    if labels.dtype.kind == "b":
        return labels.astype(np.int8)
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"video {video}: labels must be numeric 0/1, got dtype {labels.dtype}")
    bad = ~np.isin(labels, (0, 1))
    if bad.any():
        raise ValueError(
            f"video {video}: labels must be 0 (normal) or 1 (abnormal), "
            f"found {labels[bad][0]!r} at frame {int(np.flatnonzero(bad)[0])}"
        )
    return labels.astype(np.int8)


def check_scores(scores: np.ndarray, video: int) -> np.ndarray:
    if scores.dtype.kind not in "biuf":
        raise ValueError(f"video {video}: scores must be numeric, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        frame = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"video {video}: scores contain NaN or infinite values (first at frame {frame}, "
            f"value {scores[frame]}); replace them before evaluating"
        )
    return scores


def check_pair(y_true, y_score) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validated per-video labels (int8) and scores (float64) of equal lengths."""
    labels = as_videos(y_true, "y_true")
    scores = as_videos(y_score, "y_score")
    if len(labels) != len(scores):
        raise ValueError(f"y_true has {len(labels)} videos but y_score has {len(scores)}")
    out_labels, out_scores = [], []
    for i, (lab, sc) in enumerate(zip(labels, scores, strict=True)):
        if len(lab) != len(sc):
            raise ValueError(f"video {i}: {len(lab)} frame labels but {len(sc)} frame scores")
        out_labels.append(check_labels(lab, i))
        out_scores.append(check_scores(sc, i))
    return out_labels, out_scores
