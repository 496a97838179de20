"""RTFM's network as released (``model.py``): the multi-scale temporal network, the snippet classifier, scoring."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from ._bags import FeatureStandardizer
from ._batch_norm import average_batch_norm_statistics

SCORE_CHUNK = 1024
HALO = 5
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}


def compute_precision(x: torch.Tensor, precision: str):
    """The autocast context of ``precision`` on ``x``'s device (a no-op for ``'float32'``)."""
    dtype = PRECISIONS[precision]
    return torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None)


# ---------------------------------------------------------------------- network
class NonLocal1d(nn.Module):
    """Embedded dot-product non-local block without softmax (``f = θᵀφ / N``), no subsampling.

    ``y = f g`` is computed as ``θ (φᵀ g) / N``: the same product without
    the ``N x N`` matrix, so memory is linear in the sequence length and the
    context ``φᵀ g`` of a long video can be summed chunk by chunk. A sequence
    no longer than the inner width (a training bag, most videos) takes the
    other order, ``(θᵀ φ) g / N``: the same product with ``N / inner`` of the
    work (16 times less for bags of 16 snippets and the released inner width
    256), equal to float32 rounding.
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
        theta = self.theta(x).transpose(1, 2)
        if context is None and x.shape[-1] <= theta.shape[-1]:
            affinity = torch.bmm(theta, self.phi(x))
            y = torch.bmm(affinity, self.g(x).transpose(1, 2)) / x.shape[-1]
        else:
            if context is None:
                context, length = self.context(x), x.shape[-1]
            y = torch.bmm(theta, context) / length
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
    precision : {'float32', 'bfloat16'}, default='float32'
        ``'bfloat16'`` runs the MTN and the classifier under
        :func:`torch.autocast` (convolutions, products and linear layers in
        bfloat16); the input standardisation and every output stay float32.

    Notes
    -----
    Every Conv1d and Linear weight is Xavier-uniform with zero bias; the
    non-local output BN starts at zero, so the block starts as the identity.
    ``input_norm`` standardises the input features first (the identity until
    its buffers are set, see :class:`RTFM`'s ``input_scaling``).
    """

    def __init__(self, n_features: int, branch_dim: int = 512, head_dims=(512, 128), dropout: float = 0.7,
                 precision: str = "float32"):
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        self.precision = precision
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
        x = self.input_norm(x)
        with compute_precision(x, self.precision):
            return self.mtn.context(x.transpose(1, 2)).float()

    def sequences(self, x: torch.Tensor, context=None, length=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-crop sequences ``(n, T, D)`` → post-dropout features ``(n, T, D)`` and scores ``(n, T)``."""
        x = self.input_norm(x)
        with compute_precision(x, self.precision):
            features = self.drop(self.mtn(x.transpose(1, 2), context, length).transpose(1, 2))
            scores = self.head(features).squeeze(-1)
        return features.float(), scores.float()

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
    see :func:`~unsupvad.models._batch_norm.average_batch_norm_statistics`.
    """
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    batches = ({name: value.to(device) for name, value in batch.items()} for batch, _ in loader)
    average_batch_norm_statistics(module, itertools.islice(batches, max_batches))

