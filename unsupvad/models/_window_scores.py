"""Snippet, frame and detection scores from the scores of track windows: STG-NF's mapping, shared by track wOCCs.

:class:`~unsupvad.STGNF` and :class:`~unsupvad.Jigsaw` both score *objects*
(windows of one track, :class:`~unsupvad.Objects`) and map those scores to
snippets (the mean of the objects in the snippet, as in the paper, or their max), frames (STG-NF's
protocol: window centre, most abnormal person, Gaussian cascade) and
detections (the most abnormal window holding each detection) the same way,
through :class:`WindowScoresMixin`.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils._param_validation import StrOptions

from .._objects import Objects, detection_scores
from .._videoset import VideoSet

WINDOW_SCORING_CONSTRAINTS = {
    "smoothing_sigmas": [None, tuple, list],
    "snippet_scoring": [StrOptions({"mean", "max", "frames"})],
    "empty_frame": [StrOptions({"min"}), Real],
}
"""scikit-learn parameter constraints of the three parameters :class:`WindowScoresMixin` reads."""


class WindowScoresMixin:
    """``score_snippets``, ``score_frames`` and ``score_detections`` of a model that scores track windows.

    The class has the parameters ``snippet_scoring`` ('mean', 'max' or
    'frames'), ``empty_frame`` ('min' or a number) and ``smoothing_sigmas``
    (documented on :class:`~unsupvad.STGNF`) and writes:

    * ``_videoset(X)``: ``X`` checked as the VideoSet it reads;
    * ``scoring_objects(X)``: the windows it scores;
    * ``score_objects(X, objects)``: their anomaly scores (higher = more
      abnormal);
    * ``_scored_objects(X)``: the scoring windows of ``X`` and their scores
      (a model may reuse windows it prepared earlier).
    """

    def _check_smoothing(self) -> None:
        if self.smoothing_sigmas is not None and any(s <= 0 for s in self.smoothing_sigmas):
            raise ValueError(f"smoothing_sigmas must be positive, got {self.smoothing_sigmas!r}")

    def score_detections(self, X) -> list[np.ndarray]:
        """Who is abnormal: per video, one score per detection (row of its tracks), higher = more abnormal.

        A detection takes the largest score of the scoring windows
        (:meth:`scoring_objects`) that hold it; NaN when none does (a track
        shorter than the window, or with more than ``max_missing`` frames
        missing in every window). Rows are in the order of
        ``video.tracks`` (by track, then frame).
        """
        X = self._videoset(X)
        objects = self.scoring_objects(X)
        return detection_scores(X.videos, objects, self.score_objects(X, objects))

    @staticmethod
    def _most_normal(scores: np.ndarray) -> float:
        return float(scores.min()) if len(scores) else 0.0

    def _to_snippets(self, X: VideoSet, objects: Objects, scores: np.ndarray) -> np.ndarray:
        if self.snippet_scoring == "frames":
            return X.frames_to_snippets(self._frame_scores(X, objects, scores), reduce="mean")
        snippets = X.objects_to_snippets(objects, scores, reduce=self.snippet_scoring, rule="touch",
                                         fill_value=np.nan)
        return np.where(np.isnan(snippets), self._most_normal(scores), snippets)

    def score_snippets(self, X) -> np.ndarray:
        """Anomaly score of every selected snippet (see ``snippet_scoring``).

        With 'mean' or 'max', snippets no object overlaps get the smallest
        object score of ``X`` (the most normal); 0 if ``X`` has no object.
        """
        X = self._videoset(X)
        return self._to_snippets(X, *self._scored_objects(X))

    def score_frames(self, X) -> list[np.ndarray]:
        """Frame anomaly scores, one array of ``n_frames`` per video (STG-NF's protocol).

        Each window's score is placed at its centre frame; a frame takes the
        largest score placed on it (the most abnormal person); frames with
        none get ``empty_frame`` (by default the smallest object score of
        ``X``: the most normal); then each video is smoothed by
        ``gaussian_filter1d`` with every sigma of ``smoothing_sigmas`` in
        turn (mode 'reflect').
        """
        X = self._videoset(X)
        return self._frame_scores(X, *self._scored_objects(X))

    def _frame_scores(self, X: VideoSet, objects: Objects, scores: np.ndarray) -> list[np.ndarray]:
        fill = self._most_normal(scores) if self.empty_frame == "min" else float(self.empty_frame)
        frames = X.objects_to_frames(objects, scores, reduce="max", placement="centre", fill_value=fill)
        return [self._smooth(f) for f in frames]

    def _smooth(self, values: np.ndarray) -> np.ndarray:
        for sigma in self.smoothing_sigmas or ():
            values = gaussian_filter1d(values, float(sigma), mode="reflect")
        return values
