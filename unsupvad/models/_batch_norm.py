"""Batch-norm statistics recomputed exactly after training ("precise BN"), for any network.

In eval mode a batch norm normalises with its running averages, which
training updates with momentum 0.1: they trail the weights by a few dozen
iterations. When an epoch is a handful of iterations (one epoch per
interleaving step), a model scored right after it is scored with statistics
of an earlier network, and its rankings jump from one step to the next.
Averaging the statistics over batches of the current data with the current
weights removes that lag (Wu & Johnson, *Rethinking "Batch" in BatchNorm*,
2021).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def average_batch_norm_statistics(module: nn.Module, batches: Iterable[dict]) -> None:
    """Set every batch norm's running mean and variance to their average over ``batches``.

    Each batch is a dict of the module's keyword arguments. The forward
    passes run without gradient, with only the batch norms in training mode
    (dropout and data-dependent initialisations stay off), so only the
    statistics change, never a weight.
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
        for batch in batches:
            module(**batch)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    module.train(was_training)
