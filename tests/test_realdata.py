"""Readers on the real data of ``../shared/data`` (skipped when it is absent)."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unsupvad.datasets import load_tracks_benchmark, read_rtfm_features

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRACKS = DATA / "shanghaitech-tracks"
RTFM = DATA / "rtfm-i3d-sample"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent"),
]


@pytest.fixture(scope="module")
def test_split():
    return load_tracks_benchmark(TRACKS, split="test")


@pytest.fixture(scope="module")
def train_split():
    return load_tracks_benchmark(TRACKS, split="train")


def test_tracks_benchmark_train(train_split):
    assert train_split.n_videos == 238
    assert sum(len(v.tracks) for v in train_split.videos) == 533_668
    assert int(train_split.n_frames.sum()) == 173_656
    assert not train_split.has_labels  # training masks are attached only on request
    assert sum(len(v.tracks.track_ids) for v in train_split.videos) == 3_752


def test_tracks_benchmark_test(test_split):
    assert test_split.n_videos == 199
    assert sum(len(v.tracks) for v in test_split.videos) == 430_279
    assert sum(len(v.tracks.track_ids) for v in test_split.videos) == 3_084
    labels = test_split.frame_labels()
    assert sum(len(y) for y in labels) == 142_060
    assert sum(int(y.sum()) for y in labels) == 7_962
    video = test_split.videos[0]
    assert video.frame_size == (856, 480) and video.fps == 24
    assert video.tracks.kind == "boxes"


def test_tracks_benchmark_frames_are_one_based(test_split):
    first = TRACKS / "tracks" / f"{test_split.names[0]}.txt"
    raw = np.loadtxt(first, delimiter=",", max_rows=1)
    tracks = test_split.videos[0].tracks
    row = np.flatnonzero((tracks.track_id == raw[1]) & (tracks.frame == raw[0] - 1))
    assert len(row) == 1
    np.testing.assert_allclose(tracks.boxes[row[0]], raw[2:6])


def test_rtfm_sample_memory_mapped():
    table = pd.read_csv(TRACKS / "videos.csv", dtype={"video": str}).set_index("video")
    X = read_rtfm_features(RTFM, mmap=True)
    assert X.n_videos == 7
    n_frames = {name: int(table.at[name, "n_frames"]) for name in X.names}
    Y = read_rtfm_features(RTFM, n_frames=n_frames, mmap=True)
    for video, default in zip(Y.videos, X.videos, strict=True):
        assert isinstance(video.features, np.memmap)
        assert video.features.dtype == np.float32
        T, crops, dim = video.features.shape
        assert (crops, dim) == (10, 2048)
        assert T == math.ceil(video.n_frames / 16) and video.n_frames == n_frames[video.name]
        assert default.n_frames == 16 * T
    assert X.shape == (sum(v.n_snippets for v in X.videos), 10, 2048)
