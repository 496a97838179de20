"""Jigsaw: video files in the container, cubes step by step, the puzzles, the weighted loss, the contract, the cache."""

import csv
import math
import os

import joblib
import numpy as np
import pytest
import torch
from _helpers import write_mot

pytest.importorskip("av")

from unsupvad import RTFM, InterleavedVAD, Jigsaw, Tracks, Video, VideoSet, cli  # noqa: E402
from unsupvad.datasets import read_video_table, read_videos  # noqa: E402
from unsupvad.models import _jigsaw, get_model, list_models, model_tags  # noqa: E402
from unsupvad.models._cubes import (  # noqa: E402
    GREY_WEIGHTS,
    crop_squares,
    cube_crop,
    object_cubes,
    resize_square,
    to_grey,
    video_cubes,
)
from unsupvad.models._jigsaw_network import (  # noqa: E402
    PuzzleDataset,
    WeightedPuzzleLoss,
    identity_confidence,
    puzzle_losses,
    random_orders,
    shuffle_cubes,
    to_tiles,
    unshuffle_cubes,
)
from unsupvad.persistence import load_model, save_model  # noqa: E402
from unsupvad.testing import check_wocc  # noqa: E402
from unsupvad.video import write_video, write_video_table  # noqa: E402

WIDTH, HEIGHT = 96, 64


def small(**changes):
    """A Jigsaw small enough for a test: 24-pixel cubes, a narrow network, short epochs."""
    params = dict(cube_size=24, channels=(4, 8), hidden=16, batch_size=32, max_epochs=1, min_iterations=2,
                  stride=4, score_stride=4, smoothing_sigmas=(1,), device="cpu", random_state=0)
    return Jigsaw(**{**params, **changes})


def square_frames(n_frames, seed, abnormal=False):
    """Two squares moving right over a noisy background (one twice as fast); their boxes; abnormal: a jump."""
    rng = np.random.default_rng(seed)
    frames = (rng.integers(70, 110, (n_frames, HEIGHT, WIDTH, 1)) * np.ones(3, np.int64)).astype(np.uint8)
    rows = []
    for track, (top, speed, colour) in enumerate([(6, 1, (220, 60, 40)), (34, 2, (40, 200, 90))]):
        for f in range(n_frames):
            left = (2 + speed * f + (int(rng.integers(-20, 20)) if abnormal and f % 5 == 0 else 0)) % (WIDTH - 18)
            frames[f, top: top + 18, left: left + 18] = colour
            frames[f, top + 6: top + 12, left + 6: left + 12] = 255  # an inner mark: tiles differ
            rows.append((f, track, left, top, 18, 18))
    return frames, np.array(rows, np.float64)


def square_video(folder, name, n_frames=60, seed=0, abnormal=False, features=8):
    """A lossless video file and its Video (box tracks, random features, the file)."""
    frames, rows = square_frames(n_frames, seed, abnormal)
    path = write_video(folder / f"{name}.mkv", frames, fps=25)
    tracks = Tracks.from_boxes(rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2:])
    feats = np.random.default_rng(seed).normal(size=(math.ceil(n_frames / 16), features)).astype(np.float32)
    return Video(name, n_frames, fps=25.0, frame_size=(WIDTH, HEIGHT), tracks=tracks, features=feats,
                 video_file=path)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("squares")
    return VideoSet([square_video(folder, f"v{i}", seed=i, abnormal=i == 3) for i in range(4)])


@pytest.fixture(scope="module")
def fitted(videos):
    return small(max_epochs=2).fit(videos)


