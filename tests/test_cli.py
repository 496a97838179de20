"""The ``unsupvad`` command line: a few runs as a user would (subprocesses), the rest in-process via main()."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _helpers import write_mot

from unsupvad import cli
from unsupvad.cli._demo import _demo_figure, demo_data
from unsupvad.datasets import make_synthetic_videos, read_mot_tracks
from unsupvad.metrics import evaluate
from unsupvad.persistence import load_model, read_model_info

TINY = ["--preset", "small", "--max-modules", "2", "--module-steps", "2", "--threads", "1", "--device", "cpu"]


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "unsupvad", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _main(capsys, *args):
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("unsupvad: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Generated videos written as a user's files: MOT tracks, a videos.csv, test frame masks, features."""
    root = tmp_path_factory.mktemp("data")
    X = make_synthetic_videos(9, n_frames=(160, 240), tracks="boxes", n_features=8, random_state=3)
    for sub in ("tracks", "gt", "features"):
        (root / sub).mkdir()
    rows = []
    for i, video in enumerate(X.videos):
        split = "train" if i < 6 else "test"
        write_mot(video, root / "tracks" / f"{video.name}.txt")
        np.save(root / "features" / f"{video.name}_i3d.npy", video.features)
        rows.append({"video": video.name, "split": split, "n_frames": video.n_frames,
                     "width": video.frame_size[0], "height": video.frame_size[1], "fps": video.fps})
        if split == "test":
            np.save(root / "gt" / f"{video.name}.npy", video.labels)
    pd.DataFrame(rows).to_csv(root / "videos.csv", index=False)
    return root, X


@pytest.fixture(scope="module")
def fitted_model(dataset):
    root, _ = dataset
    model = root / "model.uvad"
    status = cli.main(["fit", "--tracks", str(root / "tracks"), "--frames", str(root / "videos.csv"),
                       "--split", "train", "--out", str(model), *TINY])
    assert status == 0
    return model


# ---------------------------------------------------------------------- as a user runs it
def test_demo_writes_report_and_plot(tmp_path):
    result = _run("demo", "--videos", "6", "--max-modules", "1", "--device", "cpu", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "micro AUC" in result.stdout and "T_ws per module" in result.stdout
    report = json.loads((tmp_path / "demo_report.json").read_text())
    assert report["data"] == {**report["data"], "train_videos": 4, "test_videos": 2}
    for name in ("ws", "wocc", "speed_heuristic"):
        assert 0.0 <= report[name]["micro_auc"] <= 1.0 and 0.0 <= report[name]["eer"] <= 1.0
    assert report["n_modules"] == len(report["thresholds"]) == 1 and report["fit_seconds"] > 0
    png = tmp_path / "demo_scores.png"
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_data_splits_in_order_and_its_events_are_the_frame_labels():
    train, test, events = demo_data(9, seed=1, return_events=True)
    assert train.n_videos == 6 and test.n_videos == 3
    assert list(train.names) + list(test.names) == [f"synthetic_{i:03d}" for i in range(9)]
    for video in [*train.videos, *test.videos]:
        planted = np.zeros(video.n_frames, bool)
        for start, stop in events.loc[events["video"] == video.name, ["start", "stop"]].itertuples(index=False):
            planted[start:stop] = True
        np.testing.assert_array_equal(planted, video.labels.astype(bool))
    plain_train, _ = demo_data(9, seed=1)  # asking for the events changes no video
    for plain, video in zip(plain_train.videos, train.videos, strict=True):
        np.testing.assert_array_equal(plain.tracks.points, video.tracks.points)
    with pytest.raises(ValueError, match="at least 3 videos"):
        demo_data(2)


def test_demo_figure_shows_every_held_out_video_without_overlap():
    test = make_synthetic_videos(n_videos=4, tracks="boxes", features=False, random_state=3)
    rng = np.random.default_rng(0)
    scores = {name: [rng.random(v.n_frames) for v in test.videos] for name in ("ws", "wocc")}
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _demo_figure(test, scores)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert len(figure.axes) == 2 * test.n_videos
    titles = [ax.get_title() for ax in figure.axes]
    for video in test.videos:
        shown = [title for title in titles if title.startswith(f"{video.name} · ")]
        assert [title.split(" · ")[1] for title in shown] == ["WS (RTFM)", "wOCC (STGNF)"]
        expected = "frame AUC" if video.labels.any() else "no abnormal frame"
        assert all(expected in title for title in shown)
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()][0] == "anomaly score"
    boxes = [ax.get_window_extent(renderer) for ax in figure.axes]
    texts = [ax.title.get_window_extent(renderer) for ax in figure.axes] + [legend.get_window_extent(renderer)]
    for text in texts:
        assert not any(text.overlaps(box) for box in boxes)


