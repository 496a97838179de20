"""Bag sampling shared by RTFM and MIL: sizes, label purity, small pools, stratified recipe, determinism."""

import numpy as np
import pytest
import torch
from _helpers import random_feature_videos

from unsupvad.models import _bags
from unsupvad.models._bag_sampling import (
    BagPairs,
    BagStream,
    SegmentBank,
    SnippetBank,
    random_bags,
    stratified_bags,
    video_segments,
)
from unsupvad.models._mil import MIL
from unsupvad.models._rtfm import RTFM


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 40, 100])
def test_random_bags_sizes_purity_and_coverage(n):
    pool = np.arange(1000, 1000 + 3 * n, 3)
    bags = random_bags(pool, 16, _rng())
    assert bags.shape == (int(np.ceil(n / 16)), 16)
    assert np.isin(bags, pool).all()
    assert set(bags.ravel()) == set(pool)
    if n >= 16:
        assert all(len(set(b)) == 16 for b in bags)
        assert len(bags.ravel()) - len(pool) == (-n) % 16  # only the last bag's padding repeats items


def test_small_pool_bags_hold_the_whole_pool():
    pool = np.array([7, 3, 9])
    for bag in BagStream(pool, 16, _rng()).draw(10):
        assert len(bag) == 16 and set(bag) == {3, 7, 9}


def test_weighted_bags_never_draw_zero_weights():
    pool = np.arange(50)
    weights = np.where(pool % 2 == 0, 1.0, 0.0)
    bags = random_bags(pool, 16, _rng(), weights)
    assert bags.shape == (2, 16)  # ceil(25 non-zero / 16)
    assert (bags % 2 == 0).all()
    assert all(len(set(b)) == 16 for b in bags)
    heavy = random_bags(pool, 4, _rng(), np.r_[100.0, np.ones(49)])
    assert (heavy == 0).any(axis=1).mean() > 0.9


@pytest.mark.parametrize("n", [16, 40, 64, 100, 301])
def test_stratified_bags_hold_the_tier_tops(n):
    pool = np.arange(n) + 500
    scores = _rng(1).normal(size=n)
    ranked = pool[np.argsort(-scores)]
    bags = stratified_bags(pool, scores, 16, _rng())
    b = int(np.ceil(n / 16))
    assert bags.shape == (b, 16)
    assert np.isin(bags, pool).all()
    for j, bag in enumerate(bags):
        np.testing.assert_array_equal(bag[:3], [ranked[j], ranked[j + b], ranked[j + 2 * b]])
        assert len(set(bag)) == 16
    assert set(bags[:, :3].ravel()) == set(ranked[: 3 * b])
    assert not set(bags[:, 3:].ravel()) & set(ranked[: 3 * b])
    assert set(bags.ravel()) == set(pool)


@pytest.mark.parametrize("n", [1, 2, 3, 10])
def test_stratified_bags_on_small_pools(n):
    pool = np.arange(n)
    scores = np.arange(n, dtype=float)
    bags = stratified_bags(pool, scores, 16, _rng())
    assert bags.shape == (1, 16)
    np.testing.assert_array_equal(bags[0, : min(n, 3)], np.arange(n)[::-1][:3])
    assert set(bags[0]) == set(pool)


def test_stratified_weighted_fill_respects_weights():
    pool = np.arange(64)
    scores = -pool.astype(float)  # ranked[j] = j
    weights = np.where(pool >= 40, 1.0, 0.0)
    bags = stratified_bags(pool, scores, 16, _rng(), weights)
    np.testing.assert_array_equal(bags[:, :3], [[j, j + 4, j + 8] for j in range(4)])
    assert (bags[:, 3:] >= 40).all()