# ---------------------------------------------------------------------- the container and the tables
def test_video_file_is_a_path_carried_by_every_copy(videos, tmp_path):
    video = Video("a", 10, video_file=str(tmp_path / "a.mkv"))
    assert video.video_file == tmp_path / "a.mkv" and video.replace(n_frames=12).video_file == video.video_file
    for bad in (3, "", b"a.mkv"):
        with pytest.raises(ValueError, match="video 'a': video_file must be"):
            Video("a", 10, video_file=bad)
    subset = videos[np.arange(len(videos))[::-1][:5]]
    assert [v.video_file for v in subset.videos] == [v.video_file for v in videos.videos if v.name in subset.names]
    assert videos.with_scenes(lambda name: "s").videos[0].video_file == videos.videos[0].video_file
    assert videos.select_videos(["v2"]).videos[0].video_file == videos.videos[2].video_file
    moved = videos[:3].with_video_files({name: tmp_path / f"{name}.avi" for name in videos.names})
    assert moved.videos[0].video_file == tmp_path / "v0.avi" and len(moved) == 3
    assert videos.with_video_files(lambda name: None).videos[0].video_file is None
    with pytest.raises(ValueError, match="video 'v1': has no video file in the mapping"):
        videos.with_video_files({"v0": "x.mkv"})


def test_the_video_table_reads_and_writes_video_files(videos, tmp_path):
    table = tmp_path / "tables" / "videos.csv"
    table.parent.mkdir()
    absolute = tmp_path / "elsewhere.mp4"
    table.write_text(f"video,n_frames,video_file\na,10,clips/a.mkv\nb,12,{absolute}\nc,7,\n")
    info = read_video_table(table)
    assert info["a"].video_file == table.parent / "clips" / "a.mkv"
    assert info["b"].video_file == absolute and info["c"].video_file is None
    assert read_video_table(_table(tmp_path, "video,n_frames\na,10\n"))["a"].video_file is None  # old tables

    class Record:
        def __init__(self, name, video):
            self.name, self.video, self.n_frames, self.width, self.height, self.fps = name, video, 60, 96, 64, 25.0

    records = [Record("v0", videos.videos[0].video_file), Record("gone", tmp_path / "gone.mkv"), Record("x", None)]
    written = read_video_table(write_video_table(records, tmp_path / "written.csv"))
    assert written["v0"].video_file == videos.videos[0].video_file.resolve()
    assert written["gone"].video_file is None and written["x"].video_file is None


def _table(folder, text):
    path = folder / "t.csv"
    path.write_text(text)
    return path


def test_read_videos_applies_the_table_video_files(videos, tmp_path):
    (tmp_path / "tracks").mkdir()
    rows = [("video", "n_frames", "width", "height", "video_file")]
    for video in videos.videos:
        write_mot(video, tmp_path / "tracks" / f"{video.name}.txt")
        rows.append((video.name, video.n_frames, WIDTH, HEIGHT, str(video.video_file) if video.name != "v3" else ""))
    with open(tmp_path / "videos.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    X = read_videos(tmp_path / "tracks", videos=read_video_table(tmp_path / "videos.csv"))
    assert [v.video_file for v in X.videos] == [v.video_file for v in videos.videos[:3]] + [None]


# ---------------------------------------------------------------------- cubes, step by step
def test_crop_squares_enlarge_square_and_stay_inside_the_frame():
    boxes = np.array([[10, 20, 8, 16],     # side 16 * 1.5 = 24 around the centre (14, 28)
                      [90, 50, 10, 10],    # near the bottom-right corner: shifted inside
                      [-5, 10, 200, 30]])  # longer than the frame: the frame's shorter side
    squares = crop_squares(boxes, (WIDTH, HEIGHT), margin=0.25)
    # centre (95, 55): left 87.5 rounds to 88, then moves in to 81; top 47.5 rounds (half to even) to 48
    # the long box: centre x 95 - 32 = 63, moved in to WIDTH - 64 = 32
    np.testing.assert_array_equal(squares, [[2, 16, 24], [WIDTH - 15, 48, 15], [WIDTH - HEIGHT, 0, HEIGHT]])


def test_grey_and_resize_on_known_values():
    assert to_grey(np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 10, 10]], np.uint8)) == \
        pytest.approx([255 * w for w in GREY_WEIGHTS] + [10.0], abs=1e-4)
    grey = np.array([[0, 100], [100, 200]], np.float32)
    # bilinear with half-pixel centres: sample points -0.25, 0.25, 0.75, 1.25, clamped to the edges
    np.testing.assert_array_equal(resize_square(grey, 4)[0], [0, 25, 75, 100])
    np.testing.assert_array_equal(resize_square(grey, 4)[:, 0], [0, 25, 75, 100])
    blocks = np.kron(np.array([[10, 50], [90, 130]], np.float32), np.ones((2, 2), np.float32))
    blocks[0, 0] = 14  # a 4 x 4 image down to 2 x 2 reads the mean of each 2 x 2 block (no antialiasing needed)
    np.testing.assert_array_equal(resize_square(blocks, 2), [[11, 50], [90, 130]])


