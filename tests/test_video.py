"""unsupvad.video: decoding video files, the I3D recipe step by step, the extraction loop, resume and the CLI."""

import math
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("av")

from unsupvad import cli  # noqa: E402
from unsupvad.datasets import read_rtfm_features, read_video_table  # noqa: E402
from unsupvad.video import (  # noqa: E402
    CROP_NAMES,
    KINETICS_MEAN,
    KINETICS_STD,
    I3DRecipe,
    TinyClipNet,
    VideoReader,
    crop_clips,
    crop_origins,
    extract_features,
    frames_to_tensor,
    iter_frame_chunks,
    list_videos,
    load_extractor,
    normalize,
    read_frames,
    read_video_info,
    resize_shorter_side,
    resized_size,
    snippet_frame_indices,
    write_video,
    write_video_table,
)
from unsupvad.video._decode import require_av  # noqa: E402

SMALL = I3DRecipe(shorter_side=32, crop_size=24)  # 64 x 48 frames become 43 x 32, crops 24 x 24


def moving_square(n_frames, width=64, height=48, seed=0):
    """Frames of a bright square moving right over a noisy grey background."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(60, 120, (n_frames, height, width, 3), dtype=np.uint8)
    for i in range(n_frames):
        left = i % (width - 10)
        frames[i, 10:20, left : left + 10] = (250, 200, 40)
    return frames


@pytest.fixture
def videos(tmp_path):
    """Two lossless videos: 40 frames (a partial last snippet) and 48 frames (three whole snippets)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    return {"walk": write_video(folder / "walk.mkv", moving_square(40), fps=25),
            "run": write_video(folder / "run.avi", moving_square(48, seed=1), fps=10)}


class CountingExtractor:
    """Mean colour of every clip (D = 3) and, as D - 3 extra zeros, a chosen size; it records every batch."""

    def __init__(self, n_features=3):
        self.n_features = n_features
        self.batches = []

    def __call__(self, clips):
        self.batches.append(tuple(clips.shape))
        means = clips.mean(dim=(2, 3, 4))
        return torch.cat([means, torch.zeros(len(clips), self.n_features - 3)], dim=1)


# ---------------------------------------------------------------------- decoding
def test_a_lossless_video_reads_back_frame_for_frame_with_its_fps(tmp_path):
    frames = moving_square(45)
    path = write_video(tmp_path / "v.mkv", frames, fps=30)
    assert np.array_equal(read_frames(path), frames)
    info = read_video_info(path)
    assert (info.n_frames, info.width, info.height, info.fps, info.name) == (45, 64, 48, 30.0, "v")


def test_a_lossy_codec_keeps_the_frame_count_and_size(tmp_path):
    path = write_video(tmp_path / "v.avi", moving_square(41), fps=12.5, codec="mpeg4")
    frames = read_frames(path)
    assert frames.shape == (41, 48, 64, 3) and frames.dtype == np.uint8
    assert read_video_info(path).fps == 12.5


