"""Plots of frame anomaly scores and of the interleaved training.

Everything here *reads* results: frame scores, labels and the training
history that :class:`~unsupvad.InterleavedVAD` records. Scores follow the
VAD convention, **higher = more abnormal**.

matplotlib is an optional dependency, installed with
``pip install "unsupvad[plot]"``; it is imported only when a plot is drawn.
Every function draws on the ``ax`` it is given, or on a new pyplot figure
when there is none.

The figures of the paper
------------------------
* :func:`plot_video_scores` / :class:`VideoScoreDisplay`: one video's frame
  scores with its ground-truth anomalies shaded (Fig. 2);
* :func:`plot_thresholds`: T_ws per module, a star where the stopping
  criterion fired, and the validation metrics per module (Fig. 4);
* :func:`plot_training_losses`: the losses of every step, module after module
  (Fig. 6);
* :class:`TrainingHistoryDisplay`: the last two in one figure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_curve

from .metrics import _as_videos, _check_labels, _check_pair, _check_scores, _is_single, frame_auc

__all__ = [
    "TrainingHistoryDisplay",
    "VideoScoreDisplay",
    "plot_roc",
    "plot_thresholds",
    "plot_training_losses",
    "plot_video_scores",
    "save_video_plots",
    "scorer_label",
]

LOSS_KEYS = ("wocc_loss", "ws_loss")
_LOSS_COLORS = {"wocc_loss": "tab:blue", "ws_loss": "tab:orange"}
_METRIC_COLORS = ("tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
_INSTALL_HINT = 'plotting needs matplotlib, an optional dependency: pip install "unsupvad[plot]"'


# ---------------------------------------------------------------------- matplotlib, lazily
def _pyplot():
    """``matplotlib.pyplot``, or an ImportError telling how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _axes_or_new(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


# ---------------------------------------------------------------------- input checks
def _one_video(values, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one value per frame), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: there is no frame to plot")
    return arr


def _video_scores(scores, video) -> np.ndarray:
    return _check_scores(_one_video(scores, "scores"), video)


def _video_labels(labels, n_frames: int, video) -> np.ndarray | None:
    if labels is None:
        return None
    labels = _one_video(labels, "labels")
    if len(labels) != n_frames:
        raise ValueError(f"scores has {n_frames} frames but labels has {len(labels)}; they must match")
    return _check_labels(labels, video)


def _positive_or_none(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _finite_or_none(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _abnormal_intervals(labels: np.ndarray) -> np.ndarray:
    """``(start, stop)`` frame ranges of the runs of abnormal frames, stop excluded."""
    edges = np.flatnonzero(np.diff(np.r_[0, labels, 0]))
    return edges.reshape(-1, 2)


# ---------------------------------------------------------------------- one video
class VideoScoreDisplay:
    """One video's frame anomaly scores over time, ground-truth anomalies shaded.

    The paper's Fig. 2. Build it with :meth:`from_predictions` or
    :meth:`from_estimator`, which also draw it, or construct it and call
    :meth:`plot`.

    Parameters
    ----------
    scores : array-like of shape (n_frames,)
        Frame anomaly scores (higher = more abnormal), finite.
    labels : array-like of shape (n_frames,), optional
        Frame labels (1 = abnormal); each run of abnormal frames is shaded.
    fps : float, optional
        Frames per second: the x axis is then in seconds, else in frames.
    video_name : str, optional
        Part of the default title.
    scorer : str, optional
        Which model gave the scores (e.g. ``"WS (RTFM)"``), part of the
        default title.

    Attributes
    ----------
    auc_ : float or None
        The video's frame ROC AUC, when ``labels`` hold both classes (else
        None); part of the default title.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    line_ : matplotlib Line2D
        The score curve.
    spans_ : list of matplotlib patches
        One shaded span per abnormal interval.
    threshold_line_ : matplotlib Line2D or None
        The horizontal threshold line, if one was drawn.
    """

    def __init__(self, scores, labels=None, *, fps=None, video_name=None, scorer=None):
        video = 0 if video_name is None else repr(video_name)
        self.scores = _video_scores(scores, video)
        self.labels = _video_labels(labels, len(self.scores), video)
        self.fps = _positive_or_none(fps, "fps")
        self.video_name = video_name
        self.scorer = scorer
        self.auc_ = _video_auc(self.labels, self.scores)

    def default_title(self) -> str | None:
        """``video · scorer · frame AUC``, from the parts that are known (None when none is).

        A video whose labels hold one class has no AUC: the title says
        ``no abnormal frame`` (or ``every frame abnormal``) instead.
        """
        parts = [str(part) for part in (self.video_name, self.scorer) if part is not None]
        if self.auc_ is not None:
            parts.append(f"frame AUC {self.auc_:.3f}")
        elif self.labels is not None:
            parts.append("every frame abnormal" if self.labels.all() else "no abnormal frame")
        return " · ".join(parts) or None

    def _frame_times(self, frames) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float64)
        return frames if self.fps is None else frames / self.fps

    def plot(self, ax=None, threshold=None, *, title=None, legend=True):
        """Draw the scores, the shaded anomalies and an optional threshold.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        threshold : float, optional
            Anomaly-score threshold drawn as a horizontal dashed line.
        title : str, optional
            Axes title; defaults to :meth:`default_title` (video, scorer and
            the video's frame AUC).
        legend : bool, default=True
            Draw the legend, outside the axes on the right so that it covers
            no score; False for a figure that carries one legend for all
            its axes.

        Returns
        -------
        self : VideoScoreDisplay
        """
        _require_matplotlib()
        threshold = _finite_or_none(threshold, "threshold")
        ax = _axes_or_new(ax, figsize=(9, 3))
        x = self._frame_times(np.arange(len(self.scores)))
        (self.line_,) = ax.plot(x, self.scores, color="tab:blue", lw=1.2, label="anomaly score")
        self.spans_ = self._shade_anomalies(ax)
        self.threshold_line_ = None
        if threshold is not None:
            self.threshold_line_ = ax.axhline(threshold, color="black", ls="--", lw=1, label="threshold")
        if len(x) > 1:
            ax.set_xlim(x[0], x[-1])
        ax.set_xlabel("time (s)" if self.fps is not None else "frame")
        ax.set_ylabel("anomaly score")
        title = self.default_title() if title is None else title
        if title is not None:
            ax.set_title(str(title), fontsize="medium")
        if legend:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _shade_anomalies(self, ax) -> list:
        if self.labels is None:
            return []
        spans = []
        # half a frame on each side, so that a span covers its frames whole (even a single one)
        for i, (start, stop) in enumerate(_abnormal_intervals(self.labels)):
            left, right = self._frame_times([start - 0.5, stop - 0.5])
            label = "ground-truth anomaly" if i == 0 else None
            spans.append(ax.axvspan(left, right, color="tab:red", alpha=0.25, lw=0, label=label))
        return spans

    @classmethod
    def from_predictions(cls, scores, labels=None, *, fps=None, video_name=None, scorer=None, ax=None,
                         threshold=None, title=None):
        """Plot one video's frame scores.

        Parameters
        ----------
        scores : array-like of shape (n_frames,)
            Frame anomaly scores (higher = more abnormal).
        labels : array-like of shape (n_frames,), optional
            Frame labels (1 = abnormal).
        fps : float, optional
            Frames per second (x axis in seconds).
        video_name : str, optional
            Part of the default title.
        scorer : str, optional
            Which model gave the scores, part of the default title.
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        threshold : float, optional
            Horizontal threshold line.
        title : str, optional
            Axes title; defaults to video, scorer and the video's frame AUC.

        Returns
        -------
        display : VideoScoreDisplay
        """
        display = cls(scores, labels, fps=fps, video_name=video_name, scorer=scorer)
        return display.plot(ax=ax, threshold=threshold, title=title)

    @classmethod
    def from_estimator(cls, estimator, X, video, *, fps=None, ax=None, threshold=None, title=None):
        """Plot the frame scores an estimator gives one video of a VideoSet.

        Parameters
        ----------
        estimator : fitted estimator
            ``estimator.score_frames(X)`` returns one array of frame anomaly
            scores (higher = more abnormal) per video of ``X``.
        X : VideoSet
            The videos; the ground truth is shaded when the video has labels.
        video : str or int
            Name of the video in ``X.names``, or its index.
        fps : float, optional
            Frames per second; defaults to the video's own ``fps``, if any.
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.
        threshold : float, optional
            Horizontal threshold line.
        title : str, optional
            Axes title; defaults to the video name, the scoring model (see
            :func:`scorer_label`) and the video's frame AUC.

        Returns
        -------
        display : VideoScoreDisplay
        """
        if not hasattr(estimator, "score_frames"):
            raise TypeError(f"{type(estimator).__name__} has no score_frames method")
        names = list(X.names)
        index = _video_index(video, names)
        scores = list(estimator.score_frames(X))
        if len(scores) != len(names):
            raise ValueError(f"the estimator scored {len(scores)} videos, X holds {len(names)}")
        record = X.videos[index] if hasattr(X, "videos") else None
        labels = record.labels if record is not None else X.frame_labels()[index]
        if fps is None and record is not None:
            fps = getattr(record, "fps", None)
        display = cls(scores[index], labels, fps=fps, video_name=names[index], scorer=scorer_label(estimator))
        return display.plot(ax=ax, threshold=threshold, title=title)


def _video_auc(labels: np.ndarray | None, scores: np.ndarray) -> float | None:
    if labels is None or labels.min() == labels.max():
        return None
    return frame_auc(labels, scores)


def scorer_label(estimator) -> str:
    """What scores frames in a plot title: ``"WS (RTFM)"`` for an InterleavedVAD, else the class name.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A pipeline is named by its last step; an
        :class:`~unsupvad.InterleavedVAD` by its ``scorer`` and that model's
        class.

    Returns
    -------
    label : str
    """
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    scorer = getattr(estimator, "scorer", None)
    model = getattr(estimator, f"{scorer}_", None) if scorer in ("ws", "wocc") else None
    if model is None:
        return type(estimator).__name__
    return f"{'WS' if scorer == 'ws' else 'wOCC'} ({type(model).__name__})"


def _video_index(video, names: list[str]) -> int:
    if isinstance(video, (int, np.integer)) and not isinstance(video, bool):
        if not -len(names) <= video < len(names):
            raise ValueError(f"video index {video} out of range for {len(names)} videos")
        return int(video) % len(names)
    if video not in names:
        shown = ", ".join(map(repr, names[:10])) + (", ..." if len(names) > 10 else "")
        raise ValueError(f"no video named {video!r}; the videos are {shown}")
    return names.index(video)


def plot_video_scores(scores, labels=None, *, fps=None, threshold=None, ax=None, title=None, legend=True):
    """Plot one video's frame anomaly scores, its ground-truth anomalies shaded (Fig. 2).

    Parameters
    ----------
    scores : array-like of shape (n_frames,)
        Frame anomaly scores (higher = more abnormal), finite.
    labels : array-like of shape (n_frames,), optional
        Frame labels, 0 (normal) or 1 (abnormal); every run of abnormal
        frames is shaded.
    fps : float, optional
        Frames per second: the x axis is then in seconds, else in frames.
    threshold : float, optional
        Anomaly-score threshold drawn as a horizontal dashed line.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Axes title; by default the frame AUC when ``labels`` hold both
        classes.
    legend : bool, default=True
        Draw the legend (outside the axes, on the right).

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        When ``scores`` is empty or not finite, or ``labels`` has another
        length or values other than 0/1.

    See Also
    --------
    VideoScoreDisplay : The same, keeping the drawn artists.
    """
    display = VideoScoreDisplay(scores, labels, fps=fps)
    return display.plot(ax=ax, threshold=threshold, title=title, legend=legend).ax_


def _per_video(values, n_videos: int, what: str) -> list:
    """``values`` repeated for every video when it is a scalar or None, else checked to be one per video."""
    if values is None or isinstance(values, (str, Real)):
        return [values] * n_videos
    values = list(values)
    if len(values) != n_videos:
        raise ValueError(f"{what} has {len(values)} entries for {n_videos} videos")
    return values


def _file_stems(names: list) -> list[str]:
    stems = [re.sub(r"[^\w.-]", "_", str(name)) or "_" for name in names]
    seen = set()
    for name, stem in zip(names, stems):
        if stem in seen:
            raise ValueError(f"two videos would be saved as {stem + '.png'!r} (the second is {name!r})")
        seen.add(stem)
    return stems


def save_video_plots(frame_scores, out_dir, *, names=None, labels=None, fps=None, scorer=None) -> list[Path]:
    """Save one PNG of frame scores per video.

    Parameters
    ----------
    frame_scores : sequence of array-like of shape (n_frames_v,)
        Frame anomaly scores of every video (higher = more abnormal). A
        single 1-D array is one video.
    out_dir : str or path-like
        Folder of the images; created if missing.
    names : sequence of str, optional
        Video names, used as titles and file names (characters other than
        letters, digits, ``.``, ``_`` and ``-`` become ``_``). Default:
        ``video_000``, ``video_001``, ...
    labels : sequence of array-like or None, optional
        Frame labels per video (1 = abnormal), shaded; an entry may be None
        for an unlabelled video.
    fps : float or sequence of float, optional
        Frames per second, for all videos or one per video.
    scorer : str, optional
        Which model gave the scores (e.g. ``"WS (RTFM)"``, see
        :func:`scorer_label`), in every title beside the name and, where
        the labels hold both classes, the video's frame AUC.

    Returns
    -------
    paths : list of pathlib.Path
        The image files, ``<out_dir>/<name>.png``, in the order of the videos.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    if _is_single(frame_scores):
        # one video: its labels are one array too, not one per video
        frame_scores, labels = [frame_scores], None if labels is None else [labels]
    videos = _as_videos(frame_scores, "frame_scores")
    names = [f"video_{i:03d}" for i in range(len(videos))] if names is None else list(names)
    if len(names) != len(videos):
        raise ValueError(f"names has {len(names)} entries for {len(videos)} videos")
    stems = _file_stems(names)
    labels = _per_video(labels, len(videos), "labels")
    fps = _per_video(fps, len(videos), "fps")
    displays = [VideoScoreDisplay(s, lab, fps=f, video_name=n, scorer=scorer)
                for s, lab, f, n in zip(videos, labels, fps, names)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for display, stem in zip(displays, stems):
        # a bare Figure is not registered with pyplot: nothing stays open, whatever the backend
        figure = Figure(figsize=(9, 3), layout="constrained")
        display.plot(ax=figure.subplots())
        path = out_dir / f"{stem}.png"
        figure.savefig(path, dpi=100)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------- ROC
def plot_roc(labels, scores, *, ax=None, name=None):
    """Plot the micro frame-level ROC curve of several videos.

    The frames of all videos are concatenated, as for
    :func:`unsupvad.metrics.frame_auc` with ``average='micro'``.

    Parameters
    ----------
    labels : sequence of array-like, or array-like
        Frame labels per video (1 = abnormal); a single 1-D array is one video.
    scores : same structure as ``labels``
        Frame anomaly scores (higher = more abnormal).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    name : str, optional
        Name of the curve in the legend, before its AUC.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        On a length mismatch, NaN scores, labels other than 0/1, or when all
        frames are of one class.
    """
    _require_matplotlib()
    labels, scores = _check_pair(labels, scores)
    if not sum(len(lab) for lab in labels):
        raise ValueError("labels and scores hold no frame: there is no ROC to plot")
    auc = frame_auc(labels, scores, average="micro")
    fpr, tpr, _ = roc_curve(np.concatenate(labels), np.concatenate(scores))
    ax = _axes_or_new(ax, figsize=(4.5, 4.5))
    text = f"AUC = {auc:.3f}" if name is None else f"{name} (AUC = {auc:.3f})"
    ax.plot(fpr, tpr, lw=1.5, label=text)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (frames)", ylabel="true positive rate (frames)")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small")
    return ax


# ---------------------------------------------------------------------- training history
def _history_frame(records) -> pd.DataFrame:
    """The history as a DataFrame, one row per step, checked to be usable."""
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
    else:
        if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
            raise TypeError(f"a training history is a list of dicts, got {type(records).__name__}")
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise ValueError(f"history entry {i} is a {type(record).__name__}, not a dict")
        frame = pd.DataFrame(list(records))
    if frame.empty:
        raise ValueError("the training history is empty: nothing to plot")
    return frame


def _training_data(source):
    """``(history or None, thresholds_ or None, converged)`` of an estimator or a history."""
    if isinstance(source, (pd.DataFrame, list, tuple)):
        return _history_frame(source), None, False
    history = getattr(source, "history_", None)
    thresholds = getattr(source, "thresholds_", None)
    if history is None and thresholds is None:
        if hasattr(source, "fit"):
            raise NotFittedError(f"this {type(source).__name__} is not fitted: it has no history_ or thresholds_")
        raise TypeError(f"expected a fitted estimator or a training history, got {type(source).__name__}")
    converged = getattr(source, "termination_condition_", None) == "converged"
    return (None if history is None else _history_frame(history)), thresholds, converged


def _has_values(history: pd.DataFrame | None, key: str) -> bool:
    return history is not None and key in history.columns and bool(history[key].notna().any())


def _require(history: pd.DataFrame | None, keys, purpose: str) -> None:
    missing = [key for key in keys if not _has_values(history, key)]
    if missing:
        present = ", ".join(map(repr, history.columns)) if history is not None else "none (no history_)"
        raise ValueError(
            f"the training history has no {', '.join(map(repr, missing))}, needed for {purpose}; "
            f"its keys are: {present}"
        )


def _numeric(history: pd.DataFrame, key: str) -> pd.Series:
    try:
        return pd.to_numeric(history[key])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"history key {key!r} must hold numbers: {exc}") from exc


def _modules(history: pd.DataFrame) -> pd.Series:
    modules = _numeric(history, "module")
    if modules.isna().any():
        raise ValueError(f"history entry {int(np.flatnonzero(modules.isna())[0])} has no 'module'")
    return modules.astype(np.int64)


def _module_thresholds(history: pd.DataFrame | None, thresholds) -> pd.Series:
    """T_ws indexed by module (1, 2, ...): ``thresholds_`` if known, else the history's."""
    if thresholds is None:
        _require(history, ("module", "threshold"), "the thresholds")
        values = _numeric(history, "threshold").groupby(_modules(history)).first()
    else:
        values = pd.Series(np.asarray(thresholds, dtype=np.float64).reshape(-1))
        values.index = np.arange(1, len(values) + 1)
    if values.empty:
        raise ValueError("there is no threshold to plot (thresholds_ is empty)")
    if not np.isfinite(values.to_numpy()).all():
        raise ValueError(f"the thresholds must be finite, got {values.tolist()}")
    return values


def _validation_means(history: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per-module means of the 'val_*' monitor metrics, or None when there are none."""
    if history is None:
        return None
    keys = [key for key in history.columns if str(key).startswith("val_") and _has_values(history, key)]
    if not keys:
        return None
    _require(history, ("module",), "the per-module validation metrics")
    values = pd.DataFrame({key: _numeric(history, key) for key in keys})
    return values.groupby(_modules(history).to_numpy()).mean()


def _draw_thresholds(ax, thresholds: pd.Series, converged: bool) -> None:
    modules, values = thresholds.index.to_numpy(), thresholds.to_numpy()
    ax.plot(modules, values, color="tab:blue", marker="o", label="$T_{ws}$")
    if converged:
        # the criterion is checked after each module: it fired after the last one, whose models are kept
        ax.plot(modules[-1:], values[-1:], ls="none", marker="*", ms=16, color="tab:red",
                label="stopping criterion met")
    ax.set_xlabel("module")
    ax.set_ylabel("$T_{ws}$ (snippets)")
    _integer_ticks(ax.xaxis)
    ax.legend(loc="upper right", fontsize="small")


def _draw_validation(ax, means: pd.DataFrame) -> None:
    for i, key in enumerate(means.columns):
        ax.plot(means.index.to_numpy(), means[key].to_numpy(), marker="s",
                color=_METRIC_COLORS[i % len(_METRIC_COLORS)], label=key)
    ax.set_xlabel("module")
    ax.set_ylabel("validation metric (module mean)")
    _integer_ticks(ax.xaxis)
    ax.legend(loc="lower right", fontsize="small")


def _threshold_axes(ax, with_metrics: bool):
    """The axes of T_ws and of the metrics (None without metrics)."""
    if ax is None:
        n_rows = 2 if with_metrics else 1
        _, axes = _pyplot().subplots(n_rows, 1, figsize=(6, 2.8 * n_rows), sharex=True, squeeze=False,
                                     layout="constrained")
        axes = list(axes[:, 0])
    elif isinstance(ax, (Sequence, np.ndarray)):
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if not 1 <= len(axes) <= 2:
            raise ValueError(f"ax must be one Axes or two (thresholds, metrics), got {len(axes)}")
    else:
        axes = [ax]
    if not with_metrics:
        return axes[0], None
    return axes[0], (axes[1] if len(axes) > 1 else axes[0].twinx())


def plot_thresholds(estimator_or_history, *, ax=None):
    """Plot T_ws per module, where the stopping criterion fired, and validation metrics (Fig. 4).

    Parameters
    ----------
    estimator_or_history : fitted InterleavedVAD or list of dict
        An estimator with ``thresholds_`` and/or ``history_`` (and
        ``termination_condition_``), or a history: one dict per step with at
        least ``'module'`` and ``'threshold'`` (a DataFrame works too).
        ``thresholds_`` is preferred to the history's thresholds. A star marks
        the last module when ``termination_condition_ == 'converged'``.
    ax : matplotlib Axes or pair of Axes, optional
        Where to draw. When the history holds ``'val_*'`` metrics they go on
        the second Axes of a pair, or on a twin y axis of a single Axes; a
        new figure with one or two panels when None.

    Returns
    -------
    ax : matplotlib Axes or ndarray of two Axes
        The T_ws axes, or ``[T_ws axes, metrics axes]`` when validation
        metrics were drawn.

    Raises
    ------
    ValueError
        When there is no threshold to plot: no ``thresholds_`` and a history
        without ``'module'`` or ``'threshold'``, or an empty history.
    """
    _require_matplotlib()
    history, thresholds, converged = _training_data(estimator_or_history)
    module_thresholds = _module_thresholds(history, thresholds)
    means = _validation_means(history)
    threshold_ax, metric_ax = _threshold_axes(ax, with_metrics=means is not None)
    _draw_thresholds(threshold_ax, module_thresholds, converged)
    if metric_ax is None:
        return threshold_ax
    _draw_validation(metric_ax, means)
    return np.array([threshold_ax, metric_ax], dtype=object)


def _draw_losses(ax, history: pd.DataFrame) -> None:
    keys = [key for key in LOSS_KEYS if _has_values(history, key)]
    if not keys:
        raise ValueError(
            "the training history has neither 'wocc_loss' nor 'ws_loss' (the models record a loss only when "
            f"they are skorch nets); its keys are: {', '.join(map(repr, history.columns))}"
        )
    _require(history, ("module",), "the module boundaries of the training-loss plot")
    modules = _modules(history).to_numpy()
    steps = np.arange(1, len(history) + 1)
    # the two losses live on unrelated scales (a flow's NLL, a BCE): the second gets its own y axis
    loss_axes = [ax] if len(keys) == 1 else [ax, ax.twinx()]
    handles = []
    for key, loss_ax in zip(keys, loss_axes):
        (line,) = loss_ax.plot(steps, _numeric(history, key).to_numpy(), marker=".", color=_LOSS_COLORS[key],
                               label=key)
        loss_ax.set_ylabel(key, color=_LOSS_COLORS[key])
        handles.append(line)
    for boundary in np.flatnonzero(modules[1:] != modules[:-1]) + 1.5:
        ax.axvline(boundary, color="grey", ls=":", lw=1)
    ax.set_xlabel("step (all modules; dotted lines: a new module starts)")
    _integer_ticks(ax.xaxis)
    ax.legend(handles=handles, loc="upper right", fontsize="small")


def plot_training_losses(estimator_or_history, *, ax=None):
    """Plot the wOCC and WS losses of every step, module after module (Fig. 6).

    Parameters
    ----------
    estimator_or_history : fitted InterleavedVAD or list of dict
        An estimator with ``history_``, or the history itself: one dict per
        step with ``'module'`` and ``'wocc_loss'`` and/or ``'ws_loss'`` (a
        DataFrame works too).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None. When both losses are present
        ``ws_loss`` goes on a twin y axis, as the scales are unrelated.

    Returns
    -------
    ax : matplotlib Axes
        The axes of the first loss; dotted vertical lines separate the
        modules.

    Raises
    ------
    ValueError
        When the history is empty, has neither loss, or has no ``'module'``.
    """
    _require_matplotlib()
    history, _, _ = _training_data(estimator_or_history)
    if history is None:
        raise ValueError("the estimator has no history_: there is no loss to plot")
    ax = _axes_or_new(ax, figsize=(8, 3))
    _draw_losses(ax, history)
    return ax


class TrainingHistoryDisplay:
    """The interleaved training at a glance: T_ws, validation metrics and losses.

    One figure with a panel for T_ws per module (with the stopping star), one
    for the per-module means of the ``'val_*'`` metrics and one for the
    losses of every step, the last two only when the history holds them.
    Build it with :meth:`from_estimator`, or construct it and call
    :meth:`plot`.

    Parameters
    ----------
    history : list of dict or DataFrame, optional
        One record per step, as in ``InterleavedVAD.history_``.
    thresholds : sequence of int, optional
        T_ws per module (``thresholds_``); read from the history when None.
    converged : bool, default=False
        Whether the stopping criterion fired (a star on the last module).

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure.
    axes_ : ndarray of matplotlib Axes
        The panels, top to bottom.
    threshold_ax_ : matplotlib Axes
        The T_ws panel.
    metric_ax_ : matplotlib Axes or None
        The validation-metric panel.
    loss_ax_ : matplotlib Axes or None
        The loss panel.
    """

    def __init__(self, history=None, *, thresholds=None, converged=False):
        self.history = history
        self.thresholds = thresholds
        self.converged = converged

    @classmethod
    def from_estimator(cls, estimator, *, figure=None):
        """Plot the training history of a fitted InterleavedVAD.

        Parameters
        ----------
        estimator : fitted InterleavedVAD
            Read through ``history_``, ``thresholds_`` and
            ``termination_condition_``.
        figure : matplotlib Figure, optional
            An empty figure to draw in; a new one when None.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        history, thresholds, converged = _training_data(estimator)
        return cls(history, thresholds=thresholds, converged=converged).plot(figure=figure)

    def plot(self, *, figure=None):
        """Draw the panels.

        Parameters
        ----------
        figure : matplotlib Figure, optional
            An empty figure to draw in; a new one when None.

        Returns
        -------
        self : TrainingHistoryDisplay
        """
        _require_matplotlib()
        history = None if self.history is None else _history_frame(self.history)
        thresholds = _module_thresholds(history, self.thresholds)
        means = _validation_means(history)
        has_losses = any(_has_values(history, key) for key in LOSS_KEYS)
        n_panels = 1 + (means is not None) + has_losses
        if figure is None:
            figure = _pyplot().figure(figsize=(7, 2.8 * n_panels), layout="constrained")
        axes = figure.subplots(n_panels, 1, squeeze=False)[:, 0]
        _draw_thresholds(axes[0], thresholds, bool(self.converged))
        self.metric_ax_ = self.loss_ax_ = None
        if means is not None:
            self.metric_ax_ = axes[1]
            _draw_validation(self.metric_ax_, means)
        if has_losses:
            self.loss_ax_ = axes[-1]
            _draw_losses(self.loss_ax_, history)
        self.figure_, self.axes_, self.threshold_ax_ = figure, axes, axes[0]
        return self