def test_cubes_read_the_right_frames_and_region(tmp_path):
    """Frame f is a horizontal ramp plus 3 f: a cube's pixels tell which frame and which columns they came from."""
    n = 20
    ramp = np.tile(np.arange(WIDTH, dtype=np.uint8), (HEIGHT, 1))
    frames = np.stack([np.repeat((ramp + 3 * f)[..., None], 3, axis=2) for f in range(n)]).astype(np.uint8)
    path = write_video(tmp_path / "ramp.mkv", frames)
    detected = np.array([0, 1, 2, 4, 5, 6, 7, 9, 10, 11])  # frames 3 and 8 missing
    boxes = np.tile([30.0, 10.0, 12.0, 20.0], (len(detected), 1)) + np.arange(len(detected))[:, None] * [1, 0, 0, 0]
    video = Video("ramp", n, frame_size=(WIDTH, HEIGHT), video_file=path,
                  tracks=Tracks.from_boxes(detected, np.zeros(len(detected), int), boxes))
    X = VideoSet([video])
    objects = X.objects(seg_len=7, stride=3, max_missing=1)
    cubes = object_cubes(X, objects, margin=0.1, cube_size=16)
    assert cubes.shape == (len(objects), 7, 16, 16) and cubes.dtype == np.uint8
    for i in range(len(objects)):
        centre = boxes[objects.rows[i, 3]]
        square = crop_squares(centre[None], (WIDTH, HEIGHT), 0.1)[0]
        assert square[2] == 24  # the longer side 20, plus 10 % of it on each side
        for t, f in enumerate(detected[objects.rows[i]]):  # the detections' frames, in order, gaps included
            np.testing.assert_array_equal(cubes[i, t], cube_crop(frames[f], square, 16))
    first = detected[objects.rows[0]]
    np.testing.assert_array_equal(cubes[0, :, 5, 5] - cubes[0, 0, 5, 5], 3 * (first - first[0]))


def test_pose_tracks_crop_their_keypoints_extent(videos):
    video = videos.videos[0]
    corners = video.tracks.points
    joints = np.concatenate([corners, corners.mean(axis=1, keepdims=True)], axis=1)  # corners + the centre
    poses = video.replace(tracks=Tracks(video.tracks.frame, video.tracks.track_id, joints, kind="keypoints"))
    as_boxes, as_poses = VideoSet([video]), VideoSet([poses])
    np.testing.assert_array_equal(object_cubes(as_poses, as_poses.objects(7, 20, 0), 0.1, 16),
                                  object_cubes(as_boxes, as_boxes.objects(7, 20, 0), 0.1, 16))


