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

Who was abnormal, where
-----------------------
* :func:`plot_detections`: a video's people in the image plane (paths, or
  one frame's boxes) coloured by their detection scores.
"""

from __future__ import annotations

# The code lives in private modules: _plot_video (one video's scores, saved plots, ROC),
# _plot_history (the training history) and _plot_matplotlib (the lazy matplotlib import and
# the helpers both share). The private names below stay importable from here (the CLI uses
# _require_matplotlib).
from ._plot_history import LOSS_KEYS as LOSS_KEYS
from ._plot_history import TrainingHistoryDisplay, plot_thresholds, plot_training_losses
from ._plot_matplotlib import _pyplot as _pyplot
from ._plot_matplotlib import _require_matplotlib as _require_matplotlib
from ._plot_people import plot_detections
from ._plot_video import VideoScoreDisplay, plot_roc, plot_video_scores, save_video_plots, scorer_label

__all__ = [
    "TrainingHistoryDisplay",
    "VideoScoreDisplay",
    "plot_detections",
    "plot_roc",
    "plot_thresholds",
    "plot_training_losses",
    "plot_video_scores",
    "save_video_plots",
    "scorer_label",
]

