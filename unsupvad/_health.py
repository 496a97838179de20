"""Loop health: label-free statistics of one interleaving step, and when a step is degenerate.

Every statistic reads only what the loop itself produced (the WS's scores of
the training snippets, the pseudo-labels it was trained on, the wOCC's
training weights), never a ground-truth label. Like :mod:`._rules`, these are
small pure functions on tensors, on whatever device the tensors live.
"""

from __future__ import annotations

import warnings

import torch

SATURATION_MARGIN = 1e-3
"""A WS score within this of 1 counts as saturated (a float32 sigmoid reaches exactly 1.0 near logit 17)."""
MIN_SPREAD = 0.01
"""Below this standard deviation of the WS training scores, the scores carry no ranking worth the name."""
MIN_AGREEMENT = 0.5
"""Below this AUC against its own pseudo-labels, the WS contradicts what it was just trained on."""
MAX_EXCESS_SATURATION = 0.2
"""Most share of training snippets saturated beyond the share labelled positive."""


class DegenerateLoopWarning(UserWarning):
    """An interleaving step whose WS scores cannot serve as soft labels (see :func:`degeneracy`)."""


def rank_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """ROC AUC of ``scores`` against 0/1 ``labels`` by the rank-sum formula, ties counted half.

    NaN when either class is empty.
    """
    labels = labels.bool()
    n_pos = int(labels.sum().item())
    n_neg = labels.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores.double())
    return float(((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item())


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of ``values`` in ascending order, tied values sharing their mean rank."""
    order = torch.argsort(values, stable=True)
    sorted_values = values[order]
    first = torch.ones_like(sorted_values, dtype=torch.bool)
    first[1:] = sorted_values[1:] != sorted_values[:-1]
    group = torch.cumsum(first.long(), 0) - 1
    positions = torch.arange(1, len(values) + 1, dtype=values.dtype, device=values.device)
    n_groups = int(group[-1].item()) + 1 if len(values) else 0
    totals = torch.zeros(n_groups, dtype=values.dtype, device=values.device).index_add_(0, group, positions)
    counts = torch.zeros(n_groups, dtype=values.dtype, device=values.device).index_add_(
        0, group, torch.ones_like(positions))
    ranks = torch.empty_like(positions)
    ranks[order] = (totals / counts)[group]
    return ranks


def effective_sample_share(weights: torch.Tensor) -> float:
    """Kish's effective sample size of ``weights`` over their number: ``(Σ v)² / (n Σ v²)`` in (0, 1].

    1 when every object weighs the same; ``k / n`` when ``k`` objects share
    the weight equally and the rest weigh 0; 0 when every weight is 0.
    """
    weights = weights.double()
    total_sq = weights.square().sum()
    if total_sq.item() == 0:
        return 0.0
    return float((weights.sum() ** 2 / (weights.numel() * total_sq)).item())


def ws_health(scores: torch.Tensor, labels: torch.Tensor) -> dict:
    """Statistics of the WS's training-snippet scores after a step trained on ``labels``.

    Returns ``ws_saturated`` (share of scores within ``SATURATION_MARGIN`` of
    1), ``ws_spread`` (standard deviation of the scores) and
    ``ws_agreement`` (AUC of the scores against the step's pseudo-labels).
    """
    scores = scores.double()
    return {
        "ws_saturated": float((scores >= 1 - SATURATION_MARGIN).double().mean().item()),
        "ws_spread": float(scores.std(correction=0).item()) if scores.numel() else 0.0,
        "ws_agreement": rank_auc(scores, labels),
    }


def degeneracy(health: dict, positive_share: float) -> list[str]:
    """Why a step's WS scores cannot serve as Eq. 6's soft labels (an empty list when they can).

    A step is degenerate when the scores have (almost) no spread, when they
    rank the step's own pseudo-labels worse than chance, or when the share of
    saturated scores exceeds the share labelled positive by more than
    ``MAX_EXCESS_SATURATION`` (Eq. 6 would then give most objects ``w ≈ 1``).
    """
    reasons = []
    if health["ws_spread"] < MIN_SPREAD:
        reasons.append(f"score spread {health['ws_spread']:.2g} < {MIN_SPREAD}")
    agreement = health["ws_agreement"]
    if agreement == agreement and agreement < MIN_AGREEMENT:  # NaN (one class only) is not a verdict
        reasons.append(f"agreement with its own pseudo-labels {agreement:.2f} < {MIN_AGREEMENT}")
    excess = health["ws_saturated"] - positive_share
    if excess > MAX_EXCESS_SATURATION:
        reasons.append(f"{health['ws_saturated']:.0%} of the snippets score about 1, "
                       f"{positive_share:.0%} were labelled 1")
    return reasons


def check_step(record: dict, ws_scores: torch.Tensor, labels: torch.Tensor, training_weight: torch.Tensor) -> bool:
    """Add a step's loop-health statistics to its ``record``; warn and return True when it is degenerate."""
    record.update(ws_health(ws_scores, labels))
    record["wocc_weight_ess"] = effective_sample_share(training_weight)
    reasons = degeneracy(record, float(labels.double().mean().item()))
    record["ws_degenerate"] = bool(reasons)
    if reasons:
        warnings.warn(
            f"InterleavedVAD module {record['module']}, step {record['step']}: the WS scores are degenerate "
            f"({'; '.join(reasons)}); the next wOCC step keeps the previous soft labels",
            DegenerateLoopWarning, stacklevel=4,
        )
    return bool(reasons)


def step_statistics(wocc, ws, labels, previous_labels, w, new_w) -> dict:
    """What a step did: positives, the change of the soft labels and of the pseudo-labels, the last losses."""
    from .models._base import last_epoch_loss

    stats = {
        "n_positive": int(labels.sum().item()),
        "weight_change": float((new_w - w).abs().mean().item()),
        "mean_weight": float(new_w.mean().item()),
        "label_change": float("nan") if previous_labels is None
        else float((labels != previous_labels).float().mean().item()),
    }
    epochs = getattr(ws, "n_epochs_", None)
    if epochs is not None:  # the module's WS so far: more than one a step with RTFM/MIL(min_agreement=...)
        stats["ws_epochs"] = int(epochs)
    for name, est in (("wocc", wocc), ("ws", ws)):
        loss = last_epoch_loss(est)
        if loss is not None:
            stats[f"{name}_loss"] = loss
    return stats