# ---------------------------------------------------------------------- the puzzles and the loss
def test_shuffling_puts_original_pieces_at_the_drawn_positions_and_undoes_exactly():
    torch.manual_seed(0)
    grid, tile, n, t = 3, 2, 5, 7
    cubes = torch.randint(0, 256, (n, t, grid * tile, grid * tile), dtype=torch.uint8)
    frame_order, tile_order = random_orders(n, t), random_orders(n, grid * grid)
    assert all(sorted(o.tolist()) == list(range(t)) for o in frame_order)
    shuffled = shuffle_cubes(cubes, frame_order, tile_order, grid)
    for i in range(n):
        for pos in range(t):
            for p in range(grid * grid):
                assert torch.equal(to_tiles(shuffled, grid)[i, pos, p],
                                   to_tiles(cubes, grid)[i, frame_order[i, pos], tile_order[i, p]])
    assert torch.equal(unshuffle_cubes(shuffled, frame_order, tile_order, grid), cubes)
    identity = torch.arange(t).repeat(n, 1), torch.arange(grid * grid).repeat(n, 1)
    assert torch.equal(shuffle_cubes(cubes, *identity, grid), cubes)


def test_the_loss_is_the_cross_entropy_of_each_objects_own_puzzle_weighed_by_its_sample_weight():
    torch.manual_seed(1)
    n, t, g = 4, 7, 9
    temporal = torch.randn(n, t, t, requires_grad=True)
    spatial = torch.randn(n, g, g, requires_grad=True)
    frame_order, tile_order = random_orders(n, t), random_orders(n, g)
    is_temporal = torch.tensor([True, False, True, False])
    per_object = puzzle_losses(temporal, spatial, frame_order, tile_order, is_temporal)
    by_hand = [torch.nn.functional.cross_entropy(temporal[i], frame_order[i]) if is_temporal[i]
               else torch.nn.functional.cross_entropy(spatial[i], tile_order[i]) for i in range(n)]
    torch.testing.assert_close(per_object, torch.stack(by_hand))
    weight = torch.tensor([0.5, 0.0, 2.0, 1.0])
    loss = WeightedPuzzleLoss()(temporal, spatial, frame_order, tile_order, is_temporal, weight)
    torch.testing.assert_close(loss, (weight * per_object).sum() / 3)
    loss.backward()
    assert temporal.grad[1].abs().sum() == 0 and spatial.grad[1].abs().sum() == 0
    assert temporal.grad[[0, 2]].abs().sum(dim=(1, 2)).min() > 0 and spatial.grad[3].abs().sum() > 0
    assert temporal.grad[3].abs().sum() == 0 and spatial.grad[[0, 2]].abs().sum() == 0  # only its own puzzle
    ones = WeightedPuzzleLoss()(temporal, spatial, frame_order, tile_order, is_temporal, torch.ones(n))
    torch.testing.assert_close(ones, per_object.mean())


def test_each_training_cube_gets_one_puzzle_its_frames_or_its_tiles_shuffled():
    grid, tile, n, t = 3, 2, 400, 7
    cubes = torch.randint(0, 256, (n, t, grid * tile, grid * tile), dtype=torch.uint8)
    torch.manual_seed(3)
    batch, _ = PuzzleDataset(cubes, torch.ones(n), grid)[torch.arange(n)]
    temporal = batch["temporal"]
    assert 0.4 < temporal.float().mean() < 0.6
    assert (batch["tile_order"][temporal] == torch.arange(grid * grid)).all()
    assert (batch["frame_order"][~temporal] == torch.arange(t)).all()
    assert (batch["frame_order"][temporal] != torch.arange(t)).any(dim=1).float().mean() > 0.99


def test_the_confidence_is_the_true_positions_least_or_mean_probability():
    frames = torch.full((1, 3, 3), 0.1)
    frames[0].fill_diagonal_(0.8)
    frames[0, 2] = torch.tensor([0.3, 0.3, 0.4])  # frame position 2: its true frame gets 0.4
    tiles = torch.full((1, 4, 4), 0.1)
    tiles[0].fill_diagonal_(0.7)

    def network(x):
        return frames.log(), tiles.log()

    np.testing.assert_allclose(identity_confidence(network, None), [0.4], rtol=1e-6)
    np.testing.assert_allclose(identity_confidence(network, None, "mean"), [(0.8 + 0.8 + 0.4 + 4 * 0.7) / 7],
                               rtol=1e-6)