def test_streams_are_deterministic_and_chain_rounds():
    pool = np.arange(40)
    a = BagStream(pool, 16, _rng(3)).draw(7)
    b = BagStream(pool, 16, _rng(3)).draw(7)
    c = BagStream(pool, 16, _rng(4)).draw(7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    stream = BagStream(pool, 16, _rng(3))
    assert stream.bags_per_round == 3
    first_round = stream.draw(3)
    assert set(first_round.ravel()) == set(pool)
    with pytest.raises(ValueError, match="empty pool"):
        BagStream(np.array([], int), 16, _rng())


def test_video_segments_is_rtfm_resampling():
    feats = np.arange(10, dtype=np.float32).reshape(5, 2)
    np.testing.assert_allclose(video_segments(feats, 2), [feats[0:2].mean(0), feats[2:5].mean(0)])
    short = np.array([[1.0], [3.0]], np.float32)  # bounds 0,0,1,1,2: empty ranges copy snippet r_i
    np.testing.assert_allclose(video_segments(short, 4), [[1.0], [1.0], [3.0], [3.0]])


def test_snippet_bank_preloaded_and_lazy_agree():
    X = random_feature_videos([5, 3, 7], d=4, crops=2)[np.array([12, 0, 4, 9, 3])]
    positions = np.array([4, 0, 0, 2, 3])
    eager = SnippetBank(X).take(positions)
    assert SnippetBank(X, max_bytes=5 * 2 * 4 * 4).preloaded  # exactly the budget
    lazy = SnippetBank(X, max_bytes=5 * 2 * 4 * 4 - 1)
    assert not lazy.preloaded and lazy._data is None
    np.testing.assert_array_equal(lazy.take(positions), eager)
    np.testing.assert_array_equal(eager, X.features()[positions])
    flat = SnippetBank(random_feature_videos([2, 2], d=4)).take(np.array([1]))
    assert flat.shape == (1, 1, 4)


def test_bag_features_are_gathered_once_per_videoset_across_epochs(monkeypatch):
    import pickle

    X = random_feature_videos([12, 10, 9], d=4)
    y = (np.arange(len(X)) % 5 == 0).astype(int)
    built = []
    init = SnippetBank.__init__
    monkeypatch.setattr(SnippetBank, "__init__", lambda self, *a, **k: built.append(1) or init(self, *a, **k))
    model = MIL(iterations_per_epoch=2, device="cpu", random_state=0)
    model.partial_fit(X, y)
    model.partial_fit(X, 1 - y)  # new labels, same videos: the features are not gathered again
    assert len(built) == 1
    assert isinstance(model._bank(X)._data, torch.Tensor) and len(built) == 1  # the kept bank, on the device
    model.partial_fit(X[np.arange(20)], y[:20])
    assert len(built) == 2
    assert "_per_videoset" not in pickle.loads(pickle.dumps(model)).__dict__


def test_segment_bank_uses_selected_snippets_in_time_order():
    X = random_feature_videos([6, 4], d=4)
    sub = X[np.array([3, 1, 2, 8])]  # video 0: snippets 3, 1, 2 -> time order 1, 2, 3
    bank = SegmentBank(sub, 3)
    assert bank.segments.shape == (2, 3, 1, 4)
    np.testing.assert_allclose(bank.bag(np.array([0]))[:, 0], X.videos[0].features[[1, 2, 3]])
    np.testing.assert_allclose(bank.bag(np.array([1]))[:, 0], np.repeat(X.videos[1].features[[2]], 3, 0))


def test_bag_pairs_items():
    X = random_feature_videos([20], d=4, crops=3)
    pairs = BagPairs(SnippetBank(X), np.array([[0, 1, 2, 3]]), np.array([[9, 8, 7, 6]]))
    (item, target), = [pairs[0]]
    assert item["pos"].shape == item["neg"].shape == (4, 3, 4)
    np.testing.assert_array_equal(item["neg"].numpy(), X.videos[0].features[[9, 8, 7, 6]])
    assert target == 0.0 and len(pairs) == 1


def test_iterations_per_epoch_auto_and_fixed():
    est = MIL(bag_size=16, batch_size=32, min_iterations=1)
    assert est.iterations(100, 2000) == 4  # ceil(ceil(2000 / 16) / 32) = ceil(125 / 32)
    assert est.iterations(1, 1) == 1
    assert MIL(mode="video", batch_size=32, min_iterations=1).iterations(10, 70) == 3
    assert MIL(iterations_per_epoch=500).iterations(1, 1) == 500
    # 'auto' never runs fewer than min_iterations (10 by default); a fixed number ignores it
    assert MIL(bag_size=16, batch_size=32).iterations(100, 2000) == 10
    assert MIL(bag_size=16, batch_size=32).iterations(100, 20000) == 40
    assert MIL(iterations_per_epoch=3, min_iterations=50).iterations(100, 20000) == 3
    # a later epoch continues a trained network: one pass, however small
    assert MIL(bag_size=16, batch_size=32).iterations(100, 2000, fresh=False) == 4
    assert MIL(iterations_per_epoch=3).iterations(100, 2000, fresh=False) == 3


@pytest.mark.parametrize("model", [MIL, RTFM])
def test_min_iterations_floors_only_the_first_epoch_of_a_fresh_network(model):
    X = random_feature_videos([12, 9, 7], d=8)
    y = np.zeros(len(X), dtype=int)
    y[:6] = 1  # 6 positive, 22 negative snippets: one pass is ceil(ceil(22 / 4) / 4) = 2 iterations
    est = model(bag_size=4, batch_size=4, min_iterations=7, device="cpu", random_state=0)
    est.partial_fit(X, y)
    assert est.n_iter_ == 7
    est.partial_fit(X, y).partial_fit(X, y)
    assert est.n_iter_ == 7 + 2 + 2
    fitted = model(bag_size=4, batch_size=4, min_iterations=7, max_epochs=3, device="cpu", random_state=0).fit(X, y)
    assert fitted.n_iter_ == est.n_iter_
    np.testing.assert_array_equal(fitted.score_snippets(X), est.score_snippets(X))


def test_pools_need_both_classes_and_constant_video_labels():
    X = random_feature_videos([4, 4], d=4)
    with pytest.raises(ValueError, match="no snippet is labelled 1"):
        MIL(max_epochs=1).fit(X, np.zeros(8))
    with pytest.raises(ValueError, match="labelled both 0 and 1"):
        MIL(mode="video", max_epochs=1).fit(X, np.r_[0, 1, 0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="sample_weight is zero"):
        MIL(max_epochs=1).fit(X, np.r_[np.ones(4), np.zeros(4)], sample_weight=np.r_[np.zeros(4), np.ones(4)])
    with pytest.raises(ValueError, match="0 \\(normal\\) or 1"):
        MIL(max_epochs=1).fit(X, np.arange(8))
    with pytest.raises(ValueError, match="one label per snippet"):
        MIL(max_epochs=1).fit(X, np.ones(3))
    with pytest.raises(ValueError, match="stratified"):
        MIL(mode="video", bag_sampling="stratified", max_epochs=1).fit(X, np.r_[np.ones(4), np.zeros(4)])


# ---------------------------------------------------------------------- input scaling
def test_feature_moments_pool_crops_and_read_only_the_selected_snippets():
    X = random_feature_videos([6, 9, 3], d=5, crops=3, seed=4)
    idx = np.array([14, 0, 2, 7, 17])
    rows = X[idx].features().reshape(-1, 5).astype(np.float64)
    mean, std = _bags.feature_moments(X[idx])
    np.testing.assert_allclose(mean, rows.mean(0), rtol=1e-6)
    np.testing.assert_allclose(std, rows.std(0), rtol=1e-5)


def test_feature_moments_floor_nearly_constant_dimensions_relative_to_the_others():
    X = random_feature_videos([8, 8], d=4)
    features = [v.features.copy() for v in X.videos]
    for f in features:
        f[:, 3] = 7.0  # a dead unit
    from unsupvad import VideoSet
    X = VideoSet([v.replace(features=f) for v, f in zip(X.videos, features)])
    mean, std = _bags.feature_moments(X)
    assert mean[3] == pytest.approx(7.0)
    assert std[3] == pytest.approx(_bags.MIN_SCALE_SHARE * np.r_[std[:3], 0.0].mean(), rel=1e-5)
    _, big = _bags.feature_moments(VideoSet([v.replace(features=f * 1e6) for v, f in zip(X.videos, features)]))
    np.testing.assert_allclose(big, std * 1e6, rtol=1e-4)  # the floor scales with the features


def test_rms_scaling_keeps_sign_and_direction():
    X = random_feature_videos([8, 5], d=4, crops=2)
    mean, scale = _bags.input_scaling(X, "rms")
    rows = X.features().reshape(-1, 4).astype(np.float64)
    assert (mean == 0).all()
    np.testing.assert_allclose(scale, np.sqrt((rows**2).mean()), rtol=1e-5)
    with pytest.raises(ValueError, match="input_scaling"):
        _bags.input_scaling(X, "minmax")


@pytest.mark.parametrize("model", [MIL, RTFM])
def test_feature_memory_budget_changes_where_bags_come_from_not_the_result(model):
    X = random_feature_videos([12, 10, 9], d=6)
    y = (np.arange(len(X)) % 4 == 0).astype(int)
    small = {"branch_dim": 8, "head_dims": (8, 4)} if model is RTFM else {"hidden_dims": (8, 4)}
    fits = [model(**small, iterations_per_epoch=3, feature_cache_bytes=budget, device="cpu", random_state=0)
            .fit(X, y) for budget in (2**30, 0)]
    banks = [fit._videoset_cache().get("bags", ("pseudo", "cpu", budget), X, lambda: None)
             for fit, budget in zip(fits, (2**30, 0))]
    assert banks[0].preloaded and not banks[1].preloaded
    np.testing.assert_array_equal(fits[0].score_snippets(X), fits[1].score_snippets(X))


@pytest.mark.parametrize("model_class", [RTFM, MIL])
def test_min_agreement_trains_more_epochs_until_the_model_ranks_its_labels(model_class):
    from sklearn.metrics import roc_auc_score

    from unsupvad.datasets import make_synthetic_videos

    X = make_synthetic_videos(12, tracks=None, n_features=64, random_state=0)
    y = X.snippet_labels()
    params = dict(random_state=0, device="cpu", iterations_per_epoch=1, max_epochs=6)
    one = model_class(**params).partial_fit(X, y)
    assert one.n_epochs_ == 1
    agreement = roc_auc_score(y, one.score_snippets(X))
    more = model_class(**params, min_agreement=min(agreement + 0.05, 1.0)).partial_fit(X, y)
    assert 1 < more.n_epochs_ <= 6
    reached = roc_auc_score(y, more.score_snippets(X))
    assert reached >= more.min_agreement or more.n_epochs_ == 6
    # the first epoch is the same training either way
    easy = model_class(**params, min_agreement=0.5).partial_fit(X, y)
    assert easy.n_epochs_ == 1
    np.testing.assert_array_equal(easy.score_snippets(X), one.score_snippets(X))


def test_min_agreement_outside_half_to_one_is_refused():
    X = random_feature_videos([8, 8], d=16, seed=0)
    with pytest.raises(ValueError, match="min_agreement"):
        RTFM(min_agreement=0.4, device="cpu").partial_fit(X, np.tile([0, 1], len(X) // 2))
