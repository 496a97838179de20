"""InterleavedVAD's orchestration, checked with two tiny stand-in models.

The stand-ins are closed-form (a weighted Gaussian wOCC, a centroid WS) so that
these tests exercise the alternation, thresholds, stopping and the
scikit-learn contract in seconds; the real networks are tested end to end in
test_interleaved_models.py.
"""

import io

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from unsupvad import Callback, FrameAUCMonitor, InterleavedVAD, Video, VideoSet
from unsupvad._health import DegenerateLoopWarning
from unsupvad.models import ModelTags


class GaussianWOCC(BaseEstimator):
    """Weighted diagonal Gaussian over snippet features; objects are snippets."""

    def __init__(self, random_state=None, device="cpu"):
        self.random_state = random_state
        self.device = device

    def training_objects(self, X):
        return X.snippet_objects()

    def partial_fit(self, X, y=None, sample_weight=None):
        assert y is None, "a wOCC never receives labels"
        feats = X.features().reshape(len(X), -1)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight)
        self.received_weights_ = getattr(self, "received_weights_", []) + [w.copy()]
        self.mean_ = (w[:, None] * feats).sum(0) / w.sum()
        self.var_ = (w[:, None] * (feats - self.mean_) ** 2).sum(0) / w.sum() + 1e-6
        return self

    def score_snippets(self, X):
        feats = X.features().reshape(len(X), -1)
        return (((feats - self.mean_) ** 2) / self.var_).mean(1)


class CentroidWS(BaseEstimator):
    """Scores snippets by their projection on the difference of the two label centroids."""

    def __init__(self, random_state=None, device="cpu"):
        self.random_state = random_state
        self.device = device

    def partial_fit(self, X, y):
        feats = X.features().reshape(len(X), -1)
        y = np.asarray(y)
        self.received_labels_ = getattr(self, "received_labels_", []) + [y.copy()]
        self.direction_ = feats[y == 1].mean(0) - feats[y == 0].mean(0)
        self.centre_ = (feats[y == 1].mean(0) + feats[y == 0].mean(0)) / 2
        return self

    def score_snippets(self, X):
        feats = X.features().reshape(len(X), -1)
        z = (feats - self.centre_) @ self.direction_ / (np.linalg.norm(self.direction_) + 1e-9)
        return 1 / (1 + np.exp(-z))


class ConstantWS(CentroidWS):
    """A WS that scores every snippet ``value`` whatever it was trained on (a saturated network)."""

    def __init__(self, value=1.0, random_state=None, device="cpu"):
        self.value = value
        super().__init__(random_state=random_state, device=device)

    def score_snippets(self, X):
        return np.full(len(X), self.value)


class EchoWS(CentroidWS):
    """A WS that scores its last training labels exactly: 1.0 for the positives, 0.0 for the others."""

    def __init__(self, bag_size=16, random_state=None, device="cpu"):
        self.bag_size = bag_size
        super().__init__(random_state=random_state, device=device)

    def score_snippets(self, X):
        return self.received_labels_[-1].astype(float)

    def __unsupvad_tags__(self):
        return ModelTags(role="ws", reads="features", positive_bag_size=self.bag_size)


class RandomWOCC(GaussianWOCC):
    """A wOCC whose snippet ranking is new noise at every step: the top sets share ever less."""

    def score_snippets(self, X):
        return np.random.default_rng(len(self.received_weights_) + 100 * self.random_state).random(len(X))


def make_videos(n_videos=12, t=20, d=6, seed=0, with_labels=True):
    rng = np.random.default_rng(seed)
    videos = []
    for i in range(n_videos):
        feats = rng.normal(size=(t, d)).astype(np.float32)
        frame_labels = np.zeros(16 * t, np.uint8)
        if i % 2 == 0:
            a = rng.integers(0, t - 4)
            feats[a : a + 4] += 3.0
            frame_labels[16 * a : 16 * (a + 4)] = 1
        videos.append(Video(f"vid{i:02d}", 16 * t, features=feats,
                            labels=frame_labels if with_labels else None))
    return VideoSet(videos)


