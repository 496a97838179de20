"""Callbacks of :class:`~unsupvad.InterleavedVAD`: observers of the alternation that never change training.

A callback receives the events of one ``fit``: ``on_fit_begin``, then per
module ``on_module_begin``, ``on_step_end`` after every step (with that
step's models and its ``record``, which it may add entries to) and
``on_module_end``, and finally ``on_fit_end``. Subclass :class:`Callback` and
write the events you need; an object with only some of these methods (e.g.
just ``on_step_end``) works too.

Two callbacks run in every fit: :class:`ProgressLog` (one ``logging`` line
per step) and, with ``verbose > 0``, :class:`PrintSteps` (every step's whole
record on stdout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

__all__ = ["Callback", "FrameAUCMonitor", "PrintSteps", "ProgressLog"]

EVENTS = ("on_fit_begin", "on_module_begin", "on_step_end", "on_module_end", "on_fit_end")
logger = logging.getLogger("unsupvad.fit")


class Callback:
    """Base class: every event does nothing.

    ``estimator`` is the InterleavedVAD being fitted; ``wocc`` and ``ws`` are
    the models of the step (or of the module that ended).
    """

    def on_fit_begin(self, estimator, X) -> None:
        """Before the first module (``X``: the training videos)."""

    def on_module_begin(self, estimator, module: int, threshold: int) -> None:
        """Before module ``module`` (1-based), which trains the WS with T_ws = ``threshold``."""

    def on_step_end(self, estimator, record: dict, *, wocc, ws) -> None:
        """After every step; ``record`` becomes ``history_[-1]`` and may receive entries."""

    def on_module_end(self, estimator, module: int, *, wocc, ws) -> None:
        """After module ``module``, with its final models."""

    def on_fit_end(self, estimator) -> None:
        """After the last module, once the fitted attributes are set."""


def notify(callbacks, event: str, *args, **kwargs) -> None:
    """Call ``event`` on every callback that has it."""
    for callback in callbacks:
        method = getattr(callback, event, None)
        if method is not None:
            method(*args, **kwargs)


class ProgressLog(Callback):
    """One INFO line per step on the ``unsupvad.fit`` logger, and one at the end.

    Each line gives the step, the time its steps took so far, a bound on the
    time left and the step count against its bound (``max_modules`` times
    the steps per module; a module ends earlier when its soft labels settle,
    the fit when T_ws does). Shown once a handler is set, e.g.
    ``logging.basicConfig(level="INFO")``; the command line shows them on
    stderr.
    """

    def on_fit_begin(self, estimator, X) -> None:
        self.started = time.perf_counter()
        self.bound = estimator.max_modules * estimator._max_steps()

    def on_step_end(self, estimator, record: dict, *, wocc, ws) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        done = len(estimator.history_) + 1  # this record is appended after the callbacks
        elapsed = sum(r["wocc_seconds"] + r["ws_seconds"] for r in (*estimator.history_, record))
        left = max(self.bound - done, 0) * elapsed / done
        logger.info("module %d step %d (T_ws %d): %s so far, at most %s left (%d of at most %d steps)",
                    record["module"], record["step"], record["threshold"], duration(elapsed), duration(left),
                    done, self.bound)

    def on_fit_end(self, estimator) -> None:
        logger.info("fitted in %s: %s, %s, T_ws per module %s, stopped by %s",
                    duration(time.perf_counter() - self.started), counted(estimator.n_modules_, "module"),
                    counted(estimator.n_steps_, "step"), estimator.thresholds_, estimator.termination_condition_)


class PrintSteps(Callback):
    """Print every step's whole record (``InterleavedVAD(verbose=1)``)."""

    def on_step_end(self, estimator, record: dict, *, wocc, ws) -> None:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
        print(f"[InterleavedVAD] {shown}", flush=True)


class FrameAUCMonitor(Callback):
    """Log a labelled validation set's frame AUC after every step, without affecting training.

    Parameters
    ----------
    X_val : VideoSet
        Videos with frame labels (never the test set you report on).
    models : sequence of {'wocc', 'ws'}, default=('wocc', 'ws')
        Which of the step's models to evaluate.
    average : {'micro', 'macro'}, default='micro'
    """

    def __init__(self, X_val, models: Sequence[str] = ("wocc", "ws"), average: str = "micro"):
        self.X_val = X_val
        self.models = tuple(models)
        self.average = average

    def on_step_end(self, estimator, record: dict, **models) -> None:
        from .metrics import frame_auc, frame_scores

        labels = self.X_val.frame_labels()
        for name in self.models:
            record[f"val_{name}_auc"] = float(frame_auc(labels, frame_scores(models[name], self.X_val),
                                                        average=self.average))


def counted(n: int, noun: str) -> str:
    """``'1 module'``, ``'2 modules'``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
