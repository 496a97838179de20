"""Batch statistics in which every sample counts with its weight (:class:`WeightedBatchNorm2d`).

STG-NF's flow holds 24 batch norms (three per flow step), all normalising
the same batch: the weights' shares and counts are prepared once per
forward pass (:class:`BatchWeights`), and each norm then costs a few
reductions over its input and one fused multiply-add. The network is small
enough that the number of tensor operations, not their size, sets its speed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Pair = tuple[torch.Tensor, torch.Tensor]


class BatchWeights:
    """One batch's sample weights, prepared once for every weighted statistic of a forward pass.

    Parameters
    ----------
    weight : Tensor of shape (N,) or None
        Non-negative sample weights; ``None``: every sample counts once.
    like : Tensor
        A tensor of the batch (its first axis is N): dtype and device.

    Attributes
    ----------
    shares : Tensor of shape (N,)
        ``w_i / sum(w)`` (0 everywhere when the weights sum to 0).
    n_weighted : Tensor
        Samples of positive weight, as a 0-d tensor (no host synchronisation).
    has_data : Tensor
        ``n_weighted > 0``.
    uniform : bool
        No weights were given.
    """

    def __init__(self, weight: torch.Tensor | None, like: torch.Tensor):
        n = like.shape[0]
        self.uniform = weight is None
        if weight is None:
            self.shares = like.new_full((n,), 1.0 / n)
            self.n_weighted = like.new_tensor(float(n))
        else:
            weight = weight.to(like.dtype)
            self.shares = weight / weight.sum().clamp_min(torch.finfo(like.dtype).tiny)
            self.n_weighted = (weight > 0).sum().to(like.dtype)
        self.has_data = self.n_weighted > 0
        self.tracked = self.has_data.long()  # what a batch adds to num_batches_tracked
        self._cache = {}

    @classmethod
    def of(cls, weight: BatchWeights | torch.Tensor | None, like: torch.Tensor) -> BatchWeights:
        """``weight`` itself when already prepared, else its :class:`BatchWeights`."""
        return weight if isinstance(weight, BatchWeights) else cls(weight, like)

    def _kept(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def position_shares(self, positions: int) -> torch.Tensor:
        """``shares / positions``: the weight of one (sample, position) in a mean over both."""
        return self._kept(("shares", positions), lambda: self.shares / positions)

    def unbiased_factor(self, positions: int) -> torch.Tensor:
        """``n / (n - 1)`` with ``n = n_weighted x positions`` (1 when ``n <= 1``)."""
        def make():
            count = self.n_weighted * positions
            return torch.where(count > 1, count / (count - 1).clamp_min(1), 1.0)
        return self._kept(("unbiased", positions), make)

    def momentum(self, momentum: float) -> torch.Tensor:
        """The running statistics' update weight: ``momentum``, or 0 (no update) when no sample has weight."""
        return self._kept(("momentum", momentum), lambda: self.has_data * momentum)


class _WeightedNormalise(torch.autograd.Function):
    """``gamma (x - mean) / sqrt(var + eps) + beta`` with weighted batch statistics, and its gradient in closed form.

    One autograd node instead of the dozen of the composed operations. With
    ``s_n`` the sample shares, ``L`` the positions per sample and ``g`` the
    output gradient, per channel: ``dx = gamma rstd (g - s_n / L (sum g +
    xhat sum g xhat))``, ``dgamma = sum g xhat``, ``dbeta = sum g`` (sums over
    samples and positions; the shares carry no gradient).
    """

    @staticmethod
    def forward(ctx, x, position_shares, gamma, beta, eps):
        mean, var, centred = _moments(x, position_shares)
        rstd = torch.rsqrt(var + eps)
        xhat = centred * rstd.view(1, -1, 1, 1)
        ctx.save_for_backward(xhat, position_shares, gamma, rstd)
        ctx.mark_non_differentiable(mean, var)
        return torch.addcmul(beta.view(1, -1, 1, 1), xhat, gamma.view(1, -1, 1, 1)), mean, var

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_var):
        xhat, position_shares, gamma, rstd = ctx.saved_tensors
        sum_g = grad.sum((0, 2, 3)).view(1, -1, 1, 1)
        sum_gx = (grad * xhat).sum((0, 2, 3))
        grad_x = None
        if ctx.needs_input_grad[0]:
            spread = torch.addcmul(sum_g, xhat, sum_gx.view(1, -1, 1, 1))
            grad_x = torch.addcmul(grad, spread, position_shares.view(-1, 1, 1, 1), value=-1)
            grad_x = grad_x * (gamma * rstd).view(1, -1, 1, 1)
        return grad_x, None, sum_gx, sum_g.view(-1), None


