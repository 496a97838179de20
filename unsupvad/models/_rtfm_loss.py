"""RTFM's loss: the feature-magnitude top-k margin and the bag BCE (UVAD Eq. 4-5, or the released form)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

OFFICIAL_ALPHA = 1e-4


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

