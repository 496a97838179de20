"""Frame-level metrics for video anomaly detection, and correctly signed scorers.

Every function here takes **per-video** arrays: ``y_true`` and ``y_score`` are
sequences with one 1-D array per video (a single 1-D array is read as one
video). Labels are 0 (normal) / 1 (abnormal); scores follow the VAD
convention, **higher = more abnormal**.

Averaging
---------
``average='micro'`` concatenates the frames of all videos and computes one
ROC AUC (or AP) over them. This is the protocol of the published numbers
(RTFM, STG-NF and the interleaved UVAD paper all report it).
``average='macro'`` computes the metric per video and averages over the
videos that contain both normal and abnormal frames; normal-only videos are
skipped, since AUC is undefined on them.

Average precision uses :func:`sklearn.metrics.average_precision_score` (the
step-wise sum). RTFM's ``test_10crop.py`` reports ``auc(recall, precision)``,
a trapezoidal area that is not AP and is usually larger: numbers from the two
are not comparable.

Snippets and frames
-------------------
Snippet scores must be spread over frames before any frame metric. Two rules
exist and they evaluate different frame sets:

* :meth:`unsupvad.VideoSet.snippets_to_frames` keeps each video's **true**
  frame count (STG-NF's frame set);
* :func:`expand_snippets` + :func:`pad_labels` reproduce **RTFM's**
  protocol: each snippet score repeated 16 times (16 T frames per video) and
  the ground truth padded with its last label up to 16 T (``list/gt-sh.npy``).

State which one an AUC uses.

The ``"roc_auc"`` scorer trap
-----------------------------
**Do not pass** ``scoring="roc_auc"`` **to** ``GridSearchCV`` **or**
``cross_val_score`` **for an outlier detector.** For estimators tagged
``outlier_detector`` scikit-learn feeds ``decision_function`` to the
scorer, and ``decision_function`` follows scikit-learn's sign
(higher = more *normal*). With ``y = 1`` marking anomalies the built-in
scorer therefore returns **1 − AUC** (e.g. 0.009 instead of 0.991 for an
``IsolationForest``). Use :func:`frame_auc_scorer`, :func:`frame_ap_scorer`
or :func:`macro_auc_scorer` instead: they take a labelled
:class:`~unsupvad.VideoSet`, read anomaly scores with the right sign and
evaluate at frame level::

    GridSearchCV(model, param_grid, scoring=frame_auc_scorer, cv=GroupKFold(3))

Grid search over an unsupervised model needs a *labelled validation set*:
never select models on the test videos you report on.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline

from ._frame_values import as_videos, check_pair, is_single

AVERAGES = ("micro", "macro")

__all__ = [
    "equal_error_rate",
    "evaluate",
    "expand_snippets",
    "frame_ap_scorer",
    "frame_auc",
    "frame_auc_scorer",
    "frame_average_precision",
    "frame_scores",
    "macro_auc_scorer",
    "pad_labels",
]


def _check_average(average: str) -> None:
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")


# ---------------------------------------------------------------------- metrics
def _micro(metric, labels: list[np.ndarray], scores: list[np.ndarray], name: str) -> float:
    y = np.concatenate(labels)
    s = np.concatenate(scores)
    n_abnormal = int(y.sum())
    if n_abnormal == 0 or n_abnormal == len(y):
        kind = "normal" if n_abnormal == 0 else "abnormal"
        raise ValueError(
            f"{name} is undefined: all {len(y)} frames are {kind}; it needs both normal and abnormal frames"
        )
    return float(metric(y, s))


def _macro(metric, labels: list[np.ndarray], scores: list[np.ndarray], name: str) -> float:
    values = [metric(lab, sc) for lab, sc in zip(labels, scores, strict=True) if 0 < lab.sum() < len(lab)]
    if not values:
        raise ValueError(
            f"macro {name} is undefined: no video contains both normal and abnormal frames"
        )
    return float(np.mean(values))


def _averaged(metric, y_true, y_score, average: str, name: str) -> float:
    _check_average(average)
    labels, scores = check_pair(y_true, y_score)
    if average == "micro":
        return _micro(metric, labels, scores, name)
    return _macro(metric, labels, scores, name)


def frame_auc(y_true, y_score, *, average: str = "micro") -> float:
    """Frame-level ROC AUC.

    Parameters
    ----------
    y_true : sequence of array-like of shape (n_frames_v,), or array-like of shape (n_frames,)
        Frame labels of every video (1 = abnormal). A single 1-D array is one video.
    y_score : same structure as ``y_true``
        Frame anomaly scores (higher = more abnormal), no NaN.
    average : {'micro', 'macro'}, default='micro'
        ``'micro'``: one AUC over the frames of all videos concatenated (the
        published protocol). ``'macro'``: the mean of the per-video AUCs over
        the videos that hold both normal and abnormal frames.

    Returns
    -------
    float
        The AUC.

    Raises
    ------
    ValueError
        On a length mismatch (naming the video), NaN or infinite scores,
        labels other than 0/1, or when the AUC is undefined (one class only).
    """
    return _averaged(roc_auc_score, y_true, y_score, average, "frame AUC")


def frame_average_precision(y_true, y_score, *, average: str = "micro") -> float:
    """Frame-level average precision (:func:`sklearn.metrics.average_precision_score`).

    Parameters
    ----------
    y_true : sequence of array-like, or array-like
        Frame labels per video (1 = abnormal); see :func:`frame_auc`.
    y_score : same structure as ``y_true``
        Frame anomaly scores (higher = more abnormal).
    average : {'micro', 'macro'}, default='micro'
        As in :func:`frame_auc`; ``'macro'`` averages over the videos holding
        both classes.

    Returns
    -------
    float
        The average precision. Not RTFM's ``auc(recall, precision)``.
    """
    return _averaged(average_precision_score, y_true, y_score, average, "frame average precision")


def _eer_from_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """The rate where the ROC crosses FPR = FNR, linearly interpolated between ROC points."""
    diff = fpr - (1.0 - tpr)
    i = int(np.flatnonzero(diff >= 0)[0])
    if i == 0 or diff[i] == 0:
        return float(fpr[i])
    d0, d1 = diff[i - 1], diff[i]
    alpha = -d0 / (d1 - d0)
    return float(fpr[i - 1] + alpha * (fpr[i] - fpr[i - 1]))


def equal_error_rate(y_true, y_score) -> float:
    """Frame-level equal error rate, micro over all frames concatenated.

    The EER is the false positive rate at the operating point where it equals
    the false negative rate (1 − TPR). The ROC from
    :func:`sklearn.metrics.roc_curve` is a polyline; the crossing is found by
    linear interpolation along it. 0 is perfect, 0.5 chance, 1 inverted.

    Parameters
    ----------
    y_true : sequence of array-like, or array-like
        Frame labels per video (1 = abnormal).
    y_score : same structure as ``y_true``
        Frame anomaly scores (higher = more abnormal).

    Returns
    -------
    float
        The equal error rate in [0, 1].
    """
    labels, scores = check_pair(y_true, y_score)

    def eer(y, s):
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        return _eer_from_roc(fpr, tpr)

    return _micro(eer, labels, scores, "the equal error rate")


def evaluate(y_true, y_score) -> dict:
    """All frame metrics at once.

    Parameters
    ----------
    y_true : sequence of array-like, or array-like
        Frame labels per video (1 = abnormal).
    y_score : same structure as ``y_true``
        Frame anomaly scores (higher = more abnormal).

    Returns
    -------
    dict
        ``micro_auc``, ``macro_auc`` (NaN when no video holds both classes),
        ``ap`` (micro average precision), ``eer`` (micro), ``n_videos``,
        ``n_frames`` and ``n_abnormal``.
    """
    labels, scores = check_pair(y_true, y_score)
    try:
        macro = _macro(roc_auc_score, labels, scores, "frame AUC")
    except ValueError:
        macro = float("nan")
    return {
        "micro_auc": frame_auc(labels, scores),
        "macro_auc": macro,
        "ap": frame_average_precision(labels, scores),
        "eer": equal_error_rate(labels, scores),
        "n_videos": len(labels),
        "n_frames": int(sum(len(lab) for lab in labels)),
        "n_abnormal": int(sum(int(lab.sum()) for lab in labels)),
    }


# ---------------------------------------------------------------------- RTFM protocol
def _per_video_lengths(lengths, n_videos: int, single: bool, what: str) -> list:
    if lengths is None:
        return [None] * n_videos
    if single:
        if np.ndim(lengths) != 0:
            raise ValueError(f"{what} must be an integer for a single video, got {lengths!r}")
        return [int(lengths)]
    lengths = list(np.asarray(lengths).reshape(-1))
    if len(lengths) != n_videos:
        raise ValueError(f"{what} has {len(lengths)} entries for {n_videos} videos")
    return [int(n) for n in lengths]


def _fit_length(values: np.ndarray, length: int) -> np.ndarray:
    """Trim ``values`` to ``length``, or pad it by repeating its last value."""
    if len(values) >= length:
        return values[:length]
    return np.concatenate([values, np.full(length - len(values), values[-1], dtype=values.dtype)])


def expand_snippets(snippet_scores, snippet_len: int = 16, n_frames=None):
    """Snippet scores to frame scores by RTFM's rule: each score repeated ``snippet_len`` times.

    Parameters
    ----------
    snippet_scores : array-like of shape (T,), or sequence of them (one per video)
        Per-snippet scores of one or several videos.
    snippet_len : int, default=16
        Frames per snippet.
    n_frames : int or sequence of int, optional
        True frame count(s). Without it the result has ``snippet_len * T``
        frames (RTFM's protocol, to pair with :func:`pad_labels`). With it the
        result is trimmed to ``n_frames``, or padded with the last snippet's
        score when ``snippet_len * T < n_frames`` (the extractor dropped the
        partial tail).

    Returns
    -------
    ndarray or list of ndarray
        Frame scores (float64), in the structure of ``snippet_scores``.
    """
    if snippet_len < 1:
        raise ValueError(f"snippet_len must be a positive integer, got {snippet_len!r}")
    single = is_single(snippet_scores)
    videos = as_videos(snippet_scores, "snippet_scores")
    lengths = _per_video_lengths(n_frames, len(videos), single, "n_frames")
    out = []
    for i, (scores, n) in enumerate(zip(videos, lengths, strict=True)):
        if len(scores) == 0:
            raise ValueError(f"video {i}: no snippet score to expand")
        frames = np.repeat(scores.astype(np.float64), snippet_len)
        out.append(frames if n is None else _fit_length(frames, n))
    return out[0] if single else out


def pad_labels(frame_labels, n_snippets, snippet_len: int = 16):
    """Frame labels on RTFM's 16 T frame set (``list/gt-sh.npy``).

    Parameters
    ----------
    frame_labels : array-like of shape (n_frames,), or sequence of them
        True-length frame labels of one or several videos.
    n_snippets : int or sequence of int
        Number of snippets T of each video (from its feature file).
    snippet_len : int, default=16
        Frames per snippet.

    Returns
    -------
    ndarray or list of ndarray
        Labels of length ``snippet_len * T``: padded by repeating the last
        label, or trimmed when the video is longer.
    """
    if snippet_len < 1:
        raise ValueError(f"snippet_len must be a positive integer, got {snippet_len!r}")
    single = is_single(frame_labels)
    videos = as_videos(frame_labels, "frame_labels")
    counts = _per_video_lengths(n_snippets, len(videos), single, "n_snippets")
    out = []
    for i, (labels, t) in enumerate(zip(videos, counts, strict=True)):
        if t is None or t < 1:
            raise ValueError(f"video {i}: n_snippets must be a positive integer, got {t!r}")
        if len(labels) == 0:
            raise ValueError(f"video {i}: no frame label to pad")
        out.append(_fit_length(labels, snippet_len * t))
    return out[0] if single else out


# ---------------------------------------------------------------------- scorers
def frame_scores(estimator, X) -> list[np.ndarray]:
    """Frame anomaly scores (higher = more abnormal) per video of ``X``, from any fitted model.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Its own ``score_frames(X)`` when it has one (each model's frame
        protocol). A :class:`~sklearn.pipeline.Pipeline` whose last step has
        ``score_frames`` runs ``X`` through the other steps first (e.g.
        ``TrackSnippetFeatures`` then ``InterleavedVAD``). Otherwise every
        frame takes its snippet's ``score_snippets`` or ``anomaly_score``
        (the component models' scores), or minus its ``score_samples``.
    X : VideoSet

    Returns
    -------
    list of ndarray
        One array of ``n_frames`` per video.
    """
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1 and hasattr(estimator[-1], "score_frames"):
        return frame_scores(estimator[-1], estimator[:-1].transform(X))
    if hasattr(estimator, "score_frames"):
        return [np.asarray(s, dtype=np.float64) for s in estimator.score_frames(X)]
    for method in ("score_snippets", "anomaly_score"):
        if hasattr(estimator, method):
            return X.snippets_to_frames(np.asarray(getattr(estimator, method)(X), dtype=np.float64))
    if hasattr(estimator, "score_samples"):
        return X.snippets_to_frames(-np.asarray(estimator.score_samples(X), dtype=np.float64))
    raise TypeError(
        f"{type(estimator).__name__} has none of score_frames, score_snippets, anomaly_score or score_samples"
    )


def _check_whole_videos(X) -> None:
    """Refuse a subset that holds some but not all snippets of a video: a cross-validation split cut it apart.

    A fold whose test part holds pieces of videos whose other pieces were
    trained on leaks, and a frame AUC over pieces of videos measures little:
    the audit's ``cross_val_score(..., cv=3)`` gave 0.28 / 0.01 / 0.45.
    """
    counts = np.bincount(X.snippet_video, minlength=X.n_videos)
    totals = np.array([video.n_snippets for video in X.videos])
    split = np.flatnonzero((counts > 0) & (counts < totals))
    if len(split):
        v = split[0]
        raise ValueError(
            f"the frame scorers evaluate whole videos, but X holds {counts[v]} of the {totals[v]} snippets of video "
            f"{X.names[v]!r} ({len(split)} video(s) split): the cross-validation cut videos apart. Split by "
            "video: cv=GroupKFold(n) with groups=X.groups"
        )


def _selected_frames(estimator, X) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Labels and scores of the frames whose snippet is selected in ``X``.

    In a subset (``X[idx]``) the videos are whole but only some snippets are
    samples; the frames of the other snippets are dropped, labels included.
    """
    if not hasattr(X, "frame_labels") or not hasattr(X, "snippets_to_frames"):
        raise TypeError(
            f"the frame scorers need a VideoSet with frame labels, got {type(X).__name__}"
        )
    labels = X.frame_labels()
    scores = frame_scores(estimator, X)
    if len(scores) != len(labels):
        raise ValueError(f"the estimator scored {len(scores)} videos, the VideoSet has {len(labels)}")
    if X.is_complete:
        return labels, scores
    _check_whole_videos(X)
    selected = X.snippets_to_frames(np.ones(len(X)))
    keep = [~np.isnan(s) for s in selected]
    labels = [lab[k] for lab, k in zip(labels, keep, strict=True)]
    return labels, [sc[k] for sc, k in zip(scores, keep, strict=True)]


def frame_auc_scorer(estimator, X, y=None) -> float:
    """Micro frame AUC of ``estimator`` on a labelled VideoSet (higher = better).

    Parameters
    ----------
    estimator : fitted estimator
        Scores come from :func:`frame_scores` (the model's own
        ``score_frames``, also at the end of a Pipeline; else snippet scores
        spread over frames).
    X : VideoSet
        Videos with frame labels, possibly a subset of whole videos (a
        cross-validation fold split by video, ``groups=X.groups``): then
        only their frames count. A subset that holds part of a video's
        snippets is refused (the split cut the video apart).
    y : ignored
        The labels are read from ``X``.

    Returns
    -------
    float
        The micro frame AUC, usable as ``scoring=`` in scikit-learn searches.
    """
    return frame_auc(*_selected_frames(estimator, X), average="micro")


def frame_ap_scorer(estimator, X, y=None) -> float:
    """Micro frame average precision of ``estimator`` on a labelled VideoSet.

    Parameters
    ----------
    estimator : fitted estimator
        See :func:`frame_auc_scorer` for where the scores come from.
    X : VideoSet
        Videos with frame labels (possibly a subset of whole videos).
    y : ignored

    Returns
    -------
    float
        The micro frame average precision (higher = better).
    """
    return frame_average_precision(*_selected_frames(estimator, X), average="micro")


def macro_auc_scorer(estimator, X, y=None) -> float:
    """Macro (per-video mean) frame AUC of ``estimator`` on a labelled VideoSet.

    Parameters
    ----------
    estimator : fitted estimator
        See :func:`frame_auc_scorer` for where the scores come from.
    X : VideoSet
        Videos with frame labels (possibly a subset of whole videos); at
        least one must hold both normal and abnormal frames.
    y : ignored

    Returns
    -------
    float
        The macro frame AUC (higher = better).
    """
    return frame_auc(*_selected_frames(estimator, X), average="macro")