def make_model(**kw):
    params = dict(random_state=0, max_modules=4, device="cpu")
    params.update(kw)
    return InterleavedVAD(GaussianWOCC(), CentroidWS(), **params)


def test_fit_records_the_whole_procedure():
    X = make_videos()
    model = make_model().fit(X)
    assert model.n_modules_ == len(model.thresholds_) >= 1
    assert model.n_steps_ == len(model.history_) >= model.n_modules_
    assert model.termination_condition_ in ("converged", "max_modules")
    assert model.thresholds_[0] == int(np.ceil(0.15 * len(X)))
    assert all(a >= b for a, b in zip(model.thresholds_, model.thresholds_[1:]))
    for record in model.history_:
        expected = {"module", "step", "threshold", "n_positive", "weight_change", "wocc_seconds", "ws_seconds"}
        assert expected <= set(record)
        assert record["n_positive"] == record["threshold"]
    scores = model.anomaly_score(X)
    assert roc_auc_score(X.snippet_labels(), scores) > 0.9


class ScoreSpy:
    def __init__(self, X):
        self.X, self.ws_scores = X, []

    def on_step_end(self, estimator, record, wocc, ws):
        self.ws_scores.append(ws.score_snippets(self.X))


def test_ws_is_trained_on_the_rank_labels_of_the_wocc():
    X = make_videos()
    spy = ScoreSpy(X)
    model = make_model(module_steps=2, max_modules=1, callbacks=[spy]).fit(X)
    wocc, ws = model.wocc_, model.ws_
    labels = ws.received_labels_[-1]
    scores = wocc.score_snippets(X)
    top = np.argsort(-scores, kind="stable")[: model.thresholds_[0]]
    np.testing.assert_array_equal(np.flatnonzero(labels), np.sort(top))
    # the first wOCC of module 1 sees Beta(1, 5) soft labels, the second 1 - WS scores (Eq. 6, floored)
    first = wocc.received_weights_[0]
    assert 0.75 < first.mean() < 0.9
    expected = np.maximum(1 - spy.ws_scores[0], model.weight_floor)
    np.testing.assert_allclose(wocc.received_weights_[1], expected, rtol=1e-5, atol=1e-7)


def test_same_random_state_same_result():
    X = make_videos()
    a, b = make_model().fit(X), make_model().fit(X)
    assert a.thresholds_ == b.thresholds_
    np.testing.assert_array_equal(a.anomaly_score(X), b.anomaly_score(X))


def test_no_label_reaches_fit(monkeypatch):
    X = make_videos()
    X_unlabelled = VideoSet([v.replace(labels=None) for v in X.videos])
    reference = make_model().fit(X_unlabelled)

    def refuse(*args, **kwargs):
        raise AssertionError("fit read the frame labels")

    monkeypatch.setattr(VideoSet, "frame_labels", refuse)
    monkeypatch.setattr(VideoSet, "snippet_labels", refuse)
    model = make_model().fit(X)
    assert model.thresholds_ == reference.thresholds_
    np.testing.assert_array_equal(model.anomaly_score(X), reference.anomaly_score(X))


def test_fixed_steps_and_fixed_threshold_ablation():
    X = make_videos()
    model = make_model(module_steps=3, adaptive_threshold=False).fit(X)
    assert model.termination_condition_ == "max_modules"
    assert len(set(model.thresholds_)) == 1 and model.n_modules_ == 4
    assert [r["step"] for r in model.history_] == [1, 2, 3] * 4


def test_unweighted_ablation_trains_on_hard_labels():
    X = make_videos()
    model = make_model(weighted=False, module_steps=2, max_modules=1).fit(X)
    for w in model.wocc_.received_weights_:
        assert set(np.unique(w)) <= {0.0, 1.0}


def test_weakly_supervised_variant_keeps_normal_videos_normal():
    X = make_videos()
    y = np.array([1 if int(g[3:]) % 2 == 0 else 0 for g in X.groups])
    model = make_model(module_steps=2, supervision="video").fit(X, y)
    for labels in model.ws_.received_labels_:
        assert not labels[y == 0].any()
    with pytest.raises(ValueError, match="constant within a video"):
        make_model(supervision="video").fit(X, np.arange(len(X)) % 2)
    with pytest.raises(ValueError, match="needs y"):
        make_model(supervision="video").fit(X)


