"""Helpers shared by the torch-backed estimators: devices, seeds and input checks."""

from __future__ import annotations

import contextlib
import copy
import functools
import weakref

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet

from .._videoset import VideoSet

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device) -> torch.device:
    """``'auto'`` → CUDA when available, else CPU; any torch device string otherwise.

    Raises a ValueError for CUDA when no GPU is visible, instead of failing
    deep inside a forward pass.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available; use device='auto'")
    return resolved


def draw_seed(random_state) -> int:
    """One integer seed drawn from ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def torch_seeded(seed: int, device: torch.device | None = None):
    """Run a block with torch's global RNGs seeded, restoring them afterwards.

    skorch initialises modules and shuffles batches with torch's global
    generator; forking it keeps a fit reproducible without leaking the seed
    into the caller's random stream.
    """
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class _EpochInterrupted(BaseException):
    """Carries a Ctrl-C through skorch's ``partial_fit``, which would swallow a KeyboardInterrupt."""


class InterruptibleNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training stops on Ctrl-C and says so.

    skorch's ``partial_fit`` (and so ``fit``) catches ``KeyboardInterrupt``
    and returns as if the epoch had finished: the caller goes on with a
    half-trained network, and a command line saves it. Here the interrupt
    leaves ``fit_loop`` as an exception skorch does not catch and is raised
    again as ``KeyboardInterrupt`` from ``partial_fit``.
    """

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            raise _EpochInterrupted from exc

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        except _EpochInterrupted:
            raise KeyboardInterrupt("training interrupted") from None


def last_epoch_loss(estimator) -> float | None:
    """The last epoch's training loss of an estimator whose skorch net is ``net_``, if it has one."""
    history = getattr(getattr(estimator, "net_", None), "history", None)
    if history and "train_loss" in history[-1]:
        return float(history[-1]["train_loss"])
    return None


def offset_at(anomaly_scores, share: float) -> float:
    """``offset_`` such that a ``share`` of ``anomaly_scores`` lie above ``-offset_`` (predicted abnormal).

    The one rule of every model's ``offset_`` (``decision_function =
    score_samples - offset_``); each chooses its ``share``: a wOCC
    ``contamination`` ('auto': 0.1), InterleavedVAD T_ws / N, a WS a given
    ``contamination`` (its 'auto' is the probability 0.5, no percentile).
    """
    return float(np.percentile(-np.asarray(anomaly_scores, dtype=np.float64), 100 * share))


def forget_fit(estimator) -> None:
    """Remove every fitted attribute (public names ending in ``_``): the estimator is unfitted again."""
    for name in [n for n in vars(estimator) if n.endswith("_") and not n.startswith("_")]:
        delattr(estimator, name)


def unfitted_if_interrupted(method):
    """Decorate ``fit``/``partial_fit``: a Ctrl-C during it leaves the estimator unfitted, then propagates.

    A network stopped mid-epoch is neither the model before the call nor the
    one asked for; scoring with it would silently give other results than a
    completed fit.
    """
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KeyboardInterrupt:
            forget_fit(self)
            raise
    return guarded


def float64_copy(module: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of ``module`` in eval mode, to score with (small networks only).

    A float32 product sums in an order that depends on the batch's shape and
    on the machine's kernels, so the same snippet can score differently (by
    about 1e-7) alone and within a batch. In float64 those differences fall
    far below float32's resolution: a snippet's score does not depend on what
    it is scored with.
    """
    return copy.deepcopy(module).double().eval()


def as_videoset(X, *, need: str | None = None, what: str = "this estimator") -> VideoSet:
    """Accept a VideoSet, or a 2-D/3-D array of snippet features (one video per row).

    ``need`` is ``'features'`` or ``'tracks'``: the modality the estimator
    reads; a VideoSet without it gets a clear error.
    """
    if not isinstance(X, VideoSet):
        if need == "tracks":
            raise TypeError(f"{what} needs a VideoSet with person tracks, got {type(X).__name__}")
        X = VideoSet.from_arrays(check_array(X, dtype=np.float32, allow_nd=True, input_name="X"))
    if need == "features" and not X.has_features:
        raise ValueError(f"{what} needs snippet features, but the VideoSet has none")
    if need == "tracks" and not X.has_tracks:
        raise ValueError(f"{what} needs person tracks, but the VideoSet has none")
    if len(X) == 0:
        raise ValueError(f"{what} got an empty VideoSet (0 snippets)")
    return X


class VideoSetCache:
    """Values derived from a VideoSet, kept while it lives and while their key holds.

    One entry per ``slot``; ``key`` names everything else the value depends on
    (parameters, device). The VideoSet is held by a weak reference, so the
    cache never keeps data alive, and a new VideoSet (a subset, another split)
    is a miss.
    """

    def __init__(self):
        self._entries: dict = {}

    def get(self, slot: str, key, X: VideoSet, build):
        """The value of ``slot`` for ``X`` and ``key``, built by ``build()`` on a miss."""
        entry = self._entries.get(slot)
        if entry is not None and entry[0] == key and entry[1]() is X:
            return entry[2]
        value = build()
        self._entries[slot] = (key, weakref.ref(X), value)
        return value

    def clear(self) -> None:
        self._entries.clear()


class CachesPerVideoSet:
    """An estimator that keeps data prepared from a VideoSet across its steps (never pickled)."""

    def _videoset_cache(self) -> VideoSetCache:
        return self.__dict__.setdefault("_per_videoset", VideoSetCache())

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_per_videoset", None)
        return state


class SnippetScoresMixin:
    """scikit-learn's outlier methods from ``score_snippets`` and ``offset_``.

    ``score_snippets`` (higher = more abnormal) is the one scoring method a
    model writes; this mixin derives ``anomaly_score`` (the same),
    ``score_samples`` (higher = more normal), ``decision_function``
    (``score_samples - offset_``, negative for abnormal snippets) and
    ``predict`` (+1 normal, -1 abnormal).
    """

    def anomaly_score(self, X) -> np.ndarray:
        """Anomaly score of every snippet (higher = more abnormal)."""
        return self.score_snippets(X)

    def score_samples(self, X) -> np.ndarray:
        """scikit-learn's sign: ``-anomaly_score`` (higher = more normal)."""
        return -np.asarray(self.score_snippets(X), dtype=np.float64)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples - offset_``: negative for snippets predicted abnormal."""
        check_is_fitted(self, "offset_")
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for normal snippets, -1 for abnormal ones."""
        return np.where(self.decision_function(X) < 0, -1, 1)


class TrainingLabelsMixin:
    """PyOD's fitted conveniences, from ``decision_scores_`` and ``offset_``.

    A one-class model that keeps its training snippets' anomaly scores as
    ``decision_scores_`` (higher = more abnormal) gets ``threshold_`` (the
    anomaly score above which a snippet is predicted abnormal, ``-offset_``)
    and ``labels_`` (1 for the training snippets above it, else 0), as PyOD's
    detectors have them. The methods keep scikit-learn's signs.
    """

    @property
    def threshold_(self) -> float:
        """Anomaly scores above it are predicted abnormal: ``-offset_``."""
        check_is_fitted(self, "offset_")
        return -self.offset_

    @property
    def labels_(self) -> np.ndarray:
        """Of every training snippet: 1 when ``decision_scores_ > threshold_`` (abnormal), else 0."""
        return (np.asarray(self.decision_scores_) > self.threshold_).astype(np.int64)