def test_errors_are_one_line_and_nonzero(tmp_path, capsys):
    missing = _run("fit", "--tracks", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.uvad"))
    assert missing.returncode == 2 and "not found" in _one_error_line(missing.stderr)
    assert "Traceback" not in missing.stderr and not (tmp_path / "m.uvad").exists()
    # a usage error (argparse) is one line too
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", "--tracks", str(tmp_path), "--format", "csv", "--out", str(tmp_path / "m.uvad")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'csv'" in _one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------- fit, score, evaluate, plot
def test_cli_pipeline_names_its_steps_as_make_pipeline_does(fitted_model):
    from sklearn.pipeline import make_pipeline

    from unsupvad import InterleavedVAD, TrackSnippetFeatures

    model = load_model(fitted_model)
    python_twin = make_pipeline(TrackSnippetFeatures(), InterleavedVAD())
    assert list(model.named_steps) == list(python_twin.named_steps) == ["tracksnippetfeatures", "interleavedvad"]
    assert model.get_params()["interleavedvad__initial_ratio"] == 0.15


def test_fit_score_evaluate_on_mot_files(dataset, fitted_model, tmp_path, capsys):
    root, X = dataset
    test_names = [v.name for v in X.videos[6:]]
    info = read_model_info(fitted_model)["metadata"]["cli"]
    assert info["training_videos"] == [v.name for v in X.videos[:6]] and info["tracks_format"] == "mot"

    scores_csv = tmp_path / "scores.csv"
    status, out, err = _main(capsys, "score", fitted_model, root / "tracks", "--frames", root / "videos.csv",
                             "--split", "test", "--out", scores_csv, "--threads", "1")
    assert status == 0, err
    table = pd.read_csv(scores_csv, dtype={"video": str})
    assert list(table.columns) == ["video", "frame", "score"]
    assert list(table["video"].unique()) == test_names
    for video in X.videos[6:]:  # every frame once, 0-based
        frames = table.loc[table["video"] == video.name, "frame"].to_numpy()
        np.testing.assert_array_equal(frames, np.arange(video.n_frames))

    # the CSV holds what the loaded model gives on the same files
    test = read_mot_tracks(root / "tracks" / f"{test_names[0]}.txt", frame_size=X.videos[6].frame_size)
    expected = cli.score_videos(load_model(fitted_model), test)[0]
    np.testing.assert_allclose(table.loc[table["video"] == test_names[0], "score"], expected, rtol=1e-12)

    report_json = tmp_path / "metrics.json"
    status, out, err = _main(capsys, "evaluate", scores_csv, "--gt", root / "gt", "--json", report_json)
    assert status == 0, err
    assert "micro AUC" in out
    labels = [X.videos[i].labels for i in range(6, 9)]
    scores = [table.loc[table["video"] == n, "score"].to_numpy() for n in test_names]
    report = json.loads(report_json.read_text())
    assert report["micro_auc"] == pytest.approx(evaluate(labels, scores)["micro_auc"])
    assert report["n_frames"] == sum(len(lab) for lab in labels)


def test_score_objects_says_who_is_abnormal_per_detection(dataset, fitted_model, tmp_path, capsys):
    root, X = dataset
    objects_csv = tmp_path / "objects.csv"
    status, out, err = _main(capsys, "score", fitted_model, root / "tracks", "--frames", root / "videos.csv",
                             "--split", "test", "--out", tmp_path / "scores.csv", "--objects", objects_csv,
                             "--threads", "1")
    assert status == 0, err
    assert "detections" in out and "who is abnormal" in out
    table = pd.read_csv(objects_csv, dtype={"video": str})
    assert list(table.columns) == ["video", "frame", "track_id", "left", "top", "width", "height", "score"]
    model = load_model(fitted_model)
    for video in X.videos[6:]:
        rows = table[table["video"] == video.name]
        tracks = video.tracks
        assert len(rows) == len(tracks)  # every detection once
        # the MOT file's rows, 0-based frames, same boxes (written with 3 decimals)
        order = np.lexsort((tracks.track_id, tracks.frame))
        np.testing.assert_array_equal(rows["frame"], tracks.frame[order])
        np.testing.assert_array_equal(rows["track_id"], tracks.track_id[order])
        np.testing.assert_allclose(rows[["left", "top", "width", "height"]], tracks.boxes[order], atol=1e-3)
        one = read_mot_tracks(root / "tracks" / f"{video.name}.txt", frame_size=video.frame_size)
        (expected,) = model[-1].score_detections(model[:-1].transform(one))
        np.testing.assert_allclose(rows["score"], expected[np.lexsort((one.videos[0].tracks.track_id,
                                                                       one.videos[0].tracks.frame))], rtol=1e-9)
    assert table["score"].notna().mean() > 0.5


def test_score_objects_needs_a_wocc_over_tracks(dataset, tmp_path, capsys):
    root, _ = dataset
    model = tmp_path / "features.uvad"
    assert cli.main(["fit", "--features", str(root / "features"), "--frames", str(root / "videos.csv"), "--split",
                     "train", "--out", str(model), *TINY]) == 0
    capsys.readouterr()
    status, _, err = _main(capsys, "score", model, root / "features", "--frames", root / "videos.csv", "--split",
                           "test", "--out", tmp_path / "s.csv", "--objects", tmp_path / "o.csv")
    assert status == 2 and "--objects scores people" in _one_error_line(err)


def test_score_plots_and_training_plots(dataset, fitted_model, tmp_path, capsys):
    root, _ = dataset
    status, _, err = _main(capsys, "score", fitted_model, root / "tracks", "--frames", root / "videos.csv",
                           "--split", "test", "--out", tmp_path / "s.csv", "--plot", tmp_path / "plots",
                           "--gt", root / "gt", "--scorer", "wocc")
    assert status == 0, err
    assert len(list((tmp_path / "plots").glob("*.png"))) == 3
    status, _, err = _main(capsys, "plot", fitted_model, "--out", tmp_path / "history")
    assert status == 0, err
    for name in ("training_history.png", "thresholds.png", "training_losses.png"):
        assert (tmp_path / "history" / name).stat().st_size > 1000


def test_fit_on_feature_files_and_on_tracks_with_features(dataset, tmp_path, capsys):
    root, X = dataset
    frames = ["--frames", root / "videos.csv", "--split", "train"]
    status, _, err = _main(capsys, "fit", "--features", root / "features", *frames, "--ws", "mil",
                           "--out", tmp_path / "f.uvad", *TINY)
    assert status == 0, err
    model = load_model(tmp_path / "f.uvad")
    assert type(model.wocc_).__name__ == "FeatureAE" and type(model.ws_).__name__ == "MIL"
    status, _, err = _main(capsys, "score", tmp_path / "f.uvad", root / "features", "--out", tmp_path / "f.csv")
    assert status == 0, err
    assert pd.read_csv(tmp_path / "f.csv")["video"].nunique() == 9

    status, _, err = _main(capsys, "fit", "--tracks", root / "tracks", "--features", root / "features", *frames,
                           "--out", tmp_path / "tf.uvad", *TINY)
    assert status == 0, err
    both = load_model(tmp_path / "tf.uvad")
    assert type(both.wocc_).__name__ == "STGNF" and not hasattr(both, "steps")  # the WS reads the files


def test_input_errors(dataset, fitted_model, tmp_path, capsys):
    root, X = dataset
    cases = [
        (["fit", "--tracks", root / "tracks", "--out", tmp_path / "m.uvad"], "no frame size"),
        (["fit", "--tracks", root / "tracks", "--format", "rtfm", "--out", tmp_path / "m.uvad"], "--features"),
        (["fit", "--features", root / "tracks", "--out", tmp_path / "m.uvad"], "no .npy feature file"),
        (["fit", "--tracks", root / "tracks", "--frames", root / "videos.csv", "--split", "valid",
          "--out", tmp_path / "m.uvad"], "no video of split 'valid'"),
        (["score", root / "videos.csv", root / "tracks", "--out", tmp_path / "s.csv"], "not an unsupvad model"),
        (["score", fitted_model, root / "features", "--format", "rtfm", "--out", tmp_path / "s.csv"], "--format"),
        (["plot", tmp_path / "absent.uvad", "--out", tmp_path], "not found"),
    ]
    for args, message in cases:
        status, _, err = _main(capsys, *args)
        assert status == 2 and message in _one_error_line(err), (args, err)
    assert not (tmp_path / "m.uvad").exists()


def test_evaluate_refuses_mismatched_videos(dataset, tmp_path, capsys):
    root, X = dataset
    gt = root / "gt"
    video = X.videos[6]

    def write(rows):
        pd.DataFrame(rows, columns=["video", "frame", "score"]).to_csv(tmp_path / "s.csv", index=False)
        status, _, err = _main(capsys, "evaluate", tmp_path / "s.csv", "--gt", gt)
        assert status == 2
        return _one_error_line(err)

    full = {v.name: [(v.name, f, float(f % 7)) for f in range(v.n_frames)] for v in X.videos[6:]}
    everything = [row for rows in full.values() for row in rows]
    assert "no frame mask" in write(everything + [("stranger", 0, 0.5)])
    assert "no scores" in write([row for name, rows in full.items() if name != video.name for row in rows])
    short = write([r for r in everything if r != full[video.name][-1]])
    assert f"{video.n_frames - 1} scored frames" in short and "--frames TABLE" in short
    duplicated = everything + [full[video.name][0]]
    assert "once each" in write(duplicated)
    assert "finite" in write([(n, f, float("nan")) for n, f, _ in everything])

    # --scored-only evaluates the scored videos alone, and says how many masks it left out
    partial = [row for name, rows in full.items() if name != video.name for row in rows]
    pd.DataFrame(partial, columns=["video", "frame", "score"]).to_csv(tmp_path / "s.csv", index=False)
    status, out, err = _main(capsys, "evaluate", tmp_path / "s.csv", "--gt", gt, "--scored-only")
    assert status == 0, err
    assert out.startswith(f"{len(full) - 1} videos,") and "1 masked videos not scored, left out" in out


def test_help_explains_formats_and_conventions(capsys):
    for command in ([], ["fit"], ["score"], ["evaluate"], ["plot"], ["demo"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "usage: unsupvad" in text
        if command in ([], ["fit"], ["score"]):
            assert "1-based" in text and "_i3d.npy" in text and "AlphaPose" in text
        if command in ([], ["score"], ["evaluate"]):
            assert "0-based" in text and "higher = more abnormal" in text and "<video>.npy" in text
