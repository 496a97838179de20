"""The model registry, declared tags and the contract checkers of unsupvad.testing."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from unsupvad import InterleavedVAD, load_model, save_model
from unsupvad.cli._parser import build_parser
from unsupvad.datasets import make_synthetic_videos
from unsupvad.models import (
    FeatureAE,
    ModelTags,
    _registry,
    get_model,
    list_models,
    model_tags,
    register_model,
)
from unsupvad.models._feature_ae import WeightedReconstructionNet
from unsupvad.testing import check_wocc, check_ws

# small settings so that every checker runs in seconds
SMALL = {"stgnf": dict(n_flows=2, max_epochs=1, seg_len=12), "feature_ae": dict(max_epochs=1),
         "rtfm": dict(max_epochs=1), "mil": dict(max_epochs=1)}


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry: models registered in a test leave no trace."""
    monkeypatch.setattr(_registry, "_MODELS", dict(_registry._MODELS))


@pytest.fixture(scope="module")
def features():
    return make_synthetic_videos(6, n_frames=(160, 240), tracks=None, n_features=8, random_state=0)


def test_the_built_in_models_are_registered_by_role():
    assert list_models("wocc") == ["stgnf", "feature_ae", "jigsaw"]
    assert list_models("ws") == ["rtfm", "mil"]
    assert list_models() == ["stgnf", "feature_ae", "jigsaw", "rtfm", "mil"]
    assert get_model("feature_ae") is FeatureAE
    assert model_tags(get_model("stgnf")) == ModelTags("wocc", "tracks", needs_frame_size=True)
    assert model_tags(get_model("rtfm")).positive_bag_size == 16
    assert model_tags(get_model("rtfm")(bag_sampling="stratified")).uses_wocc_scores
    with pytest.raises(KeyError, match="no model is registered as 'nope'"):
        get_model("nope")
    with pytest.raises(ValueError, match="role must be"):
        list_models("occ")


# a model that reads frames needs video files: tests/test_jigsaw.py checks Jigsaw on generated ones
@pytest.mark.parametrize("name", [name for name in list_models() if not model_tags(get_model(name)).needs_frames])
def test_every_registered_model_passes_its_checker(name):
    cls = get_model(name)
    check = check_wocc if model_tags(cls).role == "wocc" else check_ws
    check(cls(device="cpu", **SMALL.get(name, {})))


def test_register_refuses_unnamed_roles_taken_names_and_bad_names(registry):
    class NoTags(BaseEstimator):
        pass

    with pytest.raises(TypeError, match="declares no __unsupvad_tags__"):
        register_model(NoTags)
    with pytest.raises(ValueError, match="another model is registered as 'stgnf'"):
        register_model(FeatureAE, name="stgnf")
    with pytest.raises(ValueError, match="lower-case"):
        register_model(FeatureAE, name="Feature AE")
    assert register_model(FeatureAE) is FeatureAE  # registering again under its own name is harmless
    assert list_models("wocc").count("feature_ae") == 1


class PlainAE(FeatureAE):
    """A user's model: a FeatureAE subclass defined outside the library."""


def test_a_registered_user_model_is_chosen_by_name_interleaved_saved_and_loaded(registry, features, tmp_path):
    with pytest.raises(TypeError, match="register a model of your own"):
        save_model(InterleavedVAD(PlainAE(max_epochs=1), get_model("rtfm")(max_epochs=1), max_modules=1,
                                  max_module_steps=1, random_state=0, device="cpu").fit(features),
                   tmp_path / "refused.uvad")
    register_model(PlainAE, name="plain_ae")
    assert "plain_ae" in list_models("wocc")
    fit_parser = build_parser()._subparsers._group_actions[0].choices["fit"]
    wocc_choices = next(a.choices for a in fit_parser._actions if a.dest == "wocc")
    assert "plain_ae" in wocc_choices
    model = InterleavedVAD(PlainAE(max_epochs=1), get_model("rtfm")(max_epochs=1), max_modules=1,
                           max_module_steps=1, random_state=0, device="cpu").fit(features)
    loaded = load_model(save_model(model, tmp_path / "user.uvad"))
    assert type(loaded.wocc_) is PlainAE
    np.testing.assert_allclose(loaded.score_snippets(features), model.score_snippets(features))


# ---------------------------------------------------------------------- the checkers fail on broken models
class IgnoresWeights(FeatureAE):
    def _training_data(self, X, sample_weight):
        self._checked_weight(sample_weight, len(X))  # refuses bad weights, then trains without them
        return super()._training_data(X, None)


class WrongRole(FeatureAE):
    def __unsupvad_tags__(self):
        return ModelTags(role="ws", reads="features")


class ShuffledScores(FeatureAE):
    def score_snippets(self, X):
        return np.sort(super().score_snippets(X))


class Undeterministic(FeatureAE):
    def score_snippets(self, X):
        return super().score_snippets(X) + np.random.default_rng().normal(0, 1e-3, len(X))


class _LeakyNet(WeightedReconstructionNet):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        x, weight = X["x"].to(y_pred.device), X["sample_weight"].to(y_pred.device)
        return ((weight + 0.1) * ((y_pred - x) ** 2).mean(dim=1)).mean()


class LeakyZeroWeight(FeatureAE):
    def _build_net(self):
        net = super()._build_net()
        net.__class__ = _LeakyNet
        return net


@pytest.mark.parametrize("broken, match", [
    (LeakyZeroWeight, "an object of weight 0 changes the gradient"),
    (IgnoresWeights, "sample_weight is ignored"),
    (WrongRole, "declares role 'ws', checked as a wocc"),
    (ShuffledScores, "scores of X\\[idx\\] must be the scores of X"),
    (Undeterministic, "all 1 must train as no sample_weight"),  # the first comparison of two fits
])
def test_check_wocc_names_the_broken_rule(broken, match, features):
    with pytest.raises(AssertionError, match=match):
        check_wocc(broken(max_epochs=1, device="cpu"), features)


class NoLabelsNeeded(BaseEstimator):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def __unsupvad_tags__(self):
        return ModelTags(role="ws", reads="features")

    def fit(self, X, y=None, **kwargs):
        self.fitted_ = True
        return self

    def partial_fit(self, X, y=None, **kwargs):
        return self.fit(X, y)

    def score_snippets(self, X):
        return np.zeros(len(X))


def test_check_ws_refuses_a_ws_that_trains_without_labels(features):
    with pytest.raises(AssertionError, match="must be refused"):
        check_ws(NoLabelsNeeded(), features)


def test_the_api_reference_lists_every_built_in_model():
    from pathlib import Path

    api = (Path(__file__).resolve().parents[1] / "docs" / "api.rst").read_text()
    models = api[api.index("\nModels\n"):api.index("\nFeatures from tracks\n")]
    for name in list_models():
        assert f"   {get_model(name).__name__}\n" in models, name
