"""STG-NF's evaluation pass with the sample axis innermost: the same NLL, laid out for the CPU's vector units.

In eval mode every layer of the default flow is a per-channel affine map, a
mean over joints, a small matrix product or an elementwise function. In the
network's ``(N, C, T, V)`` layout their operands broadcast over inner axes of
5 to 24 values (one joint column against V joints, one value per channel),
where PyTorch's CPU kernels run as many short loops. :func:`eval_flow` lays
the windows out as ``(C, V, T, N)`` instead: every broadcast then runs along
rows of N contiguous samples, the temporal convolution is one matrix product
on the ``(C T, N)`` matrix as it lies, and each batch norm (running
statistics) is folded into the product or the multiply-add before it.

One rewrite is not a relayout: the coupling's log-determinant sums
``log(scale)`` over joints as the log of their product. ``scale =
sigmoid(h + 2) + 1e-6`` with ``h >= 0`` (every unit ends with a ReLU), so a
product over at most :data:`_PRODUCT_MAX_JOINTS` joints stays above
``sigmoid(2) ** 64 > 3e-4``, far from float32's underflow, and V times fewer
logarithms are taken.

With samples innermost, a window's arithmetic would depend on where it
falls in the batch: CPU kernels run the last ``N mod 16`` values of a row,
and the columns of a small matrix product, through other instructions than
the rest (another rounding). The batch is therefore padded with zero windows
to a multiple of :data:`SAMPLE_ALIGNMENT` samples, so that every window's
NLL is the same whichever batch it is scored in (tested at 1 and 2 threads).

The results equal :meth:`STGNFModule.forward` to float32 rounding (sums run
in another order); :func:`supports_batch_minor` names the flows it covers
(uniform graphs, the dense temporal product, batch norms with running
statistics) and :func:`eval_flow` falls back to the module for the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ._stgnf_network import _DENSE_TEMPORAL_MAX, _LOG_2PI, _SCALE_EPS, STGCNUnit, STGNFModule, banded_matrix
from ._weighted_norm import running_affine

_PRODUCT_MAX_JOINTS = 64
SAMPLE_ALIGNMENT = 64
"""Batches are padded with zero windows to a multiple of this many samples (see the module docstring)."""


def supports_batch_minor(module: STGNFModule) -> bool:
    """True when :func:`eval_flow` can fold ``module``: all in eval mode, uniform graphs, dense temporal products."""
    seg_len = module.shape[1]
    units = [unit for step in module.steps for unit in step.coupling.units]
    return not module.training and all(_unit_supported(unit, seg_len) for unit in units)


def _unit_supported(unit: STGCNUnit, seg_len: int) -> bool:
    norms = [unit.bn_in, unit.bn_out] + ([unit.res_bn] if unit.res_bn is not None else [])
    return (unit.mean_over_joints and unit.tconv.out_channels * seg_len <= _DENSE_TEMPORAL_MAX
            and all(norm.affine and norm.track_running_stats and not norm.training for norm in norms))


def eval_flow(module: STGNFModule):
    """What scores eval-mode ``module`` on ``(N, C, T, V)`` windows: a :class:`BatchMinorFlow`, else the module."""
    return BatchMinorFlow(module) if supports_batch_minor(module) else module


@dataclass(frozen=True)
class _FoldedUnit:
    """An ST-GCN unit in eval mode: the joint mean's 1x1 convolution, the temporal product, the residual."""

    gcn_weight: torch.Tensor  # (C_out, C_in), bn_in folded in
    gcn_bias: torch.Tensor  # (C_out, 1)
    band: torch.Tensor  # (C_out T, C_out T), bn_out folded in
    bias: torch.Tensor  # (C_out T, 1), the residual's bias included
    residual: str  # 'none', 'identity' or 'conv'
    residual_weight: torch.Tensor | None  # (C_out, C_in), res_bn folded in

    @classmethod
    def of(cls, unit: STGCNUnit, seg_len: int) -> _FoldedUnit:
        c_out, c_in = unit.tconv.out_channels, unit.gcn.in_channels
        a_in, b_in = running_affine(unit.bn_in)
        gcn_bias = b_in if unit.gcn.bias is None else unit.gcn.bias * a_in + b_in
        a_out, b_out = running_affine(unit.bn_out)
        band = banded_matrix(unit.tconv.weight.squeeze(3), seg_len).T * a_out.repeat_interleave(seg_len).view(-1, 1)
        bias = unit.tconv.bias * a_out + b_out
        residual, residual_weight = ("identity" if unit.residual else "none"), None
        if unit.res_conv is not None:
            a_res, b_res = running_affine(unit.res_bn)
            residual, residual_weight = "conv", unit.res_conv.weight.view(c_out, c_in) * a_res.view(-1, 1)
            bias = bias + (b_res if unit.res_conv.bias is None else unit.res_conv.bias * a_res + b_res)
        return cls(unit.gcn.weight.view(c_out, c_in) * a_in.view(-1, 1), gcn_bias.view(-1, 1), band,
                   bias.repeat_interleave(seg_len).view(-1, 1), residual, residual_weight)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(C_in, V, T, N) -> (C_out, V, T, N)``, or ``(C_out, 1, T, N)`` without a residual."""
        c_in, v, t, n = x.shape
        c_out = self.gcn_bias.shape[0]
        joint_mean = x.mean(1).view(c_in, t * n)
        if c_in == 1:
            h = (joint_mean * self.gcn_weight).add_(self.gcn_bias)
        else:
            h = torch.addmm(self.gcn_bias, self.gcn_weight, joint_mean)
        out = torch.addmm(self.bias, self.band, h.relu_().view(c_out * t, n)).view(c_out, 1, t, n)
        if self.residual == "none":
            return out.relu_()
        if self.residual == "identity":
            return (out + x).relu_()
        if c_in == 1:
            return torch.addcmul(out, x, self.residual_weight.view(c_out, 1, 1, 1)).relu_()
        return (out + (self.residual_weight @ x.view(c_in, -1)).view(c_out, v, t, n)).relu_()


@dataclass(frozen=True)
class _FoldedStep:
    """A flow step in eval mode: ActNorm's per-channel affine map, the permutation, the coupling's units."""

    scale: torch.Tensor  # (C, 1, 1, 1)
    shift: torch.Tensor  # (C, 1, 1, 1), ActNorm's bias times its scale
    logdet: torch.Tensor  # the log-determinant of ActNorm and the permutation, per sample
    permutation: torch.Tensor | None  # (C, C) for an invertible 1x1 convolution, else a channel reversal
    swapped: bool  # two channels reversed by reading them crosswise
    split: int
    units: tuple[_FoldedUnit, ...]

    @classmethod
    def of(cls, step: nn.Module, shape: tuple[int, int, int]) -> _FoldedStep:
        c, t, v = shape
        scale = torch.exp(step.actnorm.logs).view(c, 1, 1, 1)
        logdet = step.actnorm.logs.sum() * t * v
        permutation = getattr(step.permute, "weight", None)
        if permutation is not None:
            logdet = logdet + torch.linalg.slogdet(permutation)[1] * t * v
        units = tuple(_FoldedUnit.of(unit, t) for unit in step.coupling.units)
        return cls(scale, step.actnorm.bias.view(c, 1, 1, 1) * scale, logdet, permutation, step.swap_in_coupling,
                   step.coupling.split, units)

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z (C, V, T, N)`` through the step, and the step's log-determinant per sample."""
        z = z.mul(self.scale).add_(self.shift)
        if self.swapped:
            z1, z2 = z[1:], z[:1]
        else:
            z = z.flip(0) if self.permutation is None else (self.permutation @ z.view(z.shape[0], -1)).view_as(z)
            z1, z2 = z[: self.split], z[self.split :]
        h = z1
        for unit in self.units:
            h = unit(h)
        shift, scale = h[0::2], torch.sigmoid(h[1::2] + 2.0).add_(_SCALE_EPS).expand_as(z2)
        return torch.cat([z1, (z2 + shift).mul_(scale)]), _log_scale_sum(scale) + self.logdet


