"""Ctrl-C ends a fit (skorch would swallow it), leaves the estimator unfitted, and the CLI's outputs untouched."""

import sys

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from unsupvad import MIL, RTFM, STGNF, FeatureAE, InterleavedVAD, cli
from unsupvad.datasets import make_synthetic_videos
from unsupvad.models._base import InterruptibleNet

TINY = ["--preset", "small", "--max-modules", "2", "--module-steps", "2", "--threads", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def videos():
    return make_synthetic_videos(4, n_frames=(120, 160), tracks="boxes", n_features=8, random_state=0)


def labels_for(X):
    return (np.arange(len(X)) % 5 == 0).astype(int)


def interrupt_at_batch(monkeypatch, n: int) -> None:
    """Raise KeyboardInterrupt at the ``n``-th training batch of any unsupvad network, as a SIGINT would."""
    seen = {"batches": 0}
    original = InterruptibleNet.on_batch_begin

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            seen["batches"] += 1
            if seen["batches"] == n:
                raise KeyboardInterrupt
        return original(self, net, batch=batch, training=training, **kwargs)

    monkeypatch.setattr(InterruptibleNet, "on_batch_begin", on_batch_begin)


MODELS = [  # (id, estimator, fit arguments after X)
    ("stgnf", lambda: STGNF(layout="box5", n_flows=2, seg_len=12, max_epochs=2, device="cpu", random_state=0), False),
    ("feature_ae", lambda: FeatureAE(max_epochs=2, device="cpu", random_state=0), False),
    ("rtfm", lambda: RTFM(max_epochs=2, device="cpu", random_state=0), True),
    ("mil", lambda: MIL(max_epochs=2, device="cpu", random_state=0), True),
]


@pytest.mark.parametrize(("make", "needs_y"), [m[1:] for m in MODELS], ids=[m[0] for m in MODELS])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_interrupted_fit_raises_and_leaves_the_model_unfitted(videos, monkeypatch, make, needs_y, method):
    model = make()
    args = (videos, labels_for(videos)) if needs_y else (videos,)
    interrupt_at_batch(monkeypatch, 2 if method == "fit" else 1)
    with pytest.raises(KeyboardInterrupt):
        getattr(model, method)(*args)
    assert not [name for name in vars(model) if name.endswith("_") and not name.startswith("_")]
    with pytest.raises(NotFittedError):
        model.score_snippets(videos)


def test_interrupted_partial_fit_of_a_fitted_model_unfits_it(videos, monkeypatch):
    model = FeatureAE(max_epochs=1, device="cpu", random_state=0).fit(videos)
    interrupt_at_batch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(videos)
    with pytest.raises(NotFittedError):
        model.score_snippets(videos)


def test_interrupted_interleaving_leaves_it_unfitted(videos, monkeypatch):
    model = InterleavedVAD(FeatureAE(max_epochs=1), RTFM(), max_modules=2, max_module_steps=2, device="cpu",
                           random_state=0)
    interrupt_at_batch(monkeypatch, 3)  # inside the first step's WS epoch
    with pytest.raises(KeyboardInterrupt):
        model.fit(videos)
    for name in ("history_", "thresholds_", "module_models_", "offsets_"):
        assert not hasattr(model, name)
    with pytest.raises(NotFittedError):
        model.score_snippets(videos)


def test_a_completed_fit_is_unaffected(videos):
    """Without an interrupt the guarded fit trains as before (every epoch, deterministic)."""
    a = FeatureAE(max_epochs=2, device="cpu", random_state=0).fit(videos)
    b = FeatureAE(max_epochs=1, device="cpu", random_state=0).fit(videos).partial_fit(videos)
    assert a.n_epochs_ == b.n_epochs_ == 2
    np.testing.assert_array_equal(a.score_snippets(videos), b.score_snippets(videos))


# ---------------------------------------------------------------------- command line
@pytest.fixture()
def mot_folder(videos, tmp_path):
    """The videos' box tracks as MOTChallenge files (1-based frames), with their frame size in ``frames.csv``."""
    folder = tmp_path / "tracks"
    folder.mkdir()
    table = ["video,split,n_frames,width,height,fps"]
    for video in videos.videos:
        t = video.tracks
        rows = [f"{f + 1},{k},{x:.3f},{y:.3f},{w:.3f},{h:.3f},1,-1,-1,-1"
                for f, k, (x, y, w, h) in zip(t.frame, t.track_id, t.boxes)]
        (folder / f"{video.name}.txt").write_text("\n".join(rows) + "\n")
        table.append(f"{video.name},train,{video.n_frames},{video.frame_size[0]},{video.frame_size[1]},{video.fps}")
    (folder / "frames.csv").write_text("\n".join(table) + "\n")
    return folder


def fit_args(folder, out):
    return ["fit", "--tracks", str(folder), "--frames", str(folder / "frames.csv"), "--out", str(out), *TINY]


def test_cli_fit_interrupted_exits_130_and_keeps_the_previous_model(mot_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.uvad"
    out.write_bytes(b"the previous model")
    interrupt_at_batch(monkeypatch, 2)
    assert cli.main(fit_args(mot_folder, out)) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.uvad", "tracks"]  # no temporary file left


@pytest.mark.parametrize(("target", "words"), [
    ("a_file/model.uvad", "is a file, not a folder"),
    ("a_folder", "is a folder; give a file name"),
], ids=["parent-is-a-file", "out-is-a-folder"])
def test_cli_fit_refuses_an_unwritable_out_before_fitting(mot_folder, tmp_path, capsys, target, words):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    assert cli.main(fit_args(mot_folder, tmp_path / target)) == 2
    out, err = capsys.readouterr()
    assert words in err and "fitting on" not in out


def test_cli_score_refuses_a_plot_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "plots").write_text("x")
    status = cli.main(["score", str(tmp_path / "model.uvad"), str(tmp_path), "--out", str(tmp_path / "s.csv"),
                       "--plot", str(tmp_path / "plots")])
    assert status == 2
    assert "--plot" in capsys.readouterr().err


def test_cli_score_plot_without_matplotlib_is_refused_before_scoring(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status = cli.main(["score", str(tmp_path / "model.uvad"), str(tmp_path), "--out", str(tmp_path / "s.csv"),
                       "--plot", str(tmp_path / "plots")])
    assert status == 2
    assert 'pip install "unsupvad[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()  # refused before the model is even read


# ---------------------------------------------------------------------- scoring and the caller's random streams
@pytest.mark.parametrize(("make", "needs_y"), [m[1:] for m in MODELS], ids=[m[0] for m in MODELS])
def test_scoring_leaves_the_global_random_streams_alone(videos, make, needs_y):
    model = make().fit(*((videos, labels_for(videos)) if needs_y else (videos,)))
    for method in ("score_snippets", "decision_function"):
        torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (the global stream)
        getattr(model, method)(videos)
        assert torch.equal(torch.get_rng_state(), torch_state), method
        after = np.random.get_state()  # noqa: NPY002
        assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]


def test_cli_frames_table_names_the_line_of_a_bad_fps(mot_folder, tmp_path, capsys):
    table = mot_folder / "frames.csv"
    lines = table.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:-1] + ["abc"])
    table.write_text("\n".join(lines) + "\n")
    assert cli.main(fit_args(mot_folder, tmp_path / "m.uvad")) == 2
    assert "frames.csv (video 'synthetic_001'): line 3, column 'fps' must be a positive, finite number, got 'abc'" \
        in capsys.readouterr().err


