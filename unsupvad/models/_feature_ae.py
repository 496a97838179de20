"""FeatureAE: a weighted autoencoder over snippet features (the paper's AE wOCC, Table 2)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar
from torch import nn

from .._videoset import VideoSet
from ._base import (
    InterruptibleNet,
    as_videoset,
    float64_copy,
)
from ._wocc import WeightedOneClassModel

SCORE_BATCH = 8192
READ_BLOCK = 8192
"""Snippets read into memory at a time (features may be memory-mapped and larger than memory)."""


def flat_blocks(X: VideoSet, size: int = READ_BLOCK):
    """``(start, block)`` over the selected snippets: their features, crops averaged, ``size`` rows at a time."""
    for a in range(0, len(X), size):
        feats = X[a: a + size].features()
        yield a, feats.mean(axis=1) if feats.ndim == 3 else feats


def _running_sum(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``total`` plus the rows, added one after another in float32 (numpy's own order along axis 0)."""
    return np.add.reduce(np.concatenate([total[None], rows]), axis=0)


def flat_moments(X: VideoSet) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension float32 mean and standard deviation of :func:`flat_blocks`, in two passes.

    Equal to ``feats.mean(0)`` and ``feats.std(0)`` of the whole array
    (same float32 sums in the same order), with one block in memory.
    """
    total = np.zeros(X.shape[-1], np.float32)
    for _, block in flat_blocks(X):
        total = _running_sum(total, block)
    mean = total / np.float32(len(X))
    squares = np.zeros_like(total)
    for _, block in flat_blocks(X):
        squares = _running_sum(squares, (block - mean) ** 2)
    return mean, np.sqrt(squares / np.float32(len(X)))


class _AutoEncoder(nn.Module):
    """Fully connected encoder-decoder with ReLU between layers and a linear output."""

    def __init__(self, n_features: int, hidden: tuple[int, ...]):
        super().__init__()
        sizes = [n_features, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        back = sizes[::-1]
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(back) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x, sample_weight=None):
        return self.layers(x)


class WeightedReconstructionNet(InterruptibleNet):
    """skorch net whose loss is the per-sample squared error times the sample weight.

    The input is a dict ``{"x": features, "sample_weight": weights}``; the
    loss is ``sum_i w_i * mse_i / n_batch`` (a weight of 0 contributes
    nothing, all-ones weights give the plain mean squared error).
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        x = X["x"].to(y_pred.device)
        per_sample = ((y_pred - x) ** 2).mean(dim=1)
        weight = X["sample_weight"].to(y_pred.device)
        return (weight * per_sample).mean()


