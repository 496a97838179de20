"""Jigsaw: spatio-temporal jigsaw puzzles over object-centric cubes of frames (the paper's Table 2 wOCC).

After Wang et al., "Video anomaly detection by solving decoupled
spatio-temporal jigsaw puzzles" (ECCV 2022): a network learns to put back in
order the shuffled frames and tiles of grey cubes cut around tracked people
(:mod:`._cubes`); a cube whose own order it cannot recognise confidently is
abnormal. The network and its loss are in :mod:`._jigsaw_network`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar

from .._objects import Objects
from .._videoset import VideoSet
from ._base import CachesPerVideoSet, as_videoset, float64_copy
from ._cubes import CubeCache, cube_key, object_cubes
from ._jigsaw_network import (
    JigsawModule,
    JigsawNet,
    PuzzleDataset,
    WeightedPuzzleLoss,
    identity_confidence,
    network_input,
)
from ._stgnf_training import batch_loader, selected_windows
from ._tags import ModelTags, require_video_files
from ._window_scores import WINDOW_SCORING_CONSTRAINTS, WindowScoresMixin
from ._wocc import WeightedOneClassModel

_SCORE_BATCH = 256
_CACHE_BYTES = 2**30  # scoring cubes larger than this are built and scored video by video instead of kept


class Jigsaw(WindowScoresMixin, CachesPerVideoSet, WeightedOneClassModel, BaseEstimator):
    """Spatio-temporal jigsaw puzzles over cubes of frames around tracked people (a wOCC that reads frames).

    Objects are windows of ``clip_len`` consecutive detections of one track
    (:meth:`training_objects`, :meth:`scoring_objects`). Each object's *cube*
    is the square around its centre detection's box (enlarged by
    ``margin``), cut from the frame of each of its detections, in grey,
    resized to ``cube_size`` pixels: ``(clip_len, cube_size, cube_size)``
    uint8. Frames are read from every video's ``video_file``
    (:attr:`unsupvad.Video.video_file`), so every video needs one; the
    boxes come from the tracks (boxes, or the keypoints' extent).

    Training: the puzzles are *decoupled*, as Wang et al.'s: each cube,
    afresh every epoch (from the epoch's seed), gets one puzzle with
    probability 1/2 each: its frames in a random order, or its
    ``grid x grid`` tiles in a random order (the same in every frame). A
    small 3-D convolutional network predicts for every frame position the
    original frame (``clip_len``-way) and for every tile position the
    original tile (``grid²``-way); an object's loss is the mean
    cross-entropy of its own puzzle's positions, weighted by its
    ``sample_weight`` ``1 - w`` (paper Eq. 2; the batch loss is
    ``sum_i s_i loss_i / #{i : s_i > 0}``, so an object of weight 0 gives no
    gradient).

    Scoring: the cube in its own order; the anomaly score of an object is
    ``1 -`` the smallest probability the network gives to the true position,
    over every frame position and every tile position (higher = more
    abnormal, in [0, 1]): a cube is as normal as its least recognisable
    piece (``score_reduce='mean'``: ``1 -`` the mean of those
    probabilities). Object scores become detection, snippet and frame scores
    exactly as :class:`~unsupvad.STGNF` maps them (``snippet_scoring``,
    ``empty_frame``, ``smoothing_sigmas``).

    Parameters
    ----------
    clip_len : int, default=7
        Frames per cube: the window length in detections.
    grid : int, default=3
        Tiles per side of the spatial puzzle (``grid²`` tiles).
    cube_size : int, default=64
        Side of the resized crops in pixels. The puzzle uses the top-left
        ``grid * (cube_size // grid)`` pixels (63 with the defaults), so
        that every tile has the same size.
    stride : int, default=4
        Window stride of the training objects.
    score_stride : int, default=1
        Window stride of the scoring objects (1: a window centred on every
        detection, as STG-NF scores).
    max_missing : int, default=0
        Frames a window may lack (see :func:`unsupvad.track_windows`); a
        cube's frames are its detections' frames, so with gaps they are not
        evenly spaced.
    margin : float, default=0.1
        Added to the box's longer side on each side, as a share of it.
    channels : tuple of int, default=(8, 16, 32)
        Widths of the network's convolution stages (see
        :class:`~unsupvad.models._jigsaw_network.JigsawModule`).
    hidden : int, default=128
        Units of each head's hidden layer.
    lr : float, default=1e-3
        Adam's learning rate (betas 0.9, 0.999).
    weight_decay : float, default=5e-4
    batch_size : int, default=128
    max_epochs : int, default=10
        Epochs of :meth:`fit`; :meth:`partial_fit` runs one.
    min_iterations : int, default=20
        Fewest batches in an epoch: a smaller training set is dealt again
        (new puzzles each time) until it fills them, as for STGNF.
    score_reduce : {'min', 'mean'}, default='min'
        How the probabilities of the true positions of a cube's
        ``clip_len + grid²`` pieces become its score: ``1 -`` their minimum
        (the least recognisable piece) or ``1 -`` their mean (steadier from
        epoch to epoch: see ``benchmarks/results/jigsaw_generated.json``).
    smoothing_sigmas, snippet_scoring, empty_frame
        As for :class:`~unsupvad.STGNF` (defaults (1, 2, 3, 4, 5, 6),
        'mean', 'min').
    contamination : 'auto' or float in (0, 0.5], default='auto'
        Share of training snippets with ``decision_function < 0``; 'auto'
        means 0.1.
    random_state : int, RandomState or None
        Seeds initialisation, batch order and the puzzles.
    device : {'auto', 'cpu', 'cuda'} or str, default='auto'
    verbose : int, default=0
        > 0: a progress bar over training batches.

    Attributes
    ----------
    net_ : JigsawNet
        The skorch net; ``net_.module_`` is the :class:`JigsawModule`.
    device_ : torch.device
    n_epochs_ : int
    offset_ : float
        ``decision_function = score_samples - offset_``, from
        ``decision_scores_`` and ``contamination``.
    decision_scores_ : ndarray of shape (n_snippets,)
        Anomaly scores of the training snippets after the last epoch, from
        the training objects (stride ``stride``).
    threshold_ : float
    labels_ : ndarray of shape (n_snippets,)

    Notes
    -----
    **Memory.** The training cubes are decoded once and kept by the
    estimator (28 KB per object with the defaults: 10,000 training objects
    hold 280 MB) so that the steps of an interleaved fit do not decode the
    videos again; the cache is keyed by the videos' names and files and the
    windows, never pickled nor saved in model files, and
    :class:`~unsupvad.InterleavedVAD` empties it when a module ends (each
    module's fresh Jigsaw decodes the training videos once). Scoring cubes
    are kept too when they take at most 1 GiB, else built and scored video
    by video.

    **Batch invariance.** Objects are scored in float64 (as FeatureAE and
    MIL score) by a network without batch statistics (GroupNorm), so an
    object's score does not depend on what it is scored with.
    """

    _parameter_constraints = {
        "clip_len": [Interval(Integral, 2, None, closed="left")],
        "grid": [Interval(Integral, 2, None, closed="left")],
        "cube_size": [Interval(Integral, 8, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "score_stride": [Interval(Integral, 1, None, closed="left")],
        "max_missing": [Interval(Integral, 0, None, closed="left")],
        "margin": [Interval(Real, 0, None, closed="left")],
        "channels": [tuple, list],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "min_iterations": [Interval(Integral, 1, None, closed="left")],
        "score_reduce": [StrOptions({"min", "mean"})],
        **WINDOW_SCORING_CONSTRAINTS,
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, clip_len=7, grid=3, cube_size=64, stride=4, score_stride=1, max_missing=0, *, margin=0.1,
                 channels=(8, 16, 32), hidden=128, lr=1e-3, weight_decay=5e-4, batch_size=128, max_epochs=10,
                 min_iterations=20, score_reduce="min", smoothing_sigmas=(1, 2, 3, 4, 5, 6),
                 snippet_scoring="mean", empty_frame="min", contamination="auto", random_state=None, device="auto",
                 verbose=0):
        self.clip_len = clip_len
        self.grid = grid
        self.cube_size = cube_size
        self.stride = stride
        self.score_stride = score_stride
        self.max_missing = max_missing
        self.margin = margin
        self.channels = channels
        self.hidden = hidden
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.min_iterations = min_iterations
        self.score_reduce = score_reduce
        self.smoothing_sigmas = smoothing_sigmas
        self.snippet_scoring = snippet_scoring
        self.empty_frame = empty_frame
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags

    def __unsupvad_tags__(self) -> ModelTags:
        return ModelTags(role="wocc", reads="tracks", needs_frames=True)

    # ------------------------------------------------------------------ objects
    def training_objects(self, X) -> Objects:
        """Training windows: ``X.objects(clip_len, stride, max_missing)`` centred in the selected snippets."""
        X = self._videoset(X)
        return selected_windows(X, X.objects(self.clip_len, self.stride, self.max_missing))

    def scoring_objects(self, X) -> Objects:
        """Scoring windows: ``X.objects(clip_len, score_stride, max_missing)``."""
        return self._videoset(X).objects(self.clip_len, self.score_stride, self.max_missing)

    @staticmethod
    def _videoset(X) -> VideoSet:
        X = as_videoset(X, need="tracks", what="Jigsaw")
        require_video_files(X.videos, "Jigsaw")
        return X

    def _videoset_cache(self) -> CubeCache:
        return self.__dict__.setdefault("_per_videoset", CubeCache())

    # ------------------------------------------------------------------ fitting (hooks of WeightedOneClassModel)
    def _input(self, X) -> VideoSet:
        return self._videoset(X)

    def _setup(self, X: VideoSet) -> None:
        if self.max_missing >= self.clip_len:
            raise ValueError(f"max_missing ({self.max_missing}) must be smaller than clip_len ({self.clip_len})")
        if self.cube_size // self.grid < 1:
            raise ValueError(f"cube_size ({self.cube_size}) must be at least grid ({self.grid})")
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, Integral) or c < 1
                                    for c in self.channels):
            raise ValueError(f"channels must be positive integers, got {self.channels!r}")
        self._check_smoothing()

    @property
    def _tile(self) -> int:
        return self.cube_size // self.grid

    def _build_net(self) -> JigsawNet:
        """The uninitialised skorch net on ``device_`` (also how model files rebuild it)."""
        return JigsawNet(
            JigsawModule, module__clip_len=self.clip_len, module__grid=self.grid, module__tile=self._tile,
            module__channels=tuple(self.channels), module__hidden=self.hidden,
            criterion=WeightedPuzzleLoss, optimizer=torch.optim.Adam, lr=self.lr,
            optimizer__weight_decay=self.weight_decay, optimizer__betas=(0.9, 0.999),
            batch_size=self.batch_size, max_epochs=1, train_split=None,
            iterator_train=batch_loader, iterator_train__shuffle=True,
            iterator_train__min_batches=self.min_iterations,
            device=str(self.device_), callbacks=[("progress", ProgressBar())] if self.verbose else [],
            verbose=self.verbose,
        )

    def _training_data(self, X: VideoSet, sample_weight) -> PuzzleDataset:
        objects = self.training_objects(X)
        if len(objects) == 0:
            raise ValueError(f"no training windows: no track has {self.clip_len} detections with at most "
                             f"{self.max_missing} missing frames")
        weight = self._checked_weight(sample_weight, len(objects))
        return PuzzleDataset(self._puzzle_area(self._cubes(X, objects, "train")), weight, self.grid)

    def _training_scores(self, X: VideoSet) -> np.ndarray:
        """Snippet scores from the training objects (their cubes are already built)."""
        objects = self.training_objects(X)
        return self._to_snippets(X, objects, self._scores_of(self._cubes(X, objects, "train")))

    # ------------------------------------------------------------------ cubes
    def _cubes(self, X: VideoSet, objects: Objects, slot: str) -> torch.Tensor | None:
        """The uint8 cubes of ``objects`` (CPU), from the cache or decoded; None for scoring cubes over the budget."""
        cache = self._videoset_cache()
        key = cube_key(X, objects, self.margin, self.cube_size)
        cubes = cache.lookup(key)
        if cubes is not None:
            return cubes
        if slot == "score" and len(objects) * self.clip_len * self.cube_size ** 2 > _CACHE_BYTES:
            return None
        cubes = torch.from_numpy(object_cubes(X, objects, self.margin, self.cube_size))
        cache.store(slot, key, cubes)
        return cubes

    def _puzzle_area(self, cubes: torch.Tensor) -> torch.Tensor:
        side = self.grid * self._tile
        return cubes[..., :side, :side]

    # ------------------------------------------------------------------ scoring
    def _scores_of(self, cubes: torch.Tensor, module: torch.nn.Module | None = None) -> np.ndarray:
        """``1 -`` the smallest (or mean) probability of the true positions, per cube, in float64 and batches."""
        module = float64_copy(self.net_.module_) if module is None else module
        cubes = self._puzzle_area(cubes)
        out = np.empty(len(cubes), np.float64)
        with torch.no_grad():
            for start in range(0, len(cubes), _SCORE_BATCH):
                x = network_input(cubes[start: start + _SCORE_BATCH].to(self.device_), torch.float64)
                out[start: start + len(x)] = 1.0 - identity_confidence(module, x, self.score_reduce).cpu().numpy()
        return out

    def score_objects(self, X, objects: Objects | None = None) -> np.ndarray:
        """Anomaly score of every object: ``1 -`` the smallest (``score_reduce``) probability of its true positions.

        Parameters
        ----------
        X : VideoSet
        objects : Objects, optional
            Windows cut from ``X``; default :meth:`scoring_objects`.

        Returns
        -------
        ndarray of shape (n_objects,)
            In [0, 1], higher = more abnormal.
        """
        check_is_fitted(self, "net_")
        X = self._videoset(X)
        objects = self.scoring_objects(X) if objects is None else objects
        cubes = self._cubes(X, objects, "score")
        module = float64_copy(self.net_.module_)
        if cubes is not None:
            return self._scores_of(cubes, module)
        out = np.empty(len(objects), np.float64)
        for v in np.unique(objects.video):
            chosen = np.flatnonzero(objects.video == v)
            part = torch.from_numpy(object_cubes(X, objects.subset(chosen), self.margin, self.cube_size))
            out[chosen] = self._scores_of(part, module)
        return out

    def _scored_objects(self, X: VideoSet) -> tuple[Objects, np.ndarray]:
        check_is_fitted(self, "net_")
        objects = self.scoring_objects(X)
        return objects, self.score_objects(X, objects)
