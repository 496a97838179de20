"""Bags of snippets for the weakly-supervised models: random and stratified rounds, bag streams and feature banks.

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

import numpy as np
import torch

from .._videoset import VideoSet

N_TOP = 3


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

    Loaded once as one tensor on ``device`` when they fit in ``max_bytes``
    (float32), so bags are gathered there; otherwise read from the videos'
    (possibly memory-mapped) arrays on demand, bag by bag.
    """

    def __init__(self, X: VideoSet, device: torch.device | str | None = None, max_bytes: int = 2**30):
        self.X = X
        per = int(np.prod(X.shape[1:]))
        self._data = None
        if len(X) * per * 4 <= max_bytes:
            features = np.ascontiguousarray(_with_crop_axis(X.features()), dtype=np.float32)
            self._data = torch.as_tensor(features, device=device)
        self._video = X.snippet_video
        self._local = X.snippet_index

    @property
    def preloaded(self) -> bool:
        """True when the features were copied into one tensor on the device."""
        return self._data is not None

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