def test_unsupervised_mode_ignores_y():
    X = make_videos()
    y = X.snippet_labels()
    with_y, without = make_model().fit(X, y), make_model().fit(X)
    assert with_y.thresholds_ == without.thresholds_
    np.testing.assert_array_equal(with_y.anomaly_score(X), without.anomaly_score(X))


def test_monitor_logs_but_never_changes_training():
    X = make_videos()
    X_val = make_videos(n_videos=4, seed=1)
    plain = make_model().fit(X)
    monitored = make_model(callbacks=[FrameAUCMonitor(X_val)]).fit(X)
    assert plain.thresholds_ == monitored.thresholds_
    np.testing.assert_array_equal(plain.anomaly_score(X), monitored.anomaly_score(X))
    assert all("val_ws_auc" in r and "val_wocc_auc" in r for r in monitored.history_)


class EventRecorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_begin(self, estimator, X):
        self.events.append(("fit_begin", len(X)))

    def on_module_begin(self, estimator, module, threshold):
        self.events.append(("module_begin", module, threshold))

    def on_step_end(self, estimator, record, *, wocc, ws):
        self.events.append(("step", record["module"], record["step"]))

    def on_module_end(self, estimator, module, *, wocc, ws):
        assert wocc is estimator.module_models_[module - 1]["wocc"]
        self.events.append(("module_end", module))

    def on_fit_end(self, estimator):
        self.events.append(("fit_end", estimator.n_steps_))


def test_callbacks_hear_every_event_in_order():
    X = make_videos()
    recorder, steps_only = EventRecorder(), ScoreSpy(X)  # ScoreSpy has on_step_end alone
    model = make_model(callbacks=[recorder, steps_only]).fit(X)
    expected = [("fit_begin", len(X))]
    for module, threshold in enumerate(model.thresholds_, start=1):
        expected.append(("module_begin", module, threshold))
        expected += [("step", r["module"], r["step"]) for r in model.history_ if r["module"] == module]
        expected.append(("module_end", module))
    assert recorder.events == [*expected, ("fit_end", model.n_steps_)]
    assert len(steps_only.ws_scores) == model.n_steps_


def test_progress_goes_to_the_logging_module(caplog):
    X = make_videos()
    with caplog.at_level("INFO", logger="unsupvad"):
        model = make_model(max_module_steps=3).fit(X)
    lines = [r.getMessage() for r in caplog.records if r.name == "unsupvad.fit"]
    assert len(lines) == model.n_steps_ + 1
    for done, (record, line) in enumerate(zip(model.history_, lines), start=1):
        assert line.startswith(f"module {record['module']} step {record['step']} (T_ws {record['threshold']}): ")
        assert line.endswith(f"left ({done} of at most {4 * 3} steps)")
    assert lines[-1].startswith("fitted in ") and model.termination_condition_ in lines[-1]


def test_progress_is_silent_without_a_handler(capsys):
    make_model().fit(make_videos())
    assert capsys.readouterr() == ("", "")


def test_pyod_training_attributes_follow_the_scorer():
    X = make_videos()
    model = make_model().fit(X)
    for scorer in ("ws", "wocc"):
        model.set_params(scorer=scorer)
        np.testing.assert_allclose(model.decision_scores_, model.anomaly_score(X), rtol=1e-6, atol=1e-9)
        assert model.threshold_ == -model.offsets_[scorer]
        np.testing.assert_array_equal(model.labels_, (model.predict(X) == -1).astype(int))
    assert not np.array_equal(model.training_scores_["ws"], model.training_scores_["wocc"])
    with pytest.raises(NotFittedError):
        _ = make_model().decision_scores_


def test_person_level_scores_need_a_wocc_that_scores_detections():
    model = make_model().fit(make_videos())
    with pytest.raises(TypeError, match="person-level scores need a wOCC that scores detections"):
        model.score_detections(make_videos())


