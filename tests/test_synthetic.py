"""The synthetic video generator: determinism, validity, planted anomalies and their detectability."""

import math
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from unsupvad import Tracks, VideoSet
from unsupvad.datasets._synthetic import ANOMALY_KINDS, make_synthetic_videos

NOSE, NECK, R_HIP, R_ANKLE, L_HIP, L_ANKLE = 0, 1, 8, 10, 11, 13


@pytest.fixture(scope="module")
def dataset():
    return make_synthetic_videos(random_state=0, return_events=True)


@pytest.fixture(scope="module")
def boxes_set():
    return make_synthetic_videos(random_state=1, tracks="boxes", n_crops=3)


def _frame_offsets(X):
    return np.r_[0, np.cumsum(X.n_frames)]


def _event_mask(X, events):
    """Concatenated frame mask of the given event rows."""
    mask = np.zeros(int(X.n_frames.sum()), bool)
    offsets = _frame_offsets(X)
    for _, ev in events.iterrows():
        i = X.names.index(ev.video)
        mask[offsets[i] + ev.start:offsets[i] + ev.stop] = True
    return mask


def speed_frame_scores(X):
    """Per frame, the largest box-centre displacement per frame over the people, in box heights."""
    out = []
    for video in X.videos:
        tracks = video.tracks
        boxes = tracks.boxes
        centre = boxes[:, :2] + boxes[:, 2:] / 2
        score = np.zeros(video.n_frames)
        for sl in tracks.track_slices:
            frames = tracks.frame[sl]
            if len(frames) < 2:
                continue
            step = np.linalg.norm(np.diff(centre[sl], axis=0), axis=1) / np.diff(frames)
            np.maximum.at(score, frames[1:], step / boxes[sl][1:, 3])
        out.append(score)
    return out


def mahalanobis_snippet_scores(X):
    """Squared Mahalanobis distance of every snippet to the mean of all snippets (no labels)."""
    feats = X.features().reshape(len(X), -1).astype(np.float64)
    centred = feats - feats.mean(axis=0)
    precision = np.linalg.inv(np.cov(feats, rowvar=False) + 1e-6 * np.eye(feats.shape[1]))
    return np.einsum("ij,jk,ik->i", centred, precision, centred)


# ---------------------------------------------------------------------- determinism and speed
def _arrays(X):
    out = []
    for v in X.videos:
        out += [v.features, v.labels, v.tracks.frame, v.tracks.track_id, v.tracks.points]
    return out


def test_same_seed_same_videos():
    a = make_synthetic_videos(n_videos=6, random_state=42)
    b = make_synthetic_videos(n_videos=6, random_state=42)
    assert a.names == b.names
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_different_seed_different_videos():
    a = make_synthetic_videos(n_videos=6, random_state=1)
    b = make_synthetic_videos(n_videos=6, random_state=2)
    assert not np.array_equal(a.videos[0].features, b.videos[0].features)
    assert not np.array_equal(a.videos[0].tracks.points, b.videos[0].tracks.points)


def test_modalities_share_one_world():
    kp = make_synthetic_videos(n_videos=4, random_state=7)
    bx = make_synthetic_videos(n_videos=4, tracks="boxes", features=False, random_state=7)
    ft = make_synthetic_videos(n_videos=4, tracks=None, n_crops=2, random_state=7)
    for a, b, c in zip(kp.videos, bx.videos, ft.videos, strict=True):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.labels, c.labels)
        np.testing.assert_array_equal(a.tracks.frame, b.tracks.frame)
        np.testing.assert_allclose(np.maximum(a.tracks.boxes[:, 2:], 1.0), b.tracks.boxes[:, 2:], rtol=1e-5)
        np.testing.assert_allclose(a.tracks.boxes[:, :2], b.tracks.boxes[:, :2], rtol=1e-5)


