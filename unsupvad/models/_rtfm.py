"""RTFM (Tian et al., ICCV 2021): feature-magnitude top-k MIL, trained from snippet pseudo-labels.

The network follows the released ``model.py`` (the paper's Sec. 3.2 WS model);
the loss is the UVAD paper's Eq. 4-5 by default and the released code's form
as an option. Bags are built from snippet labels (see :mod:`._bags`). The
network is in :mod:`._rtfm_network`, the loss in :mod:`._rtfm_loss`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._bags import BAG_PARAMETER_CONSTRAINTS, BagTrainingMixin
from ._rtfm_loss import RTFMLoss
from ._rtfm_network import SCORE_CHUNK, RTFMNet, precise_batch_norm, score_sequence

PRECISE_BN_BATCHES = 4  # 4 x 64 bags x 16 snippets x crops positions per channel: ample for the statistics


# ---------------------------------------------------------------------- estimator
class RTFM(BagTrainingMixin, OutlierMixin, BaseEstimator):
    """RTFM weakly-supervised detector trained from 0/1 snippet labels through bags.

    The network is the released one: a multi-scale temporal network (three
    dilated 1-D convolutions and a non-local block without softmax, fused
    and added to the input), dropout 0.7 and a 512-128-1 classifier, every
    crop a sequence of its own with scores averaged over crops. Training
    selects the ``k`` snippets of largest feature magnitude per bag (under
    the released random mask that keeps each snippet with probability 0.3).
    With 2048-d input the network has 24,718,849 parameters.

    Parameters
    ----------
    k : int, default=3
        Top-k snippets per bag (never more than the bag size).
    margin : float, default=100.0
        Feature-magnitude margin m.
    loss : {'paper', 'official'}, default='paper'
        ``'paper'`` (UVAD Eq. 4-5 plus RTFM's regularisers), per pair of a
        positive bag B+ and a negative bag B- of a batch, averaged over the
        ``batch_size`` pairs::

            max(0, m - d(B+) + d(B-)) - log f(B+) - log(1 - f(B-))
            + smoothness * Σ_t (s_{t+1} - s_t)² + sparsity * Σ_t s_t

        where d(B) is the mean of the top-k crop-averaged feature magnitudes,
        f(B) the mean score of those same k snippets (as released: the
        classifier is trained on the snippets the magnitudes select), and
        the last two sums run over the scores s of B+'s C snippets (the RTFM
        paper's temporal smoothness and sparsity, both 8e-4).
        ``'official'`` (the code Joint-VAD ran)::

            BCE over the 2 B top-k scores (mean)
            + 1e-4 * mean over crop rows of (|m - a| + n)²  [+ 1e-4 * mean(n²)]
            + smoothness * Σ_t (s_{t+1} - s_t)² over every positive bag
            + sparsity * ||s+||_2 over all positive-bag scores of the batch

        where a and n are the norms of the mean top-k feature of a positive
        and of its paired negative bag in one crop. The released code also
        takes score differences across neighbouring bags; here the
        smoothness stays inside each bag.
    normal_magnitude_term : bool, default=False
        ``loss='official'`` only: add Joint-VAD's ``1e-4 * mean(n²)``.
    smoothness : float, default=8e-4
        Weight of the temporal smoothness term.
    sparsity : float or 'auto', default='auto'
        Weight of the sparsity term: 8e-4 (L1) for ``loss='paper'``, 8e-3
        (L2 norm, as released) for ``'official'``.
    branch_dim : int, default=512
        Width of each MTN branch (the non-local block's inner width is half).
    head_dims : tuple of int, default=(512, 128)
        Hidden widths of the classifier.
    dropout : float, default=0.7
    selection_dropout : float, default=0.7
        Share of snippets masked out before the training top-k, as released
        (0 ranks all snippets).
    input_scaling : {'standard', 'rms', 'none'}, default='standard'
        How input features are scaled before the network, with statistics
        of the training snippets (all crops pooled) learned when training
        starts (:meth:`fit`, or the first :meth:`partial_fit`) and kept in
        the network's state. The network, its margin and its classifier are
        not invariant to the features' unit: unscaled features a thousand
        times larger leave a handful of distinct scores, the sigmoid
        saturates and nothing is learned. ``'standard'``: every dimension
        z-scored; RTFM then behaves the same on any unit or extractor, and
        the feature magnitude it ranks by measures the distance from the
        typical training snippet. ``'rms'``: one scale for all dimensions,
        the features' root mean square (sign and sparsity kept). ``'none'``:
        as in the paper and the released code (see ``docs/deviations.rst``).
    batch_norm : {'precise', 'running'}, default='precise'
        How the MTN's batch-norm statistics used for scoring are estimated.
        ``'precise'``: after every epoch, recompute them exactly as the
        average over (at most 4 batches of) that epoch's bags, with one extra
        forward pass and no gradient (not in the paper or the released code). ``'running'``: the
        exponential running averages (momentum 0.1) updated by the training
        iterations, as released. They lag the network by a few dozen
        iterations, which matters when an epoch is short (one epoch per
        interleaving step) and the features are large (2048-d I3D-like):
        scores then saturate at 1 for every snippet.
    bag_size : int, default=16
        C, snippets per bag (in ``mode='video'``: segments per video; RTFM
        resampled videos to 32).
    bag_sampling : {'random', 'stratified'}, default='random'
        ``'random'``: the paper's randomly selected C snippets (each pool
        shuffled and dealt into bags). ``'stratified'``: the official code's
        bags, each with one of the top-scored snippets of the three top
        tiers plus C - 3 random ones (see :func:`unsupvad.models._bag_sampling.stratified_bags`), ranked by
        ``snippet_scores`` passed to :meth:`fit`, else by the model's own
        current scores.
    mode : {'pseudo', 'video'}, default='pseudo'
        ``'pseudo'``: bags of snippets drawn from the snippet labels (paper
        Sec. 3.2). ``'video'``: classic weak supervision, one bag per video
        (its selected snippets resampled to ``bag_size`` segments) with the
        video's label; ``y`` must be constant within each video.
    batch_size : int, default=32
        Bags of each class per iteration.
    iterations_per_epoch : 'auto' or int, default='auto'
        ``'auto'``: enough iterations to deal the larger pool once
        (``ceil(max(ceil(n_pos / C), ceil(n_neg / C)) / batch_size)``; C = 1
        in ``mode='video'``), and at least ``min_iterations`` in the first
        epoch of a fresh network. The official code runs 500 per WS step.
    min_iterations : int, default=10
        Floor of the first ``iterations_per_epoch='auto'`` epoch of a fresh
        network. One pass over a small training set is one or two
        iterations, after which a freshly initialised network ranks snippets
        almost at random (often inverted): the first interleaving step's WS
        would then hand the wOCC noise as soft labels. Later epochs (the
        module's later steps in :class:`~unsupvad.InterleavedVAD`) continue
        a trained network and make one pass: flooring them too trained the
        WS over its small pool several times a step, and it fitted the noise
        of its pseudo-labels (see :doc:`/deviations`). The floor only acts
        below ``10 * batch_size`` bags of the larger class (about 5,000
        snippets with the defaults).
    min_agreement : float in [0.5, 1] or None, default=None
        None: :meth:`partial_fit` trains one epoch (the paper's step). A
        value: after that epoch, more epochs follow (at most ``max_epochs``)
        while the model's own scores of the training snippets rank the labels
        it was given (ROC AUC) below ``min_agreement``: a WS that does not yet
        rank its step's pseudo-labels would hand the wOCC noise as soft
        labels. Costs one scoring pass of the training snippets per epoch.
        In :class:`~unsupvad.InterleavedVAD`, ``history_``'s ``ws_epochs``
        counts the module's WS epochs so far.
    max_epochs : int, default=20
        Epochs of :meth:`fit`; :meth:`partial_fit` runs one. On a
        ShanghaiTech-sized training set (about 11,000 snippets, 10 %
        labelled 1) an epoch is 20 iterations, so the default is about 400
        iterations, close to the official 500 per WS step. Without model
        selection, longer training on noisy pseudo-labels tends to fit the
        noise.
    lr : float, default=1e-3
    weight_decay : float, default=5e-4
        Adam's (coupled) L2 penalty: the paper's value; the code uses 5e-3.
    precision : {'float32', 'bfloat16'}, default='float32'
        Arithmetic of the network's convolutions, products and linear layers
        in training and scoring. ``'bfloat16'`` (opt-in) runs them under
        :func:`torch.autocast` in bfloat16, on CPU and CUDA; the weights,
        optimiser, input standardisation, loss and scores stay float32.
        Measured in ``benchmarks/model_speed.py`` (speed) and
        ``benchmarks/rtfm_precision.py`` (scores and frame AUC); see
        :doc:`/deviations`.
    feature_cache_bytes : int, default=2**30
        Memory budget of the training features. A training set whose
        features fit in it (float32, crops included: about 130,000 1-crop or
        13,000 10-crop 2048-d snippets for the default 1 GiB) is copied once
        into one tensor on ``device`` and every bag is gathered there; a
        larger one stays where it is (a memory map stays a memory map) and
        each batch of bags is read from the videos' arrays, so memory stays
        bounded by a batch. Both give the same bags and the same result.
    contamination : 'auto' or float, default='auto'
        ``'auto'``: a snippet is an outlier when its score exceeds 0.5
        (``offset_ = -0.5``); a float: the share of training snippets
        flagged.
    random_state : int, RandomState or None, default=None
    device : str, default='auto'
    verbose : int, default=0
        A progress bar over iterations when > 0.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The network (``net_.module_``), optimiser and history.
    device_ : torch.device
    n_features_in_ : int
        Feature size D.
    offset_ : float
    n_epochs_, n_iter_ : int
        Epochs and iterations trained.

    Notes
    -----
    **Temporal context.** In training the MTN runs over the C snippets of a
    bag, in bag order (unrelated snippets in ``mode='pseudo'``, as in the
    paper and the official code); at scoring time it runs over every video
    whole, in temporal order, and the non-local block spans the video
    (chunked for very long videos without changing the result).
    **Batch norm** sees positive and negative bags together, as released.
    """

    _parameter_constraints = {
        **BAG_PARAMETER_CONSTRAINTS,
        "k": [Interval(Integral, 1, None, closed="left")],
        "margin": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"paper", "official"})],
        "normal_magnitude_term": ["boolean"],
        "smoothness": [Interval(Real, 0, None, closed="left")],
        "sparsity": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "branch_dim": [Interval(Integral, 2, None, closed="left")],
        "head_dims": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "selection_dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": [StrOptions({"running", "precise"})],
        "precision": [StrOptions({"float32", "bfloat16"})],
    }

    def __init__(self, *, k=3, margin=100.0, loss="paper", normal_magnitude_term=False, smoothness=8e-4,
                 sparsity="auto", branch_dim=512, head_dims=(512, 128), dropout=0.7,
                 selection_dropout=0.7, input_scaling="standard", batch_norm="precise", bag_size=16,
                 bag_sampling="random", mode="pseudo", batch_size=32, iterations_per_epoch="auto", min_iterations=10,
                 min_agreement=None,
                 max_epochs=20, lr=1e-3, weight_decay=5e-4, precision="float32", feature_cache_bytes=2**30,
                 contamination="auto", random_state=None, device="auto", verbose=0):
        self.k = k
        self.margin = margin
        self.loss = loss
        self.normal_magnitude_term = normal_magnitude_term
        self.smoothness = smoothness
        self.sparsity = sparsity
        self.branch_dim = branch_dim
        self.head_dims = head_dims
        self.dropout = dropout
        self.selection_dropout = selection_dropout
        self.input_scaling = input_scaling
        self.batch_norm = batch_norm
        self.bag_size = bag_size
        self.bag_sampling = bag_sampling
        self.mode = mode
        self.batch_size = batch_size
        self.iterations_per_epoch = iterations_per_epoch
        self.min_iterations = min_iterations
        self.min_agreement = min_agreement
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.precision = precision
        self.feature_cache_bytes = feature_cache_bytes
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _module_spec(self, n_features: int):
        return RTFMNet, {"n_features": n_features, "branch_dim": self.branch_dim,
                         "head_dims": tuple(self.head_dims), "dropout": self.dropout, "precision": self.precision}

    def _criterion_spec(self):
        sparse = self.sparsity
        if sparse == "auto":
            sparse = 8e-4 if self.loss == "paper" else 8e-3
        return RTFMLoss, {"k": self.k, "margin": self.margin, "form": self.loss, "smooth": self.smoothness,
                          "sparse": sparse, "normal_magnitude_term": self.normal_magnitude_term,
                          "selection_keep": 1.0 - self.selection_dropout}

    def _after_epoch(self, bags) -> None:
        if self.batch_norm == "precise":
            precise_batch_norm(self.net_.module_, bags, self.batch_size, self.device_, PRECISE_BN_BATCHES)

    def _score_selected(self, X) -> np.ndarray:
        """Score every video whole, in temporal order, one at a time; pick the selected snippets."""
        out = np.empty(len(X), np.float64)
        local = X.snippet_index
        for v, video in enumerate(X.videos):
            pos = X.video_positions(v)
            scores = score_sequence(self.net_.module_, video.features, SCORE_CHUNK, self.device_)
            out[pos] = scores[local[pos]]
        return out
