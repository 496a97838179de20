"""One video's frame scores (the paper's Fig. 2), saved per video, and the ROC of several videos.

Private: the public names are re-exported, and documented, by
:mod:`unsupvad.plotting`.
"""

from __future__ import annotations

import re
from numbers import Real
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from ._frame_values import as_videos, check_labels, check_pair, check_scores, is_single
from ._plot_matplotlib import _axes_or_new, _require_matplotlib
from .metrics import frame_auc, frame_scores


# ---------------------------------------------------------------------- input checks
def _one_video(values, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one value per frame), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: there is no frame to plot")
    return arr


def _video_scores(scores, video) -> np.ndarray:
    return check_scores(_one_video(scores, "scores"), video)


def _video_labels(labels, n_frames: int, video) -> np.ndarray | None:
    if labels is None:
        return None
    labels = _one_video(labels, "labels")
    if len(labels) != n_frames:
        raise ValueError(f"scores has {n_frames} frames but labels has {len(labels)}; they must match")
    return check_labels(labels, video)


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
        estimator : fitted estimator or Pipeline
            Scored with :func:`unsupvad.metrics.frame_scores`: its own
            ``score_frames(X)`` (after the other steps of a pipeline), else
            its snippet scores spread over the frames.
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
        names = list(X.names)
        index = _video_index(video, names)
        scores = list(frame_scores(estimator, X))
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

    if is_single(frame_scores):
        # one video: its labels are one array too, not one per video
        frame_scores, labels = [frame_scores], None if labels is None else [labels]
    videos = as_videos(frame_scores, "frame_scores")
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
    labels, scores = check_pair(labels, scores)
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