def test_generator_and_randomstate_seeds():
    a = make_synthetic_videos(n_videos=3, random_state=np.random.default_rng(5))
    b = make_synthetic_videos(n_videos=3, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(a.videos[2].features, b.videos[2].features)
    c = make_synthetic_videos(n_videos=3, random_state=np.random.RandomState(5))
    assert c.n_videos == 3


def test_twenty_videos_in_under_a_second():
    make_synthetic_videos(n_videos=2, random_state=0)
    best = math.inf
    for seed in range(3):
        tic = time.perf_counter()
        X = make_synthetic_videos(n_videos=20, random_state=seed)
        best = min(best, time.perf_counter() - tic)
    assert X.n_frames.mean() > 300
    assert best < 1.0


# ---------------------------------------------------------------------- shapes, dtypes, validity
def test_videoset_validity(dataset):
    X, _ = dataset
    assert isinstance(X, VideoSet)
    assert X.names == [f"synthetic_{i:03d}" for i in range(20)]
    assert X.has_features and X.has_tracks and X.has_labels and X.is_complete
    assert ((X.n_frames >= 240) & (X.n_frames <= 480)).all()
    assert len(X) == sum(math.ceil(n / 16) for n in X.n_frames)
    objects = X.objects(seg_len=24, stride=6)
    assert len(objects) > 100
    assert X.object_points(objects).shape[1:] == (24, 18, 3)


def test_video_fields(dataset):
    X, _ = dataset
    for v in X.videos:
        assert v.fps == 24 and v.frame_size == (856, 480) and v.snippet_len == 16
        assert v.features.shape == (math.ceil(v.n_frames / 16), 64)
        assert v.features.dtype == np.float32
        assert np.isfinite(v.features).all()
        assert v.labels.shape == (v.n_frames,) and v.labels.dtype == np.uint8


def test_keypoint_tracks(dataset):
    X, _ = dataset
    for v in X.videos:
        tr = v.tracks
        assert isinstance(tr, Tracks) and tr.kind == "keypoints" and tr.layout == "openpose18"
        assert tr.points.shape[1:] == (18, 3) and tr.points.dtype == np.float32
        assert np.isfinite(tr.points).all()
        xy, conf = tr.points[..., :2], tr.points[..., 2]
        assert (xy >= 0).all() and (xy[..., 0] <= 855).all() and (xy[..., 1] <= 479).all()
        assert (conf >= 0.8).all() and (conf <= 1.0).all()
        assert (tr.frame >= 0).all() and (tr.frame < v.n_frames).all()
        for sl in tr.track_slices:
            assert (np.diff(tr.frame[sl]) > 0).all()
        assert (tr.boxes[:, 2:] > 0).all()


def test_box_tracks_and_crops(boxes_set):
    for v in boxes_set.videos:
        tr = v.tracks
        assert tr.kind == "boxes" and tr.points.shape[1:] == (2, 3)
        assert (tr.boxes[:, 2:] > 0).all()
        assert (tr.boxes[:, :2] >= 0).all()
        assert v.features.shape == (math.ceil(v.n_frames / 16), 3, 64)
    assert boxes_set.shape == (len(boxes_set), 3, 64)


def test_modalities_can_be_left_out():
    X = make_synthetic_videos(n_videos=4, tracks=None, random_state=0)
    assert X.has_features and not any(v.tracks is not None for v in X.videos)
    X = make_synthetic_videos(n_videos=4, features=False, random_state=0)
    assert X.has_tracks and not X.has_features and X.has_labels


def test_other_sizes_and_frame_rates():
    X = make_synthetic_videos(n_videos=6, n_frames=100, frame_size=(320, 240), fps=30, n_features=8,
                              snippet_len=8, random_state=0)
    for v in X.videos:
        assert v.n_frames == 100 and v.frame_size == (320, 240) and v.fps == 30
        assert v.features.shape == (13, 8)
        assert (v.tracks.points[..., 0] <= 319).all() and (v.tracks.points[..., 1] <= 239).all()


# ---------------------------------------------------------------------- realism of normal behaviour
def _normal_rows(X, events):
    """Per video, a mask of track rows that are not part of any anomaly."""
    masks = []
    for v in X.videos:
        keep = np.ones(len(v.tracks), bool)
        for _, ev in events[events.video == v.name].iterrows():
            tr = v.tracks
            keep &= ~((tr.track_id == ev.track_id) & (tr.frame >= ev.start) & (tr.frame < ev.stop))
        masks.append(keep)
    return masks


def test_upright_skeletons_in_openpose_order(dataset):
    X, events = dataset
    rows = [v.tracks.points[keep][..., 1] for v, keep in zip(X.videos, _normal_rows(X, events), strict=True)]
    y = np.concatenate(rows)
    hips = (y[:, R_HIP] + y[:, L_HIP]) / 2
    ankles = np.maximum(y[:, R_ANKLE], y[:, L_ANKLE])
    inside = (y.min(axis=1) > 0) & (y.max(axis=1) < 479)  # no joint clipped at an edge
    assert inside.mean() > 0.8
    assert (y[inside, NOSE] < y[inside, NECK]).mean() > 0.99
    assert (y[inside, NECK] < hips[inside]).all()
    assert (hips[inside] < ankles[inside]).all()


def test_walking_speed_and_track_turnover(dataset):
    X, events = dataset
    speeds, births, deaths = [], 0, 0
    for v, keep in zip(X.videos, _normal_rows(X, events), strict=True):
        tr = v.tracks
        hips = tr.points[:, [R_HIP, L_HIP], :2].mean(axis=1)
        for sl in tr.track_slices:
            frames, rows = tr.frame[sl], keep[sl]
            step = np.linalg.norm(np.diff(hips[sl], axis=0), axis=1)[(np.diff(frames) == 1) & rows[1:]]
            speeds.append(step)
            births += frames[0] > 0
            deaths += frames[-1] < v.n_frames - 1
    median = np.median(np.concatenate(speeds))
    assert 0.8 < median < 2.2  # pixels per frame
    assert births > 20 and deaths > 20


# ---------------------------------------------------------------------- planted anomalies
def test_label_ratio_and_abnormal_videos(dataset):
    X, _ = dataset
    labels = X.frame_labels()
    ratio = sum(lab.sum() for lab in labels) / X.n_frames.sum()
    assert abs(ratio - 0.1) < 0.01
    abnormal = sum(lab.any() for lab in labels)
    assert abnormal == 10


@pytest.mark.parametrize("ratio, fraction", [(0.05, 0.3), (0.2, 0.6), (0.1, 1.0)])
def test_label_ratio_other_settings(ratio, fraction):
    X = make_synthetic_videos(n_videos=20, anomaly_ratio=ratio, abnormal_video_fraction=fraction,
                              random_state=3)
    labels = X.frame_labels()
    assert abs(sum(lab.sum() for lab in labels) / X.n_frames.sum() - ratio) < 0.15 * ratio
    assert sum(lab.any() for lab in labels) == round(fraction * 20)


def test_normal_videos_exist_and_no_anomalies_when_ratio_zero():
    X = make_synthetic_videos(n_videos=3, abnormal_video_fraction=0.99, random_state=0)
    assert sum(not lab.any() for lab in X.frame_labels()) == 1
    X = make_synthetic_videos(n_videos=4, anomaly_ratio=0.0, random_state=0)
    assert not any(lab.any() for lab in X.frame_labels())


def test_events_are_the_labels(dataset):
    X, events = dataset
    assert list(events.columns) == ["video", "track_id", "kind", "start", "stop"]
    assert set(events.kind) == set(ANOMALY_KINDS)
    np.testing.assert_array_equal(_event_mask(X, events), np.concatenate(X.frame_labels()).astype(bool))
    for _, group in events.groupby("video"):
        spans = group.sort_values("start")[["start", "stop"]].to_numpy()
        assert (spans[1:, 0] >= spans[:-1, 1]).all()  # disjoint intervals
        assert ((spans[:, 1] - spans[:, 0]) >= 16).all()


def test_anomaly_kinds_choose_what_is_planted():
    X, events = make_synthetic_videos(8, anomaly_kinds=("running", "falling"), return_events=True, random_state=0)
    assert set(events.kind) == {"running", "falling"}
    np.testing.assert_array_equal(_event_mask(X, events), np.concatenate(X.frame_labels()).astype(bool))
    _, only = make_synthetic_videos(6, anomaly_kinds="falling", return_events=True, random_state=1)
    assert set(only.kind) == {"falling"}
    for bad in ((), ("running", "dancing")):
        with pytest.raises(ValueError, match="anomaly_kinds"):
            make_synthetic_videos(2, anomaly_kinds=bad)


def test_abnormal_person_visible_during_anomaly(dataset):
    X, events = dataset
    for _, ev in events.iterrows():
        tr = X.videos[X.names.index(ev.video)].tracks
        frames = tr.frame[tr.track_id == ev.track_id]
        assert np.isin(np.arange(ev.start, ev.stop), frames).all()


def test_anomalies_in_features(dataset):
    X, _ = dataset
    feats = X.features()
    y = X.snippet_labels()
    norms = np.linalg.norm(feats, axis=1)
    assert norms[y == 1].mean() > norms[y == 0].mean() + 0.5  # feature magnitude grows
    assert roc_auc_score(y, norms) > 0.65


def test_anomalies_in_skeletons(dataset):
    X, events = dataset
    falls = events[events.kind == "falling"]
    for _, ev in falls.iterrows():
        tr = X.videos[X.names.index(ev.video)].tracks
        rows = (tr.track_id == ev.track_id) & (tr.frame >= ev.start) & (tr.frame < ev.stop)
        width, height = tr.boxes[rows][:, 2], tr.boxes[rows][:, 3]
        assert (width > height).mean() > 0.3  # lying on the ground for a good part of the event
    runs = events[events.kind == "running"]
    scores = np.concatenate(speed_frame_scores(X))
    assert np.median(scores[_event_mask(X, runs)]) > 1.4 * np.median(scores[~_event_mask(X, events)])


def test_sanity_auc_speed_heuristic(dataset):
    X, events = dataset
    y = np.concatenate(X.frame_labels())
    scores = np.concatenate(speed_frame_scores(X))
    auc = roc_auc_score(y, scores)
    assert 0.6 < auc < 0.9
    per_kind = {}
    for kind in ANOMALY_KINDS:
        keep = _event_mask(X, events[events.kind == kind]) | (y == 0)
        per_kind[kind] = roc_auc_score(y[keep], scores[keep])
    assert per_kind["running"] > 0.8
    assert min(per_kind["loitering"], per_kind["wrong_way"]) < 0.75  # not trivial for every kind


def test_sanity_auc_feature_density(dataset):
    X, _ = dataset
    assert roc_auc_score(X.snippet_labels(), mahalanobis_snippet_scores(X)) > 0.8


# ---------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_videos": 0}, "n_videos must be a positive integer"),
        ({"anomaly_ratio": 0.6}, "anomaly_ratio must lie in"),
        ({"abnormal_video_fraction": 1.5}, "abnormal_video_fraction must lie in"),
        ({"abnormal_video_fraction": 0.0}, "needs abnormal_video_fraction > 0"),
        ({"tracks": "skeleton"}, "tracks must be"),
        ({"tracks": None, "features": False}, "nothing to generate"),
        ({"n_frames": (300, 200)}, "n_frames must be"),
        ({"n_frames": 10}, "n_frames must be"),
        ({"n_people": -1}, "n_people must be"),
        ({"frame_size": (856,)}, "frame_size must be"),
        ({"fps": 0}, "fps must be positive"),
        ({"anomaly_ratio": 0.4, "abnormal_video_fraction": 0.5}, "more than half"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_videos(n_videos=kwargs.pop("n_videos", 4), random_state=0, **kwargs)


def test_warns_when_videos_too_short_for_every_abnormal_video():
    with pytest.warns(UserWarning, match="abnormal videos received an anomaly"):
        X = make_synthetic_videos(n_videos=20, n_frames=64, random_state=0)
    labels = X.frame_labels()
    assert abs(sum(lab.sum() for lab in labels) / X.n_frames.sum() - 0.1) < 0.02


def test_videos_carry_their_camera_as_scene():
    X = make_synthetic_videos(8, n_frames=(40, 60), tracks="boxes", features=False, n_scenes=3, random_state=0)
    assert set(X.scenes) == {"scene_0", "scene_1", "scene_2"}
