"""The weighted one-class model (wOCC) skeleton: what STGNF, FeatureAE and a user's own wOCC share.

A wOCC trains a skorch net on its *training objects* (person windows for
STG-NF, snippets for the feature autoencoder), each weighted by ``1 - w``
(paper Eq. 2): ``fit`` trains ``max_epochs`` epochs from scratch,
``partial_fit`` one more epoch, continuing the network and its optimizer,
which is how :class:`~unsupvad.InterleavedVAD` runs one step. A subclass
writes only what is its own (see :class:`WeightedOneClassModel`).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context

from .._videoset import VideoSet
from ._base import (
    SnippetScoresMixin,
    TrainingLabelsMixin,
    draw_seed,
    offset_at,
    resolve_device,
    torch_seeded,
    unfitted_if_interrupted,
)
from ._tags import ModelTags

AUTO_CONTAMINATION = 0.1
"""The share of training snippets a wOCC flags abnormal with ``contamination='auto'``."""


def checked_object_weights(sample_weight, n_objects: int, device: torch.device) -> torch.Tensor:
    """``sample_weight`` (one ``1 - w`` per training object, all 1 when None) as float32 on ``device``."""
    if sample_weight is None:
        return torch.ones(n_objects, device=device)
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n_objects,):
        raise ValueError(
            f"sample_weight must have one weight per training object ({n_objects}, see "
            f"training_objects), got shape {weight.shape}"
        )
    if not np.isfinite(weight).all() or (weight < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if not (weight > 0).any():
        raise ValueError("sample_weight is zero for every training object: nothing to train on")
    return torch.as_tensor(weight, dtype=torch.float32, device=device)


class WeightedOneClassModel(TrainingLabelsMixin, SnippetScoresMixin, OutlierMixin):
    """Base of the wOCC estimators (mix in before ``BaseEstimator``).

    The subclass has the parameters ``max_epochs``, ``contamination``,
    ``random_state`` and ``device``, and writes:

    * ``training_objects(X)``: the objects ``sample_weight`` weighs, in order;
    * ``_input(X)``: ``X`` checked as the VideoSet the model reads;
    * ``_setup(X)``: the fitted attributes its network depends on (e.g. the
      feature size), set once per fit from scratch;
    * ``_build_net()``: the uninitialised skorch net (also how model files
      rebuild it);
    * ``_training_data(X, weight)``: what ``net_.partial_fit`` trains on, from
      the checked object weights (a float32 tensor on ``device_``);
    * ``_training_scores(X)``: the training snippets' anomaly scores after
      training, from which ``offset_`` and ``decision_scores_`` are set;
    * optionally ``_after_training(data)``: run once after the epochs of a
      ``fit`` or ``partial_fit``, with their training data, before scoring
      (STGNF recomputes its batch-norm statistics there);
    * ``score_snippets(X)``.

    The training batches are dicts ``{"x": ..., "sample_weight": ...}`` (one
    row per item), the net's ``get_loss`` weighs each item's loss by its
    weight, so that an item of weight 0 gives no gradient
    (:func:`unsupvad.testing.check_wocc` checks it).

    This base seeds every epoch (``seed + _EPOCH_SEED_OFFSET + epoch``, so
    ``fit(max_epochs=n)`` equals ``n`` calls of ``partial_fit``), checks the
    weights, counts ``n_epochs_`` and sets ``offset_`` by ``contamination``
    ('auto': :data:`AUTO_CONTAMINATION`).
    """

    _EPOCH_SEED_OFFSET = 0
    _parameter_constraints: dict = {}  # scikit-learn's parameter validation; a subclass lists its own

    def __unsupvad_tags__(self) -> ModelTags:
        return ModelTags(role="wocc", reads="features")

    @unfitted_if_interrupted
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train ``max_epochs`` epochs from scratch.

        Parameters
        ----------
        X : VideoSet
        y : ignored
        sample_weight : array-like of shape (n_training_objects,), optional
            One weight ``1 - w`` per object of :meth:`training_objects`, in
            that order; non-negative, not all 0. Default: all 1.

        Returns
        -------
        self
        """
        X = self._input(X)
        self._start(X)
        return self._train(X, sample_weight, self.max_epochs)

    @unfitted_if_interrupted
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one more epoch, continuing the model and optimizer (from scratch when unfitted)."""
        X = self._input(X)
        if not hasattr(self, "net_"):
            self._validate_params()
            self._start(X)
        return self._train(X, sample_weight, 1)

    def _start(self, X: VideoSet) -> None:
        self.device_ = resolve_device(self.device)
        self._setup(X)
        self._seed = draw_seed(self.random_state)
        self.n_epochs_ = 0
        self.net_ = self._build_net()
        with torch_seeded(self._seed, self.device_):
            self.net_.initialize()

    def _train(self, X: VideoSet, sample_weight, epochs: int):
        data = self._training_data(X, sample_weight)
        for _ in range(epochs):
            with torch_seeded(self._seed + self._EPOCH_SEED_OFFSET + self.n_epochs_, self.device_):
                self.net_.partial_fit(data, y=None, epochs=1)
            self.n_epochs_ += 1
        self._after_training(data)
        del data  # the training copy goes before scoring makes its own (large feature sets)
        self.decision_scores_ = np.asarray(self._training_scores(X), dtype=np.float64)
        share = AUTO_CONTAMINATION if self.contamination == "auto" else self.contamination
        self.offset_ = offset_at(self.decision_scores_, share)
        return self

    def _after_training(self, data) -> None:
        """Hook run after the epochs of a fit or partial_fit, before scoring (nothing by default)."""

    def _checked_weight(self, sample_weight, n_objects: int) -> torch.Tensor:
        return checked_object_weights(sample_weight, n_objects, self.device_)
