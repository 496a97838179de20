"""Bags of snippets for the weakly-supervised models, and the training machinery RTFM and MIL share.

A *bag* is a fixed-size set of training items of one class. In the paper's
pseudo-label mode (Sec. 3.2) the items are snippets: a positive bag holds
``C = 16`` snippets labelled 1, a negative bag ``C`` snippets labelled 0.
In the classic weakly-supervised mode the items are whole videos, each
resampled to ``C`` temporal segments, and a bag is one video.

Bags are dealt in *rounds*: one round covers a pool once (every item lands
in at least one bag), and a stream of bags chains rounds in random order,
so the smaller class is revisited as often as the larger one needs.
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

from .._videoset import VideoSet
from ._base import (
    CachesPerVideoSet,
    InterruptibleNet,
    SnippetScoresMixin,
    as_videoset,
    draw_seed,
    resolve_device,
    torch_seeded,
    unfitted_if_interrupted,
)

N_TOP = 3
PRELOAD_BYTES = 2**30
SCORE_BATCH = 4096
MIN_SCALE_SHARE = 1e-2


# ---------------------------------------------------------------------- bag sampling
def _complete(bags: list[np.ndarray], source: np.ndarray, pool: np.ndarray, bag_size: int,
              rng: np.random.Generator) -> np.ndarray:
    """Fill every bag up to ``bag_size``: deal a shuffled ``source`` first, then draw extra items.

    Extra items avoid the bag's current members, coming from ``source``
    while it has enough of them, else from the whole pool; a pool smaller
    than the bag is drawn with replacement.
    """
    deck = rng.permutation(source)
    used = 0
    out = np.empty((len(bags), bag_size), dtype=np.int64)
    for b, members in enumerate(bags):
        need = bag_size - len(members)
        dealt = deck[used: used + need]
        used += len(dealt)
        members = np.concatenate([members, dealt])
        short = bag_size - len(members)
        if short:
            members = np.concatenate([members, _extra(members, short, source, pool, rng)])
        out[b] = members
    return out


def _extra(members: np.ndarray, n: int, source: np.ndarray, pool: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """``n`` items not yet in the bag: from ``source`` if it has enough, else the pool, else repeats."""
    for candidates in (source, pool):
        spare = np.setdiff1d(candidates, members)
        if len(spare) >= n:
            return rng.choice(spare, n, replace=False)
    return rng.choice(pool, n, replace=True)


def _weighted_draws(n_bags: int, size: int, source: np.ndarray, weights: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """``n_bags`` independent draws of ``size`` items with probability proportional to ``weights``."""
    p = weights / weights.sum()
    replace = np.count_nonzero(p) < size
    return np.stack([rng.choice(source, size, replace=replace, p=p) for _ in range(n_bags)]) \
        if size else np.empty((n_bags, 0), np.int64)


def random_bags(pool, bag_size: int, rng: np.random.Generator, weights=None) -> np.ndarray:
    """One round of random bags over ``pool``: ``ceil(n / bag_size)`` bags of ``bag_size`` items.

    Parameters
    ----------
    pool : array-like of int
        The items of one class (e.g. sample positions of the snippets
        labelled 1).
    bag_size : int
        Items per bag (the paper's C).
    rng : numpy.random.Generator
    weights : array-like of float, optional
        Relative probability of each pool item being drawn. Without weights
        the pool is shuffled and dealt into bags, so every item appears in
        exactly one bag except the few extra items that complete the last
        one; no bag holds an item twice unless the pool is smaller than a
        bag (then every bag holds the whole pool plus draws with
        replacement). With weights every bag is an independent draw without
        replacement (with replacement when fewer than ``bag_size`` items have
        a positive weight), and ``ceil(n_positive / bag_size)`` bags make a
        round.

    Returns
    -------
    ndarray of shape (n_bags, bag_size)
        Pool items, bag by bag.
    """
    pool = np.asarray(pool, dtype=np.int64)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        n_bags = math.ceil(np.count_nonzero(weights) / bag_size)
        return _weighted_draws(n_bags, bag_size, pool, weights, rng)
    empty = [np.empty(0, np.int64)] * math.ceil(len(pool) / bag_size)
    return _complete(empty, pool, pool, bag_size, rng)


def stratified_bags(pool, scores, bag_size: int, rng: np.random.Generator, weights=None,
                    n_top: int = N_TOP) -> np.ndarray:
    """One round of the official code's tier-stratified bags (3 tier-tops + 13 random).

    The pool is sorted by ``scores`` (descending) and split into
    ``b = ceil(n / bag_size)`` bags. Bag ``j`` first receives the items of
    rank ``j``, ``j + b`` and ``j + 2 b`` (one from each of the three top
    tiers of ``b`` items, so the ``3 b`` highest-scored items are spread
    three to a bag), then ``bag_size - 3`` items dealt at random from the
    rest (drawn with probability proportional to ``weights`` when given).
    Unlike the released code, pools are padded without duplicating items
    inside a bag (unless the pool is smaller than a bag), and pools of fewer
    than 16 items work.

    Returns
    -------
    ndarray of shape (b, bag_size)
        Pool items, bag by bag; the first ``min(3, bag_size)`` columns hold
        the tier-tops (fewer for pools of one or two items).
    """
    pool = np.asarray(pool, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    ranked = pool[np.argsort(-scores, kind="stable")]
    n_top = min(n_top, bag_size)
    n_bags = math.ceil(len(pool) / bag_size)
    tops = [ranked[j::n_bags][:n_top] for j in range(n_bags)]
    rest = ranked[n_top * n_bags:]
    if weights is None:
        return _complete(tops, rest, pool, bag_size, rng)
    weights = np.asarray(weights, dtype=np.float64)[np.argsort(-scores, kind="stable")][n_top * n_bags:]
    if len(rest) == 0 or weights.sum() == 0:
        return _complete(tops, rest, pool, bag_size, rng)
    fill = _weighted_draws(n_bags, bag_size - n_top, rest, weights, rng)
    filled = [np.concatenate([t, f]) for t, f in zip(tops, fill, strict=True)]
    return _complete(filled, rest[:0], pool, bag_size, rng)


class BagStream:
    """An endless supply of bags from one pool, round after round, each round in random order.

    Parameters
    ----------
    pool : array-like of int
        The items of one class; must not be empty.
    bag_size : int
    rng : numpy.random.Generator
    scores : array-like of float, optional
        With scores, rounds are :func:`stratified_bags`; without,
        :func:`random_bags`.
    weights : array-like of float, optional
        Relative drawing probability of each pool item.
    """

    def __init__(self, pool, bag_size: int, rng: np.random.Generator, scores=None, weights=None):
        self.pool = np.asarray(pool, dtype=np.int64)
        if len(self.pool) == 0:
            raise ValueError("cannot draw bags from an empty pool")
        self.bag_size = bag_size
        self.rng = rng
        self.scores = scores
        self.weights = weights
        self._queue = np.empty((0, bag_size), np.int64)

    def round(self) -> np.ndarray:
        """One round of bags over the pool, in random order."""
        if self.scores is None:
            bags = random_bags(self.pool, self.bag_size, self.rng, self.weights)
        else:
            bags = stratified_bags(self.pool, self.scores, self.bag_size, self.rng, self.weights)
        return bags[self.rng.permutation(len(bags))]

    @property
    def bags_per_round(self) -> int:
        n = len(self.pool) if self.weights is None else int(np.count_nonzero(self.weights))
        return math.ceil(n / self.bag_size)

    def draw(self, n_bags: int) -> np.ndarray:
        """The next ``n_bags`` bags, ``(n_bags, bag_size)``."""
        while len(self._queue) < n_bags:
            self._queue = np.concatenate([self._queue, self.round()])
        out, self._queue = self._queue[:n_bags], self._queue[n_bags:]
        return out


# ---------------------------------------------------------------------- features of bags
def video_segments(features: np.ndarray, n_segments: int) -> np.ndarray:
    """Resample a ``(T, ...)`` feature sequence to ``n_segments`` segments (RTFM's ``process_feat``).

    Segment ``i`` is the mean of snippets ``[r_i, r_{i+1})`` with
    ``r = int(linspace(0, T, n_segments + 1))``; an empty range (T smaller
    than ``n_segments``) copies snippet ``r_i``.
    """
    features = np.asarray(features, dtype=np.float32)
    bounds = np.linspace(0, len(features), n_segments + 1).astype(np.int64)
    out = np.empty((n_segments,) + features.shape[1:], np.float32)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        out[i] = features[a:b].mean(axis=0) if b > a else features[min(a, len(features) - 1)]
    return out


def _with_crop_axis(features: np.ndarray) -> np.ndarray:
    """``(n, D)`` → ``(n, 1, D)``; ``(n, crops, D)`` unchanged."""
    return features[:, None, :] if features.ndim == 2 else features


class SnippetBank:
    """Features of the selected snippets of a VideoSet, ``(crops, D)`` each, fetched by sample position.

    Loaded once as one tensor on ``device`` when they fit in
    ``PRELOAD_BYTES``, so bags are gathered there; otherwise read from the
    videos' (possibly memory-mapped) arrays on demand.
    """

    def __init__(self, X: VideoSet, device: torch.device | str | None = None):
        self.X = X
        per = int(np.prod(X.shape[1:]))
        self._data = None
        if len(X) * per * 4 <= PRELOAD_BYTES:
            features = np.ascontiguousarray(_with_crop_axis(X.features()), dtype=np.float32)
            self._data = torch.as_tensor(features, device=device)
        self._video = X.snippet_video
        self._local = X.snippet_index

    def take(self, positions: np.ndarray) -> torch.Tensor:
        """Features of the snippets at ``positions``, ``(len, crops, D)`` float32."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._data is not None:
            return self._data[torch.as_tensor(positions, device=self._data.device)]
        pairs = zip(self._video[positions], self._local[positions], strict=True)
        rows = [self.X.videos[v].features[t] for v, t in pairs]
        return torch.from_numpy(_with_crop_axis(np.array(rows, dtype=np.float32)))

    def bag(self, items: np.ndarray) -> np.ndarray:
        """A bag of snippets, ``(C, crops, D)``."""
        return self.take(items)


class SegmentBank:
    """Whole videos resampled to ``n_segments`` segments (the classic weakly-supervised input)."""

    def __init__(self, X: VideoSet, n_segments: int):
        self.segments = torch.from_numpy(np.ascontiguousarray(np.stack([
            video_segments(_with_crop_axis(X.videos[v].features[X.snippet_index[X.video_positions(v)]]),
                           n_segments)
            for v in range(X.n_videos)
        ])))

    def bag(self, items: np.ndarray) -> torch.Tensor:
        """A bag is one video: ``(n_segments, crops, D)``."""
        return self.segments[int(items[0])]


class BagPairs(torch.utils.data.Dataset):
    """Item ``i`` pairs positive bag ``i`` with negative bag ``i``: ``({'pos', 'neg'}, 0)``."""

    def __init__(self, bank, pos_bags: np.ndarray, neg_bags: np.ndarray):
        self.bank = bank
        self.pos_bags = pos_bags
        self.neg_bags = neg_bags

    def __len__(self) -> int:
        return len(self.pos_bags)

    def __getitem__(self, i):
        return {"pos": self.bank.bag(self.pos_bags[i]), "neg": self.bank.bag(self.neg_bags[i])}, 0.0


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

        Parameters are those of :meth:`fit`.
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
        self._set_offset(X)
        return self

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
        return self._videoset_cache().get("bags", ("pseudo", device), X, lambda: SnippetBank(X, device))

    def _bag_size(self) -> int:
        """``bag_size`` as a number (a subclass resolves ``'auto'`` in ``_auto_bag_size``)."""
        return self._auto_bag_size() if self.bag_size == "auto" else int(self.bag_size)

    def positive_bag_size(self) -> int:
        """Snippets drawn into one positive bag: ``bag_size`` in mode ``'pseudo'``, 1 in ``'video'``.

        :class:`~unsupvad.InterleavedVAD` never lets its threshold T_ws go
        below it.
        """
        return 1 if self.mode == "video" else self._bag_size()

    def iterations(self, n_pos: int, n_neg: int) -> int:
        """Iterations in one epoch for pools of ``n_pos`` and ``n_neg`` items.

        ``'auto'``: enough batches of ``batch_size`` bags to deal the larger
        pool once, ``ceil(max(ceil(n_pos / C), ceil(n_neg / C)) / batch_size)``
        with ``C = bag_size`` in mode ``'pseudo'`` and ``C = 1`` (a bag is a
        video) in mode ``'video'``, and never fewer than ``min_iterations``.
        """
        if self.iterations_per_epoch != "auto":
            return int(self.iterations_per_epoch)
        per_bag = 1 if self.mode == "video" else self._bag_size()
        one_pass = math.ceil(max(math.ceil(n_pos / per_bag), math.ceil(n_neg / per_bag)) / self.batch_size)
        return max(one_pass, int(self.min_iterations))

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
        n_iter = self.iterations(len(pos), len(neg))
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
            self.offset_ = float(np.percentile(self.score_samples(X), 100 * self.contamination))

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
