"""RTFM: network as released, each loss term by hand, scoring in temporal order, estimator behaviour."""

from pathlib import Path

import numpy as np
import pytest
import torch
from _helpers import random_feature_videos, random_snippet_labels
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from unsupvad import Video, VideoSet
from unsupvad.datasets import make_synthetic_videos, read_rtfm_features
from unsupvad.models._rtfm import RTFM
from unsupvad.models._rtfm_loss import (
    RTFMLoss,
    bag_bce,
    hinge_margin,
    mean_at,
    official_margin,
    smoothness,
    sparsity_l1,
    topk_indices,
)
from unsupvad.models._rtfm_network import NonLocal1d, RTFMNet, score_sequence

RTFM_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rtfm-i3d-sample"
SMALL = {"branch_dim": 8, "head_dims": (8, 4), "bag_size": 4, "batch_size": 4}


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _randomise(net: RTFMNet, seed=0):
    """Non-trivial eval-mode state: random BN statistics, non-local block switched on."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=gen))
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return net.eval()


# ---------------------------------------------------------------------- network
def test_default_rtfm_on_2048_features_has_the_released_parameter_count():
    module_cls, kwargs = RTFM()._module_spec(2048)
    net = module_cls(**kwargs)
    assert _count(net) == 24_718_849
    assert [_count(c) for c in net.mtn.dilated] == [3_147_264] * 3
    assert _count(net.mtn.pointwise) == 1_048_576
    assert _count(net.mtn.non_local) == 526_592
    assert _count(net.mtn.fuse) == 12_587_008
    linears = [m for m in net.head if isinstance(m, torch.nn.Linear)]
    assert [_count(m) for m in linears] == [1_049_088, 65_664, 129]
    assert [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)] == [0.7] * 3


def test_init_is_xavier_with_zero_biases_and_identity_non_local():
    net = RTFMNet(6, branch_dim=8, head_dims=(4,))
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    assert all(m.bias is None or not m.bias.any() for m in convs)
    x = torch.randn(2, 8, 5)
    torch.testing.assert_close(net.mtn.non_local(x), x)


@pytest.mark.parametrize("length", [3, 4, 7])  # shorter than, as long as, longer than the inner width 4
def test_non_local_is_the_dot_product_without_softmax(length):
    torch.manual_seed(0)
    block = NonLocal1d(8, 4)
    torch.nn.init.normal_(block.out[1].weight)
    block.eval()
    x = torch.randn(3, 8, length)
    theta, phi, g = block.theta(x), block.phi(x), block.g(x)
    f = theta.transpose(1, 2) @ phi / length  # (batch, T, T), no softmax
    y = (f @ g.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(block(x), x + block.out(y), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("branch_dim", [8, 64])  # one pass by the context (23 > 4) or by the affinities (23 <= 32)
@pytest.mark.parametrize("chunk", [1, 4, 6, 10])
def test_chunked_scoring_equals_one_pass(chunk, branch_dim):
    torch.manual_seed(1)
    net = _randomise(RTFMNet(6, branch_dim=branch_dim, head_dims=(8,)))
    feats = np.random.default_rng(0).normal(size=(23, 3, 6)).astype(np.float32)
    with torch.inference_mode():
        whole = score_sequence(net, feats, chunk=100)
        parts = score_sequence(net, feats, chunk=chunk)
        flat = score_sequence(net, feats[:, 0], chunk=chunk)
        one_crop = score_sequence(net, feats[:, :1], chunk=100)
    np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flat, one_crop, rtol=1e-5, atol=1e-6)
    assert whole.shape == (23,)


def test_scores_average_the_crops():
    torch.manual_seed(2)
    net = _randomise(RTFMNet(6, branch_dim=8, head_dims=(8,)))
    feats = np.random.default_rng(0).normal(size=(9, 3, 6)).astype(np.float32)
    with torch.inference_mode():
        per_crop = [score_sequence(net, feats[:, c]) for c in range(3)]
        same = score_sequence(net, np.repeat(feats[:, :1], 10, axis=1))
        np.testing.assert_allclose(score_sequence(net, feats), np.mean(per_crop, axis=0), rtol=1e-5)
        np.testing.assert_allclose(same, per_crop[0], rtol=1e-5)


def test_training_forward_shapes_and_crop_averages():
    net = RTFMNet(6, branch_dim=8, head_dims=(8,)).eval()
    pos, neg = torch.randn(2, 5, 3, 6), torch.randn(2, 5, 3, 6)
    scores, magnitudes, features = net(pos, neg)
    assert scores.shape == magnitudes.shape == (4, 5)
    assert features.shape == (4, 3, 5, 6)
    torch.testing.assert_close(magnitudes, features.norm(dim=-1).mean(1))
    assert ((scores > 0) & (scores < 1)).all()


# ---------------------------------------------------------------------- loss terms
def test_topk_and_bag_means():
    mags = torch.tensor([[1.0, 5.0, 3.0, 4.0], [9.0, 0.0, 2.0, 1.0]])
    idx = topk_indices(mags, 3)
    assert [set(r) for r in idx.tolist()] == [{1, 2, 3}, {0, 2, 3}]
    assert topk_indices(mags, 10).shape == (2, 4)  # k never exceeds the bag
    torch.testing.assert_close(mean_at(mags, idx), torch.tensor([4.0, 4.0]))
    masked = topk_indices(mags, 2, keep=0.3)
    assert masked.shape == (2, 2) and masked.max() < 4


def test_hinge_margin_by_hand():
    loss = hinge_margin(torch.tensor([120.0, 50.0]), torch.tensor([10.0, 5.0]), 100.0)
    assert loss.item() == pytest.approx((0 + 55) / 2)


def test_bag_bce_by_hand():
    loss = bag_bce(torch.tensor([0.8, 0.5]), torch.tensor([0.1, 0.4]))
    expected = -(np.log(0.8) + np.log(0.5)) / 2 - (np.log(0.9) + np.log(0.6)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_smoothness_and_sparsity_by_hand():
    s = torch.tensor([[0.0, 1.0, 0.5], [0.2, 0.2, 0.2]])
    assert smoothness(s).item() == pytest.approx((1 + 0.25 + 0) / 2)
    assert sparsity_l1(s).item() == pytest.approx((1.5 + 0.6) / 2)


def test_official_margin_by_hand():
    rng = np.random.default_rng(0)
    fp, fn = rng.normal(size=(2, 3, 4, 5)) * 30, rng.normal(size=(2, 3, 4, 5))
    ip, ineg = np.array([[0, 2], [1, 3]]), np.array([[3, 1], [0, 0]])
    main, normal = official_margin(*map(torch.tensor, (fp, fn, ip, ineg)), 100.0)
    rows, norms = [], []
    for b in range(2):
        for c in range(3):
            a = abs(100 - np.linalg.norm(fp[b, c, ip[b]].mean(0)))
            n = np.linalg.norm(fn[b, c, ineg[b]].mean(0))
            rows.append((a + n) ** 2)
            norms.append(n**2)
    assert main.item() == pytest.approx(np.mean(rows))
    assert normal.item() == pytest.approx(np.mean(norms))


def _outputs(seed=0, n_pos=2, size=4, crops=2, dim=3):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(2 * n_pos, size, generator=g)
    features = torch.randn(2 * n_pos, crops, size, dim, generator=g) * 20
    return scores, features.norm(dim=-1).mean(1), features


def test_paper_loss_is_the_sum_of_its_terms():
    scores, mags, feats = _outputs()
    crit = RTFMLoss(k=2, margin=100.0, form="paper", smooth=8e-4, sparse=8e-4).eval()
    s, m = scores.numpy().astype(float), mags.numpy().astype(float)
    top = np.argsort(-m, axis=1)[:, :2]
    d = np.take_along_axis(m, top, 1).mean(1)
    f = np.take_along_axis(s, top, 1).mean(1)
    expected = (np.maximum(0, 100 - d[:2] + d[2:]).mean()
                - np.log(f[:2]).mean() - np.log(1 - f[2:]).mean()
                + 8e-4 * (np.diff(s[:2], axis=1) ** 2).sum(1).mean() + 8e-4 * s[:2].sum(1).mean())
    assert crit((scores, mags, feats)).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("normal_term", [False, True])
def test_official_loss_is_the_code_form(normal_term):
    scores, mags, feats = _outputs(seed=3)
    crit = RTFMLoss(k=2, margin=100.0, form="official", smooth=8e-4, sparse=8e-3,
                    normal_magnitude_term=normal_term).eval()
    s, m, x = scores.numpy().astype(float), mags.numpy().astype(float), feats.numpy().astype(float)
    top = np.argsort(-m, axis=1)[:, :2]
    f = np.take_along_axis(s, top, 1).mean(1)
    bce = -(np.log(f[:2]).sum() + np.log(1 - f[2:]).sum()) / 4
    rows, normals = [], []
    for b in range(2):
        for c in range(2):
            a = abs(100 - np.linalg.norm(x[b, c, top[b]].mean(0)))
            n = np.linalg.norm(x[2 + b, c, top[2 + b]].mean(0))
            rows.append((a + n) ** 2)
            normals.append(n**2)
    magnitude = np.mean(rows) + (np.mean(normals) if normal_term else 0)
    smooth = (np.diff(s[:2], axis=1) ** 2).sum()  # within each positive bag, summed over bags
    expected = bce + 1e-4 * magnitude + 8e-4 * smooth + 8e-3 * np.linalg.norm(s[:2].ravel())
    assert crit((scores, mags, feats)).item() == pytest.approx(expected, rel=1e-5)


def test_training_selection_mask_only_in_training():
    scores, mags, feats = _outputs(seed=4)
    crit = RTFMLoss(k=2, form="paper", selection_keep=0.3)
    torch.manual_seed(0)
    values = {crit.train()((scores, mags, feats)).item() for _ in range(5)}
    assert len(values) > 1
    crit.eval()
    assert crit((scores, mags, feats)).item() == RTFMLoss(k=2, form="paper", selection_keep=1.0)(
        (scores, mags, feats)).item()


def test_sparsity_auto_follows_the_loss_form():
    assert RTFM()._criterion_spec()[1]["sparse"] == 8e-4
    assert RTFM(loss="official")._criterion_spec()[1]["sparse"] == 8e-3
    assert RTFM(loss="official", sparsity=0.1)._criterion_spec()[1]["sparse"] == 0.1


# ---------------------------------------------------------------------- estimator
def _fit(X, y, fit_params=None, **params):
    kw = {**SMALL, "iterations_per_epoch": 2, "max_epochs": 1, "random_state": 0, **params}
    return RTFM(**kw).fit(X, y, **(fit_params or {}))


def test_scores_use_whole_videos_in_temporal_order():
    X = random_feature_videos([12, 7, 9])
    y = random_snippet_labels(X)
    est = _fit(X, y, iterations_per_epoch=3)
    full = est.score_snippets(X)
    assert full.shape == (28,) and ((full >= 0) & (full <= 1)).all()
    idx = np.array([20, 3, 4, 0, 13])
    np.testing.assert_allclose(est.score_snippets(X[idx]), full[idx], rtol=1e-6)
    alone = est.score_snippets(VideoSet.from_arrays(X.videos[0].features[3:5]))
    assert not np.allclose(alone, full[3:5])  # context changes a snippet's score
    frames = est.score_frames(X[idx])
    assert [len(f) for f in frames] == [16 * 12, 16 * 7, 16 * 9]
    np.testing.assert_allclose(frames[0][3 * 16], full[3])


def test_one_snippet_videos_and_plain_arrays():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(30, 6)).astype(np.float32)
    y = np.r_[np.ones(5), np.zeros(25)]
    est = _fit(feats, y, k=3, bag_size=16)  # every video has one snippet; k > 1 never crashes
    scores = est.score_snippets(feats)
    assert scores.shape == (30,)
    np.testing.assert_allclose(scores[4], est.score_snippets(feats[4:5])[0], rtol=1e-6)
    assert est.n_features_in_ == 6
    single = VideoSet([Video("one", 16, features=feats[:1])])
    assert est.score_snippets(single).shape == (1,)
    _fit(feats, y, mode="video")  # videos of one snippet resampled to a bag of segments


def test_ten_crop_input():
    X = random_feature_videos([10, 8], crops=10)
    est = _fit(X, random_snippet_labels(X))
    assert est.score_snippets(X).shape == (18,)
    assert est.net_.history[-1, "train_loss"] > 0


def test_determinism_under_random_state():
    X = random_feature_videos([12, 9])
    y = random_snippet_labels(X)
    a = _fit(X, y, random_state=5, dropout=0.3).score_snippets(X)
    b = _fit(X, y, random_state=5, dropout=0.3).score_snippets(X)
    c = _fit(X, y, random_state=6, dropout=0.3).score_snippets(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_equals_repeated_partial_fit():
    X = random_feature_videos([12, 9])
    y = random_snippet_labels(X)
    fitted = _fit(X, y, max_epochs=2)
    partial = RTFM(**SMALL, iterations_per_epoch=2, random_state=0)
    partial.partial_fit(X, y).partial_fit(X, y)
    assert partial.n_epochs_ == fitted.n_epochs_ == 2 and partial.n_iter_ == 4
    np.testing.assert_array_equal(partial.score_snippets(X), fitted.score_snippets(X))


def test_official_loss_stratified_bags_and_video_mode_train():
    X = random_feature_videos([12, 9, 7])
    y = random_snippet_labels(X)
    for params in ({"loss": "official", "normal_magnitude_term": True}, {"bag_sampling": "stratified"},
                   {"weight_decay": 5e-3, "selection_dropout": 0.0}):
        est = _fit(X, y, **params)
        assert np.isfinite(est.net_.history[:, "train_loss"]).all()
    _fit(X, y, bag_sampling="stratified", max_epochs=1).partial_fit(X, y, snippet_scores=np.arange(len(X)))
    video_y = np.repeat([1, 0, 0], [12, 9, 7])
    est = _fit(X, video_y, mode="video", batch_size=2)
    assert est.n_iter_ == 2


def test_sample_weight_and_contamination():
    X = random_feature_videos([20, 20])
    y = random_snippet_labels(X)
    est = _fit(X, y, {"sample_weight": np.r_[np.zeros(20), np.ones(20)] + y}, contamination=0.2)
    pred = est.predict(X)
    assert set(np.unique(pred)) <= {-1, 1}
    assert np.mean(pred == -1) == pytest.approx(0.2, abs=0.03)
    np.testing.assert_allclose(est.decision_function(X), -est.score_snippets(X) - est.offset_)
    np.testing.assert_array_equal(est.score_samples(X), -est.anomaly_score(X))
    auto = _fit(X, y)
    assert auto.offset_ == -0.5
    np.testing.assert_array_equal(auto.predict(X) == -1, auto.score_snippets(X) > 0.5)


def test_sklearn_api_rules():
    est = RTFM(k=2, head_dims=[4])
    assert clone(est).get_params() == est.get_params()
    assert not [k for k in vars(est) if k.endswith("_")]
    X = random_feature_videos([6, 6])
    with pytest.raises(ValueError, match="features per snippet"):
        _fit(X, random_snippet_labels(X)).score_snippets(random_feature_videos([4], d=5))
    with pytest.raises(ValueError, match="loss"):
        RTFM(loss="hinge").fit(X, random_snippet_labels(X))
    with pytest.raises(ValueError, match="CUDA is not available"):
        _fit(X, random_snippet_labels(X), device="cuda") if not torch.cuda.is_available() else pytest.skip("has CUDA")


def test_progress_bar(capsys):
    X = random_feature_videos([12, 9])
    _fit(X, random_snippet_labels(X), verbose=1)
    assert "/2 [" in capsys.readouterr().err  # a bar over the epoch's 2 iterations


# ---------------------------------------------------------------------- learning
@pytest.fixture(scope="module")
def noisy_synthetic():
    X = make_synthetic_videos(300, tracks=None, n_features=64, random_state=0)
    y = X.snippet_labels()
    noisy = np.where(np.random.default_rng(0).random(len(y)) < 0.2, 1 - y, y)
    train = X.snippet_video < 200
    return X[np.flatnonzero(train)], noisy[train], X[np.flatnonzero(~train)], y[~train]


def test_learns_from_noisy_snippet_labels(noisy_synthetic):
    X_train, y_noisy, X_test, y_test = noisy_synthetic
    est = RTFM(branch_dim=32, max_epochs=20, random_state=0).fit(X_train, y_noisy)
    auc = roc_auc_score(y_test, est.score_snippets(X_test))
    print(f"RTFM held-out snippet AUC with 20% flipped labels: {auc:.3f}")
    assert auc >= 0.90


# ---------------------------------------------------------------------- real features
@pytest.mark.realdata
@pytest.mark.skipif(not RTFM_SAMPLE.is_dir(), reason=f"{RTFM_SAMPLE} is absent")
def test_real_i3d_features_fit_and_score():
    X = read_rtfm_features(RTFM_SAMPLE)
    assert X.shape[1:] == (10, 2048)
    y = (np.random.default_rng(0).random(len(X)) < 0.2).astype(int)
    est = RTFM(batch_size=2, iterations_per_epoch=2, max_epochs=1, random_state=0).fit(X, y)
    scores = est.score_snippets(X)
    assert scores.shape == (len(X),) and np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    frames = est.score_frames(X)
    assert [len(f) for f in frames] == list(X.n_frames)


# ---------------------------------------------------------------------- batch-norm statistics
def test_precise_batch_norm_sets_the_average_statistics_and_keeps_the_weights():
    from unsupvad.models._bag_sampling import BagPairs, SnippetBank
    from unsupvad.models._rtfm_network import precise_batch_norm

    torch.manual_seed(0)
    X = make_synthetic_videos(4, tracks=None, n_features=8, random_state=0)
    net = RTFMNet(8, branch_dim=4, head_dims=(4,))
    bags = BagPairs(SnippetBank(X), np.arange(32).reshape(4, 8), np.arange(32, 64).reshape(4, 8))
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "tracked" not in k}
    first_bn = net.mtn.dilated[0][2]
    seen = []
    hook = first_bn.register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    precise_batch_norm(net, bags, batch_size=2, device=torch.device("cpu"))
    hook.remove()
    assert len(seen) == 2 and net.training  # the mode it had before
    batch_means = torch.stack([x.mean(dim=(0, 2)) for x in seen])
    torch.testing.assert_close(first_bn.running_mean, batch_means.mean(0))
    assert first_bn.momentum == 0.1
    for k, v in net.state_dict().items():
        if k in weights:
            torch.testing.assert_close(v, weights[k])
    seen.clear()
    hook = first_bn.register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    precise_batch_norm(net, bags, batch_size=2, device=torch.device("cpu"), max_batches=1)
    hook.remove()
    assert len(seen) == 1
    torch.testing.assert_close(first_bn.running_mean, seen[0].mean(dim=(0, 2)))


def test_precise_batch_norm_keeps_short_epochs_on_large_features_from_saturating():
    X = make_synthetic_videos(12, n_frames=(600, 860), tracks=None, n_features=2048, random_state=0)
    T = make_synthetic_videos(6, n_frames=(600, 860), tracks=None, n_features=2048, random_state=1)
    est = RTFM(iterations_per_epoch=5, max_epochs=1, batch_norm="precise", input_scaling="none", device="cpu",
               random_state=0)  # the released input, so that only the batch-norm statistics differ
    scores = est.fit(X, X.snippet_labels()).score_snippets(T)
    assert scores.std() > 0.1  # 'running' gives ~1.0 everywhere here (measured: AUC 0.50)
    assert roc_auc_score(T.snippet_labels(), scores) >= 0.9  # measured 0.965


@pytest.mark.parametrize("scaling", ["standard", "rms"])
def test_input_scaling_makes_scores_independent_of_the_feature_unit(scaling):
    X = random_feature_videos([12, 9, 7], d=6, crops=2, seed=3)
    y = random_snippet_labels(X)
    big = VideoSet([v.replace(features=v.features * 1000) for v in X.videos])
    a = _fit(X, y, input_scaling=scaling).score_snippets(X)
    b = _fit(big, y, input_scaling=scaling).score_snippets(big)
    np.testing.assert_allclose(a, b, atol=1e-4)
    raw = _fit(big, y, input_scaling="none").score_snippets(big)
    assert len(np.unique(np.round(raw, 4))) < len(np.unique(np.round(a, 4)))  # unscaled: saturated, few values


def test_input_scaling_is_learned_once_and_saved_in_the_network_state():
    X = random_feature_videos([12, 9], d=6, seed=1)
    y = random_snippet_labels(X)
    est = RTFM(**SMALL, iterations_per_epoch=2, random_state=0).partial_fit(X, y)
    norm = est.net_.module_.input_norm
    rows = X.features().astype(np.float64)
    np.testing.assert_allclose(norm.mean.numpy(), rows.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.scale.numpy(), rows.std(0), rtol=1e-4)
    other = random_feature_videos([5], d=6, seed=9)
    est.partial_fit(other, np.r_[1, 0, 0, 0, 0])  # continuing: the training set's statistics are kept
    np.testing.assert_allclose(est.net_.module_.input_norm.mean.numpy(), rows.mean(0), rtol=1e-5)
    assert {"input_norm.mean", "input_norm.scale"} <= set(est.net_.module_.state_dict())


# ---------------------------------------------------------------------- reduced precision
def test_bfloat16_network_runs_its_products_in_bfloat16_and_returns_float32():
    torch.manual_seed(0)
    net = RTFMNet(16, branch_dim=8, head_dims=(8, 4), precision="bfloat16")
    seen = []
    net.mtn.dilated[0][0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    scores, magnitudes, features = net(torch.randn(2, 4, 1, 16), torch.randn(2, 4, 1, 16))
    assert seen == [torch.bfloat16]
    assert scores.dtype == magnitudes.dtype == features.dtype == torch.float32
    with pytest.raises(ValueError, match="precision must be one of"):
        RTFMNet(16, precision="float16")


def test_bfloat16_scores_are_close_to_float32_with_the_same_weights():
    X = random_feature_videos([30, 25], d=32)
    est = _fit(X, random_snippet_labels(X), max_epochs=2)
    full = est.score_snippets(X)
    est.net_.module_.precision = "bfloat16"
    reduced = est.score_snippets(X)
    assert not np.array_equal(full, reduced)  # bfloat16 really ran
    np.testing.assert_allclose(reduced, full, atol=2e-2)
    assert np.corrcoef(full, reduced)[0, 1] > 0.99


def test_bfloat16_training_is_deterministic_and_learns():
    X = make_synthetic_videos(8, tracks=None, n_features=64, random_state=0)
    y = X.snippet_labels()
    a = RTFM(precision="bfloat16", max_epochs=3, random_state=0, device="cpu").fit(X, y)
    b = RTFM(precision="bfloat16", max_epochs=3, random_state=0, device="cpu").fit(X, y)
    np.testing.assert_array_equal(a.score_snippets(X), b.score_snippets(X))
    assert a.net_.module_.precision == "bfloat16"
    assert roc_auc_score(y, a.score_snippets(X)) > 0.8