class FeatureAE(WeightedOneClassModel, BaseEstimator):
    """Weighted autoencoder wOCC over snippet features (GCL's reconstruction model).

    Objects are snippets: ``training_objects(X)`` is ``X.snippet_objects()``
    and ``sample_weight`` holds one weight ``1 - w`` per snippet. The loss is
    the weighted mean squared reconstruction error (paper Eq. 2 with the NLL
    replaced by the reconstruction error). Ten-crop features ``(T, crops, D)``
    are averaged over crops. Features are standardised with the training
    set's mean and standard deviation.

    Parameters
    ----------
    hidden : 'auto' or tuple of int, default='auto'
        Widths of the encoder layers; the decoder mirrors them. ``'auto'``:
        a quarter and an eighth of the feature size D (at least 1 each),
        i.e. (512, 256) on 2048-d I3D features (GCL's widths) and (4, 2) on
        16 track features, so that the code is always narrower than the
        input (an autoencoder as wide as its input can learn the identity
        and then reconstructs anomalies as well as anything else).
    lr : float, default=1e-3
    weight_decay : float, default=5e-4
    batch_size : int, default=256
    max_epochs : int, default=10
        Epochs of :meth:`fit`; :meth:`partial_fit` runs one.
    contamination : 'auto' or float, default='auto'
        'auto' sets ``offset_`` at the 90th percentile of the training
        anomaly scores; a float is the share of training snippets flagged.
    random_state : int, RandomState or None
    device : str, default='auto'
    verbose : int, default=0
        Progress bar over batches when > 0.

    Attributes
    ----------
    net_ : skorch NeuralNet
        The autoencoder.
    mean_, scale_ : ndarray of shape (n_features,)
        Per-dimension standardisation, from the first fit's snippets.
    n_features_in_ : int
    n_epochs_ : int
        Epochs trained so far.
    device_ : torch.device
    offset_ : float
        ``decision_function = score_samples - offset_``, from
        ``decision_scores_`` and ``contamination``.
    decision_scores_ : ndarray of shape (n_snippets,)
        Reconstruction error of the training snippets after the last epoch
        (PyOD's name; higher = more abnormal).
    threshold_ : float
        ``-offset_``: training scores above it are predicted abnormal.
    labels_ : ndarray of shape (n_snippets,)
        1 for the training snippets above ``threshold_``, else 0.
    """

    _parameter_constraints = {
        "hidden": [StrOptions({"auto"}), tuple, list],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden="auto", *, lr=1e-3, weight_decay=5e-4, batch_size=256, max_epochs=10,
                 contamination="auto", random_state=None, device="auto", verbose=0):
        self.hidden = hidden
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def training_objects(self, X):
        """The objects trained on: one per snippet."""
        return as_videoset(X, need="features", what="FeatureAE").snippet_objects()

    def _input(self, X) -> VideoSet:
        return as_videoset(X, need="features", what="FeatureAE")

    def _setup(self, X: VideoSet) -> None:
        self.n_features_in_ = int(X.shape[-1])
        self.mean_, std = flat_moments(X)
        self.scale_ = std + np.float32(1e-6)

    def _build_net(self) -> WeightedReconstructionNet:
        """The uninitialised skorch net for ``n_features_in_`` on ``device_`` (also used to load model files)."""
        return WeightedReconstructionNet(
            _AutoEncoder, module__n_features=self.n_features_in_, module__hidden=self._hidden_widths(),
            criterion=nn.MSELoss, optimizer=torch.optim.Adam, lr=self.lr,
            optimizer__weight_decay=self.weight_decay, batch_size=self.batch_size, max_epochs=1,
            train_split=None, iterator_train__shuffle=True, device=str(self.device_),
            callbacks=[ProgressBar()] if self.verbose else [], verbose=0,
        )

    def _hidden_widths(self) -> tuple[int, ...]:
        if self.hidden == "auto":
            return (max(1, self.n_features_in_ // 4), max(1, self.n_features_in_ // 8))
        return tuple(self.hidden)

    def _training_data(self, X: VideoSet, sample_weight) -> dict:
        weight = self._checked_weight(sample_weight, len(X))
        return {"x": self._standardised(X), "sample_weight": weight.cpu().numpy()}

    def _training_scores(self, X: VideoSet) -> np.ndarray:
        return self._reconstruction_error(self._standardised(X))

    def _standardised(self, X: VideoSet) -> np.ndarray:
        """The crop-averaged features standardised with ``mean_``/``scale_``, float32, built block by block."""
        if X.shape[-1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[-1]} features, but FeatureAE is expecting "
                             f"{self.n_features_in_} features as input")
        out = np.empty((len(X), self.n_features_in_), np.float32)
        for a, block in flat_blocks(X):
            out[a: a + len(block)] = (block - self.mean_) / self.scale_
        return out

    def _reconstruction_error(self, feats: np.ndarray) -> np.ndarray:
        """Mean squared reconstruction error per row, computed in float64 (batch-shape invariant)."""
        module = float64_copy(self.net_.module_)
        out = np.empty(len(feats), np.float64)
        with torch.no_grad():
            for a in range(0, len(feats), SCORE_BATCH):
                block = torch.as_tensor(feats[a: a + SCORE_BATCH], dtype=torch.float64, device=self.device_)
                out[a: a + len(block)] = ((module(block) - block) ** 2).mean(dim=1).cpu().numpy()
        return out

    def score_snippets(self, X) -> np.ndarray:
        """Reconstruction error of every snippet (higher = more abnormal)."""
        check_is_fitted(self, "net_")
        X = as_videoset(X, need="features", what="FeatureAE")
        return self._reconstruction_error(self._standardised(X))

    def score_objects(self, X, objects=None) -> np.ndarray:
        """Objects are snippets: the same as :meth:`score_snippets`."""
        return self.score_snippets(X)

    def score_frames(self, X) -> list[np.ndarray]:
        """Frame scores: each frame takes its snippet's reconstruction error."""
        X = as_videoset(X, need="features", what="FeatureAE")
        return X.snippets_to_frames(self.score_snippets(X))