# ---------------------------------------------------------------------- feature magnitudes
@pytest.mark.parametrize(("scale", "error"), [
    (1e12, None),                      # large but harmless: every model is scale-free or standardises
    (1e20, "beyond 1e\\+15"),          # would overflow float32 sums of squares: FeatureAE scored a constant
    (-1e20, "beyond 1e\\+15"),
], ids=["1e12-accepted", "1e20-refused", "minus-1e20-refused"])
def test_absurd_feature_magnitudes_are_refused_by_the_container(scale, error):
    from unsupvad import Video, VideoSet

    features = np.ones((5, 4), np.float32)
    features[3, 2] = scale
    if error is None:
        Video("v", 80, features=features)
        VideoSet.from_arrays(features[None])
        return
    with pytest.raises(ValueError, match=f"video 'v'.*at snippet 3, {error}.*rescale"):
        Video("v", 80, features=features)
    with pytest.raises(ValueError, match=error):
        VideoSet.from_arrays(features[None])



def test_a_real_sigint_inside_a_training_epoch_of_cli_fit(mot_folder, tmp_path, monkeypatch, capsys):
    """The signal itself (not a raised exception), delivered while a batch trains, as Ctrl-C delivers it."""
    import os
    import signal

    out = tmp_path / "model.uvad"
    out.write_bytes(b"the previous model")
    seen = {"batches": 0}
    original = InterruptibleNet.on_batch_begin

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        seen["batches"] += training
        if seen["batches"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Python raises KeyboardInterrupt at the next instruction
        return original(self, net, batch=batch, training=training, **kwargs)

    monkeypatch.setattr(InterruptibleNet, "on_batch_begin", on_batch_begin)
    # A process started in the background by a non-interactive shell inherits SIGINT ignored, and Python then
    # leaves it ignored: give the test Python's own handler, as an interactive run has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status = cli.main(fit_args(mot_folder, out))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.uvad", "tracks"]


# ---------------------------------------------------------------------- command-line conveniences
def test_cli_version(capsys):
    import unsupvad

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"unsupvad {unsupvad.__version__}"


def test_cli_unknown_split_lists_the_splits(mot_folder, tmp_path, capsys):
    args = fit_args(mot_folder, tmp_path / "m.uvad") + ["--split", "Train"]
    assert cli.main(args) == 2
    assert "no video of split 'Train'; the splits are 'train'" in capsys.readouterr().err


def test_cli_cuda_without_cuda_is_refused_before_any_work(mot_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = fit_args(mot_folder, tmp_path / "m.uvad")
    args[args.index("--device") + 1] = "cuda"
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert "--device cuda was given, but this machine has no usable CUDA GPU" in err and "fitting on" not in out


def test_cli_fit_writes_a_progress_line_per_step_to_a_log(mot_folder, tmp_path, capsys):
    """stderr is not a terminal here (as in a log file): one line per step, hence at least one per module."""
    from unsupvad.persistence import load_model

    out = tmp_path / "m.uvad"
    assert cli.main(fit_args(mot_folder, out)) == 0
    err = capsys.readouterr().err
    history = load_model(out)[-1].history_
    for record in history:
        assert f"fit: module {record['module']} step {record['step']} (T_ws {record['threshold']}):" in err
    assert "so far, at most" in err and f"of at most {2 * 2} steps" in err  # TINY: 2 modules x 2 steps
    assert cli.main([*fit_args(mot_folder, out), "--quiet"]) == 0
    assert "fit: module" not in capsys.readouterr().err
