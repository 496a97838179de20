"""The paper's rules on scripted inputs: Beta start, Eq. 3, Eq. 8 and the stopping criterion."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from unsupvad._rules import (
    beta_weights,
    consensus_threshold,
    initial_threshold,
    object_weights,
    only_candidates,
    rank_labels,
    should_stop,
    threshold_changes,
    top_set,
)


def test_beta_start_statistics():
    w = beta_weights(200_000, (1, 5), np.random.default_rng(0))
    assert w.dtype == torch.float32 and w.shape == (200_000,)
    assert float(w.min()) >= 0 and float(w.max()) <= 1
    assert float(w.mean()) == pytest.approx(1 / 6, abs=2e-3)
    assert float(w.var()) == pytest.approx(5 / (36 * 7), abs=5e-4)
    assert float((w < 0.2).float().mean()) == pytest.approx(1 - 0.8**5, abs=5e-3)


def test_beta_start_is_reproducible_and_validated():
    a = beta_weights(100, (1, 5), np.random.default_rng(3))
    b = beta_weights(100, (1, 5), np.random.default_rng(3))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="positive"):
        beta_weights(10, (0, 5), np.random.default_rng(0))


def test_rank_labels_eq3():
    scores = torch.tensor([0.1, 0.9, 0.5, 0.7, 0.5])
    assert rank_labels(scores, 2).tolist() == [0, 1, 0, 1, 0]
    assert rank_labels(scores, 3).tolist() == [0, 1, 1, 1, 0]  # tie broken by index
    assert rank_labels(scores, 0).sum() == 0
    assert rank_labels(scores, 99).sum() == 5
    with pytest.raises(ValueError, match="NaN"):
        rank_labels(torch.tensor([0.0, float("nan")]), 1)


def test_initial_threshold_and_top_set():
    assert initial_threshold(10_986, 0.15) == 1648
    assert initial_threshold(3, 0.01) == 1
    with pytest.raises(ValueError):
        initial_threshold(10, 0.0)
    mask = top_set(torch.arange(20.0), 0.15)
    assert mask.sum() == 3 and mask[-3:].all()


@settings(max_examples=50, deadline=None)
@given(st.integers(5, 200), st.integers(1, 12), st.floats(0.05, 0.5), st.integers(0, 10_000))
def test_eq8_threshold_never_increases(n, n_models, ratio, seed):
    gen = torch.Generator().manual_seed(seed)
    sets = [top_set(torch.rand(n, generator=gen), ratio) for _ in range(n_models)]
    thresholds = [initial_threshold(n, ratio)] + [consensus_threshold(sets[: m + 1]) for m in range(n_models)]
    assert all(c >= 0 for c in threshold_changes(thresholds))
    assert consensus_threshold(sets[:1]) == initial_threshold(n, ratio)


def test_eq8_counts_the_intersection():
    a = torch.tensor([1, 1, 1, 0, 0], dtype=torch.bool)
    b = torch.tensor([0, 1, 1, 1, 0], dtype=torch.bool)
    c = torch.tensor([0, 0, 1, 1, 1], dtype=torch.bool)
    assert consensus_threshold([a, b]) == 2
    assert consensus_threshold([a, b, c]) == 1
    assert a.sum() == 3  # inputs untouched


@pytest.mark.parametrize(
    "thresholds, expected",
    [
        ([1648], False),
        ([1648, 1200], False),  # only the reference drop exists
        ([1648, 1200, 1000], False),  # 200 >= 0.1 * 448
        ([1648, 1200, 1000, 960], True),  # 40 < 44.8
        ([1648, 1200, 1000, 955, 950], True),
        ([1648, 1648, 1648], False),  # no reference drop yet
        ([1648, 1648, 1500, 1499], True),  # first non-zero drop is the reference
        ([100, 50, 45], False),  # 5 == 0.1 * 50: not strictly below
        ([100, 50, 46], True),
    ],
)
def test_stopping_rule_paper(thresholds, expected):
    assert should_stop(thresholds, 0.1) is expected


def test_stopping_rule_official_reference_is_the_second_drop():
    seq = [1648, 1000, 900, 890]
    assert should_stop(seq, 0.1, first_change="paper") is True  # 10 < 64.8
    assert should_stop(seq, 0.1, first_change="official") is False  # 10 >= 0.1 * 100
    assert should_stop(seq + [885], 0.1, first_change="official") is True
    with pytest.raises(ValueError):
        should_stop(seq, 0.1, first_change="other")


def test_object_weights_eq6_one_snippet_or_the_largest_of_many():
    scores = torch.tensor([0.1, 0.9, 0.4, 0.7])
    one = object_weights(scores, torch.tensor([2, -1, 0]))
    torch.testing.assert_close(one, torch.tensor([0.4, 1.0, 0.1]))  # -1: no snippet, w = 1 (not trained on)
    indptr, positions = torch.tensor([0, 2, 2, 3]), torch.tensor([0, 3, 1])
    many = object_weights(scores, (indptr, positions))
    torch.testing.assert_close(many, torch.tensor([0.7, 1.0, 0.9]))


def test_only_candidates_rank_last():
    ranked = only_candidates(torch.tensor([5.0, 1.0, 3.0]), torch.tensor([False, True, True]))
    assert ranked[0] == -torch.inf and ranked[1:].tolist() == [1.0, 3.0]
