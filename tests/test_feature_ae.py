"""FeatureAE: the weighted autoencoder wOCC over snippet features."""

import numpy as np
import pytest
import torch
from _helpers import random_feature_videos
from sklearn.metrics import roc_auc_score

from unsupvad import Video, VideoSet
from unsupvad.models._feature_ae import FeatureAE, WeightedReconstructionNet, _AutoEncoder


def _data(n=600, d=12, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, d)).astype(np.float32)
    y = np.zeros(n, int)
    y[:40] = 1
    feats[:40] += rng.normal(size=d).astype(np.float32) * 3
    return feats, y


def test_weighted_loss_is_the_hand_formula():
    net = WeightedReconstructionNet(_AutoEncoder, module__n_features=4, module__hidden=(3,),
                                    criterion=torch.nn.MSELoss, train_split=None).initialize()
    x = torch.randn(5, 4)
    w = torch.tensor([1.0, 0.0, 0.5, 2.0, 1.0])
    y_pred = net.module_(x)
    loss = net.get_loss(y_pred, None, X={"x": x, "sample_weight": w})
    expected = (w * ((y_pred - x) ** 2).mean(1)).sum() / 5
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_weight_zero_contributes_no_gradient():
    net = WeightedReconstructionNet(_AutoEncoder, module__n_features=4, module__hidden=(3,),
                                    criterion=torch.nn.MSELoss, train_split=None).initialize()
    x = torch.randn(6, 4)
    x_outlier = torch.cat([x, 100 * torch.ones(1, 4)])

    def grads(inputs, weights, n_batch):
        net.module_.zero_grad()
        loss = net.get_loss(net.module_(inputs), None, X={"x": inputs, "sample_weight": weights}) * n_batch
        loss.backward()
        return [p.grad.clone() for p in net.module_.parameters()]

    with_zero = grads(x_outlier, torch.cat([torch.ones(6), torch.zeros(1)]), 7)
    without = grads(x, torch.ones(6), 6)
    for a, b in zip(with_zero, without):
        torch.testing.assert_close(a, b)


def test_finds_planted_anomalies_and_weights_help():
    feats, y = _data()
    plain = FeatureAE(hidden=(8, 4), max_epochs=8, random_state=0).fit(feats)
    assert roc_auc_score(y, plain.score_snippets(feats)) > 0.9
    weighted = FeatureAE(hidden=(8, 4), max_epochs=8, random_state=0).fit(feats, sample_weight=1.0 - y)
    assert roc_auc_score(y, weighted.score_snippets(feats)) >= roc_auc_score(y, plain.score_snippets(feats)) - 0.01


def test_determinism_and_partial_fit():
    feats, _ = _data()
    a = FeatureAE(hidden=(8,), max_epochs=2, random_state=7).fit(feats)
    b = FeatureAE(hidden=(8,), max_epochs=2, random_state=7).fit(feats)
    np.testing.assert_array_equal(a.score_snippets(feats), b.score_snippets(feats))
    c = FeatureAE(hidden=(8,), random_state=7)
    c.partial_fit(feats)
    c.partial_fit(feats)
    assert c.n_epochs_ == 2 and len(c.net_.history) == 2
    np.testing.assert_allclose(c.score_snippets(feats), a.score_snippets(feats), rtol=1e-5)


def test_pyod_training_attributes():
    feats, _ = _data()
    model = FeatureAE(hidden=(8, 4), max_epochs=2, random_state=0).fit(feats)
    np.testing.assert_array_equal(model.decision_scores_, model.anomaly_score(feats))
    assert model.threshold_ == -model.offset_
    np.testing.assert_array_equal(model.labels_, (model.predict(feats) == -1).astype(int))
    assert model.labels_.mean() == pytest.approx(0.1, abs=0.01)  # contamination 'auto': a tenth
    with pytest.raises(AttributeError):
        _ = FeatureAE().labels_


def test_ten_crop_features_are_averaged_and_objects_are_snippets():
    rng = np.random.default_rng(0)
    videos = [Video(f"v{i}", 16 * 5, features=rng.normal(size=(5, 10, 6)).astype(np.float32)) for i in range(4)]
    X = VideoSet(videos)
    model = FeatureAE(hidden=(4,), max_epochs=1, random_state=0).fit(X)
    assert model.n_features_in_ == 6
    assert len(model.training_objects(X)) == len(X) == 20
    assert model.score_snippets(X).shape == (20,)
    assert [len(f) for f in model.score_frames(X)] == [80] * 4
    assert set(np.unique(model.predict(X))) <= {-1, 1}


def test_bad_inputs():
    feats, _ = _data(n=50)
    with pytest.raises(ValueError, match="one weight per training object"):
        FeatureAE(max_epochs=1).fit(feats, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        FeatureAE(max_epochs=1).fit(feats, sample_weight=-np.ones(50))
    model = FeatureAE(hidden=(4,), max_epochs=1).fit(feats)
    with pytest.raises(ValueError, match="expecting 12 features"):
        model.score_snippets(feats[:, :5])
    with pytest.raises(ValueError, match="lr"):
        FeatureAE(lr=-1).fit(feats)


def test_scores_do_not_depend_on_the_batch_they_are_computed_in():
    X = random_feature_videos([40, 30], d=16, seed=2)
    est = FeatureAE(hidden=(8, 4), max_epochs=2, device="cpu", random_state=0).fit(X)
    full = est.score_snippets(X)
    for idx in (np.arange(3), np.array([69, 5, 41]), np.arange(0, 70, 7)):
        np.testing.assert_allclose(est.score_snippets(X[idx]), full[idx], rtol=1e-12)  # sklearn asks 1e-7


@pytest.mark.parametrize("crops", [None, 3])
def test_moments_and_scores_read_block_by_block_equal_the_whole_array(monkeypatch, crops):
    X = random_feature_videos([40, 33, 27], d=12, crops=crops)
    whole = FeatureAE(max_epochs=2, random_state=0).fit(X)
    import unsupvad.models._feature_ae as feature_ae

    monkeypatch.setattr(feature_ae.flat_blocks, "__defaults__", (7,))  # blocks of 7 snippets
    blocks = FeatureAE(max_epochs=2, random_state=0).fit(X)
    feats = X.features()
    feats = feats.mean(1) if crops else feats
    np.testing.assert_array_equal(blocks.mean_, feats.mean(0))
    np.testing.assert_array_equal(blocks.scale_, feats.std(0) + np.float32(1e-6))
    np.testing.assert_array_equal(blocks.score_snippets(X), whole.score_snippets(X))
