"""Property-based tests of every frame / snippet / object mapping of the VideoSet."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unsupvad import Tracks, Video, VideoSet

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def videos(draw, snippet_len=None, with_tracks=True):
    L = snippet_len or draw(st.sampled_from([4, 5, 16]))
    n_videos = draw(st.integers(1, 4))
    out = []
    for i in range(n_videos):
        n = draw(st.integers(1, 90))
        low, high = max(1, n // L), -(-n // L)
        T = draw(st.integers(low, high))
        feats = np.arange(T * 2, dtype=np.float32).reshape(T, 2) + 1000 * i
        labels = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.uint8)
        tracks = None
        if with_tracks:
            frames, ids = [], []
            for tid in range(draw(st.integers(0, 3))):
                fr = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
                frames += sorted(fr)
                ids += [tid] * len(fr)
            boxes = np.tile([1.0, 2.0, 3.0, 4.0], (len(frames), 1))
            tracks = Tracks.from_boxes(np.array(frames, dtype=np.int64), np.array(ids, dtype=np.int64), boxes)
        out.append(Video(f"v{i}", n, features=feats, tracks=tracks, labels=labels, snippet_len=L))
    return VideoSet(out)


@st.composite
def videoset_and_index(draw):
    X = draw(videos())
    idx = draw(st.lists(st.integers(0, len(X) - 1), min_size=1, max_size=2 * len(X)))
    return X, np.array(idx)


def _frame_snippet_brute(video):
    starts, stops = video.snippet_bounds()
    owner = np.full(video.n_frames, -1)
    for i, (a, b) in enumerate(zip(starts, stops)):
        assert (owner[a:b] == -1).all(), "a frame belongs to two snippets"
        owner[a:b] = i
    return owner


@SETTINGS
@given(videos(with_tracks=False))
def test_each_frame_in_exactly_one_snippet(X):
    for video in X.videos:
        owner = _frame_snippet_brute(video)
        assert (owner >= 0).all()
        np.testing.assert_array_equal(owner, video.frame_to_snippet(np.arange(video.n_frames)))
        assert owner[-1] == video.n_snippets - 1
        assert len(np.unique(owner)) == video.n_snippets


@SETTINGS
@given(videos(with_tracks=False), st.data())
def test_frame_snippet_round_trips(X, data):
    scores = np.array(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=len(X), max_size=len(X))))
    frames = X.snippets_to_frames(scores)
    assert [len(f) for f in frames] == list(X.n_frames)
    np.testing.assert_allclose(X.frames_to_snippets(frames), scores)
    np.testing.assert_allclose(X.frames_to_snippets(frames, reduce="max"), scores)


@SETTINGS
@given(videos())
def test_object_maps_to_exactly_the_snippets_its_frames_touch(X):
    objects = X.objects(seg_len=3, stride=2, max_missing=1)
    indptr, pos = X.object_snippets(objects)
    centre = X.object_snippet(objects)
    for i in range(len(objects)):
        video = X.videos[objects.video[i]]
        owner = _frame_snippet_brute(video)
        expected = np.unique(owner[objects.start_frame[i] : objects.stop_frame[i]])
        got = X.snippet_index[pos[indptr[i] : indptr[i + 1]]]
        np.testing.assert_array_equal(got, expected)
        assert (X.snippet_video[pos[indptr[i] : indptr[i + 1]]] == objects.video[i]).all()
        assert X.snippet_index[centre[i]] == owner[objects.centre_frame[i]]
        assert objects.start_frame[i] <= objects.centre_frame[i] < objects.stop_frame[i]


@SETTINGS
@given(videos())
def test_windows_respect_the_continuity_rule(X):
    seg_len, max_missing = 4, 1
    objects = X.objects(seg_len=seg_len, stride=1, max_missing=max_missing)
    for i in range(len(objects)):
        frames = X.videos[objects.video[i]].tracks.frame[objects.rows[i]]
        assert (np.diff(frames) > 0).all()
        in_range = frames < frames[0] + seg_len
        assert in_range.sum() >= seg_len - max_missing
        tracks = X.videos[objects.video[i]].tracks
        assert (tracks.track_id[objects.rows[i]] == objects.track_id[i]).all()


@SETTINGS
@given(videos(), st.data())
def test_objects_to_snippets_mean_is_the_mean_of_touching_objects(X, data):
    objects = X.objects(seg_len=2, stride=1, max_missing=0)
    scores = np.array(data.draw(st.lists(st.floats(-10, 10), min_size=len(objects), max_size=len(objects))))
    got = X.objects_to_snippets(objects, scores, fill_value=-99.0)
    indptr, pos = X.object_snippets(objects)
    for p in range(len(X)):
        members = [i for i in range(len(objects)) if p in pos[indptr[i] : indptr[i + 1]]]
        expected = np.mean(scores[members]) if members else -99.0
        assert got[p] == pytest.approx(expected)


@SETTINGS
@given(videos(), st.data())
def test_snippets_to_objects_rules(X, data):
    objects = X.objects(seg_len=2, stride=1, max_missing=0)
    s = np.array(data.draw(st.lists(st.floats(0, 1), min_size=len(X), max_size=len(X))))
    centre = X.snippets_to_objects(objects, s, rule="centre")
    best = X.snippets_to_objects(objects, s, rule="max")
    indptr, pos = X.object_snippets(objects)
    for i in range(len(objects)):
        assert centre[i] == s[X.object_snippet(objects)[i]]
        assert best[i] == s[pos[indptr[i] : indptr[i + 1]]].max()
        assert best[i] >= centre[i]


@SETTINGS
@given(videos(), st.data())
def test_objects_to_frames_centre_max(X, data):
    objects = X.objects(seg_len=2, stride=1, max_missing=0)
    scores = np.array(data.draw(st.lists(st.floats(-5, 5), min_size=len(objects), max_size=len(objects))))
    frames = X.objects_to_frames(objects, scores, reduce="max", fill_value=-50.0)
    for v, video in enumerate(X.videos):
        expected = np.full(video.n_frames, -50.0)
        for i in np.flatnonzero(objects.video == v):
            f = objects.centre_frame[i]
            expected[f] = scores[i] if expected[f] == -50.0 else max(expected[f], scores[i])
        np.testing.assert_allclose(frames[v], expected)


@SETTINGS
@given(videoset_and_index())
def test_subsets_keep_alignment(X_idx):
    X, idx = X_idx
    Y = X[idx]
    assert len(Y) == len(idx)
    np.testing.assert_array_equal(Y.groups, X.groups[idx])
    np.testing.assert_array_equal(Y.snippet_index, X.snippet_index[idx])
    np.testing.assert_array_equal(Y.features(), X.features()[idx])
    np.testing.assert_array_equal(Y.snippet_labels(), X.snippet_labels()[idx])
    starts_x, stops_x = X.snippet_frames()
    starts_y, stops_y = Y.snippet_frames()
    np.testing.assert_array_equal(starts_y, starts_x[idx])
    np.testing.assert_array_equal(stops_y, stops_x[idx])
    # spreading scores then reducing again gives each selected snippet its own value
    s = np.arange(len(Y), dtype=float)
    if len(np.unique(idx)) == len(idx):
        np.testing.assert_allclose(Y.frames_to_snippets([np.nan_to_num(f, nan=-1) for f in Y.snippets_to_frames(s)]), s)
    # the objects of a subset map to the same (video, snippet) as in the full set
    ox, oy = X.objects(3, 1, 1), Y.objects(3, 1, 1)
    key_x = {(X.names[v], t, a): (X.groups[p], X.snippet_index[p]) for v, t, a, p in
             zip(ox.video, ox.track_id, ox.start_frame, X.object_snippet(ox))}
    for v, t, a, p in zip(oy.video, oy.track_id, oy.start_frame, Y.object_snippet(oy)):
        if p >= 0:
            assert key_x[(Y.names[v], t, a)] == (Y.groups[p], Y.snippet_index[p])


@SETTINGS
@given(videoset_and_index(), st.data())
def test_nested_indexing_composes(X_idx, data):
    X, idx = X_idx
    Y = X[idx]
    inner = np.array(data.draw(st.lists(st.integers(0, len(Y) - 1), min_size=1, max_size=len(Y))))
    np.testing.assert_array_equal(Y[inner].groups, X[idx[inner]].groups)
    np.testing.assert_array_equal(Y[inner].snippet_index, X[idx[inner]].snippet_index)


def _small_set():
    videos_ = [Video(f"v{i}", 40 + i, features=np.full((3, 2), i, np.float32), labels=np.zeros(40 + i))
               for i in range(3)]
    return VideoSet(videos_)


def test_indexing_forms():
    X = _small_set()
    assert len(X) == 9 and X.shape == (9, 2)
    assert len(X[2]) == 1 and len(X[-1]) == 1
    assert len(X[1:5]) == 4
    assert len(X[np.arange(9) % 2 == 0]) == 5
    assert len(X[[0, 8], ...]) == 2
    assert X[3:6].n_videos == 1 and X[3:6].is_complete
    assert not X[[1, 0, 2]].is_complete
    with pytest.raises(IndexError):
        X[9]
    with pytest.raises(IndexError):
        X[np.ones(3, bool)]
    with pytest.raises(IndexError):
        X[[0.5]]
    with pytest.raises(TypeError):
        list(X)


def test_works_with_sklearn_indexing_and_group_splits():
    from sklearn.model_selection import GroupKFold
    from sklearn.utils import _safe_indexing
    from sklearn.utils.validation import _num_samples

    X = _small_set()
    assert _num_samples(X) == 9
    sub = _safe_indexing(X, [0, 4, 8])
    assert list(sub.groups) == ["v0", "v1", "v2"]
    for train, test in GroupKFold(n_splits=3).split(X, groups=X.groups):
        assert set(X[train].names).isdisjoint(X[test].names)
        assert X[test].is_complete


def test_from_arrays_groups():
    feats = np.arange(10, dtype=np.float32).reshape(5, 2)
    X = VideoSet.from_arrays(feats, groups=["a", "a", "b", "b", "b"])
    assert X.names == ["a", "b"] and list(X.n_frames) == [32, 48]
    np.testing.assert_array_equal(X.features(), feats)
    with pytest.raises(ValueError, match="not contiguous"):
        VideoSet.from_arrays(feats, groups=["a", "b", "a", "b", "b"])
    assert len(VideoSet.from_arrays(feats).videos) == 5


def test_last_partial_snippet_rule():
    ceil_video = Video("c", 40, features=np.zeros((3, 1)))
    floor_video = Video("f", 40, features=np.zeros((2, 1)))
    np.testing.assert_array_equal(ceil_video.snippet_bounds()[1], [16, 32, 40])
    np.testing.assert_array_equal(floor_video.snippet_bounds()[1], [16, 40])
    X = VideoSet([ceil_video, floor_video])
    frames = X.snippets_to_frames(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(frames[0], np.r_[np.full(16, 1.0), np.full(16, 2.0), np.full(8, 3.0)])
    np.testing.assert_array_equal(frames[1], np.r_[np.full(16, 4.0), np.full(24, 5.0)])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_frames=0), "empty"),
        (dict(features=np.zeros((5, 2))), "T=5 snippets"),
        (dict(features=np.zeros(3)), "shape"),
        (dict(features=np.full((3, 2), np.nan)), "NaN"),
        (dict(features=np.zeros((3, 0))), "empty"),
        (dict(labels=np.zeros(39)), "39"),
        (dict(labels=np.full(40, 2)), "0 .normal. or 1"),
        (dict(fps=-1.0), "fps"),
        (dict(frame_size=(0, 480)), "frame_size"),
        (dict(tracks=Tracks.from_boxes([40], [1], [[0, 0, 5, 5]])), "outside the video"),
        (dict(tracks=Tracks.from_boxes([3, 3], [1, 1], [[0, 0, 5, 5]] * 2)), "duplicate rows for track 1 at frame 3"),
        (dict(tracks=Tracks.from_boxes([3], [1], [[0, 0, -5, 5]])), "non-positive width"),
        (dict(tracks=Tracks([1], [1], np.full((1, 18, 3), np.inf))), "infinite"),
    ],
)
def test_bad_video_inputs_name_the_video(kwargs, match):
    args = dict(name="clip_07", n_frames=40) | kwargs
    with pytest.raises(ValueError, match=match) as info:
        Video(**args)
    assert "clip_07" in str(info.value)


def test_inconsistent_sets_are_refused():
    a = Video("a", 32, features=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="'a': appears twice"):
        VideoSet([a, a])
    with pytest.raises(ValueError, match="feature shape"):
        VideoSet([a, Video("b", 32, features=np.zeros((2, 5)))])
    with pytest.raises(ValueError, match="snippet_len"):
        VideoSet([a, Video("b", 32, features=np.zeros((4, 4)), snippet_len=8)])
    X = VideoSet([a])
    with pytest.raises(ValueError, match="one per snippet"):
        X.snippets_to_frames(np.zeros(3))
    with pytest.raises(ValueError, match="no person tracks"):
        X.objects()


@SETTINGS
@given(videoset_and_index())
def test_snippet_objects_map_to_themselves(X_idx):
    X, idx = X_idx
    Y = X[np.unique(idx)]
    objects = Y.snippet_objects()
    assert len(objects) == len(Y)
    np.testing.assert_array_equal(Y.object_snippet(objects), np.arange(len(Y)))
    s = np.arange(len(Y), dtype=float)
    np.testing.assert_array_equal(Y.objects_to_snippets(objects, s), s)
    np.testing.assert_array_equal(Y.snippets_to_objects(objects, s, rule="max"), s)


def test_non_integral_frames_or_ids_are_refused_not_truncated():
    with pytest.raises(ValueError, match="frame values must be integers"):
        Tracks.from_boxes(np.array([0.0, 1.5]), np.array([1, 1]), np.ones((2, 4)))
    with pytest.raises(ValueError, match="track_id values must be integers"):
        Tracks.from_boxes(np.array([0, 1]), np.array([1.9, 1.0]), np.ones((2, 4)))
    tracks = Tracks.from_boxes(np.array([2.0, 0.0]), np.array([1.0, 1.0]), np.ones((2, 4)))
    np.testing.assert_array_equal(tracks.frame, [0, 2])


def test_video_arrays_are_read_only():
    video = Video("a", 4, labels=np.array([0, 1, 0, 0]), tracks=Tracks.from_boxes([0], [1], [[0, 0, 1, 1]]))
    with pytest.raises(ValueError):
        video.labels[0] = 1
    with pytest.raises(ValueError):
        video.tracks.frame[0] = 3


def test_select_videos_by_name_keeps_the_given_order_and_whole_videos():
    X = VideoSet([Video(f"v{i}", 40 + 16 * i, features=np.zeros((3 + i, 2), np.float32)) for i in range(3)])
    picked = X.select_videos(np.array(["v2", "v0"], dtype=object))
    assert picked.names == ["v2", "v0"] and picked.is_complete and len(picked) == 5 + 3
    assert X[np.array([0, 4])].select_videos(["v1"]).is_complete  # whole videos, whatever was selected
    with pytest.raises(ValueError, match="video 'v9': is not in this VideoSet .*1 of the 2 names"):
        X.select_videos(["v0", "v9"])
    with pytest.raises(ValueError, match="video 'v0': is named twice"):
        X.select_videos(["v0", "v1", "v0"])
    with pytest.raises(ValueError, match="no video name"):
        X.select_videos([])


def test_detection_scores_take_the_largest_window_holding_each_row():
    from unsupvad._objects import detection_scores

    # one track of 10 detections (frames 0-9) and one of 3 (too short for a window of 4)
    frames = np.r_[np.arange(10), np.arange(3)]
    ids = np.r_[np.zeros(10, int), np.ones(3, int)]
    tracks = Tracks.from_boxes(frames, ids, np.tile([10.0, 10.0, 5.0, 10.0], (13, 1)))
    X = VideoSet([Video("v", 16, tracks=tracks, frame_size=(100, 100))])
    objects = X.objects(seg_len=4, stride=3, max_missing=0)  # windows at rows 0-3, 3-6, 6-9
    assert objects.rows.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    (scores,) = detection_scores(X.videos, objects, [1.0, 5.0, 2.0])
    np.testing.assert_array_equal(scores[:10], [1, 1, 1, 5, 5, 5, 5, 2, 2, 2])  # rows 3 and 6: the larger window
    assert np.isnan(scores[10:]).all()  # the short track has no window
    with pytest.raises(ValueError, match="one score per object"):
        detection_scores(X.videos, objects, [1.0])
