"""TrackSnippetFeatures, the 16 basic features: known answers, a slow reference, the pipeline contract.

The scene, shape and interaction features of the default ``feature_set='full'`` are in test_scene_features.py.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks

from unsupvad import MIL, FeatureAE, InterleavedVAD, Tracks, TrackSnippetFeatures, Video, VideoSet
from unsupvad.datasets import load_tracks_benchmark, make_synthetic_videos
from unsupvad.features import FEATURE_NAMES
from unsupvad.metrics import frame_auc

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
TRACKS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "shanghaitech-tracks"
FRAME_SIZE = (200, 100)


def box_video(rows, n_frames, name="v", frame_size=FRAME_SIZE, **kw):
    """A video from ``(frame, track_id, left, top, width, height)`` rows."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    tracks = Tracks.from_boxes(rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2:6])
    return Video(name, n_frames, frame_size=frame_size, tracks=tracks, **kw)


def walker(track_id, frames, x0=10.0, y0=20.0, vx=2.0, vy=0.0, w=20.0, h=40.0):
    """Rows of a box moving at a constant (vx, vy) pixels per frame."""
    frames = np.asarray(frames)
    return [(f, track_id, x0 + vx * (f - frames[0]), y0 + vy * (f - frames[0]), w, h) for f in frames]


def features_of(*videos, **params):
    return TrackSnippetFeatures(feature_set="basic", output="array", **params).fit_transform(VideoSet(list(videos)))


# ---------------------------------------------------------------------- known values
def test_constant_speed_gives_exact_speed_and_zero_acceleration():
    F = features_of(box_video(walker(1, range(48), vx=2.0, h=40.0), 48))
    assert F.shape == (3, len(FEATURE_NAMES)) and F.dtype == np.float32
    for name in ("speed_mean", "speed_max", "speed_quantile"):
        np.testing.assert_allclose(F[:, COL[name]], 2.0 / 40.0, rtol=1e-6)
    for name in ("accel_mean", "accel_max", "speed_deviation_max", "stationary_fraction",
                 "aspect_change_mean", "aspect_change_max", "direction_spread", "births", "deaths"):
        np.testing.assert_array_equal(F[:, COL[name]], 0.0, err_msg=name)
    np.testing.assert_array_equal(F[:, COL["people_mean"]], 1.0)
    np.testing.assert_array_equal(F[:, COL["n_tracks"]], 1.0)
    np.testing.assert_allclose(F[:, COL["height_mean"]], 40.0 / FRAME_SIZE[1], rtol=1e-6)


def test_speed_is_divided_by_the_frame_gap():
    # detected every other frame, 4 px per detection: still 2 px per frame
    F = features_of(box_video(walker(1, range(0, 48, 2), vx=2.0, h=40.0), 48))
    np.testing.assert_allclose(F[:, COL["speed_mean"]], 2.0 / 40.0, rtol=1e-6)
    np.testing.assert_array_equal(F[:, COL["accel_max"]], 0.0)
    np.testing.assert_array_equal(F[:, COL["people_mean"]], 0.5)
    np.testing.assert_array_equal(F[:, COL["people_max"]], 1.0)


def test_speed_is_in_box_heights_so_scale_invariant():
    near = features_of(box_video(walker(1, range(32), vx=4.0, w=40.0, h=80.0), 32))
    far = features_of(box_video(walker(1, range(32), vx=1.0, w=10.0, h=20.0), 32))
    motion = [COL[n] for n in ("speed_mean", "speed_max", "accel_mean", "aspect_change_mean", "direction_spread")]
    np.testing.assert_allclose(near[:, motion], far[:, motion], rtol=1e-6)
    assert near[0, COL["height_mean"]] == pytest.approx(4 * far[0, COL["height_mean"]])


def test_known_acceleration_and_mean_speed():
    h = 50.0
    x = np.r_[0.0, np.cumsum([1.0] * 8 + [3.0] * 7)]  # 1 px/frame for frames 1..8, then 3 px/frame
    rows = [(f, 1, 10 + x[f], 20, 20, h) for f in range(16)]
    F = features_of(box_video(rows, 16))
    assert F[0, COL["speed_mean"]] == pytest.approx((8 * 1 + 7 * 3) / (15 * h), rel=1e-6)
    # one jump of 2 px/frame at frame 9 among 14 rows with a defined acceleration (frames 2..15)
    assert F[0, COL["accel_mean"]] == pytest.approx(2 / h / 14, rel=1e-6)
    assert F[0, COL["accel_max"]] == pytest.approx(2 / h / 14, rel=1e-6)