def test_predict_and_offsets():
    X = make_videos()
    model = make_model().fit(X)
    pred = model.predict(X)
    assert set(np.unique(pred)) <= {-1, 1}
    np.testing.assert_array_equal(pred == 1, model.decision_function(X) >= 0)
    np.testing.assert_allclose(model.decision_function(X), model.score_samples(X) - model.offset_)
    assert np.mean(pred == -1) == pytest.approx(model.thresholds_[-1] / len(X), abs=0.02)
    model = make_model(contamination=0.2).fit(X)
    assert np.mean(model.predict(X) == -1) == pytest.approx(0.2, abs=0.02)
    model.set_params(scorer="wocc")  # switching scorer after fit switches the offset with it
    assert model.offset_ == model.offsets_["wocc"]
    assert np.mean(model.predict(X) == -1) == pytest.approx(0.2, abs=0.02)
    frames = model.score_frames(X)
    assert [len(f) for f in frames] == list(X.n_frames)


def test_sklearn_contract():
    X = make_videos()
    model = make_model()
    params = model.get_params(deep=True)
    assert "wocc__random_state" in params and "ws__device" in params
    assert clone(model).set_params(ws__random_state=3).ws.random_state == 3
    model.fit(X)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.anomaly_score(X), model.anomaly_score(X))


def test_bad_parameters_are_refused():
    X = make_videos()
    with pytest.raises(ValueError, match="initial_ratio"):
        make_model(initial_ratio=0.0).fit(X)
    with pytest.raises(ValueError, match="module_steps"):
        make_model(module_steps="sometimes").fit(X)
    with pytest.raises(ValueError, match="wocc"):
        InterleavedVAD(wocc=object(), ws=CentroidWS()).fit(X)


def test_grid_search_over_videos_with_the_frame_auc_scorer():
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from unsupvad.metrics import frame_auc_scorer

    X = make_videos()
    search = GridSearchCV(make_model(max_modules=2), {"initial_ratio": [0.1, 0.2], "wocc__device": ["cpu"]},
                          cv=GroupKFold(n_splits=3), scoring=frame_auc_scorer)
    search.fit(X, groups=X.groups)
    assert search.best_params_["initial_ratio"] in (0.1, 0.2)
    assert 0.5 < search.best_score_ <= 1.0
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_pipeline_with_a_transformer_on_the_feature_path():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from unsupvad import MIL, FeatureAE

    feats = make_videos().features()
    pipe = make_pipeline(StandardScaler(), InterleavedVAD(
        FeatureAE(hidden=(4,), max_epochs=1, device="cpu"), MIL(hidden_dims=(8, 4), bag_size=4, iterations_per_epoch=2),
        max_modules=2, module_steps=1, device="cpu", random_state=0))
    pipe.fit(feats)
    assert pipe.decision_function(feats).shape == (len(feats),)
    assert set(np.unique(pipe.predict(feats))) <= {-1, 1}


def test_a_ws_scoring_every_snippet_1_warns_and_keeps_the_soft_labels():
    X = make_videos()
    model = InterleavedVAD(GaussianWOCC(), ConstantWS(1.0), max_modules=1, module_steps=3, device="cpu",
                           random_state=0)
    with pytest.warns(DegenerateLoopWarning) as caught:
        model.fit(X)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    for step, message in enumerate(messages, start=1):
        assert f"module 1, step {step}: the WS scores are degenerate" in message
        assert "score spread 0 < 0.01" in message and "100% of the snippets score about 1" in message
    weights = model.wocc_.received_weights_
    assert len(weights) == 3 and weights[0].min() > 0  # nothing to train on never happens
    np.testing.assert_array_equal(weights[1], weights[0])  # the fallback: previous soft labels kept
    np.testing.assert_array_equal(weights[2], weights[0])
    assert [r["ws_degenerate"] for r in model.history_] == [True] * 3
    assert model.history_[0]["ws_saturated"] == 1.0 and model.history_[0]["ws_spread"] == 0.0
    assert model.n_steps_ == 3  # a degenerate step never counts as a converged module


