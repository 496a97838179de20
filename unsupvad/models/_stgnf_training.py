"""STG-NF's training plumbing: the weighted loss, the skorch net, window datasets, loaders and normalisation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from .._objects import Objects
from .._videoset import VideoSet
from ._base import InterruptibleNet

_MIN_STD_Y = 1e-6


# ---------------------------------------------------------------------- training plumbing
class WeightedNLL(nn.Module):
    """Paper Eq. 2 as a batch loss: ``sum_i w_i nll_i / #{i : w_i > 0}``.

    The mean of the weighted NLL over the batch's objects of positive
    weight: an object of weight 0 changes neither the numerator nor the
    count, all-ones weights give the plain batch mean (STG-NF), and a batch
    with no positive weight gives 0. (The official code's ``nll[nll != 0]``
    filter, without its float artefacts.)
    """

    def forward(self, nll: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        weight = weight.to(nll.dtype)
        return (weight * nll).sum() / (weight > 0).sum().clamp_min(1)


class WeightedFlowNet(InterruptibleNet):
    """skorch net whose module returns per-object NLLs and whose loss is :class:`WeightedNLL`.

    Batches are dicts ``{"x": windows, "sample_weight": weights}``; the
    module receives both (the weights also enter the batch statistics of
    ActNorm's initialisation and of BatchNorm).
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, X["sample_weight"].to(y_pred.device))


class GradientClipping(Callback):
    """Clip the total L2 norm of the gradients to ``max_norm`` before every optimiser step.

    skorch's ``GradientNormClipping`` with torch's multi-tensor kernels: the
    same numbers, without a Python loop over STG-NF's hundred small tensors.
    A norm within the bound leaves the gradients untouched (where
    ``clip_grad_norm_`` multiplies them by exactly 1).
    """

    def __init__(self, max_norm: float):
        self.max_norm = max_norm

    def on_grad_computed(self, net, named_parameters, **kwargs):
        parameters = [p for _, p in named_parameters if p.grad is not None]
        if not parameters:
            return
        total = nn.utils.get_total_norm([p.grad for p in parameters], foreach=True)
        if bool(total + 1e-6 > self.max_norm):  # clip_grad_norm_'s coefficient max_norm / (total + 1e-6) < 1
            nn.utils.clip_grads_with_norm_(parameters, self.max_norm, total, foreach=True)


class WindowDataset(torch.utils.data.Dataset):
    """Normalised training windows, optionally followed by their horizontal flips, fetched by batch.

    Index ``i < N`` is window ``i``; ``N <= i < 2N`` is window ``i - N`` with
    x negated (a horizontal flip, since x is centred). Items are fetched a
    whole batch at a time (``dataset[list_of_indices]``), on the windows'
    device, as ``({"x", "sample_weight"}, None)``.
    """

    def __init__(self, windows: torch.Tensor, weight: torch.Tensor, flip: bool):
        self.windows = windows
        self.weight = weight
        self.flip = flip

    def __len__(self) -> int:
        return len(self.windows) * (2 if self.flip else 1)

    def __getitem__(self, index):
        index = torch.as_tensor(index, device=self.windows.device).reshape(-1)
        n = len(self.windows)
        base = index % n
        x = self.windows[base]
        if self.flip:
            sign = 1.0 - 2.0 * (index >= n).to(x.dtype)
            x = torch.cat([x[:, :1] * sign.view(-1, 1, 1, 1), x[:, 1:]], dim=1)
        return {"x": x, "sample_weight": self.weight[base]}, None


def selected_windows(X: VideoSet, objects: Objects) -> Objects:
    """The windows whose centre frame lies in a selected snippet of ``X`` (all of them on a whole VideoSet)."""
    inside = np.asarray(X.object_snippet(objects)) >= 0
    return objects if inside.all() else objects.subset(inside)


def batch_loader(dataset, batch_size: int, shuffle: bool = False, min_batches: int = 1) -> DataLoader:
    """A DataLoader yielding whole batches from :class:`WindowDataset` (no per-item collation).

    Shuffling draws from torch's global generator, which :class:`STGNF`
    seeds from ``random_state``. With shuffling, a dataset smaller than
    ``min_batches`` batches is dealt again (a new permutation each pass)
    until it fills that many.
    """
    if shuffle:
        order = RandomSampler(dataset, num_samples=max(len(dataset), int(min_batches) * batch_size))
    else:
        order = SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


# ---------------------------------------------------------------------- windows
def normalise_windows(xy: torch.Tensor, frame_size: torch.Tensor) -> torch.Tensor:
    """STG-NF's per-window normalisation, ``(N, T, V, 2)`` pixels -> ``(N, 2, T, V)``.

    x and y are divided by the frame width and height, centred on the
    window's mean (over T and V, separately for x and y) and both divided by
    the (population) standard deviation of y over (T, V). A window whose y
    standard deviation is below 1e-6 (in frame heights; e.g. every joint on
    one row) is centred but not scaled, so it never produces inf or NaN.
    """
    # centring commutes with the division by the frame size: centre in pixels, written straight into the
    # (N, 2, T, V) layout, then divide once in place by (frame size x y spread in frame heights)
    n, t, v, _ = xy.shape
    out = xy.new_empty((n, 2, t, v))
    torch.sub(xy, xy.mean(dim=(1, 2), keepdim=True), out=out.permute(0, 2, 3, 1))
    std_y = out[:, 1].reshape(n, t * v).square().mean(dim=1).sqrt_() / frame_size[:, 1]
    std_y = torch.where(std_y < _MIN_STD_Y, torch.ones_like(std_y), std_y)
    out.mul_((1.0 / (frame_size * std_y[:, None])).view(n, 2, 1, 1))
    return out


def statistics_batches(dataset: WindowDataset, batch_size: int, max_batches: int, seed) -> Iterator[dict]:
    """Up to ``max_batches`` batches of ``dataset`` in a seeded random order, as the module's keyword arguments.

    The batches for :func:`~unsupvad.models._batch_norm.average_batch_norm_statistics`:
    windows (and flips) drawn without replacement, the same for the same ``seed``.
    """
    order = np.random.default_rng(seed).permutation(len(dataset))[: max_batches * batch_size]
    for start in range(0, len(order), batch_size):
        batch, _ = dataset[order[start: start + batch_size]]
        yield batch