def test_turning_counts_as_acceleration():
    rows = [(f, 1, 10 + 2 * min(f, 8), 20 + 2 * max(f - 8, 0), 20, 40) for f in range(16)]  # right, then down
    F = features_of(box_video(rows, 16))
    assert F[0, COL["speed_mean"]] == pytest.approx(2 / 40, rel=1e-6)
    assert F[0, COL["accel_mean"]] == pytest.approx(np.hypot(2, 2) / 40 / 14, rel=1e-6)


def test_aspect_ratio_change():
    rows = [(f, 1, 10, 20, 20 + f, 40) for f in range(16)]  # width grows 1 px per frame
    F = features_of(box_video(rows, 16))
    assert F[0, COL["aspect_change_mean"]] == pytest.approx(1 / 40, rel=1e-6)
    assert F[0, COL["aspect_change_max"]] == pytest.approx(1 / 40, rel=1e-6)


def test_births_and_deaths():
    rows = walker(1, range(0, 48)) + walker(2, range(20, 30)) + walker(3, range(5, 48))
    F = features_of(box_video(rows, 48))
    np.testing.assert_array_equal(F[:, COL["births"]], [1, 1, 0])  # track 1 starts at frame 0: not a birth
    np.testing.assert_array_equal(F[:, COL["deaths"]], [0, 1, 0])  # tracks 1 and 3 reach the last frame
    np.testing.assert_array_equal(F[:, COL["n_tracks"]], [2, 3, 2])
    np.testing.assert_allclose(F[:, COL["people_mean"]], [(16 + 11) / 16, (32 + 10) / 16, 2])
    np.testing.assert_array_equal(F[:, COL["people_max"]], [2, 3, 2])


def test_direction_spread():
    def spread(vel_a, vel_b):
        rows = walker(1, range(16), vx=vel_a[0], vy=vel_a[1]) + walker(2, range(16), x0=150, vx=vel_b[0], vy=vel_b[1])
        return features_of(box_video(rows, 16))[0, COL["direction_spread"]]

    assert spread((2, 0), (-2, 0)) == pytest.approx(1.0, abs=1e-6)  # opposite: maximal
    assert spread((2, 0), (3, 0)) == pytest.approx(0.0, abs=1e-6)  # same way, any speed
    assert spread((2, 0), (0, 2)) == pytest.approx(1 - np.sqrt(2) / 2, rel=1e-5)
    assert spread((2, 0), (0, 0)) == 0.0  # a standing person has no heading


def test_speed_statistics_over_people():
    speeds_px = [1.0, 2.0, 3.0, 10.0, 0.0]  # the last one stands still
    rows = sum((walker(i, range(16), x0=10 + 30 * i, vx=v, h=50.0) for i, v in enumerate(speeds_px)), [])
    F = features_of(box_video(rows, 16), quantile=0.75)
    s = np.array(speeds_px) / 50.0
    assert F[0, COL["speed_mean"]] == pytest.approx(s.mean(), rel=1e-6)
    assert F[0, COL["speed_max"]] == pytest.approx(s.max(), rel=1e-6)
    assert F[0, COL["speed_quantile"]] == pytest.approx(np.quantile(s, 0.75), rel=1e-6)
    assert F[0, COL["speed_deviation_max"]] == pytest.approx(np.abs(s - np.median(s)).max(), rel=1e-6)
    assert F[0, COL["stationary_fraction"]] == pytest.approx(1 / 5)


def test_stationary_uses_net_speed_so_jitter_is_not_motion():
    jitter = [(f, 1, 50 + (f % 2), 20, 20, 40) for f in range(16)]  # back and forth by 1 px
    F = features_of(box_video(jitter, 16))
    assert F[0, COL["speed_mean"]] == pytest.approx(1 / 40, rel=1e-6)  # path speed sees the jitter
    assert F[0, COL["stationary_fraction"]] == 1.0
    assert F[0, COL["direction_spread"]] == 0.0
    moving = features_of(box_video(walker(1, range(16), vx=1.0, h=40), 16))
    assert moving[0, COL["stationary_fraction"]] == 0.0


