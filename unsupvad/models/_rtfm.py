"""RTFM (Tian et al., ICCV 2021): feature-magnitude top-k MIL, trained from snippet pseudo-labels.

The network follows the released ``model.py`` (the paper's Sec. 3.2 WS model);
the loss is the UVAD paper's Eq. 4-5 by default and the released code's form
as an option. Bags are built from snippet labels (see :mod:`._bags`).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._bags import BAG_PARAMETER_CONSTRAINTS, BagTrainingMixin, FeatureStandardizer

SCORE_CHUNK = 1024
OFFICIAL_ALPHA = 1e-4
HALO = 5
PRECISE_BN_BATCHES = 4  # 4 x 64 bags x 16 snippets x crops positions per channel: ample for the statistics


# ---------------------------------------------------------------------- network
class NonLocal1d(nn.Module):
    """Embedded dot-product non-local block without softmax (``f = θᵀφ / N``), no subsampling.

    ``y = f g`` is computed as ``θ (φᵀ g) / N``: the same product without
    the ``N x N`` matrix, so memory is linear in the sequence length and the
    context ``φᵀ g`` of a long video can be summed chunk by chunk.
    """

    def __init__(self, channels: int, inter_channels: int):
        super().__init__()
        self.theta = nn.Conv1d(channels, inter_channels, 1)
        self.phi = nn.Conv1d(channels, inter_channels, 1)
        self.g = nn.Conv1d(channels, inter_channels, 1)
        self.out = nn.Sequential(nn.Conv1d(inter_channels, channels, 1), nn.BatchNorm1d(channels))

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """``Σ_t φ(x_t) g(x_t)ᵀ`` for ``x`` of shape (batch, channels, T): (batch, inter, inter)."""
        return torch.bmm(self.phi(x), self.g(x).transpose(1, 2))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, length: int | None = None):
        if context is None:
            context, length = self.context(x), x.shape[-1]
        y = torch.bmm(self.theta(x).transpose(1, 2), context) / length
        return x + self.out(y.transpose(1, 2))


def _conv_relu_bn(n_in: int, n_out: int, kernel: int, dilation: int = 1, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(n_in, n_out, kernel, dilation=dilation, padding=dilation * (kernel // 2), bias=bias),
        nn.ReLU(),
        nn.BatchNorm1d(n_out),
    )


class MultiScaleTemporalNet(nn.Module):
    """RTFM's ``Aggregate`` (the MTN): dilated convolutions and a non-local block, with a residual.

    Three Conv1d(D → W, k=3, dilation 1/2/4) + ReLU + BN branches; a
    Conv1d(D → W, k=1, no bias) + ReLU into a non-local block (inner width
    W / 2); the four outputs concatenated (4 W channels) into a Conv1d
    (4 W → D, k=3, no bias) + ReLU + BN, added to the input. With D = 2048
    and W = 512 this is the released module.
    """

    def __init__(self, n_features: int, branch_dim: int = 512):
        super().__init__()
        self.dilated = nn.ModuleList([_conv_relu_bn(n_features, branch_dim, 3, d) for d in (1, 2, 4)])
        self.pointwise = nn.Sequential(nn.Conv1d(n_features, branch_dim, 1, bias=False), nn.ReLU())
        self.non_local = NonLocal1d(branch_dim, branch_dim // 2)
        self.fuse = _conv_relu_bn(4 * branch_dim, n_features, 3, bias=False)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """Non-local context of a sequence chunk ``(batch, D, T)``; contexts of chunks add up."""
        return self.non_local.context(self.pointwise(x))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, length: int | None = None):
        """``(batch, D, T)`` → ``(batch, D, T)``; ``context``/``length`` replace the sequence's own."""
        branches = [conv(x) for conv in self.dilated]
        branches.append(self.non_local(self.pointwise(x), context, length))
        return x + self.fuse(torch.cat(branches, dim=1))