def _moments(x: torch.Tensor, position_shares: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mean = position_shares @ x.sum((2, 3))
    centred = x - mean.view(1, -1, 1, 1)
    return mean, position_shares @ centred.square().sum((2, 3)), centred


def weighted_moments(x: torch.Tensor, shares: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel weighted mean and (biased) variance over samples and the (T, V) positions, and ``x - mean``."""
    return _moments(x, shares / x[0, 0].numel())


def running_affine(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch norm on its running statistics as ``x a + b``, per channel: ``(a, b)``."""
    a = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
    return a, norm.bias - norm.running_mean * a


class WeightedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training-mode statistics weight every sample.

    With ``weight=None`` (or equal weights) it is ``nn.BatchNorm2d``. A
    sample of weight 0 changes neither the batch statistics used to
    normalise the others nor the running statistics, so it has no effect on
    the rest of the batch; a batch whose weights are all 0 leaves the running
    statistics (and ``num_batches_tracked``) as they were. ``weight`` may be a
    prepared :class:`BatchWeights`. ``repeat`` tells how many identical copies
    of every position the input stands for (the joint axis collapsed by a
    uniform graph convolution): statistics are unchanged, only the count in
    the unbiased running variance ``n / (n - 1)`` uses ``n = samples x T x V
    x repeat``. In eval mode the running statistics are used, as usual.
    """

    def forward(self, x: torch.Tensor, weight: BatchWeights | torch.Tensor | None = None,
                repeat: int = 1) -> torch.Tensor:
        if not self.training or not self.track_running_stats or not self.affine:
            return super().forward(x)
        batch = None if weight is None else BatchWeights.of(weight, x)
        if batch is None or batch.uniform:
            return self._unweighted(x, repeat)
        positions = x[0, 0].numel()
        out, mean, var = _WeightedNormalise.apply(x, batch.position_shares(positions), self.weight, self.bias,
                                                  self.eps)
        with torch.no_grad():
            self._update_running(mean, var * batch.unbiased_factor(positions * repeat), batch)
        return out

    def _unweighted(self, x: torch.Tensor, repeat: int) -> torch.Tensor:
        if repeat == 1:
            return super().forward(x)
        # the fused kernel normalises with the batch's own statistics; the running ones count the repeats
        out = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        with torch.no_grad():
            var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
            count = x.numel() // x.shape[1] * repeat
            self._update_running(mean, var * (count / max(count - 1, 1)), None)
        return out

    def _update_running(self, mean: torch.Tensor, unbiased_var: torch.Tensor, batch: BatchWeights | None) -> None:
        """Momentum update of the running statistics; a ``batch`` without weight leaves them unchanged."""
        self.num_batches_tracked.add_(1 if batch is None else batch.tracked)
        if self.momentum is None:  # the cumulative average since the last reset, as in nn.BatchNorm2d
            momentum = 1.0 / self.num_batches_tracked.clamp_min(1).to(mean.dtype)
            momentum = momentum if batch is None else momentum * batch.has_data
        else:
            momentum = self.momentum if batch is None else batch.momentum(self.momentum)
        self.running_mean.lerp_(mean, momentum)
        self.running_var.lerp_(unbiased_var, momentum)
