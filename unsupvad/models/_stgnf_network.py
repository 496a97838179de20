"""The STG-NF flow network: flow layers (ActNorm, permutation, affine coupling) and :class:`STGNFModule`."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._graphs import is_uniform
from ._weighted_norm import BatchWeights, WeightedBatchNorm2d, running_affine, weighted_moments

_LOG_2PI = math.log(2 * math.pi)
_SCALE_EPS = 1e-6
_ACTNORM_EPS = 1e-6
_DENSE_TEMPORAL_MAX = 256
"""A single-column temporal convolution over at most this many (channel, frame) values runs as a matrix product."""

Pair = tuple[torch.Tensor, torch.Tensor]
Weights = BatchWeights | torch.Tensor | None
"""Sample weights as given (a tensor or None) or prepared once per forward pass."""


# ---------------------------------------------------------------------- flow layers
class ActNorm(nn.Module):
    """Per-channel affine normalisation ``y = (x + b) exp(logs)`` with data-dependent initialisation.

    The first training-mode forward whose batch carries positive weight sets
    ``b = -mean`` and ``logs = -log(std + 1e-6)`` from that batch, per
    channel over (samples, T, V), each sample counted with its weight (all
    samples equally without weights: Glow's and STG-NF's initialisation).
    The ``initialized`` buffer is saved with the state dict.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))
        self._ready = False

    @torch.no_grad()
    def initialize(self, x: torch.Tensor, weight: Weights = None) -> None:
        """Set bias and log-scale from a batch (skipped when its total weight is 0)."""
        batch = BatchWeights.of(weight, x)
        if not bool(batch.has_data):
            return
        mean, var, _ = weighted_moments(x, batch.shares)
        self.bias.copy_(-mean.view_as(self.bias))
        self.logs.copy_(torch.log(1.0 / (var.sqrt() + _ACTNORM_EPS)).view_as(self.logs))
        self.initialized.fill_(True)
        self._ready = True

    def forward(self, x: torch.Tensor, weight: Weights = None) -> Pair:
        if self.training and not self._ready:
            self._ready = bool(self.initialized)
            if not self._ready:
                self.initialize(x, weight)
        logdet = self.logs.sum() * x.shape[2] * x.shape[3]
        scale = torch.exp(self.logs)
        return torch.addcmul(self.bias * scale, x, scale), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.logs) - self.bias


class ChannelReverse(nn.Module):
    """Fixed reversal of the channel order (for x, y: the swap STG-NF uses); log-det 0."""

    def forward(self, x: torch.Tensor) -> Pair:
        return x.flip(1), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y.flip(1)


class InvertibleConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution, initialised to a random rotation."""

    def __init__(self, channels: int):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels))
        self.weight = nn.Parameter(q)

    def forward(self, x: torch.Tensor) -> Pair:
        c = self.weight.shape[0]
        logdet = torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]
        return F.conv2d(x, self.weight.view(c, c, 1, 1)), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        c = self.weight.shape[0]
        return F.conv2d(y, torch.linalg.inv(self.weight).view(c, c, 1, 1))


class STGCNUnit(nn.Module):
    """One ST-GCN unit: graph conv -> BN -> ReLU -> temporal conv -> BN, plus residual, then ReLU.

    The graph convolution is a 1x1 convolution to ``K x out_channels``
    channels followed by ``out[n, c, t, w] = sum_k sum_v h[n, k, c, t, v]
    A[k, v, w]``. When ``A`` is a single matrix of ``1 / V`` everywhere
    (STG-NF's default) this is the mean over joints, identical at every
    joint: the unit then averages over joints first and runs the temporal
    part on one joint column (the same numbers, V times less work), and the
    output broadcasts over joints. ``residual``: none (``False``), identity
    (equal widths) or a 1x1 convolution + BN.
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency_matrices: np.ndarray,
                 temporal_kernel: int, residual: bool):
        super().__init__()
        matrices = torch.as_tensor(np.asarray(adjacency_matrices, np.float32))
        self.register_buffer("adjacency", matrices)
        self.n_partitions = matrices.shape[0]
        self.mean_over_joints = is_uniform(matrices.numpy())
        self.gcn = nn.Conv2d(in_channels, out_channels * self.n_partitions, kernel_size=1)
        self.bn_in = WeightedBatchNorm2d(out_channels)
        self.tconv = nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1),
                               padding=((temporal_kernel - 1) // 2, 0))
        self.bn_out = WeightedBatchNorm2d(out_channels)
        self.residual = residual
        if residual and in_channels != out_channels:
            self.res_conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
            self.res_bn = WeightedBatchNorm2d(out_channels)
        else:
            self.res_conv = self.res_bn = None

    def graph_conv(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The spatial part and how many joints each output column stands for."""
        if self.mean_over_joints:
            return pointwise(self.gcn, x.mean(dim=3, keepdim=True)), x.shape[3]
        n, _, t, v = x.shape
        h = pointwise(self.gcn, x).view(n, self.n_partitions, -1, t, v)
        return torch.einsum("nkctv,kvw->nctw", h, self.adjacency), 1

    def temporal_conv(self, h: torch.Tensor) -> torch.Tensor:
        """``tconv``; on a single joint column of a short window as one matrix product (see :func:`banded_matrix`)."""
        n, c, t, v = h.shape
        if v != 1 or c * t > _DENSE_TEMPORAL_MAX:
            return self.tconv(h)
        out = torch.addmm(self.tconv.bias.repeat_interleave(t), h.reshape(n, c * t),
                          banded_matrix(self.tconv.weight.squeeze(3), t))
        return out.view(n, c, t, 1)

    def forward(self, x: torch.Tensor, weight: Weights = None) -> torch.Tensor:
        h, repeat = self.graph_conv(x)
        h = self.bn_out(self.temporal_conv(F.relu(self.bn_in(h, weight, repeat))), weight, repeat)
        if self._residual_folds():
            h = self._plus_folded_residual(h, x)
        elif self.res_conv is not None:
            h = h + self.res_bn(pointwise(self.res_conv, x), weight)
        elif self.residual:
            h = h + x
        return F.relu(h)

    def _residual_folds(self) -> bool:
        norm = self.res_bn
        return (self.res_conv is not None and self.res_conv.in_channels == 1 and not norm.training
                and norm.affine and norm.track_running_stats)

    def _plus_folded_residual(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``h + res_bn(res_conv(x))`` with the batch norm on its running statistics, in one pass over the output.

        The normalisation is then the affine map ``r a + beta - mean a``
        (``a = gamma / sqrt(var + eps)``), folded into the 1x1 convolution of
        one input channel; ``h``, one joint column or all of them, broadcasts.
        Scoring's largest tensors are written once instead of three times.
        """
        conv = self.res_conv
        a, b = running_affine(self.res_bn)
        bias = b if conv.bias is None else conv.bias * a + b
        scale = (conv.weight.view(-1) * a).view(1, -1, 1, 1)
        return torch.addcmul(h + bias.view(1, -1, 1, 1), x, scale)


def banded_matrix(weight: torch.Tensor, length: int) -> torch.Tensor:
    """The 'same'-padded 1-D convolution by ``weight`` ``(C_out, C_in, K)`` as a ``(C_in L, C_out L)`` matrix.

    ``x.reshape(n, C_in L) @ banded_matrix(weight, L)`` is
    ``conv1d(x, weight, padding=(K - 1) // 2)`` flattened: entry ``(c L + s,
    o L + t)`` holds ``weight[o, c, s - t + (K - 1) // 2]`` where that tap
    exists, else 0. On STG-NF's windows (2 channels, 24 frames) the product
    is a 48 x 48 matrix, several times faster than the convolution forward
    and backward (oneDNN's fixed cost dominates at that size); its sums run in
    another order, so results match the convolution to float32 rounding.
    The gather is differentiable: the weight's gradient sums the band.
    """
    c_out, c_in, k = weight.shape
    taps = torch.cat([weight.reshape(-1), weight.new_zeros(1)])
    return taps[_band_index(c_out, c_in, k, length, weight.device)]


@functools.lru_cache(maxsize=32)
def _band_index(c_out: int, c_in: int, k: int, length: int, device: torch.device) -> torch.Tensor:
    c, s, o, t = torch.meshgrid(*(torch.arange(m) for m in (c_in, length, c_out, length)), indexing="ij")
    tap = s - t + (k - 1) // 2
    flat = o * c_in * k + c * k + tap.clamp(0, k - 1)
    index = torch.where((tap >= 0) & (tap < k), flat, c_out * c_in * k)  # the appended zero
    return index.reshape(c_in * length, c_out * length).to(device)


def pointwise(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1 ``conv`` as a broadcast multiply-add when it has one input channel (oneDNN is slow there)."""
    if conv.in_channels != 1:
        return conv(x)
    weight = conv.weight.view(1, -1, 1, 1)
    return x * weight if conv.bias is None else torch.addcmul(conv.bias.view(1, -1, 1, 1), x, weight)


class AffineCoupling(nn.Module):
    """STG-NF's affine coupling: ``z2 <- (z2 + shift) * (sigmoid(raw + 2) + 1e-6)`` given ``z1``.

    ``z1`` is the first ``C // 2`` channels. The network on ``z1`` is one
    :class:`STGCNUnit` to ``2 (C - C // 2)`` channels (``hidden_channels=0``)
    or two units through ``hidden_channels``; its output is split crosswise:
    even channels shift, odd channels scale. The first flow step's unit has
    no residual, later ones a 1x1 convolution residual (as released).
    """

    def __init__(self, channels: int, adjacency_matrices: np.ndarray, temporal_kernel: int,
                 hidden_channels: int = 0, first: bool = False):
        super().__init__()
        self.split = channels // 2
        out = 2 * (channels - self.split)
        widths = [self.split, out] if hidden_channels == 0 else [self.split, hidden_channels, out]
        self.units = nn.ModuleList(
            STGCNUnit(a, b, adjacency_matrices, temporal_kernel, residual=not (first and i == 0))
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )

    def _shift_scale(self, z1: torch.Tensor, weight: Weights) -> Pair:
        h = z1
        for unit in self.units:
            h = unit(h, weight)
        return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0) + _SCALE_EPS

    def forward(self, x: torch.Tensor, weight: Weights = None, swapped: bool = False) -> Pair:
        """``swapped``: ``x`` holds two channels in reverse order (the swap done by reading them crosswise)."""
        z1, z2 = (x[:, 1:], x[:, :1]) if swapped else (x[:, : self.split], x[:, self.split :])
        shift, scale = self._shift_scale(z1, weight)
        scale = scale.expand_as(z2)
        return torch.cat([z1, (z2 + shift) * scale], dim=1), torch.log(scale).sum((1, 2, 3))

    def inverse(self, y: torch.Tensor, weight: Weights = None, swapped: bool = False) -> torch.Tensor:
        """The input of :meth:`forward`; ``swapped``: its two channels put back in reverse order."""
        z1, z2 = y[:, : self.split], y[:, self.split :]
        shift, scale = self._shift_scale(z1, weight)
        return torch.cat([z2 / scale - shift, z1] if swapped else [z1, z2 / scale - shift], dim=1)


class FlowStep(nn.Module):
    """ActNorm -> permutation -> affine coupling."""

    def __init__(self, channels: int, adjacency_matrices: np.ndarray, temporal_kernel: int,
                 hidden_channels: int, permutation: str, first: bool):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.permute = ChannelReverse() if permutation == "swap" else InvertibleConv1x1(channels)
        self.coupling = AffineCoupling(channels, adjacency_matrices, temporal_kernel, hidden_channels, first)
        # the swap of two channels is exact and free when the coupling reads them crosswise: no copy
        self.swap_in_coupling = permutation == "swap" and channels == 2

    def forward(self, x: torch.Tensor, weight: Weights = None) -> Pair:
        x, logdet = self.actnorm(x, weight)
        if self.swap_in_coupling:
            x, ld_coupling = self.coupling(x, weight, swapped=True)
            return x, logdet + ld_coupling
        x, ld_perm = self.permute(x)
        x, ld_coupling = self.coupling(x, weight)
        return x, logdet + ld_perm + ld_coupling

    def inverse(self, y: torch.Tensor, weight: Weights = None) -> torch.Tensor:
        if self.swap_in_coupling:
            return self.actnorm.inverse(self.coupling.inverse(y, weight, swapped=True))
        return self.actnorm.inverse(self.permute.inverse(self.coupling.inverse(y, weight)))


def default_temporal_kernel(seg_len: int) -> int:
    """STG-NF's temporal kernel ``seg_len // 2 + 1``, raised to the next odd number when even."""
    kernel = seg_len // 2 + 1
    return kernel if kernel % 2 else kernel + 1


class STGNFModule(nn.Module):
    """The STG-NF flow: ``x (N, C, T, V) -> z`` and the NLL in bits per dimension.

    Parameters
    ----------
    adjacency : ndarray of shape (K, V, V)
        Graph adjacency (see :func:`unsupvad.models._graphs.adjacency`).
    seg_len : int
        T, the window length.
    n_flows : int, default=8
        K, the number of flow steps.
    in_channels : int, default=2
        C (x and y).
    hidden_channels : int, default=0
        0: one ST-GCN unit per coupling (as released); else two units
        through this width.
    temporal_kernel : int, optional
        Odd temporal kernel size; default :func:`default_temporal_kernel`.
    permutation : {'swap', 'invconv'}, default='swap'
        Fixed channel reversal (released) or Glow's invertible 1x1 conv.
    learn_prior : bool, default=False
        Learn a per-dimension prior mean (initialised at ``prior_mean``) and
        log-std (initialised at 0) instead of the fixed N(R 1, I).
    prior_mean : float, default=3.0
        R.

    Notes
    -----
    ``log p(x) = sum_d log N(z_d; mu_d, sigma_d^2) + log|det dz/dx|`` and the
    forward pass returns ``-log p(x) / (ln 2 * C * T * V)``. No
    dequantisation term, so the NLL may be negative.
    """

    def __init__(self, adjacency: np.ndarray, seg_len: int, n_flows: int = 8, in_channels: int = 2,
                 hidden_channels: int = 0, temporal_kernel: int | None = None, permutation: str = "swap",
                 learn_prior: bool = False, prior_mean: float = 3.0):
        super().__init__()
        adjacency = np.asarray(adjacency, np.float32)
        kernel = default_temporal_kernel(seg_len) if temporal_kernel is None else int(temporal_kernel)
        if kernel % 2 == 0 or kernel < 1:
            raise ValueError(f"temporal_kernel must be a positive odd number, got {kernel}")
        if permutation not in ("swap", "invconv"):
            raise ValueError(f"permutation must be 'swap' or 'invconv', got {permutation!r}")
        self.shape = (in_channels, seg_len, adjacency.shape[-1])
        self.steps = nn.ModuleList(
            FlowStep(in_channels, adjacency, kernel, hidden_channels, permutation, first=(k == 0))
            for k in range(n_flows)
        )
        if learn_prior:
            self.prior_loc = nn.Parameter(torch.full(self.shape, float(prior_mean)))
            self.prior_log_scale = nn.Parameter(torch.zeros(self.shape))
        else:
            self.register_buffer("prior_loc", torch.tensor(float(prior_mean)))
            self.register_buffer("prior_log_scale", torch.tensor(0.0))

    @property
    def n_dims(self) -> int:
        """C x T x V."""
        return math.prod(self.shape)

    def encode(self, x: torch.Tensor, sample_weight: Weights = None):
        """``z = f(x)`` and ``log|det df/dx|`` per sample."""
        logdet = x.new_zeros(x.shape[0])
        if self.training and sample_weight is not None:
            sample_weight = BatchWeights.of(sample_weight, x)  # once for the 8 x 3 batch norms
        for step in self.steps:
            x, ld = step(x, sample_weight)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z: torch.Tensor, sample_weight: Weights = None) -> torch.Tensor:
        """``x = f^-1(z)``."""
        for step in reversed(self.steps):
            z = step.inverse(z, sample_weight)
        return z

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``log N(z; mu, sigma^2)`` summed over dimensions, per sample (nats)."""
        standard = (z - self.prior_loc) * torch.exp(-self.prior_log_scale)
        per_dim = -0.5 * (_LOG_2PI + standard.square()) - self.prior_log_scale
        return per_dim.flatten(1).sum(1)

    def forward(self, x: torch.Tensor, sample_weight: Weights = None) -> torch.Tensor:
        """NLL in bits per dimension, ``(N,)``."""
        z, logdet = self.encode(x, sample_weight)
        return -(self.log_prior(z) + logdet) / (math.log(2) * self.n_dims)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (buffers excluded)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
