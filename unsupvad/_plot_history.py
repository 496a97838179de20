"""Figures of the interleaved training: T_ws per module (Fig. 4), the losses (Fig. 6), both at once.

Private: the public names are re-exported, and documented, by
:mod:`unsupvad.plotting`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from ._plot_matplotlib import _axes_or_new, _integer_ticks, _pyplot, _require_matplotlib

LOSS_KEYS = ("wocc_loss", "ws_loss")
_LOSS_COLORS = {"wocc_loss": "tab:blue", "ws_loss": "tab:orange"}
_METRIC_COLORS = ("tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


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
