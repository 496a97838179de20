"""Model files: save_model / load_model round trips for every model, and refusal of bad files."""

import io
import json
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from unsupvad import MIL, RTFM, STGNF, FeatureAE, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import make_synthetic_videos
from unsupvad.persistence import (
    CONFIG_ENTRY,
    WEIGHTS_ENTRY,
    ModelFileError,
    load_model,
    read_model_info,
    save_model,
)


@pytest.fixture(scope="module")
def videos():
    """Six short videos with box tracks and snippet features, and 0/1 snippet labels for the WS models."""
    X = make_synthetic_videos(6, n_frames=(96, 128), tracks="boxes", random_state=0)
    y = (np.arange(len(X)) % 3 == 0).astype(int)
    return X, y


def tiny(name):
    return {
        "stgnf": lambda: STGNF(n_flows=2, seg_len=8, batch_size=64, max_epochs=1, device="cpu", random_state=0),
        "rtfm": lambda: RTFM(branch_dim=8, head_dims=(8, 4), iterations_per_epoch=2, max_epochs=1, device="cpu",
                             random_state=0),
        "mil": lambda: MIL(hidden_dims=(8, 4), iterations_per_epoch=2, max_epochs=1, device="cpu", random_state=0),
        "feature_ae": lambda: FeatureAE(hidden=(4,), max_epochs=1, device="cpu", random_state=0),
    }[name]()


def fitted(name, X, y):
    model = tiny(name)
    return model.fit(X, y) if name in ("rtfm", "mil") else model.fit(X)


def same_frames(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v, equal_nan=True) for u, v in zip(a, b))


@pytest.fixture(scope="module")
def interleaved(videos):
    X, _ = videos
    model = InterleavedVAD(tiny("stgnf"), tiny("rtfm").set_params(max_epochs=20), max_modules=2, module_steps=1,
                           beta=(1, 4), device="cpu", random_state=0)
    return model.fit(X)


