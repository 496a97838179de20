"""Sultani's MIL: scorer, ranking loss by hand, scoring, estimator behaviour."""

import numpy as np
import pytest
import torch
from _helpers import random_feature_videos, random_snippet_labels
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from unsupvad import VideoSet
from unsupvad.datasets import make_synthetic_videos
from unsupvad.models._mil import MIL, MILLoss, MILNet, ranking_hinge, smoothness, sparsity

SMALL = {"hidden_dims": (8, 4), "bag_size": 4, "batch_size": 4}


def _fit(X, y, fit_params=None, **params):
    kw = {**SMALL, "iterations_per_epoch": 2, "max_epochs": 1, "random_state": 0, **params}
    return MIL(**kw).fit(X, y, **(fit_params or {}))


def test_scorer_is_sultanis_three_layers():
    net = MILNet(4096)
    linears = [m for m in net.layers if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4096, 512), (512, 32), (32, 1)]
    assert sum(p.numel() for p in net.parameters()) == 4096 * 512 + 512 + 512 * 32 + 32 + 33
    assert [m.p for m in net.layers if isinstance(m, torch.nn.Dropout)] == [0.6, 0.6]
    kinds = [type(m).__name__ for m in net.layers]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Dropout", "Linear", "Sigmoid"]


def test_scores_average_the_crops():
    net = MILNet(5, (6, 3)).eval()
    x = torch.randn(4, 3, 5)
    per_crop = torch.stack([net.snippet_scores(x[:, c: c + 1]) for c in range(3)]).mean(0)
    torch.testing.assert_close(net.snippet_scores(x), per_crop)
    pos, neg = torch.randn(2, 7, 3, 5), torch.randn(2, 7, 3, 5)
    assert net(pos, neg).shape == (4, 7)


def test_ranking_hinge_by_hand():
    pos = torch.tensor([[0.1, 0.9, 0.3], [0.2, 0.4, 0.1]])
    neg = torch.tensor([[0.5, 0.2, 0.0], [0.05, 0.1, 0.0]])
    # maxima: positive 0.9, 0.4; negative 0.5, 0.1; every (i, j) pair
    pairs = [1 - 0.9 + 0.5, 1 - 0.9 + 0.1, 1 - 0.4 + 0.5, 1 - 0.4 + 0.1]
    assert ranking_hinge(pos, neg).item() == pytest.approx(np.mean(pairs))
    assert ranking_hinge(torch.tensor([[1.0]]), torch.tensor([[0.0]])).item() == 0


def test_smoothness_sparsity_and_total_by_hand():
    pos = torch.tensor([[0.1, 0.9, 0.3], [0.2, 0.4, 0.1]])
    neg = torch.tensor([[0.5, 0.2, 0.0], [0.05, 0.1, 0.0]])
    smooth = ((0.8**2 + 0.6**2) + (0.2**2 + 0.3**2)) / 2
    sparse = (1.3 + 0.7) / 2
    assert smoothness(pos).item() == pytest.approx(smooth)
    assert sparsity(pos).item() == pytest.approx(sparse)
    total = MILLoss(smooth=8e-5, sparse=8e-5)(torch.cat([pos, neg]))
    assert total.item() == pytest.approx(ranking_hinge(pos, neg).item() + 8e-5 * (smooth + sparse))


def test_scores_one_snippet_videos_and_subsets():
    X = random_feature_videos([12, 7, 1, 9])
    est = _fit(X, random_snippet_labels(X))
    full = est.score_snippets(X)
    assert full.shape == (29,) and ((full >= 0) & (full <= 1)).all()
    idx = np.array([28, 3, 19, 0])
    np.testing.assert_allclose(est.score_snippets(X[idx]), full[idx], rtol=1e-6)
    alone = est.score_snippets(VideoSet.from_arrays(X.videos[0].features[3:5]))
    np.testing.assert_allclose(alone, full[3:5], rtol=1e-6)  # no temporal context in MIL
    assert [len(f) for f in est.score_frames(X)] == [16 * 12, 16 * 7, 16, 16 * 9]
    flat = np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32)
    assert _fit(flat, np.r_[np.ones(3), np.zeros(27)], bag_size=16).score_snippets(flat).shape == (30,)


def test_ten_crop_input():
    X = random_feature_videos([10, 8], crops=10)
    assert _fit(X, random_snippet_labels(X)).score_snippets(X).shape == (18,)


