"""The training machinery RTFM and MIL share: input standardisation, parameter checks and :class:`BagTrainingMixin`.

The mixin deals each epoch's bags from the 0/1 snippet labels with
:mod:`._bag_sampling`, where bags and rounds are described.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar
from torch import nn

from .._health import rank_auc
from .._videoset import VideoSet
from ._bag_sampling import BagPairs, BagStream, SegmentBank, SnippetBank
from ._base import (
    CachesPerVideoSet,
    InterruptibleNet,
    SnippetScoresMixin,
    as_videoset,
    draw_seed,
    offset_at,
    resolve_device,
    torch_seeded,
    unfitted_if_interrupted,
)
from ._tags import ModelTags

SCORE_BATCH = 4096
MIN_SCALE_SHARE = 1e-2


# ---------------------------------------------------------------------- input standardisation
class FeatureStandardizer(nn.Module):
    """``(x - mean) / scale`` over the last (feature) axis, with fixed buffers (identity until set).

    The buffers are part of the network's state, so the same standardisation
    reaches training, batch-norm statistics, scoring and model files.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    @torch.no_grad()
    def set(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        self.scale.copy_(torch.as_tensor(scale, dtype=self.scale.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


def feature_moments(X: VideoSet) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation of the selected snippets' features, crops pooled.

    Two passes (mean, then squared deviations) over one video at a time with
    float64 sums, so memory-mapped features are never loaded whole and a
    large offset does not eat the variance. A dimension whose standard
    deviation is below ``MIN_SCALE_SHARE`` times the mean standard deviation
    over dimensions (constant or nearly dead units) gets that floor instead,
    so that a unit silent in training cannot blow up at scoring time; the
    floor is relative, so the result does not depend on the features' unit.
    """
    def rows_of(v: int) -> np.ndarray:
        rows = np.asarray(X.videos[v].features[X.snippet_index[X.video_positions(v)]], dtype=np.float64)
        return rows.reshape(-1, rows.shape[-1])

    count = 0
    total = np.zeros(X.shape[-1])
    for v in range(X.n_videos):
        rows = rows_of(v)
        total += rows.sum(0)
        count += len(rows)
    mean = total / count
    squares = np.zeros_like(mean)
    for v in range(X.n_videos):
        squares += ((rows_of(v) - mean) ** 2).sum(0)
    std = np.sqrt(squares / count)
    floor = MIN_SCALE_SHARE * std.mean()
    std = np.maximum(std, floor) if floor > 0 else np.ones_like(std)
    return mean.astype(np.float32), std.astype(np.float32)


def input_scaling(X: VideoSet, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``(mean, scale)`` of :class:`FeatureStandardizer` for the training snippets of ``X``.

    ``'standard'``: per-dimension mean and standard deviation
    (:func:`feature_moments`). ``'rms'``: no shift, and one scale for every
    dimension, the root mean square of the features, so that their sign,
    sparsity and direction are kept and only their unit goes.
    """
    mean, std = feature_moments(X)
    if kind == "standard":
        return mean, std
    if kind == "rms":
        rms = np.sqrt(np.mean(std.astype(np.float64) ** 2 + mean.astype(np.float64) ** 2))
        return np.zeros_like(mean), np.full_like(std, rms if rms > 0 else 1.0)
    raise ValueError(f"input_scaling must be 'standard', 'rms' or 'none', got {kind!r}")


# ---------------------------------------------------------------------- shared estimator machinery
BAG_PARAMETER_CONSTRAINTS = {
    "bag_size": [Interval(Integral, 1, None, closed="left")],
    "bag_sampling": [StrOptions({"random", "stratified"})],
    "mode": [StrOptions({"pseudo", "video"})],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "iterations_per_epoch": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "min_iterations": [Interval(Integral, 1, None, closed="left")],
    "min_agreement": [None, Interval(Real, 0.5, 1, closed="both")],
    "feature_cache_bytes": [Interval(Integral, 0, None, closed="left")],
    "input_scaling": [StrOptions({"standard", "rms", "none"})],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    "random_state": ["random_state"],
    "device": [str],
    "verbose": ["verbose"],
}


def check_snippet_labels(y, n: int) -> np.ndarray:
    """0/1 labels, one per selected snippet."""
    if y is None:
        raise ValueError("y is required: one 0/1 label per snippet (1 = abnormal)")
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have one label per snippet ({n},), got shape {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinite values")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0 (normal) or 1 (abnormal) per snippet")
    return y.astype(np.int64)


def check_snippet_values(values, n: int, what: str, non_negative: bool) -> np.ndarray | None:
    """Finite per-snippet values (``sample_weight``, ``snippet_scores``), or None."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"{what} must have one value per snippet ({n},), got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{what} must be finite")
    if non_negative and (values < 0).any():
        raise ValueError(f"{what} must be non-negative")
    return values


def video_labels(X: VideoSet, y: np.ndarray) -> np.ndarray:
    """One label per video; raises when a video's snippets disagree."""
    labels = np.empty(X.n_videos, np.int64)
    for v in range(X.n_videos):
        values = np.unique(y[X.video_positions(v)])
        if len(values) > 1:
            raise ValueError(
                f"mode='video' needs one label per video, but the snippets of video {X.names[v]!r} "
                "are labelled both 0 and 1; use mode='pseudo' for snippet labels"
            )
        labels[v] = values[0]
    return labels


def per_video_mean(X: VideoSet, values: np.ndarray) -> np.ndarray:
    """Mean of a per-snippet value over each video's selected snippets."""
    return np.bincount(X.snippet_video, weights=values, minlength=X.n_videos) / \
        np.bincount(X.snippet_video, minlength=X.n_videos)


class BagTrainingMixin(CachesPerVideoSet, SnippetScoresMixin):
    """``fit`` / ``partial_fit`` / scoring shared by the bag-trained models (RTFM, MIL).

    Subclasses define ``_module_spec(n_features)`` and ``_criterion_spec()``,
    each returning ``(class, kwargs)``, and ``_score_selected(X)`` giving the
    scores of X's selected snippets with the module in eval mode.
    """

    def __unsupvad_tags__(self) -> ModelTags:
        return ModelTags(role="ws", reads="features", positive_bag_size=self.positive_bag_size(),
                         uses_wocc_scores=self.bag_sampling == "stratified")

    # ------------------------------------------------------------------ training
    @unfitted_if_interrupted
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, snippet_scores=None):
        """Train ``max_epochs`` epochs from scratch on 0/1 snippet labels.

        Parameters
        ----------
        X : VideoSet or array of shape (n_snippets, D) or (n_snippets, crops, D)
            Snippet features; a plain array is one video per row.
        y : array-like of shape (n_snippets,)
            0 (normal) or 1 (abnormal) per selected snippet: the pseudo-labels.
            With ``mode='video'`` they must be constant within each video.
        sample_weight : array-like of shape (n_snippets,), optional
            Relative probability of each snippet being drawn into a bag of
            its class (0 = never). In ``mode='video'`` a video's weight is
            the mean over its snippets.
        snippet_scores : array-like of shape (n_snippets,), optional
            Ranking used by ``bag_sampling='stratified'`` (the official code
            ranks by the wOCC's snippet scores). Default: the model's own
            current scores, recomputed before every epoch.

        Returns
        -------
        self
        """
        X = as_videoset(X, need="features", what=type(self).__name__)
        data = self._training_data(X, y, sample_weight, snippet_scores)
        self._start(X)
        for _ in range(self.max_epochs):
            self._epoch(X, data)
        self._set_offset(X)
        return self

    @unfitted_if_interrupted
    def partial_fit(self, X, y, sample_weight=None, snippet_scores=None):
        """Train one more epoch, continuing from the current state (from scratch when not fitted).

        With ``min_agreement`` set, more epochs follow (at most ``max_epochs``
        in all) while the model's scores of the training snippets rank ``y``
        (ROC AUC) below it. Parameters are those of :meth:`fit`.
        """
        X = as_videoset(X, need="features", what=type(self).__name__)
        if not hasattr(self, "net_"):
            self._validate_params()
            data = self._training_data(X, y, sample_weight, snippet_scores)
            self._start(X)
        else:
            self._check_n_features(X)
            data = self._training_data(X, y, sample_weight, snippet_scores)
        self._epoch(X, data)
        for _ in range(self.max_epochs - 1):
            if self.min_agreement is None or self._agreement(X, y) >= self.min_agreement:
                break
            self._epoch(X, data)
        self._set_offset(X)
        return self

    def _agreement(self, X: VideoSet, y) -> float:
        """ROC AUC of the model's scores of the training snippets against their labels ``y``
        (the measure of InterleavedVAD's ``ws_agreement``)."""
        return rank_auc(torch.as_tensor(self.score_snippets(X)), torch.as_tensor(np.asarray(y)))

    def _start(self, X: VideoSet) -> None:
        self.device_ = resolve_device(self.device)
        self.n_features_in_ = int(X.shape[-1])
        self._seed = draw_seed(self.random_state)
        self.n_epochs_ = 0
        self.n_iter_ = 0
        self.net_ = self._build_net()
        with torch_seeded(self._seed, self.device_):
            self.net_.initialize()
        if self.input_scaling != "none":
            self.net_.module_.input_norm.set(*input_scaling(X, self.input_scaling))

    def _build_net(self) -> InterruptibleNet:
        """The uninitialised skorch net for ``n_features_in_`` on ``device_`` (also used to load model files)."""
        module, module_kwargs = self._module_spec(self.n_features_in_)
        criterion, criterion_kwargs = self._criterion_spec()
        return InterruptibleNet(
            module, criterion=criterion, optimizer=torch.optim.Adam, lr=self.lr,
            optimizer__weight_decay=self.weight_decay, batch_size=self.batch_size, max_epochs=1,
            train_split=None, iterator_train__shuffle=False, device=str(self.device_),
            callbacks=[ProgressBar()] if self.verbose else [], verbose=0,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
        )

    def _check_n_features(self, X: VideoSet) -> None:
        if X.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[-1]} features per snippet, but {type(self).__name__} was fitted with "
                f"{self.n_features_in_}"
            )

    def _training_data(self, X: VideoSet, y, sample_weight, snippet_scores) -> dict:
        """Checked inputs: positive and negative pools (snippet positions, or videos) and their features."""
        if self.mode == "video" and self.bag_sampling == "stratified":
            raise ValueError(
                "bag_sampling='stratified' needs mode='pseudo' (in mode='video' a bag is a video)"
            )
        y = check_snippet_labels(y, len(X))
        weights = check_snippet_values(sample_weight, len(X), "sample_weight", non_negative=True)
        scores = check_snippet_values(snippet_scores, len(X), "snippet_scores", non_negative=False)
        if self.mode == "video":
            labels = video_labels(X, y)
            weights = None if weights is None else per_video_mean(X, weights)
        else:
            labels = y
        what = "video" if self.mode == "video" else "snippet"
        pools = {}
        for c in (1, 0):
            pool = np.flatnonzero(labels == c)
            if len(pool) == 0:
                raise ValueError(f"no {what} is labelled {c}: bags of both classes are needed")
            if weights is not None and weights[pool].sum() == 0:
                raise ValueError(f"sample_weight is zero for every {what} labelled {c}")
            pools[c] = (pool, None if weights is None else weights[pool])
        return {"pools": pools, "scores": scores, "bank": self._bank(X)}

    def _bank(self, X: VideoSet):
        """The bag features of ``X``: built once and kept (on ``device_``) while ``X`` lives, so the
        steps of an interleaved fit do not read the features again."""
        device = str(resolve_device(self.device))
        if self.mode == "video":
            return self._videoset_cache().get("bags", ("video", self._bag_size()), X,
                                              lambda: SegmentBank(X, self._bag_size()))
        budget = int(self.feature_cache_bytes)
        return self._videoset_cache().get("bags", ("pseudo", device, budget), X,
                                          lambda: SnippetBank(X, device, budget))

    def _bag_size(self) -> int:
        """``bag_size`` as a number (a subclass resolves ``'auto'`` in ``_auto_bag_size``)."""
        return self._auto_bag_size() if self.bag_size == "auto" else int(self.bag_size)

    def positive_bag_size(self) -> int:
        """Snippets drawn into one positive bag: ``bag_size`` in mode ``'pseudo'``, 1 in ``'video'``.

        :class:`~unsupvad.InterleavedVAD` never lets its threshold T_ws go
        below it.
        """
        return 1 if self.mode == "video" else self._bag_size()

    def iterations(self, n_pos: int, n_neg: int, *, fresh: bool = True) -> int:
        """Iterations in one epoch for pools of ``n_pos`` and ``n_neg`` items.

        ``'auto'``: enough batches of ``batch_size`` bags to deal the larger
        pool once, ``ceil(max(ceil(n_pos / C), ceil(n_neg / C)) / batch_size)``
        with ``C = bag_size`` in mode ``'pseudo'`` and ``C = 1`` (a bag is a
        video) in mode ``'video'``. The first epoch of a ``fresh`` network
        runs at least ``min_iterations``; a later epoch continues a trained
        one and makes that one pass.
        """
        if self.iterations_per_epoch != "auto":
            return int(self.iterations_per_epoch)
        per_bag = 1 if self.mode == "video" else self._bag_size()
        one_pass = math.ceil(max(math.ceil(n_pos / per_bag), math.ceil(n_neg / per_bag)) / self.batch_size)
        return max(one_pass, int(self.min_iterations)) if fresh else one_pass

    def _epoch(self, X: VideoSet, data: dict) -> None:
        scores = data["scores"]
        if self.bag_sampling == "stratified" and scores is None:
            scores = self.score_snippets(X)
        rng = np.random.default_rng([self._seed, self.n_epochs_])
        per_bag = 1 if self.mode == "video" else self._bag_size()
        streams = [
            BagStream(pool, per_bag, rng, None if scores is None else scores[pool], weights)
            for pool, weights in (data["pools"][1], data["pools"][0])
        ]
        pos, neg = data["pools"][1][0], data["pools"][0][0]
        n_iter = self.iterations(len(pos), len(neg), fresh=self.n_epochs_ == 0)
        pos_bags, neg_bags = (s.draw(n_iter * self.batch_size) for s in streams)
        bags = BagPairs(data["bank"], pos_bags, neg_bags)
        with torch_seeded(self._seed + 1 + self.n_epochs_, self.device_):
            self.net_.partial_fit(bags, y=None, epochs=1)
            self._after_epoch(bags)
        self.n_epochs_ += 1
        self.n_iter_ += n_iter

    def _after_epoch(self, bags: BagPairs) -> None:
        """Hook run after every training epoch with that epoch's bags (nothing by default)."""

    def _set_offset(self, X: VideoSet) -> None:
        if self.contamination == "auto":
            self.offset_ = -0.5
        else:
            self.offset_ = offset_at(self.score_snippets(X), self.contamination)

    # ------------------------------------------------------------------ scoring
    def _check_scoring_input(self, X) -> VideoSet:
        check_is_fitted(self, "net_")
        X = as_videoset(X, need="features", what=type(self).__name__)
        self._check_n_features(X)
        return X

    def score_snippets(self, X) -> np.ndarray:
        """Anomaly score in [0, 1] of every selected snippet (crop scores averaged).

        See the class notes for how much temporal context a score uses.
        """
        X = self._check_scoring_input(X)
        module = self.net_.module_
        was_training = module.training
        module.eval()
        try:
            with torch.inference_mode():
                return self._score_selected(X)
        finally:
            module.train(was_training)

    def score_frames(self, X) -> list[np.ndarray]:
        """Frame scores, one array per video: each frame takes its snippet's score (NaN if unselected)."""
        X = self._check_scoring_input(X)
        return X.snippets_to_frames(self.score_snippets(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