# ---------------------------------------------------------------------- the model
def test_jigsaw_is_registered_and_declares_it_reads_frames():
    assert get_model("jigsaw") is Jigsaw and "jigsaw" in list_models("wocc")
    tags = model_tags(Jigsaw)
    assert tags.role == "wocc" and tags.reads == "tracks" and tags.needs_frames and not tags.needs_frame_size


def test_jigsaw_keeps_the_wocc_contract(videos):
    check_wocc(small(), videos)


def test_scores_map_objects_as_stgnf_does(fitted, videos):
    objects = fitted.scoring_objects(videos)
    scores = fitted.score_objects(videos, objects)
    assert scores.shape == (len(objects),) and ((scores >= 0) & (scores <= 1)).all()
    snippets = videos.objects_to_snippets(objects, scores, reduce="mean", rule="touch")
    np.testing.assert_array_equal(fitted.score_snippets(videos), np.where(np.isnan(snippets), scores.min(), snippets))
    frames = videos.objects_to_frames(objects, scores, reduce="max", placement="centre", fill_value=scores.min())
    assert all(np.allclose(a, fitted._smooth(b)) for a, b in zip(fitted.score_frames(videos), frames))
    detections = fitted.score_detections(videos)
    assert [len(d) for d in detections] == [len(v.tracks) for v in videos.videos]


def test_scores_do_not_depend_on_the_batch(fitted, videos, monkeypatch):
    objects = fitted.scoring_objects(videos)
    scores = fitted.score_objects(videos, objects)
    part = np.arange(len(objects))[::3]
    np.testing.assert_allclose(fitted.score_objects(videos, objects.subset(part)), scores[part], rtol=1e-7)
    monkeypatch.setattr(_jigsaw, "_SCORE_BATCH", 7)
    np.testing.assert_allclose(fitted.score_objects(videos, objects), scores, rtol=1e-7)
    monkeypatch.setattr(_jigsaw, "_CACHE_BYTES", 0)  # scoring cubes built and scored video by video
    fitted._videoset_cache().clear()
    np.testing.assert_allclose(fitted.score_objects(videos, objects), scores, rtol=1e-7)


