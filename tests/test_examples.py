"""The examples run end to end (``--quick``) and save readable, non-blank plots.

Each example runs as a user would start it, ``python examples/<name>.py``, in
a subprocess with one torch thread. The quick runs are smoke runs: their AUCs
are checked to be well-formed and, where the quick setting has a wide margin,
better than chance.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unsupvad.datasets import load_official_layout, make_synthetic_videos

matplotlib_image = pytest.importorskip("matplotlib.image")

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHANGHAITECH = REPO.parent / "shared" / "data" / "shanghaitech-tracks"
FLOAT = r"(\d+\.\d+)"


def run_example(name: str, *args, expect_rc: int = 0) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == expect_rc, f"{name} exited with {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def check_png(path: Path) -> None:
    """A real plot: an RGB(A) image of plausible size, not one flat colour, with some ink on it."""
    assert path.is_file() and path.stat().st_size > 0, path
    image = matplotlib_image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4), image.shape
    assert min(image.shape[:2]) >= 150 and max(image.shape[:2]) <= 2000, image.shape
    rgb = image[..., :3]
    assert np.ptp(rgb) > 0.5, f"{path.name} is (almost) uniform"
    ink = (rgb.mean(axis=2) < 0.9).mean()
    assert 0.005 < ink < 0.9, f"{path.name}: {ink:.1%} of the pixels are dark"


def auc(output: str, pattern: str) -> float:
    match = re.search(pattern, output)
    assert match, f"{pattern!r} not found in:\n{output}"
    value = float(match.group(1))
    assert 0.0 <= value <= 1.0
    return value


def test_every_example_has_a_docstring_with_how_to_run_and_runtime():
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text()
        doc = re.match(r'\s*"""(.*?)"""', text, re.S)
        assert doc, f"{path.name} has no module docstring"
        assert f"python examples/{path.name}" in doc.group(1), path.name
        assert "Runtime" in doc.group(1) and "--quick" in doc.group(1), path.name


def test_quickstart(tmp_path):
    out = run_example("quickstart.py", "--quick", "--out", tmp_path)
    assert auc(out, rf"ws on 6 held-out videos: micro frame AUC {FLOAT}") >= 0.0
    assert auc(out, rf"wocc on 6 held-out videos: micro frame AUC {FLOAT}") > 0.65
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.png", "training.png"]
    for png in tmp_path.iterdir():
        check_png(png)


def test_own_model_registers_checks_interleaves_saves_and_loads():
    out = run_example("own_model.py", "--quick")
    assert "'gaussian_wocc']" in out and "'logistic_ws']" in out and "both pass unsupvad.testing" in out
    assert auc(out, rf"WS {FLOAT}") >= 0.0 and auc(out, rf"wOCC {FLOAT}") >= 0.0


def test_many_fits_on_a_local_dask_cluster_equal_the_default_backend():
    pytest.importorskip("distributed")
    out = run_example("many_fits_dask.py", "--quick")
    assert re.search(r"Dask: 2 workers at tcp://", out)
    assert "identical to the default backend: True" in out
    assert auc(out, rf"over 2 seeds: {FLOAT}") > 0.5


def test_own_tracker_mot_on_generated_mot_files(tmp_path):
    out = run_example("own_tracker_mot.py", "--quick", "--out", tmp_path)
    assert auc(out, rf"micro frame AUC {FLOAT}") > 0.75
    scores = np.genfromtxt(tmp_path / "scores.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert scores.dtype.names == ("video", "frame", "score")
    names = sorted(set(scores["video"]))
    assert len(names) == 10
    for name in names:
        frames = scores["frame"][scores["video"] == name]
        np.testing.assert_array_equal(frames, np.arange(len(frames)))  # 0-based, every frame once
    assert np.isfinite(scores["score"]).all()
    plots = sorted((tmp_path / "plots").iterdir())
    assert [p.stem for p in plots] == names
    check_png(plots[0])


def test_own_tracker_mot_on_a_users_folder_without_frame_table(tmp_path):
    """--tracks with --frame-size only: frame counts come from the files, no masks, no AUC."""
    X = make_synthetic_videos(6, n_frames=(160, 200), tracks="boxes", features=False, random_state=5)
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    last_frame = {}
    for video in X.videos:
        t = video.tracks
        rows = np.column_stack([t.frame + 1, t.track_id, t.boxes])  # 6 columns, space separated
        np.savetxt(tracks / f"cam_{video.name}.txt", rows, fmt=["%d", "%d", "%.1f", "%.1f", "%.1f", "%.1f"])
        last_frame[f"cam_{video.name}"] = int(t.frame.max()) + 1
    out_dir = tmp_path / "out"
    missing = run_example("own_tracker_mot.py", "--tracks", tracks, "--out", out_dir, expect_rc=1)
    assert "frame size is needed" in missing
    out = run_example("own_tracker_mot.py", "--tracks", tracks, "--frame-size", "856x480", "--quick",
                      "--out", out_dir)
    assert "AUC" not in out
    scores = np.genfromtxt(out_dir / "scores.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    counts = {name: int((scores["video"] == name).sum()) for name in set(scores["video"])}
    assert counts == last_frame
    assert len(list((out_dir / "plots").glob("*.png"))) == 6


def test_official_layout(tmp_path):
    out = run_example("official_layout.py", "--quick", "--out", tmp_path)
    assert "train: 8 videos" in out and "test: 4 videos, with frame masks" in out
    assert auc(out, rf"wOCC \(STG-NF protocol\) {FLOAT}") > 0.7
    auc(out, rf"WS \(RTFM protocol, 16 x T frames\) {FLOAT}")
    (png,) = tmp_path.glob("*.png")
    check_png(png)


def test_official_layout_writer_round_trips_through_the_loader(tmp_path):
    """The generated folder reads back as the generated videos (the neck is rebuilt from the shoulders)."""
    spec = importlib.util.spec_from_file_location("official_layout_example", EXAMPLES / "official_layout.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.write_official_layout(tmp_path, 6, seed=3)
    X = make_synthetic_videos(6, n_frames=(160, 240), tracks="keypoints", n_crops=10, n_features=64, random_state=3)
    train, test = load_official_layout(tmp_path, "train"), load_official_layout(tmp_path, "test")
    assert train.names + test.names == X.names and not train.has_labels and test.has_labels
    for original, loaded in zip(X.videos, train.videos + test.videos):
        assert loaded.n_frames == original.n_frames
        np.testing.assert_array_equal(loaded.features, original.features.astype(np.float32))
        a, b = original.tracks, loaded.tracks
        np.testing.assert_array_equal(a.frame, b.frame)
        np.testing.assert_array_equal(a.track_id, b.track_id)
        body = [j for j in range(18) if j != 1]  # OpenPose-18 joint 1 is the neck, absent from COCO-17
        np.testing.assert_allclose(b.points[:, body], a.points[:, body], atol=0.01)
        np.testing.assert_allclose(b.points[:, 1], (b.points[:, 2] + b.points[:, 5]) / 2, atol=1e-4)
    for original, loaded in zip(X.videos[4:], test.videos):
        np.testing.assert_array_equal(loaded.labels, original.labels)


def test_variants_and_grid_search(tmp_path):
    out = run_example("variants_and_grid_search.py", "--quick", "--out", tmp_path)
    for variant in ("unsupervised", "weakly supervised", "one-class", "no soft weights", "fixed threshold"):
        auc(out, rf"{variant}[^\n]*WS {FLOAT}")
    assert re.search(r"chosen R = 0\.[13],", out), out
    assert "nan" not in out.split("validation frame AUC")[1]
    check_png(tmp_path / "variants.png")


def test_shanghaitech_tracks_without_data_says_where_and_exits_0(tmp_path):
    out = run_example("shanghaitech_tracks.py", "--root", tmp_path / "absent", "--out", tmp_path)
    assert "not found" in out and str(tmp_path / "absent") in out
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.realdata
@pytest.mark.skipif(not (SHANGHAITECH / "videos.csv").is_file(), reason=f"{SHANGHAITECH} is absent")
def test_shanghaitech_tracks_quick(tmp_path):
    out = run_example("shanghaitech_tracks.py", "--quick", "--out", tmp_path)
    assert "loaded 24 training and 20 test videos" in out
    for name in ("WS \\(RTFM\\)", "wOCC \\(STG-NF\\)", "speed heuristic \\(no training\\)"):
        auc(out, rf"{name}: {FLOAT}")
    (png,) = tmp_path.glob("*.png")
    check_png(png)


def test_from_video_reads_back_every_file_it_writes_and_draws_the_most_abnormal_person(tmp_path):
    pytest.importorskip("av")
    pytest.importorskip("trackers")
    from unsupvad.datasets import read_alphapose_json, read_mot_tracks, read_rtfm_features
    from unsupvad.video import draw_boxes, read_frames, score_colours
    from unsupvad.video._overlay import HIGH_COLOUR

    out = run_example("from_video.py", "--quick", "--out", tmp_path)
    assert auc(out, rf"micro frame AUC {FLOAT}") > 0.6  # measured 0.865 at seed 0
    videos = sorted(p.stem for p in (tmp_path / "videos").glob("*.mkv"))
    assert len(videos) == 6
    assert sorted(read_rtfm_features(tmp_path / "features").names) == videos
    assert sorted(read_mot_tracks(tmp_path / "people" / "tracks").names) == videos
    poses = read_alphapose_json(tmp_path / "people" / "poses")
    assert sorted(poses.names) == videos and all(v.tracks.points.shape[1:] == (18, 3) for v in poses.videos)

    people = pd.read_csv(tmp_path / "objects.csv", dtype={"video": str})
    assert list(people.columns) == ["video", "frame", "track_id", "left", "top", "width", "height", "score"]
    top = people.loc[people["score"].idxmax()]
    one_video = people[people["video"] == top["video"]]
    image = read_frames(tmp_path / "overlay.png")[0]
    frame = read_frames(tmp_path / "videos" / f"{top['video']}.mkv")[int(top["frame"])]
    rows = one_video[one_video["frame"] == top["frame"]]
    colours = score_colours(rows["score"], one_video["score"].min(), one_video["score"].max())
    assert np.array_equal(image, draw_boxes(frame, rows[["left", "top", "width", "height"]].to_numpy(), colours))
    left, upper = int(round(top["left"])), int(round(top["top"]))
    assert np.array_equal(image[upper, left], HIGH_COLOUR.astype(np.uint8))  # the top person's box is red
    clip = read_frames(tmp_path / "overlay.mkv")
    assert clip.shape[1:] == image.shape and 1 < len(clip) <= 48