def test_determinism_and_partial_fit():
    X = random_feature_videos([12, 9])
    y = random_snippet_labels(X)
    a = _fit(X, y, random_state=5, max_epochs=2).score_snippets(X)
    b = _fit(X, y, random_state=5, max_epochs=2).score_snippets(X)
    c = _fit(X, y, random_state=6, max_epochs=2).score_snippets(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    partial = MIL(**SMALL, iterations_per_epoch=2, random_state=5)
    partial.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(partial.score_snippets(X), a)


def test_video_mode_stratified_weights_and_contamination():
    X = random_feature_videos([12, 9, 7])
    y = random_snippet_labels(X)
    est = _fit(X, np.repeat([1, 0, 0], [12, 9, 7]), mode="video", batch_size=2, max_epochs=2)
    assert est.n_iter_ == 4
    est = _fit(X, y, {"snippet_scores": np.arange(len(X)), "sample_weight": np.ones(len(X))},
               bag_sampling="stratified", contamination=0.25)
    assert np.mean(est.predict(X) == -1) == pytest.approx(0.25, abs=0.05)
    assert _fit(X, y).offset_ == -0.5


def test_sklearn_api_rules():
    est = MIL(hidden_dims=[4])
    assert clone(est).get_params() == est.get_params()
    assert not [k for k in vars(est) if k.endswith("_")]
    X = random_feature_videos([6, 6])
    with pytest.raises(ValueError, match="features per snippet"):
        _fit(X, random_snippet_labels(X)).score_snippets(random_feature_videos([4], d=5))


@pytest.fixture(scope="module")
def noisy_synthetic():
    X = make_synthetic_videos(300, tracks=None, n_features=64, random_state=0)
    y = X.snippet_labels()
    noisy = np.where(np.random.default_rng(0).random(len(y)) < 0.2, 1 - y, y)
    train = X.snippet_video < 200
    return X[np.flatnonzero(train)], noisy[train], X[np.flatnonzero(~train)], y[~train]


def test_learns_from_noisy_snippet_labels(noisy_synthetic):
    X_train, y_noisy, X_test, y_test = noisy_synthetic
    est = MIL(max_epochs=20, random_state=0).fit(X_train, y_noisy)
    auc = roc_auc_score(y_test, est.score_snippets(X_test))
    print(f"MIL held-out snippet AUC with 20% flipped labels: {auc:.3f}")
    assert auc >= 0.90


def test_input_scaling_makes_scores_independent_of_the_feature_unit():
    X = random_feature_videos([12, 9, 7], d=6, crops=2, seed=3)
    y = random_snippet_labels(X)
    big = VideoSet([v.replace(features=v.features * 1000) for v in X.videos])
    np.testing.assert_allclose(_fit(X, y).score_snippets(X), _fit(big, y).score_snippets(big), atol=1e-5)
    mean, scale = (t.numpy() for t in (_fit(big, y).net_.module_.input_norm.mean,
                                       _fit(big, y).net_.module_.input_norm.scale))
    assert (mean == 0).all() and np.ptp(scale) == 0  # 'rms': one scale, no shift


def test_scores_do_not_depend_on_the_batch_they_are_computed_in():
    X = random_feature_videos([40, 30], d=16, seed=2)
    est = _fit(X, random_snippet_labels(X))
    full = est.score_snippets(X)
    for idx in (np.arange(3), np.array([69, 5, 41]), np.arange(0, 70, 7)):
        np.testing.assert_allclose(est.score_snippets(X[idx]), full[idx], rtol=1e-12)  # sklearn asks 1e-7


def test_auto_bag_size_is_one_snippet_with_pseudo_labels_and_32_segments_per_video():
    assert MIL().positive_bag_size() == 1 and MIL()._bag_size() == 1
    assert MIL(mode="video")._bag_size() == 32 and MIL(mode="video").positive_bag_size() == 1
    assert MIL(bag_size=16).positive_bag_size() == 16  # the paper's C
    assert MIL().iterations(100, 2000) == 63  # ceil(2000 / 32): one pass over the larger pool, one snippet a bag
    from unsupvad import RTFM

    assert RTFM().positive_bag_size() == 16
    with pytest.raises(ValueError, match="bag_size"):
        RTFM(bag_size="auto").fit(random_feature_videos([8]), np.r_[np.ones(2), np.zeros(6)])