class BatchMinorFlow:
    """An eval-mode :class:`STGNFModule` folded once for batch-minor scoring; called on ``(N, C, T, V)`` windows.

    The parameters are read when it is built: build it again after training.
    Only for flows where :func:`supports_batch_minor` is true.
    """

    def __init__(self, module: STGNFModule):
        with torch.no_grad():
            self.steps = tuple(_FoldedStep.of(step, module.shape) for step in module.steps)
            self.prior_loc, self.prior_log_scale = (_batch_minor_parameter(p.detach())
                                                    for p in (module.prior_loc, module.prior_log_scale))
        self.n_dims = module.n_dims

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """NLL in bits per dimension, ``(N,)``."""
        n, c, t, v = x.shape
        z = x.permute(1, 3, 2, 0)  # (C, V, T, N)
        if n % SAMPLE_ALIGNMENT:
            z = torch.cat([z, z.new_zeros((c, v, t, SAMPLE_ALIGNMENT - n % SAMPLE_ALIGNMENT))], dim=3)
        z = z.contiguous()
        logdet = z.new_zeros(z.shape[-1])
        for step in self.steps:
            z, logdet_step = step(z)
            logdet = logdet + logdet_step
        return (-(self._log_prior(z) + logdet) / (math.log(2) * self.n_dims))[:n]

    def _log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``STGNFModule.log_prior`` on batch-minor ``z``."""
        standard = (z - self.prior_loc) * torch.exp(-self.prior_log_scale)
        per_dim = -0.5 * (_LOG_2PI + standard.square()) - self.prior_log_scale
        return per_dim.view(-1, z.shape[-1]).sum(0)


def _log_scale_sum(scale: torch.Tensor) -> torch.Tensor:
    """``sum log(scale)`` per sample of ``scale (C, V, T, N)``, a product over joints inside the logarithm."""
    n, joints = scale.shape[-1], scale.shape[1]
    if joints > _PRODUCT_MAX_JOINTS:
        return torch.log(scale).reshape(-1, n).sum(0)
    return torch.log(scale.prod(1)).view(-1, n).sum(0)


def _batch_minor_parameter(p: torch.Tensor) -> torch.Tensor:
    """A prior parameter, a scalar or ``(C, T, V)``, broadcastable against ``(C, V, T, N)``."""
    return p if p.dim() == 0 else p.permute(0, 2, 1).unsqueeze(-1)