def test_a_saturated_ws_score_leaves_the_object_in_training_with_the_floor_weight():
    X = make_videos()
    model = InterleavedVAD(GaussianWOCC(), EchoWS(bag_size=1), max_modules=1, module_steps=2, device="cpu",
                           random_state=0).fit(X)
    labels = model.ws_.received_labels_[0]
    second = model.wocc_.received_weights_[1]
    np.testing.assert_allclose(second[labels == 1], model.weight_floor, rtol=1e-4)  # w = 1 - 1e-3, not 1
    np.testing.assert_array_equal(second[labels == 0], 1.0)
    record = model.history_[0]
    assert not record["ws_degenerate"] and record["ws_agreement"] == 1.0
    assert record["ws_saturated"] == pytest.approx(labels.mean())
    exact = InterleavedVAD(GaussianWOCC(), EchoWS(bag_size=1), max_modules=1, module_steps=2, weight_floor=0,
                           device="cpu", random_state=0).fit(X)
    np.testing.assert_array_equal(exact.wocc_.received_weights_[1][labels == 1], 0.0)  # the paper's Eq. 6


def test_the_threshold_never_goes_below_the_positive_bag_size():
    X = make_videos()  # 240 snippets: each top set holds 36, random top sets soon share fewer than 16
    model = InterleavedVAD(RandomWOCC(random_state=0), EchoWS(bag_size=16), max_modules=6, module_steps=2,
                           device="cpu", random_state=0).fit(X)
    assert model.termination_condition_ == "min_threshold"
    assert min(model.thresholds_) >= 16
    assert model.consensus_size_ < 16 and model.n_modules_ < 6
    tiny = InterleavedVAD(GaussianWOCC(), EchoWS(bag_size=16), initial_ratio=0.01, max_modules=1,
                          module_steps=1, device="cpu", random_state=0).fit(X)
    assert tiny.thresholds_ == [16]  # ceil(0.01 * 240) = 3 is raised to the bag size


def test_loop_health_is_recorded_at_every_step():
    X = make_videos()
    model = make_model().fit(X)
    for record in model.history_:
        assert {"ws_saturated", "ws_spread", "ws_agreement", "wocc_weight_ess", "ws_degenerate"} <= set(record)
        assert 0 <= record["ws_saturated"] <= 1 and 0 < record["wocc_weight_ess"] <= 1
        assert record["ws_agreement"] > 0.5 and not record["ws_degenerate"]


def test_ensemble_of_the_modules_final_models_and_the_papers_last_module():
    X = make_videos()
    model = make_model(module_steps=2).fit(X)
    assert model.n_modules_ >= 2 and len(model.module_models_) == model.n_modules_
    assert model.ws_ is model.module_models_[-1]["ws"] and model.wocc_ is model.module_models_[-1]["wocc"]
    later = model.module_models_[1:]  # the first module, at the rough T = ceil(R N), is left out
    ws_parts = [m["ws"].score_snippets(X) for m in later]
    np.testing.assert_allclose(model.anomaly_score(X), np.mean(ws_parts, axis=0))
    wocc_parts = [(m["wocc"].score_snippets(X).astype(np.float64) - mean) / std
                  for m, (mean, std) in zip(later, model.wocc_standardization_[1:])]
    np.testing.assert_allclose(model.set_params(scorer="wocc").anomaly_score(X), np.mean(wocc_parts, axis=0))
    one = make_model(module_steps=2, max_modules=1).fit(X)  # a single module scores alone
    np.testing.assert_allclose(one.anomaly_score(X), one.ws_.score_snippets(X))
    assert len(model.wocc_standardization_) == model.n_modules_  # each wOCC's own training scale
    assert all(std > 0 and np.isfinite(mean) for mean, std in model.wocc_standardization_)
    last = make_model(module_steps=2, ensemble="last").fit(X)
    assert last.thresholds_ == model.thresholds_  # the ensemble changes scoring only, never training
    np.testing.assert_array_equal(last.anomaly_score(X), last.ws_.score_snippets(X))
    np.testing.assert_array_equal(last.set_params(scorer="wocc").anomaly_score(X), last.wocc_.score_snippets(X))
    frames = model.set_params(scorer="ws").score_frames(X)
    expected = X.snippets_to_frames(model.anomaly_score(X))
    for f, e in zip(frames, expected):
        np.testing.assert_allclose(f, e)