class RTFMNet(nn.Module):
    """RTFM's network: MTN, dropout, snippet classifier; crops averaged.

    Parameters
    ----------
    n_features : int
        Feature size D.
    branch_dim : int, default=512
        Width of each MTN branch.
    head_dims : tuple of int, default=(512, 128)
        Hidden widths of the classifier (then one output, sigmoid).
    dropout : float, default=0.7
        Dropout on the MTN output and after each hidden classifier layer.

    Notes
    -----
    Every Conv1d and Linear weight is Xavier-uniform with zero bias; the
    non-local output BN starts at zero, so the block starts as the identity.
    ``input_norm`` standardises the input features first (the identity until
    its buffers are set, see :class:`RTFM`'s ``input_scaling``).
    """

    def __init__(self, n_features: int, branch_dim: int = 512, head_dims=(512, 128), dropout: float = 0.7):
        super().__init__()
        self.input_norm = FeatureStandardizer(n_features)
        self.mtn = MultiScaleTemporalNet(n_features, branch_dim)
        self.drop = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        sizes = [n_features, *head_dims]
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        layers += [nn.Linear(sizes[-1], 1), nn.Sigmoid()]
        self.head = nn.Sequential(*layers)
        self.apply(_xavier_init)
        bn = self.mtn.non_local.out[1]
        nn.init.zeros_(bn.weight)
        nn.init.zeros_(bn.bias)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """Non-local context of per-crop sequence chunks ``(n, T, D)``; contexts of chunks add up."""
        return self.mtn.context(self.input_norm(x).transpose(1, 2))

    def sequences(self, x: torch.Tensor, context=None, length=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-crop sequences ``(n, T, D)`` → post-dropout features ``(n, T, D)`` and scores ``(n, T)``."""
        x = self.input_norm(x)
        features = self.drop(self.mtn(x.transpose(1, 2), context, length).transpose(1, 2))
        return features, self.head(features).squeeze(-1)

    def forward(self, pos: torch.Tensor, neg: torch.Tensor):
        """Positive and negative bags ``(B, C, crops, D)`` → scores, magnitudes, features.

        Returns ``scores`` and ``magnitudes`` of shape ``(2B, C)`` (crop
        averages; positives first) and ``features`` of shape
        ``(2B, crops, C, D)``.
        """
        bags = torch.cat([pos, neg]).transpose(1, 2)
        n_bags, n_crops, size, dim = bags.shape
        features, scores = self.sequences(bags.reshape(n_bags * n_crops, size, dim))
        features = features.reshape(n_bags, n_crops, size, -1)
        scores = scores.reshape(n_bags, n_crops, size).mean(1)
        magnitudes = features.norm(dim=-1).mean(1)
        return scores, magnitudes, features


def _xavier_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def score_sequence(net: RTFMNet, features, chunk: int = SCORE_CHUNK, device="cpu") -> np.ndarray:
    """Scores of every snippet of one video ``(T, crops, D)``, in eval mode, crops averaged.

    A video longer than ``chunk`` snippets is processed in chunks (plus a
    halo of 5 snippets for the convolutions) after a first pass that sums
    the non-local context over the whole video, so the result equals the
    one-pass result while memory stays bounded by the chunk.
    """
    n = len(features)

    def crops_first(a, b):
        block = np.asarray(features[a:b], dtype=np.float32)
        block = block[:, None, :] if block.ndim == 2 else block
        return torch.tensor(block.transpose(1, 0, 2), device=device)  # a copy: features may be read-only

    if n <= chunk:
        return net.sequences(crops_first(0, n))[1].mean(0).cpu().numpy()
    starts = range(0, n, chunk)
    context = sum(net.context(crops_first(a, min(a + chunk, n))) for a in starts)
    out = np.empty(n, np.float32)
    for a in starts:
        b = min(a + chunk, n)
        lo, hi = max(0, a - HALO), min(n, b + HALO)
        scores = net.sequences(crops_first(lo, hi), context, n)[1].mean(0)
        out[a:b] = scores[a - lo: a - lo + b - a].cpu().numpy()
    return out


def precise_batch_norm(module: nn.Module, dataset, batch_size: int, device: torch.device,
                       max_batches: int | None = None) -> None:
    """Set every batch norm's running mean and variance to their average over ``dataset``.

    The batches are those of training (``batch_size`` items each), the first
    ``max_batches`` of them when given (training bags come in random order);
    the forward passes run without gradient and with dropout off, so only the
    statistics change, not the weights.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training, momenta = module.training, [m.momentum for m in norms]
    module.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches below
        norm.train()
    with torch.no_grad():
        for i, (batch, _) in enumerate(torch.utils.data.DataLoader(dataset, batch_size=batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            module(**{name: value.to(device) for name, value in batch.items()})
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    module.train(was_training)


# ---------------------------------------------------------------------- loss terms
def topk_indices(magnitudes: torch.Tensor, k: int, keep: float | None = None) -> torch.Tensor:
    """Indices of the ``k`` largest magnitudes per bag ``(n, C)`` → ``(n, min(k, C))``.

    ``keep`` (training only, as released) multiplies the magnitudes by a
    dropout mask of ones kept with probability ``keep`` before ranking.
    """
    k = min(k, magnitudes.shape[1])
    if keep is not None and keep < 1:
        magnitudes = magnitudes * F.dropout(torch.ones_like(magnitudes), p=1 - keep)
    return magnitudes.topk(k, dim=1).indices


def mean_at(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Mean of ``values (n, C)`` at ``index (n, k)`` per row: d(B) for magnitudes, f(B) for scores."""
    return values.gather(1, index).mean(1)


def hinge_margin(d_pos: torch.Tensor, d_neg: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 4's first term, ``max(0, m - d(B+) + d(B-))``, averaged over bag pairs."""
    return F.relu(margin - d_pos + d_neg).mean()


def bag_bce(f_pos: torch.Tensor, f_neg: torch.Tensor) -> torch.Tensor:
    """Eq. 5 for both bags of a pair, ``-log f(B+) - log(1 - f(B-))``, averaged over pairs."""
    return F.binary_cross_entropy(f_pos, torch.ones_like(f_pos)) + \
        F.binary_cross_entropy(f_neg, torch.zeros_like(f_neg))


def smoothness(scores: torch.Tensor) -> torch.Tensor:
    """``Σ_t (s_{t+1} - s_t)²`` within each bag ``(n, C)``, averaged over bags."""
    return (scores[:, 1:] - scores[:, :-1]).pow(2).sum(1).mean()


def sparsity_l1(scores: torch.Tensor) -> torch.Tensor:
    """``Σ_t s_t`` within each bag ``(n, C)``, averaged over bags (scores are non-negative)."""
    return scores.sum(1).mean()


def official_margin(features_pos: torch.Tensor, features_neg: torch.Tensor, idx_pos: torch.Tensor,
                    idx_neg: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The released code's feature-magnitude terms, per crop row.

    With ``a`` the norm of the mean of a positive bag's top-k features in one
    crop and ``n`` the same for the paired negative bag:
    ``mean((|m - a| + n)²)`` and ``mean(n²)`` (Joint-VAD's extra term).
    """
    def selected_norm(features, idx):
        index = idx[:, None, :, None].expand(-1, features.shape[1], -1, features.shape[-1])
        return features.gather(2, index).mean(2).norm(dim=-1)

    a = (margin - selected_norm(features_pos, idx_pos)).abs()
    n = selected_norm(features_neg, idx_neg)
    return ((a + n) ** 2).mean(), (n**2).mean()


class RTFMLoss(nn.Module):
    """RTFM's bag loss; the first half of the batch is positive bags, the second negative.

    Parameters
    ----------
    k : int
        Snippets selected per bag by feature magnitude (``min(k, C)``).
    margin : float
    form : {'paper', 'official'}
        ``'paper'``: ``hinge_margin + bag_bce + smooth * smoothness(s+) +
        sparse * sparsity_l1(s+)``.
        ``'official'``: ``BCE over the 2B top-k scores (mean) + 1e-4 *
        (|m - a| + n)² [+ 1e-4 * n²] + smooth * Σ_t (s_{t+1} - s_t)² summed
        over all positive bags + sparse * ||s+||_2`` over the batch.
    smooth, sparse : float
        Weights of the smoothness and sparsity terms.
    normal_magnitude_term : bool
        Add Joint-VAD's ``1e-4 * mean(n²)`` (official form only).
    selection_keep : float
        Probability of keeping a snippet in the random mask applied to the
        magnitudes before the training top-k (as released: 0.3).
    """

    def __init__(self, k=3, margin=100.0, form="paper", smooth=8e-4, sparse=8e-4, normal_magnitude_term=False,
                 selection_keep=0.3):
        super().__init__()
        self.k, self.margin, self.form = k, margin, form
        self.smooth, self.sparse = smooth, sparse
        self.normal_magnitude_term = normal_magnitude_term
        self.selection_keep = selection_keep

    def forward(self, y_pred, y_true=None):
        scores, magnitudes, features = y_pred
        half = len(scores) // 2
        keep = self.selection_keep if self.training else None
        idx = topk_indices(magnitudes, self.k, keep)
        f_bag = mean_at(scores, idx)
        s_pos = scores[:half]
        if self.form == "paper":
            d_bag = mean_at(magnitudes, idx)
            return (hinge_margin(d_bag[:half], d_bag[half:], self.margin)
                    + bag_bce(f_bag[:half], f_bag[half:])
                    + self.smooth * smoothness(s_pos) + self.sparse * sparsity_l1(s_pos))
        labels = torch.cat([torch.ones(half), torch.zeros(len(scores) - half)]).to(f_bag)
        term, normal = official_margin(features[:half], features[half:], idx[:half], idx[half:], self.margin)
        magnitude = term + normal if self.normal_magnitude_term else term
        return (F.binary_cross_entropy(f_bag, labels) + OFFICIAL_ALPHA * magnitude
                + self.smooth * smoothness(s_pos) * half + self.sparse * s_pos.flatten().norm())


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
        in ``mode='video'``), and at least ``min_iterations``. The official
        code runs 500 per WS step.
    min_iterations : int, default=10
        Floor of ``iterations_per_epoch='auto'``. One pass over a small
        training set is one or two iterations, after which a freshly
        initialised network ranks snippets almost at random (often inverted):
        each interleaving step's WS would then hand the wOCC noise as soft
        labels. The floor only acts below ``10 * batch_size`` bags of the
        larger class (about 5,000 snippets with the defaults).
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
    }

    def __init__(self, *, k=3, margin=100.0, loss="paper", normal_magnitude_term=False, smoothness=8e-4,
                 sparsity="auto", branch_dim=512, head_dims=(512, 128), dropout=0.7,
                 selection_dropout=0.7, input_scaling="standard", batch_norm="precise", bag_size=16,
                 bag_sampling="random", mode="pseudo", batch_size=32, iterations_per_epoch="auto", min_iterations=10,
                 max_epochs=20, lr=1e-3, weight_decay=5e-4, contamination="auto", random_state=None, device="auto",
                 verbose=0):
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
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.contamination = contamination
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _module_spec(self, n_features: int):
        return RTFMNet, {"n_features": n_features, "branch_dim": self.branch_dim,
                         "head_dims": tuple(self.head_dims), "dropout": self.dropout}

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
