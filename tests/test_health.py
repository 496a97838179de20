"""Loop-health statistics and the degeneracy rule, on hand-made tensors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from unsupvad._health import MAX_EXCESS_SATURATION, degeneracy, effective_sample_share, rank_auc, ws_health


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40))
def test_rank_auc_equals_scikit_learn_with_ties(pairs):
    scores = np.array([p[0] for p in pairs], float) / 5  # few distinct values: many ties
    labels = np.array([p[1] for p in pairs], int)
    auc = rank_auc(torch.tensor(scores), torch.tensor(labels))
    if labels.min() == labels.max():
        assert np.isnan(auc)
    else:
        assert auc == pytest.approx(roc_auc_score(labels, scores))


def test_effective_sample_share_by_hand():
    assert effective_sample_share(torch.ones(10)) == pytest.approx(1.0)
    assert effective_sample_share(torch.tensor([1.0, 1.0, 0.0, 0.0])) == pytest.approx(0.5)
    assert effective_sample_share(torch.tensor([3.0, 1.0])) == pytest.approx(16 / (2 * 10))
    assert effective_sample_share(torch.zeros(5)) == 0.0


def test_ws_health_by_hand():
    scores = torch.tensor([1.0, 0.9995, 0.2, 0.1])
    labels = torch.tensor([1, 0, 0, 0])
    health = ws_health(scores, labels)
    assert health["ws_saturated"] == pytest.approx(0.5)
    assert health["ws_spread"] == pytest.approx(float(np.std([1.0, 0.9995, 0.2, 0.1])), rel=1e-6)
    assert health["ws_agreement"] == pytest.approx(1.0)


def test_degeneracy_names_every_reason():
    good = {"ws_spread": 0.3, "ws_agreement": 0.9, "ws_saturated": 0.15}
    assert degeneracy(good, positive_share=0.15) == []
    flat = degeneracy({"ws_spread": 0.001, "ws_agreement": 0.9, "ws_saturated": 0.0}, 0.15)
    assert len(flat) == 1 and "spread" in flat[0]
    inverted = degeneracy({"ws_spread": 0.3, "ws_agreement": 0.2, "ws_saturated": 0.0}, 0.15)
    assert len(inverted) == 1 and "agreement with its own pseudo-labels 0.20 < 0.5" in inverted[0]
    share = 0.15 + MAX_EXCESS_SATURATION + 0.01
    saturated = degeneracy({"ws_spread": 0.3, "ws_agreement": 0.9, "ws_saturated": share}, 0.15)
    assert len(saturated) == 1 and "36% of the snippets score about 1, 15% were labelled 1" in saturated[0]
    # one class only: the agreement is NaN and no verdict is drawn from it
    assert degeneracy({"ws_spread": 0.3, "ws_agreement": float("nan"), "ws_saturated": 0.0}, 0.0) == []
