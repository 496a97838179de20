"""The paper's rules as small pure functions on tensors (Sections 3.2-3.3).

Each function works on whatever device its input tensors live on, so the
whole alternation of :class:`~unsupvad.InterleavedVAD` can stay on the GPU.
They know nothing about networks or videos and are tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch


def beta_weights(n_objects: int, beta: tuple[float, float], rng: np.random.Generator,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """Initial soft labels w ~ Beta(a, b), one per object (module 1, step 1).

    With the paper's ``beta=(1, 5)`` most weights are near 0 (normal) and a
    few near 1, matching the prior that anomalies are rare. Drawn once with
    the numpy generator ``rng`` (identical on every device), then moved to
    ``device``.
    """
    a, b = (float(x) for x in beta)
    if a <= 0 or b <= 0:
        raise ValueError(f"beta parameters must be positive, got {beta}")
    return torch.as_tensor(rng.beta(a, b, size=n_objects), dtype=torch.float32, device=device)


def initial_threshold(n_snippets: int, ratio: float) -> int:
    """T_ws of the first module: ``ceil(R * N)`` (at least 1)."""
    if not 0 < ratio <= 1:
        raise ValueError(f"initial_ratio must lie in (0, 1], got {ratio}")
    return max(1, math.ceil(ratio * n_snippets))


def descending_order(scores: torch.Tensor) -> torch.Tensor:
    """Indices sorting ``scores`` from most to least abnormal; ties keep index order."""
    return torch.sort(scores, descending=True, stable=True).indices


def rank_labels(scores: torch.Tensor, n_positive: int) -> torch.Tensor:
    """Eq. 3: label 1 for the ``n_positive`` highest-ranked snippets, 0 for the rest."""
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {tuple(scores.shape)}")
    if torch.isnan(scores).any():
        raise ValueError("scores contain NaN; cannot rank them")
    n_positive = int(min(max(n_positive, 0), scores.numel()))
    labels = torch.zeros(scores.numel(), dtype=torch.long, device=scores.device)
    labels[descending_order(scores)[:n_positive]] = 1
    return labels


def top_set(scores: torch.Tensor, ratio: float) -> torch.Tensor:
    """A_j of Eq. 8: boolean mask of the top ``ceil(R * N)`` snippets of one wOCC."""
    return rank_labels(scores, initial_threshold(scores.numel(), ratio)).bool()


def consensus_threshold(top_sets: Sequence[torch.Tensor]) -> int:
    """Eq. 8: ``Num(A_1 ∩ ... ∩ A_M)``, the number of snippets every wOCC ranks in its top R%."""
    if not top_sets:
        raise ValueError("need at least one top set")
    consensus = top_sets[0].clone()
    for mask in top_sets[1:]:
        consensus &= mask
    return int(consensus.sum().item())


def threshold_changes(thresholds: Sequence[int]) -> list[int]:
    """Drops ``T^k - T^(k+1)`` between consecutive modules."""
    return [int(a) - int(b) for a, b in zip(thresholds[:-1], thresholds[1:])]


def should_stop(thresholds: Sequence[int], stop_ratio: float, first_change: str = "paper") -> bool:
    """The stopping criterion: the latest drop of T_ws is below ``Q`` times the first drop.

    Parameters
    ----------
    thresholds : sequence of int
        ``[T^1, T^2, ..., T^(k+1)]``: the thresholds used so far plus the one
        just computed for the next module.
    stop_ratio : float
        Q (the paper: 0.1).
    first_change : {'paper', 'official'}
        Which drop is "the first change": the paper's ``T^1 - T^2``
        (the drop from R·N to the first consensus), or the official code's
        ``T^2 - T^3`` (its first module reports no drop). In both, when that
        drop is 0 the first non-zero drop takes its place, and no stop is
        declared before a reference drop exists.

    Returns
    -------
    bool
        True when the latest drop is strictly below ``stop_ratio`` times the
        reference drop and comes after it.
    """
    if first_change not in ("paper", "official"):
        raise ValueError(f"first_change must be 'paper' or 'official', got {first_change!r}")
    changes = threshold_changes(thresholds)
    if first_change == "official":
        changes = changes[1:]
    reference = next((i for i, c in enumerate(changes) if c > 0), None)
    if reference is None or reference == len(changes) - 1:
        return False
    return changes[-1] < stop_ratio * changes[reference]


def only_candidates(scores: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Scores with the snippets that may not be positive (``candidates`` False) pushed below every other."""
    return torch.where(candidates, scores, torch.full_like(scores, -torch.inf))


def object_weights(snippet_scores: torch.Tensor, object_snippet) -> torch.Tensor:
    """Eq. 6: each object's weight w from the WS scores of its snippets.

    Parameters
    ----------
    snippet_scores : Tensor of shape (n_snippets,)
        The WS's snippet scores (or hard labels), in [0, 1].
    object_snippet : Tensor of shape (n_objects,), or (indptr, positions)
        Per object, the index of the one snippet that gives its w (-1: none,
        e.g. a snippet outside the selection), or, as CSR arrays, every
        snippet it spans: then w is the largest of their scores.

    Returns
    -------
    Tensor of shape (n_objects,)
        float32; an object with no snippet gets w = 1 (left out of training).
    """
    device = snippet_scores.device
    if isinstance(object_snippet, tuple):
        indptr, positions = object_snippet
        counts = torch.diff(indptr)
        owner = torch.repeat_interleave(torch.arange(len(counts), device=device), counts)
        w = torch.full((len(counts),), -1.0, device=device)
        w = w.scatter_reduce(0, owner, snippet_scores[positions].float(), reduce="amax")
        return torch.where(counts > 0, w, torch.ones_like(w))
    valid = object_snippet >= 0
    scores = snippet_scores[object_snippet.clamp(min=0)].float()
    return torch.where(valid, scores, torch.ones(1, device=device))