def test_the_cubes_are_decoded_once_for_the_steps_of_a_fit(videos, monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(len(args[1]))
        return object_cubes(*args, **kwargs)

    monkeypatch.setattr(_jigsaw, "object_cubes", counting)
    model = small(score_stride=4)
    for _ in range(3):
        model.partial_fit(videos, sample_weight=np.ones(len(model.training_objects(videos))))
    model.score_snippets(videos)  # the same windows (stride 4 both): no decoding
    assert calls == [len(model.training_objects(videos))] and model.n_epochs_ == 3
    model.score_snippets(videos[:10])  # another set of windows: decoded once, then kept
    model.score_frames(videos[:10])
    assert len(calls) == 2
    model._videoset_cache().clear()
    model.score_snippets(videos)
    assert len(calls) == 3


@pytest.mark.filterwarnings("ignore::unsupvad.DegenerateLoopWarning")
def test_interleaved_with_rtfm_fits_and_scores(videos):
    model = InterleavedVAD(small(), RTFM(branch_dim=8, head_dims=(8, 4), iterations_per_epoch=2, device="cpu"),
                           max_modules=2, module_steps=2, device="cpu", random_state=0).fit(videos)
    assert model.n_modules_ >= 1 and isinstance(model.wocc_, Jigsaw)
    assert not model.wocc_._videoset_cache()._entries  # a finished module keeps no cubes
    for scorer in ("wocc", "ws"):
        frames = model.set_params(scorer=scorer).score_frames(videos)
        assert [len(f) for f in frames] == list(videos.n_frames) and all(np.isfinite(f).all() for f in frames)
    assert model.score_snippets(videos).shape == (len(videos),)


def test_round_trips_score_identically(fitted, videos, tmp_path):
    expected = fitted.score_snippets(videos)
    loaded = load_model(save_model(fitted, tmp_path / "jigsaw.uvad"))
    np.testing.assert_array_equal(loaded.score_snippets(videos), expected)
    assert loaded.get_params() == fitted.get_params() and loaded.n_epochs_ == fitted.n_epochs_
    joblib.dump(fitted, tmp_path / "jigsaw.joblib")
    again = joblib.load(tmp_path / "jigsaw.joblib")
    assert not again._videoset_cache()._entries  # the cubes are not pickled
    np.testing.assert_array_equal(again.score_snippets(videos), expected)


# ---------------------------------------------------------------------- bad input
def test_videos_without_a_readable_file_are_refused_with_their_name(videos, tmp_path):
    without = videos.with_video_files({"v0": videos.videos[0].video_file, "v1": None, "v2": None, "v3": None})
    with pytest.raises(ValueError, match="Jigsaw reads frames: video 'v1' has no video_file"):
        small().fit(without)
    with pytest.raises(ValueError, match="Jigsaw reads frames: video 'v1' has no video_file"):
        InterleavedVAD(small(), RTFM(device="cpu"), device="cpu").fit(without)
    missing = videos.with_video_files(lambda name: tmp_path / f"{name}.mkv")
    with pytest.raises(FileNotFoundError, match="the video_file of video 'v0' is not a file"):
        small().fit(missing)
    (tmp_path / "v0.mkv").write_bytes(b"not a video at all" * 100)
    broken = VideoSet([videos.videos[0].replace(video_file=tmp_path / "v0.mkv")])
    with pytest.raises(ValueError, match="video 'v0': .*cannot read the video"):
        small().fit(broken)


def test_a_file_that_does_not_match_the_tracks_is_refused(videos, tmp_path):
    video = videos.videos[0]
    wrong_size = VideoSet([video.replace(frame_size=(WIDTH + 2, HEIGHT))])
    with pytest.raises(ValueError, match=r"video 'v0': frame_size \(98, 64\), but its video_file"):
        small().fit(wrong_size)
    short = write_video(tmp_path / "short.mkv", square_frames(30, 0)[0])
    with pytest.raises(ValueError, match="video 'v0': its video_file .* holds 30 frames, but its tracks reach"):
        video_cubes(video.replace(video_file=short), VideoSet([video]).objects(7, 4, 0), 0.1, 16)


@pytest.mark.filterwarnings("ignore::unsupvad.DegenerateLoopWarning")
def test_the_command_line_asks_for_video_files(videos, tmp_path, capsys):
    (tmp_path / "tracks").mkdir()
    (tmp_path / "features").mkdir()
    for video in videos.videos:
        write_mot(video, tmp_path / "tracks" / f"{video.name}.txt")
        np.save(tmp_path / "features" / f"{video.name}_i3d.npy", video.features)
    table = tmp_path / "videos.csv"
    table.write_text("video,n_frames,width,height\n" + "".join(f"{v.name},{v.n_frames},{WIDTH},{HEIGHT}\n"
                                                             for v in videos.videos))
    args = ["fit", "--tracks", tmp_path / "tracks", "--features", tmp_path / "features", "--frames", table,
            "--wocc", "jigsaw", "--out", tmp_path / "m.uvad", "--max-modules", "1", "--module-steps", "1",
            "--device", "cpu"]
    assert cli.main([str(a) for a in args]) != 0
    assert "Jigsaw reads frames: video 'v0' has no video_file" in capsys.readouterr().err
    assert not (tmp_path / "m.uvad").exists()
    with open(table, "w", newline="") as f:  # the files, relative to the table's folder
        csv.writer(f).writerows([("video", "n_frames", "width", "height", "video_file")] + [
            (v.name, v.n_frames, WIDTH, HEIGHT, os.path.relpath(v.video_file, tmp_path))
            for v in videos.videos])
    assert cli.main([str(a) for a in args + ["--threads", "1"]]) == 0
    assert isinstance(load_model(tmp_path / "m.uvad").wocc_, Jigsaw)
