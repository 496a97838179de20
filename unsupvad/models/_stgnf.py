"""STG-NF: a normalizing flow over tracked objects, trainable with soft weights (paper Eq. 1-2).

The flow is STG-NF as released (Hirschorn & Avidan, ICCV 2023): K flow steps
of ActNorm -> channel permutation -> affine coupling whose shift/scale network
is a spatio-temporal graph convolution, a fixed Gaussian prior N(R 1, I) and
the negative log-likelihood in bits per dimension. :class:`STGNF` wraps it as
a scikit-learn outlier detector over a :class:`~unsupvad.VideoSet` with
person (keypoint) or box tracks. The flow network is in :mod:`._stgnf_network`
and its training plumbing (loss, skorch net, windows) in :mod:`._stgnf_training`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar
from tqdm.auto import tqdm

from .._objects import Objects
from .._videoset import VideoSet
from ._base import CachesPerVideoSet, as_videoset
from ._batch_norm import average_batch_norm_statistics
from ._graphs import (
    ADJACENCY_STRATEGIES,
    adjacency,
    can_convert,
    default_layout,
    get_layout,
    layout_points,
    track_layout,
)
from ._stgnf_network import STGNFModule
from ._stgnf_scoring import SAMPLE_ALIGNMENT, eval_flow
from ._stgnf_training import (
    GradientClipping,
    WeightedFlowNet,
    WeightedNLL,
    WindowDataset,
    batch_loader,
    normalise_windows,
    selected_windows,
    statistics_batches,
)
from ._tags import ModelTags
from ._window_scores import WINDOW_SCORING_CONSTRAINTS, WindowScoresMixin
from ._wocc import WeightedOneClassModel

PRECISE_BN_BATCHES = 16  # 16 x 256 windows x T x V positions per channel: ample for the statistics

_WINDOW_CHUNK = 65536
_SCORE_BATCH_VALUES = 2**19  # CPU scoring batches of about 2 MB per float32 tensor stay in a core's cache
_SCORE_BATCH_CUDA = 8192
_CACHE_BYTES = 2**30  # scoring windows larger than this are cut chunk by chunk instead of kept


# ---------------------------------------------------------------------- estimator
class STGNF(WindowScoresMixin, CachesPerVideoSet, WeightedOneClassModel, BaseEstimator):
    """STG-NF over person or box tracks, trainable with per-object weights (the paper's wOCC).

    Objects are windows of ``seg_len`` detections of one track
    (:meth:`training_objects`, :meth:`scoring_objects`). Each window's x, y
    points are normalised per window (see :func:`normalise_windows`) and
    scored by a normalizing flow: the anomaly score of an object is its
    negative log-likelihood in bits per dimension (higher = more abnormal).

    The default configuration on OpenPose-18 keypoints with ``seg_len=24`` is
    the released STG-NF (616 parameters): 8 flow steps of ActNorm, x<->y
    swap and an affine coupling whose network is one ST-GCN unit with a
    uniform adjacency (a mean over the 18 joints) and temporal kernel 13;
    prior N(3 1, I).

    Parameters
    ----------
    seg_len : int, default=24
        Window length T in detections.
    train_stride, score_stride : int, default=6, 1
        Window strides for training and for scoring.
    max_missing : int, default=2
        Frames a window may lack among the ``seg_len`` frames after its first
        one (see :func:`unsupvad.track_windows`).
    layout : str, default='auto'
        Graph layout (``'openpose18'``, ``'coco17'``, ``'box2'``, ``'box5'``
        or any registered one). ``'auto'``: the tracks' own keypoint layout
        (OpenPose-18 or COCO-17), ``'box5'`` for box tracks. COCO-17
        keypoints can also be read as ``'openpose18'`` (neck added, as
        STG-NF does).
    n_flows : int, default=8
        K, the number of flow steps.
    hidden_channels : int, default=0
        0: one ST-GCN unit per coupling (released); else two through this width.
    temporal_kernel : int, optional
        Odd temporal kernel; default ``seg_len // 2 + 1`` (raised to the
        next odd number when even).
    adjacency : {'uniform', 'distance', 'spatial'}, default='uniform'
        Adjacency strategy (see :func:`unsupvad.models._graphs.adjacency`).
    max_hop : int, default=8
        Neighbourhood radius; 8 on OpenPose-18 makes the uniform adjacency
        1/18 everywhere (released).
    permutation : {'swap', 'invconv'}, default='swap'
        Fixed x<->y swap (released) or Glow's invertible 1x1 convolution.
    learn_prior : bool, default=False
        Learn the prior's mean and log-std per dimension.
    prior_mean : float, default=3.0
        R, the prior mean.
    flip_augment : bool, default=True
        Train on every window and its horizontal flip (x negated after
        normalisation; left/right joints are not swapped, as released).
    frame_size : (int, int), optional
        ``(width, height)`` used to normalise every video. Default: each
        video's own ``frame_size``. ``(856, 480)`` is the released code's
        constant (used there for every dataset).
    optimizer : {'adam', 'adamax'}, default='adam'
        Adam (the paper) or Adamax (the official code); betas (0.9, 0.999).
    lr : float, default=5e-4
    weight_decay : float, default=5e-4
        L2 weight decay, applied with either optimizer. The paper: Adam with
        5e-4. The official code: ``optimizer='adamax', weight_decay=0``.
    batch_size : int, default=256
    max_epochs : int, default=8
        Epochs of :meth:`fit` (one epoch = every training window, and its
        flip, once). :meth:`partial_fit` runs one.
    min_iterations : int, default=20
        Fewest batches in an epoch: a training set of fewer than
        ``min_iterations * batch_size`` windows (with flips) is dealt again
        until it fills them. One pass over a small set is a handful of
        gradient steps, after which a fresh flow ranks objects almost at
        random and its rankings jump from one interleaving step to the next
        (and Eq. 8's intersection collapses). No effect above
        ``min_iterations * batch_size`` windows (5,120 with the defaults).
    grad_clip : float or None, default=100.0
        Gradient-norm clipping.
    batch_norm : {'running', 'precise'}, default='running'
        How the batch-norm statistics of the coupling networks, used for
        scoring, are estimated. ``'running'``: the exponential running
        averages (momentum 0.1) of training, as released. They trail the
        weights by a few dozen iterations, so after a short epoch (one per
        interleaving step) a flow's ranking of the training snippets jumps
        from one epoch to the next (by up to 0.1 AUC on generated box tracks).
        ``'precise'``: after the epochs of every :meth:`fit` or
        :meth:`partial_fit`, recomputed as the weighted average over (at most
        16 batches of) the training windows with the current weights, one
        forward pass without gradient (not in STG-NF's code). The rankings
        then move smoothly and Eq. 8's consensus shrinks less; on ShanghaiTech
        tracks the wOCC gained about 0.02 AUC while the WS lost about 0.01
        (:doc:`/deviations`), which is why it is not the default.
    smoothing_sigmas : sequence of float, default=(1, 2, 3, 4, 5, 6)
        Gaussian filters applied one after the other to frame scores
        (:meth:`score_frames`); empty for none.
    snippet_scoring : {'mean', 'max', 'frames'}, default='max'
        How :meth:`score_snippets` (the scores that become InterleavedVAD's
        pseudo-labels) combine objects: 'max' of the objects overlapping the
        snippet (the most abnormal person, the multiple-instance assumption),
        'mean' of them (the paper), or 'frames' (the official code: the
        smoothed frame scores of :meth:`score_frames` averaged over the
        snippet's frames). The mean dilutes one abnormal person among normal
        ones (:doc:`/deviations`).
    empty_frame : 'min' or float, default='min'
        Frame score where no window is centred (nobody, or track ends):
        ``'min'`` = the smallest object score of the scored set (the most
        normal, as STG-NF does), or a fixed value.
    contamination : 'auto' or float in (0, 0.5], default='auto'
        Share of training snippets with ``decision_function < 0``; 'auto'
        means 0.1 (see ``offset_``).
    random_state : int, RandomState or None
        Seeds initialisation and batch shuffling; the same seed gives the
        same model and scores (on CPU; CUDA convolutions may add
        non-determinism).
    device : {'auto', 'cpu', 'cuda'} or str, default='auto'
    verbose : int, default=0
        > 0: a progress bar over training batches and one line per epoch,
        and a progress bar while scoring.

    Attributes
    ----------
    net_ : WeightedFlowNet
        The skorch net; ``net_.module_`` is the :class:`STGNFModule`.
    device_ : torch.device
    layout_ : str
        The graph layout used.
    adjacency_ : ndarray of shape (K, V, V)
    n_epochs_ : int
        Epochs trained so far.
    offset_ : float
        ``decision_function = score_samples - offset_``: the ``contamination``
        quantile of ``score_samples`` over the training snippets, estimated
        from the training windows (stride ``train_stride``, which are
        already built) rather than the stride-``score_stride`` ones.
    decision_scores_ : ndarray of shape (n_snippets,)
        Anomaly scores of the training snippets after the last epoch, from
        those training windows (PyOD's name; higher = more abnormal). They
        can differ from ``anomaly_score(X_train)``, which scores windows at
        ``score_stride``.
    threshold_ : float
        ``-offset_``: training scores above it are predicted abnormal.
    labels_ : ndarray of shape (n_snippets,)
        1 for the training snippets above ``threshold_``, else 0.

    Notes
    -----
    **Weighted training (Eq. 2).** ``sample_weight`` holds ``1 - w`` per
    training object. The batch loss is :class:`WeightedNLL`:
    ``sum_i s_i nll_i / #{i : s_i > 0}`` over the batch (each window and its
    flip carry the object's weight). A weight also scales the object's share
    in the batch statistics of BatchNorm and of ActNorm's initialisation, so
    an object of weight 0 has no effect at all on training, and all-ones
    weights are plain STG-NF.

    **Optimizer state.** The optimizer is created by :meth:`fit` (or the
    first :meth:`partial_fit`) and kept: each :meth:`partial_fit` continues
    with the same Adam/Adamax moments, as the official code carries its
    optimizer across the steps of a module. :meth:`fit` always restarts from
    a fresh model and optimizer. The learning rate is constant (the
    released x0.99 per-epoch decay is not applied).

    **Scores.** :meth:`score_objects`: NLL per object. :meth:`score_snippets`
    (= :meth:`anomaly_score`): per selected snippet, the mean score of the
    stride-``score_stride`` objects overlapping it (the paper: "averaging
    all the anomaly scores of objects in the snippet"); snippets without
    objects get the smallest object score of the set. :meth:`score_frames`:
    STG-NF's protocol (centre frame, most abnormal person, ``empty_frame``,
    Gaussian cascade).
    """

    _parameter_constraints = {
        "seg_len": [Interval(Integral, 2, None, closed="left")],
        "train_stride": [Interval(Integral, 1, None, closed="left")],
        "score_stride": [Interval(Integral, 1, None, closed="left")],
        "max_missing": [Interval(Integral, 0, None, closed="left")],
        "layout": [str],
        "n_flows": [Interval(Integral, 1, None, closed="left")],
        "hidden_channels": [Interval(Integral, 0, None, closed="left")],
        "temporal_kernel": [None, Interval(Integral, 1, None, closed="left")],
        "adjacency": [StrOptions(set(ADJACENCY_STRATEGIES))],
        "max_hop": [Interval(Integral, 0, None, closed="left")],
        "permutation": [StrOptions({"swap", "invconv"})],
        "learn_prior": ["boolean"],
        "prior_mean": [Real],
        "flip_augment": ["boolean"],
        "frame_size": [None, tuple, list],
        "optimizer": [StrOptions({"adam", "adamax"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "min_iterations": [Interval(Integral, 1, None, closed="left")],
        "grad_clip": [None, Interval(Real, 0, None, closed="neither")],
        "batch_norm": [StrOptions({"precise", "running"})],
        **WINDOW_SCORING_CONSTRAINTS,
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(self, seg_len=24, train_stride=6, score_stride=1, max_missing=2, *, layout="auto", n_flows=8,
                 hidden_channels=0, temporal_kernel=None, adjacency="uniform", max_hop=8, permutation="swap",
                 learn_prior=False, prior_mean=3.0, flip_augment=True, frame_size=None, optimizer="adam",
                 lr=5e-4, weight_decay=5e-4, batch_size=256, max_epochs=8, min_iterations=20, grad_clip=100.0,
                 batch_norm="running", smoothing_sigmas=(1, 2, 3, 4, 5, 6), snippet_scoring="max", empty_frame="min",
                 contamination="auto",
                 random_state=None, device="auto", verbose=0):
        self.seg_len = seg_len
        self.train_stride = train_stride
        self.score_stride = score_stride
        self.max_missing = max_missing
        self.layout = layout
        self.n_flows = n_flows
        self.hidden_channels = hidden_channels
        self.temporal_kernel = temporal_kernel
        self.adjacency = adjacency
        self.max_hop = max_hop
        self.permutation = permutation
        self.learn_prior = learn_prior
        self.prior_mean = prior_mean
        self.flip_augment = flip_augment
        self.frame_size = frame_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.min_iterations = min_iterations
        self.grad_clip = grad_clip
        self.batch_norm = batch_norm
        self.smoothing_sigmas = smoothing_sigmas
        self.snippet_scoring = snippet_scoring
        self.empty_frame = empty_frame
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _EPOCH_SEED_OFFSET = 1  # epoch e trains with seed + 1 + e (FeatureAE: seed + e), as since the first release

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags

    # ------------------------------------------------------------------ objects
    def training_objects(self, X) -> Objects:
        """Training windows: ``X.objects(seg_len, train_stride, max_missing)`` of the selected snippets.

        A window belongs to the snippet of its centre frame; on a VideoSet
        that selects only some snippets (a cross-validation fold), the
        windows centred in unselected snippets are left out, so a model
        fitted on a fold learns nothing from the other folds' snippets. A
        window may still read detections a few frames beyond its snippet.
        """
        X = self._videoset(X)
        return selected_windows(X, X.objects(self.seg_len, self.train_stride, self.max_missing))

    def scoring_objects(self, X) -> Objects:
        """Scoring windows: ``X.objects(seg_len, score_stride, max_missing)``."""
        return self._videoset(X).objects(self.seg_len, self.score_stride, self.max_missing)

    @staticmethod
    def _videoset(X) -> VideoSet:
        return as_videoset(X, need="tracks", what="STGNF")

    # ------------------------------------------------------------------ fitting (hooks of WeightedOneClassModel)
    def __unsupvad_tags__(self) -> ModelTags:
        return ModelTags(role="wocc", reads="tracks", needs_frame_size=True)

    def _input(self, X) -> VideoSet:
        return self._videoset(X)

    def _setup(self, X: VideoSet) -> None:
        self._check_config()
        self.layout_ = self._resolve_layout(X)
        self.adjacency_ = adjacency(self.layout_, self.adjacency, self.max_hop)
        self._videoset_cache().clear()

    def _check_config(self) -> None:
        if self.max_missing >= self.seg_len:
            raise ValueError(
                f"max_missing ({self.max_missing}) must be smaller than seg_len ({self.seg_len})"
            )
        if self.temporal_kernel is not None and self.temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd, got {self.temporal_kernel}")
        if self.frame_size is not None and (len(self.frame_size) != 2 or min(self.frame_size) <= 0):
            raise ValueError(f"frame_size must be (width, height) > 0, got {self.frame_size!r}")
        self._check_smoothing()

    def _build_net(self) -> WeightedFlowNet:
        callbacks = [] if self.grad_clip is None else [("grad_clip", GradientClipping(self.grad_clip))]
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        optimizer = torch.optim.Adam if self.optimizer == "adam" else torch.optim.Adamax
        # one kernel for all ~100 small tensors: Adam's fused update (the same numbers to float32 rounding),
        # Adamax's multi-tensor one (exactly the per-tensor numbers)
        kernels = {"optimizer__fused": True} if self.optimizer == "adam" else {"optimizer__foreach": True}
        return WeightedFlowNet(
            STGNFModule, module__adjacency=self.adjacency_, module__seg_len=self.seg_len,
            module__n_flows=self.n_flows, module__hidden_channels=self.hidden_channels,
            module__temporal_kernel=self.temporal_kernel, module__permutation=self.permutation,
            module__learn_prior=self.learn_prior, module__prior_mean=float(self.prior_mean),
            criterion=WeightedNLL, optimizer=optimizer, lr=self.lr,
            optimizer__weight_decay=self.weight_decay, optimizer__betas=(0.9, 0.999),
            **kernels,
            batch_size=self.batch_size, max_epochs=1, train_split=None,
            iterator_train=batch_loader, iterator_train__shuffle=True,
            iterator_train__min_batches=self.min_iterations,
            device=str(self.device_), callbacks=callbacks, verbose=self.verbose,
        )

    def _training_data(self, X: VideoSet, sample_weight) -> WindowDataset:
        objects, windows = self._prepared(X, "train")
        if len(objects) == 0:
            raise ValueError(
                f"no training windows: no track has {self.seg_len} detections with at most "
                f"{self.max_missing} missing frames"
            )
        return WindowDataset(windows, self._checked_weight(sample_weight, len(objects)), self.flip_augment)

    def _after_training(self, data: WindowDataset) -> None:
        if self.batch_norm == "precise":
            batches = statistics_batches(data, self.batch_size, PRECISE_BN_BATCHES, (self._seed, self.n_epochs_))
            average_batch_norm_statistics(self.net_.module_, batches)

    def _training_scores(self, X: VideoSet) -> np.ndarray:
        """Snippet scores from the training windows (already built), not from the stride-``score_stride`` ones."""
        objects, windows = self._prepared(X, "train")
        return self._to_snippets(X, objects, self._nll(windows))

    # ------------------------------------------------------------------ windows
    def _prepared(self, X: VideoSet, kind: str) -> tuple[Objects, torch.Tensor | None]:
        """The training or scoring windows of ``X``, normalised on ``device_``.

        Cut once and kept while ``X`` lives (a weak reference), so the steps
        of an interleaved fit reuse them on the device instead of cutting the
        tracks again. Scoring windows above ``_CACHE_BYTES`` are not kept:
        ``None`` tells the caller to cut them chunk by chunk.
        """
        stride = self.train_stride if kind == "train" else self.score_stride
        frame_size = None if self.frame_size is None else tuple(self.frame_size)
        key = (self.seg_len, stride, self.max_missing, self.layout_, frame_size, str(self.device_))

        def cut():
            objects = X.objects(self.seg_len, stride, self.max_missing)
            if kind == "train":
                objects = selected_windows(X, objects)
            n_bytes = 4 * len(objects) * 2 * self.seg_len * get_layout(self.layout_).n_nodes
            if kind == "score" and n_bytes > _CACHE_BYTES:
                return objects, None
            return objects, self._windows(X, objects)

        return self._videoset_cache().get(f"{kind}_windows", key, X, cut)

    def _resolve_layout(self, X: VideoSet) -> str:
        sources = {track_layout(v.tracks) for v in X.videos}
        if len(sources) != 1:
            raise ValueError(f"all videos must share one track layout, got {sorted(sources)}")
        source = sources.pop()
        target = default_layout(source) if self.layout == "auto" else get_layout(self.layout).name
        if not can_convert(source, target):
            raise ValueError(f"graph layout {target!r} cannot be built from tracks of layout {source!r}")
        return target

    def _frame_sizes(self, X: VideoSet) -> np.ndarray:
        if self.frame_size is not None:
            return np.tile(np.asarray(self.frame_size, np.float32), (X.n_videos, 1))
        missing = [v.name for v in X.videos if v.frame_size is None]
        if missing:
            raise ValueError(
                f"video {missing[0]!r} has no frame_size; set it on the videos or pass "
                "STGNF(frame_size=(width, height))"
            )
        return np.array([v.frame_size for v in X.videos], np.float32)

    def _windows(self, X: VideoSet, objects: Objects) -> torch.Tensor:
        """Normalised windows ``(n_objects, 2, T, V)`` on ``device_``."""
        sources = {track_layout(v.tracks) for v in X.videos}
        if len(sources) != 1 or not can_convert(next(iter(sources)), self.layout_):
            raise ValueError(f"these tracks ({sorted(sources)}) cannot feed graph layout {self.layout_!r}")
        source = sources.pop()
        sizes = torch.as_tensor(self._frame_sizes(X), device=self.device_)
        parts = []
        for start in range(0, len(objects), _WINDOW_CHUNK):
            chunk = objects.subset(slice(start, start + _WINDOW_CHUNK))
            points = layout_points(X.object_points(chunk)[..., :2], source, self.layout_)
            xy = torch.as_tensor(np.ascontiguousarray(points), dtype=torch.float32, device=self.device_)
            parts.append(normalise_windows(xy, sizes[torch.as_tensor(chunk.video, device=self.device_)]))
        if not parts:
            v = get_layout(self.layout_).n_nodes
            return torch.zeros((0, 2, self.seg_len, v), device=self.device_)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    # ------------------------------------------------------------------ scoring
    def _nll(self, windows: torch.Tensor) -> np.ndarray:
        """NLL in bits/dim of windows, in eval mode and large batches."""
        module = self.net_.module_
        module.eval()
        flow = eval_flow(module)
        batch = _score_batch(self.device_, windows[0].numel() if len(windows) else 1)
        out = torch.empty(len(windows), dtype=torch.float64, device=windows.device)
        with torch.no_grad():  # gathered on the device and copied to the host once: no sync per batch
            for start in range(0, len(windows), batch):
                out[start : start + batch] = flow(windows[start : start + batch])
        return out.cpu().numpy()

    def score_objects(self, X, objects: Objects | None = None) -> np.ndarray:
        """Anomaly score (NLL in bits per dimension) of every object.

        Parameters
        ----------
        X : VideoSet
        objects : Objects, optional
            Windows cut from ``X``; default :meth:`scoring_objects`.

        Returns
        -------
        ndarray of shape (n_objects,)
            Higher = more abnormal.
        """
        check_is_fitted(self, "net_")
        X = self._videoset(X)
        objects = self.scoring_objects(X) if objects is None else objects
        out = np.empty(len(objects), np.float64)
        chunks = range(0, len(objects), _WINDOW_CHUNK)
        for start in tqdm(chunks, desc="STGNF scoring", disable=not self.verbose, unit="chunk"):
            chunk = objects.subset(slice(start, start + _WINDOW_CHUNK))
            out[start : start + len(chunk)] = self._nll(self._windows(X, chunk))
        return out

    def _scored_objects(self, X: VideoSet) -> tuple[Objects, np.ndarray]:
        """The scoring windows of ``X`` and their NLL (cached windows when they fit in memory)."""
        check_is_fitted(self, "net_")
        objects, windows = self._prepared(X, "score")
        return objects, self.score_objects(X, objects) if windows is None else self._nll(windows)


def _score_batch(device: torch.device, values_per_window: int) -> int:
    """Windows per scoring batch: 8192 on CUDA; on CPU about 2 MB per tensor, a multiple of the padding (64 to 8192)."""
    if device.type == "cuda":
        return _SCORE_BATCH_CUDA
    aligned = _SCORE_BATCH_VALUES // values_per_window // SAMPLE_ALIGNMENT * SAMPLE_ALIGNMENT
    return int(np.clip(aligned, SAMPLE_ALIGNMENT, 8192))