def test_snippets_with_nobody_are_all_zero_and_finite():
    v1 = box_video(walker(1, range(10)), 48, name="a")
    v2 = box_video(np.zeros((0, 6)), 40, name="empty")
    F = features_of(v1, v2)
    assert F.shape == (3 + 3, len(FEATURE_NAMES))
    assert np.isfinite(F).all()
    np.testing.assert_array_equal(F[1:], 0.0)
    assert F[0, COL["people_mean"]] == pytest.approx(10 / 16)


def test_keypoints_use_their_bounding_box():
    rows = walker(1, range(0, 48, 3), vx=1.5) + walker(2, range(10, 40), x0=100, vx=-2, vy=0.5, w=30, h=60)
    boxes = box_video(rows, 48)
    r = np.asarray(rows, dtype=np.float64)
    left, top, w, h = r[:, 2], r[:, 3], r[:, 4], r[:, 5]
    joints = np.stack([np.stack([left, top], 1), np.stack([left + w, top + h], 1),
                       np.stack([left + w / 2, top + h / 3], 1), np.stack([left + 1000, top], 1)], axis=1)
    conf = np.ones(joints.shape[:2] + (1,))
    conf[:, 3] = 0.0  # an undetected joint far away must not enter the box
    points = np.concatenate([joints, conf], axis=2)
    kp = Video("v", 48, frame_size=FRAME_SIZE, tracks=Tracks(r[:, 0].astype(int), r[:, 1].astype(int), points))
    np.testing.assert_allclose(features_of(kp), features_of(boxes), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- snippets and alignment
def test_alignment_with_snippets():
    F = features_of(box_video(walker(7, range(32, 48)), 64))
    np.testing.assert_array_equal(F[:, COL["n_tracks"]], [0, 0, 1, 0])
    np.testing.assert_array_equal(F[:, COL["people_mean"]], [0, 0, 1, 0])
    np.testing.assert_array_equal(F[:, COL["births"]], [0, 0, 1, 0])
    np.testing.assert_array_equal(F[:, COL["deaths"]], [0, 0, 1, 0])
    assert F[2, COL["speed_mean"]] > 0 and (F[[0, 1, 3]] == 0).all()


def test_partial_last_snippet_and_dropped_tail():
    rows = walker(1, range(32, 40))
    partial = box_video(rows, 40)  # no features: T = ceil(40 / 16) = 3, the last snippet is frames 32..39
    F = features_of(partial)
    assert F.shape[0] == 3
    np.testing.assert_array_equal(F[:, COL["people_mean"]], [0, 0, 1])
    # an extractor that dropped the tail (T = floor(40 / 16) = 2): frames 16..39 form the last snippet
    dropped = box_video(rows, 40, features=np.zeros((2, 3), np.float32))
    G = features_of(dropped)
    assert G.shape[0] == 2
    np.testing.assert_allclose(G[:, COL["people_mean"]], [0, 8 / 24])
    assert G[1, COL["n_tracks"]] == 1


def test_videoset_output_keeps_videos_selection_labels_and_tracks():
    X = make_synthetic_videos(3, n_frames=(160, 200), tracks="boxes", random_state=1)
    sub = X[np.array([7, 2, 25, 3])]
    out = TrackSnippetFeatures(feature_set="basic").fit_transform(sub)
    assert isinstance(out, VideoSet)
    assert out.names == sub.names and list(out.n_frames) == list(sub.n_frames)
    np.testing.assert_array_equal(out.groups, sub.groups)
    np.testing.assert_array_equal(out.snippet_index, sub.snippet_index)
    np.testing.assert_array_equal(out.snippet_labels(), sub.snippet_labels())
    for a, b in zip(out.videos, sub.videos):
        assert a.tracks is b.tracks and a.features.shape == (b.n_snippets, len(FEATURE_NAMES))
        assert a.features.dtype == np.float32
    full = TrackSnippetFeatures(feature_set="basic", output="array").fit_transform(X)
    np.testing.assert_array_equal(out.features(), full[np.array([7, 2, 25, 3])])
    basic = TrackSnippetFeatures(feature_set="basic", output="array")
    np.testing.assert_array_equal(basic.fit_transform(sub), out.features())
    assert X.videos[0].features.shape[1] == 64  # the input is left alone


# ---------------------------------------------------------------------- a slow reference on realistic tracks
def _reference(video, q, thr):
    """Every feature by explicit loops, following the class docstring."""
    starts, stops = video.snippet_bounds()
    T = len(starts)
    snippet_of = {f: i for i in range(T) for f in range(starts[i], stops[i])}
    tr = video.tracks
    boxes = tr.boxes.astype(np.float64)
    H = video.frame_size[1]
    per = [dict() for _ in range(T)]  # snippet -> track -> lists of row values
    count = np.zeros(video.n_frames)
    out = np.zeros((T, len(FEATURE_NAMES)))
    for sl in tr.track_slices:
        frames, b, tid = tr.frame[sl], boxes[sl], int(tr.track_id[sl.start])
        if frames[0] > 0:
            out[snippet_of[frames[0]], COL["births"]] += 1
        if frames[-1] < video.n_frames - 1:
            out[snippet_of[frames[-1]], COL["deaths"]] += 1
        u_prev = None
        for k in range(len(frames)):
            f = frames[k]
            count[f] += 1
            d = per[snippet_of[f]].setdefault(tid, {"s": [], "a": [], "d": [], "h": [], "u": []})
            left, top, w, h = b[k]
            d["h"].append(h / H)
            if k == 0:
                continue
            gap = f - frames[k - 1]
            c = np.array([left + w / 2, top + h / 2])
            pl, pt, pw, ph = b[k - 1]
            u = (c - np.array([pl + pw / 2, pt + ph / 2])) / (h * gap)
            d["s"].append(np.linalg.norm(u))
            d["u"].append(u)
            d["d"].append(abs(w / h - pw / ph) / gap)
            if u_prev is not None:
                d["a"].append(np.linalg.norm(u - u_prev) / gap)
            u_prev = u
    for i in range(T):
        frame_counts = count[starts[i]:stops[i]]
        out[i, COL["people_mean"]], out[i, COL["people_max"]] = frame_counts.mean(), frame_counts.max()
        people = per[i].values()
        out[i, COL["n_tracks"]] = len(per[i])
        s = np.array([np.mean(p["s"]) for p in people if p["s"]])
        m = np.array([np.mean(p["u"], axis=0) for p in people if p["s"]]).reshape(-1, 2)
        a = [np.mean(p["a"]) for p in people if p["a"]]
        dd = [np.mean(p["d"]) for p in people if p["d"]]
        hh = [np.mean(p["h"]) for p in people]
        if len(s):
            out[i, COL["speed_mean"]], out[i, COL["speed_max"]] = s.mean(), s.max()
            out[i, COL["speed_quantile"]] = np.quantile(s, q)
            out[i, COL["speed_deviation_max"]] = np.abs(s - np.median(s)).max()
            net = np.linalg.norm(m, axis=1)
            out[i, COL["stationary_fraction"]] = np.mean(net < thr)
            moving = (net >= thr) & (net > 0)
            if moving.any():
                e = m[moving] / net[moving, None]
                out[i, COL["direction_spread"]] = 1 - np.linalg.norm(e.sum(0)) / moving.sum()
        if a:
            out[i, COL["accel_mean"]], out[i, COL["accel_max"]] = np.mean(a), np.max(a)
        if dd:
            out[i, COL["aspect_change_mean"]], out[i, COL["aspect_change_max"]] = np.mean(dd), np.max(dd)
        if hh:
            out[i, COL["height_mean"]] = np.mean(hh)
    return out


@pytest.mark.parametrize("kind", ["boxes", "keypoints"])
def test_matches_a_slow_reference_on_synthetic_tracks(kind):
    X = make_synthetic_videos(3, n_frames=(100, 150), tracks=kind, features=False, n_people=(3, 6), random_state=3)
    est = TrackSnippetFeatures(feature_set="basic", output="array", quantile=0.8, stationary_speed=0.01)
    F = est.fit_transform(X)
    expected = np.concatenate([_reference(v, 0.8, 0.01) for v in X.videos])
    assert F.shape == expected.shape
    assert expected[:, COL["direction_spread"]].max() > 0.1 and expected[:, COL["births"]].sum() > 0
    np.testing.assert_allclose(F, expected, rtol=2e-5, atol=1e-6)


def test_reference_with_a_dropped_tail():
    X = make_synthetic_videos(2, n_frames=(90, 100), tracks="boxes", features=False, random_state=5)
    videos = [v.replace(features=np.zeros((v.n_frames // 16, 1), np.float32)) for v in X.videos]
    F = TrackSnippetFeatures(feature_set="basic", output="array").fit_transform(VideoSet(videos))
    expected = np.concatenate([_reference(v, 0.9, 0.005) for v in videos])
    np.testing.assert_allclose(F, expected, rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------------- standardisation, determinism, output
def test_standardize_learns_from_the_training_data_only():
    X = make_synthetic_videos(4, n_frames=(80, 120), tracks="boxes", features=False, random_state=0)
    train, test = X[np.flatnonzero(X.snippet_video < 2)], X[np.flatnonzero(X.snippet_video >= 2)]
    raw_train = features_of(*train.videos)
    raw_test = features_of(*test.videos)
    est = TrackSnippetFeatures(feature_set="basic", standardize=True, output="array").fit(train)
    np.testing.assert_allclose(est.mean_, raw_train.mean(0), rtol=1e-5, atol=1e-7)
    std = raw_train.std(0)
    np.testing.assert_allclose(est.scale_, np.where(std > 0, std, 1.0), rtol=1e-4)
    np.testing.assert_allclose(est.transform(test), (raw_test - est.mean_) / est.scale_, rtol=1e-4, atol=1e-5)
    Z = est.transform(train)
    varying = std > 0
    np.testing.assert_allclose(Z[:, varying].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, varying].std(0), 1, rtol=1e-4)
    np.testing.assert_array_equal(Z[:, ~varying], 0)
    np.testing.assert_allclose(clone(est).fit_transform(train), Z, rtol=1e-6)


def test_determinism_and_clone():
    X = make_synthetic_videos(2, tracks="keypoints", random_state=2)
    est = TrackSnippetFeatures(feature_set="basic", output="array")
    a = est.fit_transform(X)
    b = clone(est).transform(X)
    np.testing.assert_array_equal(a, b)
    assert a.tobytes() == TrackSnippetFeatures(feature_set="basic", output="array").transform(X).tobytes()
    assert clone(TrackSnippetFeatures(feature_set="basic", quantile=0.5)).get_params()["quantile"] == 0.5


def test_feature_names_and_set_output():
    X = make_synthetic_videos(2, n_frames=(40, 60), tracks="boxes", features=False, anomaly_ratio=0, random_state=0)
    est = TrackSnippetFeatures(feature_set="basic", output="array")
    names = est.get_feature_names_out()
    assert list(names) == list(FEATURE_NAMES) and len(names) == 16
    df = clone(est).set_output(transform="pandas").fit_transform(X)
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(FEATURE_NAMES)
    assert df.index.names == ["video", "snippet"] and df.index[0] == (X.names[0], 0)
    np.testing.assert_array_equal(df.to_numpy(), est.fit_transform(X))
    # a VideoSet is passed through as is, so a whole pipeline can be set to pandas
    out = TrackSnippetFeatures(feature_set="basic").set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, VideoSet)
    with config_context(transform_output="pandas"):
        assert isinstance(TrackSnippetFeatures(feature_set="basic", output="array").fit_transform(X), pd.DataFrame)
        default = TrackSnippetFeatures(feature_set="basic", output="array").set_output(transform="default")
        assert isinstance(default.fit_transform(X), np.ndarray)
    with pytest.raises(ValueError, match="transform must be one of"):
        est.set_output(transform="arrow")


@pytest.mark.parametrize("check", [
    "check_no_attributes_set_in_init", "check_estimator_repr", "check_estimator_cloneable",
    "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params", "check_valid_tag_types", "check_mixin_order",
])
def test_sklearn_api_checks_that_do_not_need_arrays(check):
    # the data checks of check_estimator need 2-D arrays; the input here is a VideoSet with tracks
    for estimator in (TrackSnippetFeatures(feature_set="basic", standardize=True), TrackSnippetFeatures()):
        getattr(estimator_checks, check)("TrackSnippetFeatures", estimator)


def test_tags():
    assert TrackSnippetFeatures(feature_set="basic").__sklearn_tags__().requires_fit is False
    assert TrackSnippetFeatures(feature_set="basic", standardize=True).__sklearn_tags__().requires_fit is True
    assert TrackSnippetFeatures().__sklearn_tags__().requires_fit is True  # the scene statistics are fitted
    assert TrackSnippetFeatures().__sklearn_tags__().input_tags.two_d_array is False


# ---------------------------------------------------------------------- pipelines
def test_pipeline_with_feature_ae():
    X = make_synthetic_videos(4, n_frames=(64, 96), tracks="boxes", features=False, random_state=0)
    pipe = make_pipeline(TrackSnippetFeatures(feature_set="basic", standardize=True),
                         FeatureAE(hidden=(8,), max_epochs=2, device="cpu", random_state=0))
    pipe.fit(X)
    assert pipe[-1].n_features_in_ == 16
    scores = pipe.score_samples(X)
    assert scores.shape == (len(X),) and np.isfinite(scores).all()
    np.testing.assert_allclose(-scores, pipe[-1].anomaly_score(pipe[0].transform(X)), rtol=1e-6)
    assert [len(f) for f in pipe[-1].score_frames(pipe[0].transform(X))] == list(X.n_frames)
    np.testing.assert_allclose(pipe[0].mean_, features_of(*X.videos).mean(0), rtol=1e-5, atol=1e-7)


def test_interleaved_vad_consumes_the_transformed_videoset():
    X = make_synthetic_videos(6, n_frames=(64, 96), tracks="boxes", features=False, anomaly_ratio=0.2, random_state=1)
    model = InterleavedVAD(FeatureAE(hidden=(4,), max_epochs=1, device="cpu"),
                           MIL(hidden_dims=(8, 4), bag_size=4, iterations_per_epoch=2),
                           max_modules=2, module_steps=1, device="cpu", random_state=0)
    pipe = make_pipeline(TrackSnippetFeatures(feature_set="basic", standardize=True), model).fit(X)
    assert pipe.decision_function(X).shape == (len(X),)
    frames = pipe[-1].score_frames(pipe[0].transform(X))
    assert [len(f) for f in frames] == list(X.n_frames)
    assert set(np.unique(pipe.predict(X))) <= {-1, 1}


# ---------------------------------------------------------------------- bad input
def test_bad_input():
    X = make_synthetic_videos(2, n_frames=(40, 50), tracks="boxes", features=False, anomaly_ratio=0, random_state=0)
    with pytest.raises(TypeError, match="needs a VideoSet with person tracks, got ndarray"):
        TrackSnippetFeatures(feature_set="basic").fit_transform(np.zeros((5, 16)))
    no_tracks = VideoSet([Video("plain", 32, features=np.zeros((2, 4), np.float32))])
    with pytest.raises(ValueError, match="'plain': has no person tracks"):
        TrackSnippetFeatures(feature_set="basic").fit(no_tracks)
    with pytest.raises(NotFittedError):
        TrackSnippetFeatures(feature_set="basic", standardize=True).transform(X)
    assert TrackSnippetFeatures(feature_set="basic").transform(X).shape == (len(X), 16)  # stateless without standardize
    with pytest.raises(ValueError, match="empty VideoSet"):
        TrackSnippetFeatures(feature_set="basic").transform(X[np.zeros(0, int)])
    unsized = box_video(walker(1, range(20)), 32, name="unsized", frame_size=None)
    with pytest.raises(ValueError, match="'unsized': has no frame_size"):
        TrackSnippetFeatures(feature_set="basic").transform(VideoSet([unsized]))
    F = TrackSnippetFeatures(feature_set="basic", output="array", frame_height=100).transform(VideoSet([unsized]))
    assert F[0, COL["height_mean"]] == pytest.approx(0.4)
    for bad in ({"quantile": 0.0}, {"output": "frame"}, {"stationary_speed": -1}, {"frame_height": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrackSnippetFeatures(feature_set="basic", **bad).transform(X)


# ---------------------------------------------------------------------- real data
@pytest.mark.realdata
@pytest.mark.skipif(not TRACKS.is_dir(), reason=f"real data folder {TRACKS} is absent")
def test_real_tracks_fast_finite_and_informative():
    X = load_tracks_benchmark(TRACKS, split="test")  # 199 videos, 430k track rows
    start = time.perf_counter()
    out = TrackSnippetFeatures(feature_set="basic").transform(X)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"transform took {elapsed:.1f} s"  # about 0.3 s on a shared 2-core machine
    F = out.features()
    assert F.shape == (len(X), 16) and np.isfinite(F).all()
    # the fastest person per snippet alone ranks frames about as well as the speed heuristic (0.73)
    auc = frame_auc(X.frame_labels(), X.snippets_to_frames(F[:, COL["speed_max"]]))
    assert auc > 0.7
