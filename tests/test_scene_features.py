"""TrackSnippetFeatures' scene, trajectory-shape and interaction features (``feature_set='full'``)."""

import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from unsupvad import Tracks, TrackSnippetFeatures, Video, VideoSet
from unsupvad.datasets import load_tracks_benchmark, make_synthetic_videos, scene_prefix
from unsupvad.features import FULL_FEATURE_NAMES, SCENE_FEATURE_NAMES, SHAPE_FEATURE_NAMES
from unsupvad.features._shape import ALONE_DISTANCE

COL = {name: i for i, name in enumerate(FULL_FEATURE_NAMES)}
TRACKS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "shanghaitech-tracks"
FRAME_SIZE = (400, 200)


def box_video(rows, n_frames, name, scene=None, frame_size=FRAME_SIZE):
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    tracks = Tracks.from_boxes(rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2:6])
    return Video(name, n_frames, frame_size=frame_size, tracks=tracks, scene=scene)


def walker(track_id, frames, x0=10.0, y0=80.0, vx=1.0, vy=0.0, w=20.0, h=40.0):
    frames = np.asarray(frames)
    return [(f, track_id, x0 + vx * (f - frames[0]), y0 + vy * (f - frames[0]), w, h) for f in frames]


def crowd(n_tracks, vx, seed, n_frames=96, y0=80.0):
    """Walkers along one path at speed ``vx`` px/frame (jittered), entering one after the other."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tracks):
        start = int(rng.integers(0, n_frames // 2))
        speed = vx * (1 + 0.05 * rng.normal())
        rows += walker(t, range(start, n_frames), x0=float(rng.uniform(0, 60)), y0=y0, vx=speed)
    return rows


def features(est, *videos):
    return est.transform(VideoSet(list(videos))).features()


def test_full_feature_names_and_shape():
    X = make_synthetic_videos(3, n_frames=(80, 120), tracks="boxes", features=False, random_state=0)
    est = TrackSnippetFeatures()
    Z = est.fit_transform(X)
    names = list(est.get_feature_names_out())
    assert names[:31] == list(FULL_FEATURE_NAMES) and names[31:] == [f"{n}_context" for n in FULL_FEATURE_NAMES]
    assert Z.features().shape == (len(X), 62) and np.isfinite(Z.features()).all()
    assert TrackSnippetFeatures(context=0).fit_transform(X).features().shape == (len(X), 31)
    assert len(SCENE_FEATURE_NAMES) == 10 and len(SHAPE_FEATURE_NAMES) == 5
    with pytest.raises(NotFittedError):
        TrackSnippetFeatures().transform(X)  # the scene statistics must be fitted first


def test_fast_for_this_scene_but_not_for_another():
    # scene "path": people walk 1 px/frame; scene "road": people move 4 px/frame
    train = VideoSet([box_video(crowd(6, 1.0, seed=s), 96, f"path_{s}", scene="path") for s in range(4)] +
                     [box_video(crowd(6, 4.0, seed=s), 96, f"road_{s}", scene="road") for s in range(4)])
    est = TrackSnippetFeatures(context=0).fit(train)
    assert est.scenes_ == ["path", "road"] and est.scene_stats_.shape == (3, 64, 10)
    runner = walker(0, range(48), vx=4.0)
    on_path = features(est, box_video(runner, 48, "test_path", scene="path"))
    on_road = features(est, box_video(runner, 48, "test_road", scene="road"))
    assert on_path[1, COL["fast_here"]] > 5  # many robust standard deviations faster than people walk there
    assert on_road[1, COL["fast_here"]] < 1.5
    stroller = features(est, box_video(walker(0, range(48), vx=1.0), 48, "test_road2", scene="road"))
    assert stroller[1, COL["slow_here"]] > 5 and stroller[1, COL["fast_here"]] == 0


def test_against_the_flow_of_a_one_way_path():
    train = VideoSet([box_video(crowd(6, 2.0, seed=s), 96, f"v{s}", scene="oneway") for s in range(4)])
    est = TrackSnippetFeatures(context=0).fit(train)
    along = features(est, box_video(walker(0, range(48), x0=100, vx=2.0), 48, "a", scene="oneway"))
    against = features(est, box_video(walker(0, range(48), x0=200, vx=-2.0), 48, "b", scene="oneway"))
    assert along[1, COL["against_flow"]] < 0.05
    assert against[1, COL["against_flow"]] > 0.9
    assert against[1, COL["track_fast_here"]] == pytest.approx(along[1, COL["track_fast_here"]], abs=0.5)


def test_size_shape_and_place_unusual_for_the_location():
    train = VideoSet([box_video(crowd(6, 2.0, seed=s), 96, f"v{s}", scene="cam") for s in range(4)])
    est = TrackSnippetFeatures(context=0).fit(train)
    person = features(est, box_video(walker(0, range(48), x0=100), 48, "p", scene="cam"))
    car = features(est, box_video(walker(0, range(48), x0=100, w=120.0, h=60.0), 48, "c", scene="cam"))
    assert car[1, COL["size_unusual"]] > 3 * max(person[1, COL["size_unusual"]], 0.3)
    assert car[1, COL["shape_unusual"]] > 3 * max(person[1, COL["shape_unusual"]], 0.3)
    # nobody walks along the top of the image in training: a person there is somewhere unusual
    up_there = features(est, box_video(walker(0, range(48), x0=100, y0=2.0), 48, "u", scene="cam"))
    assert up_there[1, COL["place_unusual"]] > 2 and person[1, COL["place_unusual"]] == 0


def test_unseen_scene_falls_back_to_the_global_statistics():
    train = VideoSet([box_video(crowd(6, 1.0, seed=s), 96, f"path_{s}", scene="path") for s in range(2)] +
                     [box_video(crowd(6, 4.0, seed=s), 96, f"road_{s}", scene="road") for s in range(2)])
    est = TrackSnippetFeatures(context=0).fit(train)
    runner = walker(0, range(48), x0=100, y0=2.0, vx=8.0)
    unseen = features(est, box_video(runner, 48, "other", scene="elsewhere"))
    nameless = features(est, box_video(runner, 48, "nameless"))  # no scene, and none was unnamed in training
    np.testing.assert_array_equal(unseen, nameless)
    assert unseen[1, COL["place_unusual"]] == 0 and unseen[1, COL["entry_unusual"]] == 0  # no location model
    # the global statistics pool both scenes: 8 px/frame is fast for them too, less than for the path alone
    on_path = features(est, box_video(runner, 48, "p", scene="path"))
    assert 0 < unseen[1, COL["fast_here"]] < on_path[1, COL["fast_here"]]
    # videos without a scene in training form one scene of their own
    unnamed = TrackSnippetFeatures(context=0).fit(VideoSet([v.replace(scene=None) for v in train.videos]))
    assert unnamed.scenes_ == [None]
    assert features(unnamed, box_video(runner, 48, "x"))[1, COL["place_unusual"]] > 0


def test_scene_statistics_learn_from_the_selected_snippets_only():
    slow = box_video(crowd(6, 1.0, seed=0, n_frames=64), 64, "a", scene="cam")
    fast = box_video(crowd(6, 4.0, seed=1, n_frames=64), 64, "b", scene="cam")
    X = VideoSet([slow, fast])
    first_video = TrackSnippetFeatures(context=0).fit(X[np.flatnonzero(X.snippet_video == 0)])
    only_slow = TrackSnippetFeatures(context=0).fit(VideoSet([slow]))
    np.testing.assert_allclose(first_video.scene_stats_, only_slow.scene_stats_)


def test_straight_walkers_do_not_turn_a_reversing_one_does():
    est = TrackSnippetFeatures(context=0).fit(VideoSet([box_video(crowd(4, 2.0, seed=0), 96, "t", scene="c")]))
    straight = features(est, box_video(walker(0, range(48), vx=2.0), 48, "s", scene="c"))
    np.testing.assert_allclose(straight[:, [COL["turning_max"], COL["wiggle_max"], COL["reversals_max"]]], 0,
                               atol=1e-9)
    back_and_forth = walker(0, range(8), x0=100, vx=3.0) + walker(0, range(8, 16), x0=121, vx=-3.0) + \
        walker(0, range(16, 48), x0=100, vx=3.0)
    turned = features(est, box_video(back_and_forth, 48, "r", scene="c"))
    assert turned[0, COL["reversals_max"]] >= 1 and turned[0, COL["turning_max"]] > 0.1
    assert turned[0, COL["wiggle_max"]] > 0.5  # 45 px of path for a few px of net displacement


def test_nearest_person_and_closing_speed_by_hand():
    est = TrackSnippetFeatures(context=0).fit(VideoSet([box_video(crowd(4, 2.0, seed=0), 96, "t", scene="c")]))
    alone = features(est, box_video(walker(0, range(32)), 32, "one", scene="c"))
    np.testing.assert_array_equal(alone[:, COL["nearest_person_min"]], ALONE_DISTANCE)
    np.testing.assert_array_equal(alone[:, COL["closing_speed_max"]], 0)
    # two people 400 px... converging: A at x = 0 moving +2 px/frame, B at x = 300 moving -2 px/frame, h = 40
    a = walker(0, range(32), x0=0.0, vx=2.0)
    b = walker(1, range(32), x0=300.0, vx=-2.0)
    pair = features(est, box_video(a + b, 32, "pair", scene="c"))
    np.testing.assert_allclose(pair[:, COL["closing_speed_max"]], 4.0 / 40.0, rtol=1e-6)
    expected_first = np.mean([(300.0 - 4.0 * f) / 40.0 for f in range(16)])
    assert pair[0, COL["nearest_person_min"]] == pytest.approx(min(expected_first, ALONE_DISTANCE), rel=1e-6)
    assert pair[1, COL["nearest_person_min"]] < pair[0, COL["nearest_person_min"]]


def test_context_features_are_the_neighbourhood_means():
    X = make_synthetic_videos(2, n_frames=(120, 160), tracks="boxes", features=False, random_state=4)
    est = TrackSnippetFeatures(context=2)
    out = est.fit_transform(X)
    for video in out.videos:
        base, ctx = video.features[:, :31].astype(np.float64), video.features[:, 31:]
        for t in range(len(base)):
            window = base[max(0, t - 2): t + 3]
            np.testing.assert_allclose(ctx[t], window.mean(0), rtol=1e-5, atol=1e-6)


def test_fit_reads_no_label(monkeypatch):
    X = make_synthetic_videos(3, n_frames=(80, 120), tracks="boxes", features=False, random_state=1)
    reference = TrackSnippetFeatures(standardize=True).fit(VideoSet([v.replace(labels=None) for v in X.videos]))

    def refuse(*args, **kwargs):
        raise AssertionError("fit read the frame labels")

    monkeypatch.setattr(VideoSet, "frame_labels", refuse)
    monkeypatch.setattr(VideoSet, "snippet_labels", refuse)
    est = TrackSnippetFeatures(standardize=True).fit(X)
    np.testing.assert_array_equal(est.scene_stats_, reference.scene_stats_)
    np.testing.assert_array_equal(est.mean_, reference.mean_)


def test_determinism_clone_and_scenes_from_names():
    X = make_synthetic_videos(3, n_frames=(80, 120), tracks="boxes", features=False, random_state=2)
    X = X.with_scenes(lambda name: "cam" + name[-1])
    assert X.scenes == [f"cam{v.name[-1]}" for v in X.videos]
    a = TrackSnippetFeatures().fit_transform(X).features()
    b = clone(TrackSnippetFeatures()).fit_transform(X).features()
    assert a.tobytes() == b.tobytes()
    assert scene_prefix("01_0014") == "01" and scene_prefix("nounderscore") is None


@pytest.mark.realdata
@pytest.mark.skipif(not TRACKS.is_dir(), reason=f"real data folder {TRACKS} is absent")
def test_real_tracks_all_437_videos_in_under_30_seconds_on_one_core():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train = load_tracks_benchmark(TRACKS, split="train", scene=scene_prefix)
        test = load_tracks_benchmark(TRACKS, split="test", scene=scene_prefix)
        start = time.perf_counter()
        est = TrackSnippetFeatures(standardize=True).fit(train)
        out = [est.transform(train), est.transform(test)]
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert elapsed < 30, f"features of the 437 videos took {elapsed:.1f} s"
    assert len(est.scenes_) == 13  # ShanghaiTech's 13 cameras
    for part in out:
        assert np.isfinite(part.features()).all()