def test_default_models_are_the_papers_pair(tmp_path):
    """``InterleavedVAD()`` needs no argument: STGNF() and RTFM(), each cloned per module."""
    from unsupvad import RTFM, STGNF, load_model, save_model
    from unsupvad.datasets import make_synthetic_videos

    model = InterleavedVAD(max_modules=1, max_module_steps=1, device="cpu", random_state=0)
    assert model.get_params()["wocc"] is None and model.get_params()["ws"] is None
    assert clone(model).get_params() == model.get_params()
    X = make_synthetic_videos(4, n_frames=(120, 160), tracks="boxes", n_features=8, random_state=0)
    model.fit(X)
    assert isinstance(model.wocc_, STGNF) and isinstance(model.ws_, RTFM)
    assert model.wocc is None and model.ws is None  # the parameters are left as given
    assert np.isfinite(model.score_snippets(X)).all()
    path = tmp_path / "default.uvad"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).score_snippets(X), model.score_snippets(X))


class OwnScoresWOCC(GaussianWOCC):
    """A wOCC that keeps its own training scores, deliberately the reverse of what it rescores."""

    def partial_fit(self, X, y=None, sample_weight=None):
        super().partial_fit(X, y, sample_weight)
        self.decision_scores_ = -self.score_snippets(X) if self.reverse_own else self.score_snippets(X)[:-1]
        return self

    def __init__(self, reverse_own=True, random_state=None, device="cpu"):
        self.reverse_own = reverse_own
        super().__init__(random_state=random_state, device=device)


@pytest.mark.parametrize("wocc_scoring", ["training", "rescore"])
def test_pseudo_labels_come_from_the_woccs_own_training_scores_or_a_rescoring(wocc_scoring):
    X = make_videos()
    model = InterleavedVAD(OwnScoresWOCC(), CentroidWS(), wocc_scoring=wocc_scoring, module_steps=1, max_modules=1,
                           random_state=0, device="cpu").fit(X)
    used = -model.wocc_.score_snippets(X) if wocc_scoring == "training" else model.wocc_.score_snippets(X)
    top = np.argsort(-used, kind="stable")[: model.thresholds_[0]]
    np.testing.assert_array_equal(np.flatnonzero(model.ws_.received_labels_[-1]), np.sort(top))


def test_own_training_scores_of_the_wrong_length_are_refused_and_a_wocc_without_them_is_rescored():
    X = make_videos()
    with pytest.raises(ValueError, match=r"decision_scores_ has shape \(239,\).*240 snippets.*'rescore'"):
        InterleavedVAD(OwnScoresWOCC(reverse_own=False), CentroidWS(), module_steps=1, max_modules=1,
                       random_state=0, device="cpu").fit(X)
    plain = make_model(module_steps=1, max_modules=1).fit(X)  # GaussianWOCC has no decision_scores_
    rescored = make_model(module_steps=1, max_modules=1, wocc_scoring="rescore").fit(X)
    np.testing.assert_array_equal(plain.ws_.received_labels_[-1], rescored.ws_.received_labels_[-1])


def test_history_counts_the_epochs_of_the_modules_ws():
    from unsupvad import MIL, FeatureAE

    feats = make_videos().features()

    def fitted(min_agreement):
        ws = MIL(hidden_dims=(8, 4), bag_size=4, iterations_per_epoch=1, max_epochs=4, min_agreement=min_agreement)
        return InterleavedVAD(FeatureAE(hidden=(4,), max_epochs=1, device="cpu"), ws, max_modules=1, module_steps=3,
                              device="cpu", random_state=0).fit(feats)

    assert [r["ws_epochs"] for r in fitted(None).history_] == [1, 2, 3]
    epochs = [r["ws_epochs"] for r in fitted(1.0).history_]  # never reached: every step trains to the cap
    assert epochs == [4, 8, 12]