@pytest.mark.parametrize("chunk", [1, 7, 16, 1000])
def test_chunked_decoding_equals_one_pass(videos, chunk):
    one_pass = read_frames(videos["walk"])
    chunks = list(iter_frame_chunks(videos["walk"], chunk))
    assert all(len(c) == chunk for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk
    assert np.array_equal(np.concatenate(chunks), one_pass)


def test_the_container_claims_a_frame_count_for_the_progress_bar(videos):
    with VideoReader(videos["run"]) as reader:
        assert reader.estimated_frames == 48 and (reader.width, reader.height) == (64, 48)


# ---------------------------------------------------------------------- the recipe, step by step
def test_snippets_take_16_consecutive_frames_and_pad_the_last_with_its_last_frame():
    indices = snippet_frame_indices(40)
    assert indices.shape == (3, 16)
    assert np.array_equal(indices[0], np.arange(16)) and np.array_equal(indices[1], np.arange(16, 32))
    assert np.array_equal(indices[2], [32, 33, 34, 35, 36, 37, 38, 39] + [39] * 8)
    assert np.array_equal(snippet_frame_indices(32), np.arange(32).reshape(2, 16))
    assert np.array_equal(snippet_frame_indices(1), np.zeros((1, 16)))
    assert snippet_frame_indices(5, snippet_len=4).tolist() == [[0, 1, 2, 3], [4, 4, 4, 4]]
    for n in (1, 15, 16, 17, 100):
        assert len(snippet_frame_indices(n)) == math.ceil(n / 16)


@pytest.mark.parametrize(("height", "width", "expected"), [
    (720, 1280, (256, 455)),   # landscape
    (1280, 720, (455, 256)),   # portrait
    (480, 856, (256, 457)),    # ShanghaiTech
    (300, 300, (256, 256)),
    (48, 64, (32, 43)),
])
def test_the_shorter_side_becomes_the_size_and_the_aspect_ratio_stays(height, width, expected):
    shorter = min(expected)
    assert resized_size(height, width, shorter) == expected
    frames = torch.rand(2, 3, height, width)
    assert tuple(resize_shorter_side(frames, shorter).shape) == (2, 3, *expected)


def test_the_bilinear_resize_keeps_a_constant_image_and_leaves_the_right_size_alone():
    frames = torch.full((1, 3, 48, 64), 0.3)
    assert torch.allclose(resize_shorter_side(frames, 100), torch.tensor(0.3))
    assert resize_shorter_side(frames, 48) is frames


def _coordinate_clip(height=10, width=12, length=2):
    """A clip (1, 3, L, H, W) whose channel 0 holds the row, channel 1 the column and channel 2 the frame."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    clip = torch.stack([rows.expand(length, -1, -1), cols.expand(length, -1, -1),
                        torch.arange(length).view(length, 1, 1).expand(-1, height, width)])
    return clip.unsqueeze(0).float()


def test_the_ten_crops_are_the_corners_the_centre_and_their_mirror_images_in_order():
    assert crop_origins(10, 12, 4) == [(0, 0), (0, 8), (6, 0), (6, 8), (3, 4)]
    crops = crop_clips(_coordinate_clip(), crop_size=4, n_crops=10)
    assert crops.shape == (1, 10, 3, 2, 4, 4) and len(CROP_NAMES) == 10
    for i, (top, left) in enumerate(crop_origins(10, 12, 4) * 2):
        rows, cols = crops[0, i, 0, 0], crops[0, i, 1, 0]
        expected_cols = torch.arange(left, left + 4).float()
        expected_cols = expected_cols.flip(0) if i >= 5 else expected_cols  # crops 5..9 are mirrored
        assert torch.equal(rows, torch.arange(top, top + 4).float().view(4, 1).expand(4, 4)), CROP_NAMES[i]
        assert torch.equal(cols, expected_cols.view(1, 4).expand(4, 4)), CROP_NAMES[i]
        assert torch.equal(crops[0, i, 2, :, 0, 0], torch.tensor([0.0, 1.0]))  # time untouched
    centre = crop_clips(_coordinate_clip(), crop_size=4, n_crops=1)
    assert centre.shape == (1, 1, 3, 2, 4, 4) and torch.equal(centre[0, 0], crops[0, 4])


def test_a_crop_larger_than_the_frames_and_other_crop_counts_are_refused():
    with pytest.raises(ValueError, match="does not fit"):
        crop_origins(10, 12, 11)
    with pytest.raises(ValueError, match="n_crops must be 10 or 1"):
        crop_clips(_coordinate_clip(), 4, n_crops=5)


def test_rgb_is_scaled_to_unit_range_then_normalised_with_the_kinetics_constants():
    assert KINETICS_MEAN == (0.45, 0.45, 0.45) and KINETICS_STD == (0.225, 0.225, 0.225)
    assert I3DRecipe().mean == KINETICS_MEAN and I3DRecipe().std == KINETICS_STD
    frames = np.zeros((1, 2, 2, 3), np.uint8)
    frames[0, 0, 0] = (255, 0, 51)
    tensor = frames_to_tensor(frames)
    assert tensor.shape == (1, 3, 2, 2) and tensor.dtype == torch.float32
    assert torch.allclose(tensor[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.2]))
    out = normalize(tensor)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([(1 - 0.45) / 0.225, -0.45 / 0.225, (0.2 - 0.45) / 0.225]))
    custom = normalize(tensor, mean=(0.0, 0.5, 1.0), std=(1.0, 0.5, 0.25))
    assert torch.allclose(custom[0, :, 0, 0], torch.tensor([1.0, -1.0, -3.2]))


def test_the_recipe_puts_the_snippet_frames_in_time_order_on_the_clip_axis():
    frames = np.zeros((20, 48, 64, 3), np.uint8)
    frames[:] = (np.arange(20) * 10).astype(np.uint8).reshape(20, 1, 1, 1)  # frame i has value 10 i
    recipe = I3DRecipe(shorter_side=48, crop_size=48)  # no resize: the values stay exact
    clips = recipe.clips(frames, n_crops=1)
    assert clips.shape == (2, 1, 3, 16, 48, 48)
    values = (clips[:, 0, 0, :, 0, 0] * 0.225 + 0.45) * 255 / 10
    assert torch.allclose(values[0], torch.arange(16.0), atol=1e-3)
    assert torch.allclose(values[1], torch.tensor([16.0, 17, 18, 19] + [19] * 12), atol=1e-3)


@pytest.mark.parametrize("bad", [{"crop_size": 300}, {"shorter_side": 0}, {"std": (1, 0, 1)}, {"mean": (1, 2)}])
def test_a_recipe_that_cannot_work_is_refused(bad):
    with pytest.raises(ValueError):
        I3DRecipe(**bad)


# ---------------------------------------------------------------------- the extraction loop
def test_ten_crop_features_have_one_row_per_snippet_including_the_partial_last(videos, tmp_path):
    extractor = CountingExtractor(n_features=5)
    records = extract_features(list(videos.values()), tmp_path / "out", extractor, recipe=SMALL, batch_size=8)
    assert [(r.name, r.n_frames, r.shape, r.resumed) for r in records] == [
        ("walk", 40, (3, 10, 5), False), ("run", 48, (3, 10, 5), False)]
    assert all(batch[1:] == (3, 16, 24, 24) and batch[0] <= 8 for batch in extractor.batches)
    walk = np.load(tmp_path / "out" / "walk_i3d.npy")
    assert walk.shape == (3, 10, 5) and walk.dtype == np.float32
    assert np.all(walk[..., 3:] == 0) and not np.allclose(walk[:, 0, :3], walk[:, 3, :3])  # crops differ
    assert np.allclose(walk[:, :5, :3], walk[:, 5:, :3], atol=1e-6)  # a mirror image has the same mean colour


def test_one_crop_features_are_two_dimensional_and_equal_the_centre_of_ten(videos, tmp_path):
    one = extract_features(videos["walk"], tmp_path / "one", TinyClipNet(8), crops=1, recipe=SMALL)
    ten = extract_features(videos["walk"], tmp_path / "ten", TinyClipNet(8), crops=10, recipe=SMALL, batch_size=7)
    assert one[0].shape == (3, 8) and ten[0].shape == (3, 10, 8)
    centre = np.load(tmp_path / "ten" / "walk_i3d.npy")[:, CROP_NAMES.index("centre")]
    assert np.allclose(np.load(tmp_path / "one" / "walk_i3d.npy"), centre, atol=1e-5)


def test_the_real_recipe_sizes_on_a_few_frames(tmp_path):
    path = write_video(tmp_path / "short.mkv", moving_square(20), fps=25)
    extractor = CountingExtractor()
    records = extract_features(path, tmp_path / "out", extractor, batch_size=10)
    assert records[0].shape == (2, 10, 3)
    assert extractor.batches == [(10, 3, 16, 224, 224)] * 2
    assert resized_size(48, 64, 256) == (256, 341)


def test_the_written_folder_reads_back_with_the_true_frame_counts(videos, tmp_path):
    out = tmp_path / "out"
    records = extract_features(list(videos.values()), out, TinyClipNet(8), recipe=SMALL, batch_size=20)
    write_video_table(records, out / "videos.csv")
    table = read_video_table(out / "videos.csv")
    assert {name: (i.n_frames, i.frame_size, i.fps) for name, i in table.items()} == {
        "walk": (40, (64, 48), 25.0), "run": (48, (64, 48), 10.0)}
    X = read_rtfm_features(out, n_frames={name: info.n_frames for name, info in table.items()})
    assert sorted(X.names) == ["run", "walk"] and sorted(X.n_frames) == [40, 48]
    assert all(v.features.shape == (3, 10, 8) and v.n_snippets == 3 for v in X.videos)
    assert not [p.name for p in out.iterdir() if p.suffix == ".tmp"]


def test_an_unknown_fps_leaves_its_cell_empty(tmp_path):
    class Row:
        name, n_frames, width, height, fps = "v", 17, 64, 48, None

    write_video_table([Row()], tmp_path / "videos.csv")
    assert read_video_table(tmp_path / "videos.csv")["v"].fps is None


# ---------------------------------------------------------------------- resume
def test_resume_keeps_a_finished_video_and_redoes_a_file_of_the_wrong_shape(videos, tmp_path):
    out = tmp_path / "out"
    extract_features(list(videos.values()), out, CountingExtractor(), recipe=SMALL)
    finished = np.load(out / "walk_i3d.npy")
    np.save(out / "run_i3d.npy", np.zeros((5, 10, 3), np.float32))  # the wrong T
    extractor = CountingExtractor()
    records = extract_features(list(videos.values()), out, extractor, recipe=SMALL)
    assert [r.resumed for r in records] == [True, False]
    assert sum(batch[0] for batch in extractor.batches) == 3 * 10  # the 3 snippets of run only, 10 crops each
    assert np.array_equal(np.load(out / "walk_i3d.npy"), finished)
    assert np.load(out / "run_i3d.npy").shape == (3, 10, 3)
    again = CountingExtractor()
    assert all(r.resumed for r in extract_features(list(videos.values()), out, again, recipe=SMALL))
    assert again.batches == []


def test_resume_redoes_files_of_another_crop_count_feature_size_or_when_told(videos, tmp_path):
    out = tmp_path / "out"
    extract_features(videos["walk"], out, CountingExtractor(), recipe=SMALL)
    assert not extract_features(videos["walk"], out, CountingExtractor(), crops=1, recipe=SMALL)[0].resumed
    np.save(out / "walk_i3d.npy", np.zeros((3, 4), np.float32))  # another extractor's D, seen once run is done
    records = extract_features(list(videos.values()), out, CountingExtractor(3), crops=1, recipe=SMALL)
    assert not any(r.resumed for r in records) and np.load(out / "walk_i3d.npy").shape == (3, 3)
    np.save(out / "walk_i3d.npy", np.zeros((3, 4), np.float32))
    np.save(out / "run_i3d.npy", np.zeros((3, 5), np.float32))
    records = extract_features(list(videos.values()), out, CountingExtractor(3), crops=1, recipe=SMALL)
    assert not any(r.resumed for r in records)  # two D in one folder: neither is trusted
    assert np.load(out / "run_i3d.npy").shape == (3, 3)
    assert not extract_features(videos["walk"], out, CountingExtractor(3), crops=1, recipe=SMALL,
                                resume=False)[0].resumed


def test_an_extraction_that_fails_leaves_the_previous_file_as_it_was(videos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    np.save(out / "walk_i3d.npy", np.ones((1, 2), np.float32))

    def fails_on_the_second_batch(clips, calls=[]):  # noqa: B006  (a counter that lives across calls)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return clips.mean(dim=(2, 3, 4))

    with pytest.raises(ValueError, match="failed on clips of shape"):
        extract_features(videos["walk"], out, fails_on_the_second_batch, recipe=SMALL, batch_size=10)
    assert np.array_equal(np.load(out / "walk_i3d.npy"), np.ones((1, 2))) and len(list(out.iterdir())) == 1


def test_the_progress_bar_counts_snippets(videos, tmp_path, capsys):
    extract_features(list(videos.values()), tmp_path / "out", CountingExtractor(), recipe=SMALL, progress=True)
    assert "6/6" in capsys.readouterr().err


# ---------------------------------------------------------------------- extractors
def test_the_tiny_net_is_seeded_and_leaves_the_global_random_stream_alone():
    clips = torch.rand(2, 3, 16, 24, 24)
    state = torch.random.get_rng_state()
    first, second, other = TinyClipNet(6), TinyClipNet(6), TinyClipNet(6, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)
    with torch.inference_mode():
        assert first(clips).shape == (2, 6) and torch.equal(first(clips), second(clips))
        assert not torch.allclose(first(clips), other(clips))


@pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")
def test_load_extractor_reads_torchscript_import_specs_and_tiny(tmp_path, monkeypatch):
    net = TinyClipNet(4).eval()
    torch.jit.save(torch.jit.script(net), tmp_path / "net.pt")
    loaded = load_extractor(tmp_path / "net.pt")
    clips = torch.rand(1, 3, 16, 24, 24)
    with torch.inference_mode():
        assert torch.allclose(loaded(clips), net(clips))
    (tmp_path / "my_extractors.py").write_text("from unsupvad.video import TinyClipNet\n\n"
                                               "def build():\n    return TinyClipNet(5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from_spec = load_extractor("my_extractors:build")
    assert isinstance(from_spec, TinyClipNet) and not from_spec.training and from_spec.n_features == 5
    assert load_extractor("tiny").n_features == 32


@pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")
def test_extractor_specs_that_do_not_load_say_why(tmp_path, monkeypatch):
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    (tmp_path / "bad_extractors.py").write_text("def text():\n    return 'abc'\n\nNUMBER = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="extractor file not found"):
        load_extractor(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="not a TorchScript file"):
        load_extractor(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_here'"):
        load_extractor("no_such_module_here:build")
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        load_extractor("bad_extractors:missing")
    with pytest.raises(ValueError, match="not an nn.Module or a callable"):
        load_extractor("bad_extractors:text")
    with pytest.raises(ValueError, match="is not callable"):
        load_extractor("bad_extractors:NUMBER")


@pytest.mark.parametrize(("output", "message"), [
    (lambda clips: clips.mean(dim=(1, 2, 3, 4)), r"returned shape \(\d+,\)"),
    (lambda clips: clips.mean(dim=(3, 4)), r"returned shape \(\d+, 3, 16\)"),
    (lambda clips: clips.mean(dim=(2, 3, 4))[:1], "for 10 clips"),
    (lambda clips: clips.mean(dim=(2, 3, 4)).numpy(), "returned a ndarray"),
    (lambda clips: clips.mean(dim=(2, 3, 4)) / 0, "non-finite"),
])
def test_an_extractor_output_that_is_not_batch_by_d_is_refused(videos, tmp_path, output, message):
    with pytest.raises(ValueError, match=message):
        extract_features(videos["walk"], tmp_path, output, recipe=SMALL, batch_size=10)


def test_videos_are_listed_from_folders_and_their_names_must_be_unique(videos, tmp_path):
    folder = videos["walk"].parent
    (folder / "notes.txt").write_text("not a video")
    assert [p.name for p in list_videos(folder)] == ["run.avi", "walk.mkv"]
    write_video(tmp_path / "walk.avi", moving_square(3))
    with pytest.raises(ValueError, match="two videos share the name 'walk'"):
        list_videos([folder, tmp_path / "walk.avi"])
    with pytest.raises(FileNotFoundError):
        list_videos(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no video file"):
        list_videos(tmp_path / "empty")


def test_a_missing_pyav_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r'pip install "unsupvad\[video\]"'):
        require_av()
    with pytest.raises(ImportError, match="PyAV"):
        read_video_info(tmp_path / "v.mkv")


# ---------------------------------------------------------------------- the command line
def _main(capsys, *args):
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_extract_help_names_the_recipe_and_the_next_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["extract", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for text in ("VIDEO_OR_FOLDER", "--extractor SPEC|tiny", "--crops", "--no-resume", "mirrored",
                 "--frames features/videos.csv"):
        assert text in out


def test_extract_with_the_tiny_extractor_writes_what_fit_reads(videos, tmp_path, capsys):
    out = tmp_path / "features"
    status, printed, err = _main(capsys, "extract", videos["walk"].parent, "--out", out, "--extractor", "tiny",
                                 "--crops", "1", "--device", "cpu", "--threads", "1")
    assert status == 0, err
    assert "extracted 2 videos: 6 snippets, features (T, 32)" in printed and "untrained" in printed
    assert f"unsupvad fit --features {out} --frames {out / 'videos.csv'}" in printed
    assert err.count("extract: ") == 2  # one line per video when stderr is not a terminal
    X = cli.read_videos(None, out, "auto", out / "videos.csv", None, None)
    assert sorted(zip(X.names, X.n_frames)) == [("run", 48), ("walk", 40)]
    status, printed, _ = _main(capsys, "extract", videos["run"], "--out", out, "--extractor", "tiny", "--crops", "1",
                               "--device", "cpu", "--quiet")
    assert status == 0 and "(1 kept from an earlier run)" in printed
    assert set(read_video_table(out / "videos.csv")) == {"walk", "run"}  # the earlier row stays


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("unsupvad: error: ")
    return lines[0]


def test_extract_errors_are_one_line(videos, tmp_path, capsys, monkeypatch):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 50)
    out = tmp_path / "out"
    common = ("--out", out, "--device", "cpu", "--quiet")
    (tmp_path / "wrong_output.py").write_text("def build():\n    return lambda clips: clips.mean(dim=(3, 4))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cases = [
        ((garbage, "--extractor", "tiny"), "cannot read the video"),
        ((videos["walk"], "--extractor", tmp_path / "none.pt"), "extractor file not found"),
        ((videos["walk"], "--extractor", "wrong_output:missing"), "has no attribute"),
        ((videos["walk"], "--extractor", "wrong_output:build"), "the protocol is clips"),
        ((tmp_path / "nowhere.mp4", "--extractor", "tiny"), "video file or folder not found"),
    ]
    for args, message in cases:
        status, _, err = _main(capsys, "extract", *args, *common)
        assert status == 2 and message in _one_error_line(err), err
    monkeypatch.setitem(sys.modules, "av", None)
    status, _, err = _main(capsys, "extract", videos["walk"], "--extractor", "tiny", *common)
    assert status == 2 and 'pip install "unsupvad[video]"' in _one_error_line(err)