@pytest.mark.parametrize("name", ["stgnf", "rtfm", "mil", "feature_ae"])
def test_each_model_scores_identically_after_loading(name, videos, tmp_path):
    X, y = videos
    model = fitted(name, X, y)
    path = save_model(model, tmp_path / "model.uvad")
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded is not model
    np.testing.assert_array_equal(loaded.score_snippets(X), model.score_snippets(X))
    assert same_frames(loaded.score_frames(X), model.score_frames(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.offset_ == model.offset_ and loaded.n_epochs_ == model.n_epochs_
    assert loaded.device_ == torch.device("cpu")
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    assert loaded.get_params() == model.get_params()
    assert len(loaded.net_.history) == len(model.net_.history)


def test_loaded_model_continues_training_like_the_original(videos, tmp_path):
    """The optimizer state, epoch count and seed are restored: one more epoch gives the same model."""
    X, y = videos
    model = fitted("rtfm", X, y)
    loaded = load_model(save_model(model, tmp_path / "rtfm.uvad"))
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert loaded.n_epochs_ == model.n_epochs_ == 2
    np.testing.assert_array_equal(loaded.score_snippets(X), model.score_snippets(X))


def test_interleaved_round_trip(interleaved, videos, tmp_path):
    X, _ = videos
    path = save_model(interleaved, tmp_path / "ivad.uvad", metadata={"source": "test", "pair": (1, 2)})
    loaded = load_model(path)
    for scorer in ("ws", "wocc"):
        assert same_frames(loaded.set_params(scorer=scorer).score_frames(X),
                           interleaved.set_params(scorer=scorer).score_frames(X))
    interleaved.set_params(scorer="ws")
    np.testing.assert_array_equal(loaded.set_params(scorer="ws").decision_function(X),
                                  interleaved.decision_function(X))
    assert loaded.thresholds_ == interleaved.thresholds_
    assert loaded.termination_condition_ == interleaved.termination_condition_
    assert loaded.n_steps_ == interleaved.n_steps_ == len(loaded.history_)
    first, original = loaded.history_[0], interleaved.history_[0]
    assert first.keys() == original.keys() and np.isnan(first["label_change"])
    assert all(first[k] == original[k] for k in first if k != "label_change")
    assert loaded.get_params(deep=False)["beta"] == (1, 4)  # a tuple stays a tuple
    assert isinstance(loaded.wocc, STGNF) and not hasattr(loaded.wocc, "net_")  # the unfitted template
    assert isinstance(loaded.wocc_, STGNF) and isinstance(loaded.ws_, RTFM)
    info = read_model_info(path)
    assert info["metadata"] == {"source": "test", "pair": (1, 2)}
    assert info["estimator"]["class"] == "unsupvad.InterleavedVAD"
    assert info["versions"]["torch"] == torch.__version__
    # the JSON part is strict JSON that any tool can read
    with zipfile.ZipFile(path) as archive:
        json.loads(archive.read(CONFIG_ENTRY), parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_pipeline_with_track_features_round_trip(videos, tmp_path):
    X, _ = videos
    pipe = make_pipeline(TrackSnippetFeatures(standardize=True), tiny("feature_ae")).fit(X)
    loaded = load_model(save_model(pipe, tmp_path / "pipe.uvad"))
    np.testing.assert_array_equal(loaded[0].mean_, pipe[0].mean_)
    np.testing.assert_array_equal(loaded.score_samples(X), pipe.score_samples(X))


def test_callbacks_are_not_saved(videos, tmp_path):
    X, _ = videos

    class Recorder:
        def on_step_end(self, estimator, record, **models):
            record["seen"] = 1

    model = InterleavedVAD(tiny("feature_ae"), tiny("mil"), max_modules=1, module_steps=1, device="cpu",
                           random_state=0, callbacks=[Recorder()]).fit(X)
    with pytest.warns(UserWarning, match="callbacks"):
        path = save_model(model, tmp_path / "cb.uvad")
    loaded = load_model(path)
    assert loaded.callbacks is None and loaded.history_[0]["seen"] == 1
    np.testing.assert_array_equal(loaded.anomaly_score(X), model.anomaly_score(X))


def test_joblib_still_works(videos):
    """Pickling (joblib) keeps working for files one trusts."""
    X, y = videos
    for name in ("stgnf", "rtfm"):
        model = fitted(name, X, y)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        buffer.seek(0)
        assert same_frames(joblib.load(buffer).score_frames(X), model.score_frames(X))


def test_device_parameters_follow_the_loading_device(videos, tmp_path):
    """A model saved with device='cuda' (edited in here: the CI has no GPU) loads on the CPU."""
    X, y = videos
    model = fitted("mil", X, y)
    path = save_model(model, tmp_path / "m.uvad")
    with zipfile.ZipFile(path) as archive:
        config, weights = json.loads(archive.read(CONFIG_ENTRY)), archive.read(WEIGHTS_ENTRY)
    config["estimator"]["params"]["device"] = "cuda"
    config["estimator"]["fitted"]["device_"] = {"__device__": "cuda:0"}
    edited = _write_zip(tmp_path / "cuda.uvad", config, weights)
    loaded = load_model(edited, device="cpu")
    assert loaded.device == "cpu" and loaded.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.score_snippets(X), model.score_snippets(X))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            load_model(path, device="cuda")


def _write_zip(path, config, weights: bytes, config_name=CONFIG_ENTRY):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(config_name, config if isinstance(config, (str, bytes)) else json.dumps(config))
        archive.writestr(WEIGHTS_ENTRY, weights)
    return path


_RAN = []


def _side_effect(*args):
    _RAN.append(args)
    return args


class _Payload:
    def __reduce__(self):
        return _side_effect, ("code from the file ran",)


@pytest.fixture(scope="module")
def saved(videos, tmp_path_factory):
    X, y = videos
    path = save_model(fitted("mil", X, y), tmp_path_factory.mktemp("saved") / "mil.uvad")
    with zipfile.ZipFile(path) as archive:
        return path, json.loads(archive.read(CONFIG_ENTRY)), archive.read(WEIGHTS_ENTRY)


def test_bad_files_give_one_clear_error(saved, tmp_path):
    path, config, weights = saved
    (tmp_path / "text.uvad").write_text("not a model")
    cases = {"text.uvad": "not an unsupvad model file"}
    (tmp_path / "truncated.uvad").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    cases["truncated.uvad"] = "not an unsupvad model file or a corrupted one"
    _write_zip(tmp_path / "foreign.uvad", "{}", b"", config_name="other.json")
    cases["foreign.uvad"] = "no unsupvad-model.json"
    _write_zip(tmp_path / "json.uvad", "{not json", weights)
    cases["json.uvad"] = "not valid JSON"
    _write_zip(tmp_path / "format.uvad", {**config, "format": "something-else"}, weights)
    cases["format.uvad"] = "format 'something-else'"
    _write_zip(tmp_path / "newer.uvad", {**config, "format_version": 99}, weights)
    cases["newer.uvad"] = "newer unsupvad"
    for name, message in cases.items():
        with pytest.raises(ModelFileError, match=message):
            load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "absent.uvad")
    with pytest.raises(ModelFileError, match="folder"):
        load_model(tmp_path)


def test_only_registered_classes_and_plain_tensors_are_loaded(saved, tmp_path):
    path, config, weights = saved
    foreign = json.loads(json.dumps(config))
    foreign["estimator"]["class"] = "os.system"
    with pytest.raises(ModelFileError, match="'os.system', which is not an unsupvad estimator"):
        load_model(_write_zip(tmp_path / "class.uvad", foreign, weights))

    buffer = io.BytesIO()
    torch.save({"arrays": {}, "nets": {}, "extra": _Payload()}, buffer)
    with pytest.raises(ModelFileError, match="unreadable weights"):
        load_model(_write_zip(tmp_path / "pickle.uvad", config, buffer.getvalue()))
    assert _RAN == []  # refused before anything in the file was called

    state = torch.load(io.BytesIO(weights), weights_only=True)
    for net in state["nets"].values():
        net["module"] = {k: torch.zeros(v.shape[0] + 1) for k, v in net["module"].items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    # refused from shapes built on the meta device, before any network is allocated
    with pytest.raises(ModelFileError, match="the shape .* the saved weights"):
        load_model(_write_zip(tmp_path / "shapes.uvad", config, buffer.getvalue()))


def test_what_cannot_be_saved(videos, tmp_path):
    X, _ = videos
    with pytest.raises(NotFittedError):
        save_model(tiny("rtfm"), tmp_path / "unfitted.uvad")
    with pytest.raises(TypeError, match="IsolationForest"):
        save_model(IsolationForest(n_estimators=2).fit(X.features()), tmp_path / "iforest.uvad")
    model = tiny("feature_ae").fit(X)
    model.extra_ = object()
    with pytest.raises(TypeError, match="model.extra_"):
        save_model(model, tmp_path / "object.uvad")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written is left behind
