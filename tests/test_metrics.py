"""Frame metrics, the RTFM expansion rules and the correctly signed scorers."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import IsolationForest
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from unsupvad import Video, VideoSet
from unsupvad.metrics import (
    equal_error_rate,
    evaluate,
    expand_snippets,
    frame_ap_scorer,
    frame_auc,
    frame_auc_scorer,
    frame_average_precision,
    frame_scores,
    macro_auc_scorer,
    pad_labels,
)

SETTINGS = settings(max_examples=60, deadline=None)

Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])


# ---------------------------------------------------------------------- hand-computed values
def test_auc_hand_computed():
    # positive-negative pairs: 0.35 > 0.1, 0.35 < 0.4, 0.8 > both -> 3 of 4
    assert frame_auc(Y, S) == pytest.approx(0.75)


def test_average_precision_hand_computed():
    # ranking 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-): precision 1 at recall 1/2, 2/3 at recall 1
    assert frame_average_precision(Y, S) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_average_precision_is_not_rtfm_trapezoid():
    from sklearn.metrics import auc, precision_recall_curve

    precision, recall, _ = precision_recall_curve(Y, S)
    assert frame_average_precision(Y, S) != pytest.approx(auc(recall, precision))


@pytest.mark.parametrize(
    "labels, scores, expected",
    [
        (Y, S, 0.5),  # the ROC passes through (FPR, FNR) = (0.5, 0.5)
        ([0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.5, 0.9], 1 / 3),  # vertical ROC segment at FPR = 1/3
        ([0, 1, 0, 1], [0.5, 0.5, 0.1, 0.9], 0.25),  # a tie: diagonal segment, interpolated midway
        ([0, 0, 1, 1], [0, 1, 2, 3], 0.0),
        ([0, 0, 1, 1], [3, 2, 1, 0], 1.0),
    ],
)
def test_equal_error_rate_hand_computed(labels, scores, expected):
    assert equal_error_rate(labels, scores) == pytest.approx(expected)


def test_micro_and_macro_differ():
    # each video is perfectly ranked on its own, but video 1's normal frames outscore video 0's
    # abnormal ones: of 16 (abnormal, normal) pairs, 12 are ordered correctly.
    labels = [np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), np.zeros(3)]
    scores = [np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13]), np.array([0.5, 0.5, 0.5])]
    assert frame_auc(labels[:2], scores[:2], average="macro") == pytest.approx(1.0)
    assert frame_auc(labels[:2], scores[:2], average="micro") == pytest.approx(0.75)
    assert frame_auc(labels, scores, average="macro") == pytest.approx(1.0)  # normal-only video skipped
    assert frame_average_precision(labels[:2], scores[:2], average="macro") == pytest.approx(1.0)
    assert frame_average_precision(labels[:2], scores[:2]) < 1.0


def test_micro_is_auc_of_concatenation():
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 2, n) for n in (30, 17, 50)]
    scores = [rng.normal(size=len(lab)) for lab in labels]
    assert frame_auc(labels, scores) == pytest.approx(roc_auc_score(np.concatenate(labels),
                                                                    np.concatenate(scores)))


def test_evaluate():
    labels = [np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), np.zeros(3)]
    scores = [np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13]), np.array([0.5, 0.5, 0.5])]
    out = evaluate(labels, scores)
    assert out["micro_auc"] == pytest.approx(frame_auc(labels, scores))
    assert out["macro_auc"] == pytest.approx(1.0)
    assert out["ap"] == pytest.approx(frame_average_precision(labels, scores))
    assert out["eer"] == pytest.approx(equal_error_rate(labels, scores))
    assert (out["n_videos"], out["n_frames"], out["n_abnormal"]) == (3, 11, 4)


def test_evaluate_macro_nan_when_no_video_has_both_classes():
    out = evaluate([np.ones(4), np.zeros(4)], [np.arange(4.0) + 10, np.arange(4.0)])
    assert math.isnan(out["macro_auc"])
    assert out["micro_auc"] == pytest.approx(1.0)


# ---------------------------------------------------------------------- accepted inputs
def test_single_video_inputs():
    expected = frame_auc([Y], [S])
    assert frame_auc(list(Y), list(S)) == expected
    assert frame_auc(pd.Series(Y), pd.Series(S)) == expected
    assert frame_auc(Y.astype(bool), S) == expected
    assert frame_auc(Y.astype(float), S) == expected


def test_list_of_lists():
    assert frame_auc([[0, 1], [0, 1]], [[0.1, 0.9], [0.2, 0.8]]) == pytest.approx(1.0)


# ---------------------------------------------------------------------- errors
def test_length_mismatch_names_the_video():
    with pytest.raises(ValueError, match=r"video 1: 4 frame labels but 3 frame scores"):
        frame_auc([Y, Y], [S, S[:3]])


def test_video_count_mismatch():
    with pytest.raises(ValueError, match="y_true has 2 videos but y_score has 1"):
        frame_auc([Y, Y], [S])


def test_nan_scores():
    with pytest.raises(ValueError, match=r"video 0: scores contain NaN.*frame 2"):
        frame_auc(Y, [0.1, 0.2, np.nan, 0.3])


def test_bad_labels():
    with pytest.raises(ValueError, match=r"labels must be 0 \(normal\) or 1 \(abnormal\).*2"):
        frame_auc([0, 1, 2, 1], S)
    with pytest.raises(ValueError, match="labels must be 0"):
        frame_auc([0, 1, np.nan, 1], S)


def test_single_class_micro():
    with pytest.raises(ValueError, match="undefined: all 4 frames are normal"):
        frame_auc(np.zeros(4), S)
    with pytest.raises(ValueError, match="all 4 frames are abnormal"):
        frame_average_precision(np.ones(4), S)
    with pytest.raises(ValueError, match="undefined"):
        equal_error_rate(np.zeros(4), S)


def test_macro_without_mixed_video():
    with pytest.raises(ValueError, match="no video contains both normal and abnormal frames"):
        frame_auc([np.ones(4), np.zeros(4)], [S, S], average="macro")


def test_bad_average_and_shapes():
    with pytest.raises(ValueError, match="average must be one of"):
        frame_auc(Y, S, average="weighted")
    with pytest.raises(ValueError, match="one 1-D array per video"):
        frame_auc(np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="holds no video"):
        frame_auc([], [])


# ---------------------------------------------------------------------- RTFM expansion rules
def test_expand_snippets_repeats_each_score():
    out = expand_snippets(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(out, np.repeat([1.0, 2.0, 3.0], 16))
    assert len(expand_snippets([1.0, 2.0], snippet_len=4)) == 8


def test_expand_snippets_trims_partial_last_snippet():
    # 40 frames = 2 full snippets + a partial one of 8 frames: T = 3, trimmed from 48 to 40
    out = expand_snippets(np.array([1.0, 2.0, 3.0]), n_frames=40)
    np.testing.assert_array_equal(out, np.r_[np.full(16, 1.0), np.full(16, 2.0), np.full(8, 3.0)])


def test_expand_snippets_pads_dropped_tail():
    # the extractor dropped the partial snippet (T = 2 < 40 / 16): pad with the last score
    out = expand_snippets(np.array([1.0, 2.0]), n_frames=40)
    np.testing.assert_array_equal(out, np.r_[np.full(16, 1.0), np.full(24, 2.0)])


@pytest.mark.parametrize("n_frames, n_snippets", [(40, 3), (40, 2), (48, 3), (16, 1), (5, 1)])
def test_expand_snippets_matches_videoset(n_frames, n_snippets):
    scores = np.arange(1.0, n_snippets + 1)
    X = VideoSet([Video("v", n_frames, features=np.zeros((n_snippets, 2)))])
    np.testing.assert_array_equal(expand_snippets(scores, n_frames=n_frames), X.snippets_to_frames(scores)[0])


def test_expand_snippets_list_of_videos():
    out = expand_snippets([np.array([1.0]), np.array([2.0, 3.0])], n_frames=[10, 20])
    assert [len(o) for o in out] == [10, 20]
    out = expand_snippets([np.array([1.0]), np.array([2.0, 3.0])])
    assert [len(o) for o in out] == [16, 32]
    with pytest.raises(ValueError, match="n_frames has 1 entries for 2 videos"):
        expand_snippets([np.array([1.0]), np.array([2.0])], n_frames=[10])
    with pytest.raises(ValueError, match="no snippet score"):
        expand_snippets([np.array([])])


def test_pad_labels_repeats_last_label():
    labels = np.r_[np.zeros(30, np.uint8), np.ones(10, np.uint8)]
    out = pad_labels(labels, 3)
    assert len(out) == 48
    np.testing.assert_array_equal(out[:40], labels)
    assert out[40:].all()
    assert not pad_labels(np.r_[np.ones(30), np.zeros(10)], 3)[40:].any()


def test_pad_labels_trims_when_longer():
    labels = np.arange(40) % 2
    np.testing.assert_array_equal(pad_labels(labels, 2), labels[:32])


def test_pad_labels_list_and_errors():
    out = pad_labels([np.zeros(40), np.ones(20)], [3, 1])
    assert [len(o) for o in out] == [48, 16]
    with pytest.raises(ValueError, match="n_snippets must be a positive integer"):
        pad_labels(np.zeros(40), 0)


def test_rtfm_protocol_end_to_end():
    labels = np.r_[np.zeros(20), np.ones(20)]
    snippet_scores = np.array([0.1, 0.5, 0.9])
    auc = frame_auc(pad_labels(labels, 3), expand_snippets(snippet_scores))
    true_length = frame_auc(labels, expand_snippets(snippet_scores, n_frames=40))
    assert 0.5 < true_length < 1.0
    assert auc > true_length  # the padded tail repeats the last, abnormal label with the top score


# ---------------------------------------------------------------------- property tests
GRID = st.integers(-1000, 1000).map(lambda i: i / 10)  # distinct values stay distinct under the transforms


@st.composite
def labelled_videos(draw):
    n_videos = draw(st.integers(1, 4))
    labels, scores = [], []
    for _ in range(n_videos):
        n = draw(st.integers(1, 30))
        labels.append(np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))))
        scores.append(np.array(draw(st.lists(GRID, min_size=n, max_size=n))))
    labels[0] = np.r_[0, 1, labels[0]]
    scores[0] = np.r_[draw(GRID), draw(GRID), scores[0]]
    return labels, scores


@SETTINGS
@given(labelled_videos(), st.sampled_from(["exp", "cube", "affine"]))
def test_micro_auc_invariant_to_monotone_transforms(data, transform):
    labels, scores = data
    f = {"exp": lambda s: np.exp(s / 50), "cube": lambda s: s**3, "affine": lambda s: 3 * s - 7}[transform]
    assert frame_auc(labels, [f(s) for s in scores]) == pytest.approx(frame_auc(labels, scores))
    assert equal_error_rate(labels, [f(s) for s in scores]) == pytest.approx(equal_error_rate(labels, scores))


@SETTINGS
@given(labelled_videos())
def test_reversed_scores_complement_auc(data):
    labels, scores = data
    assert frame_auc(labels, [-s for s in scores]) == pytest.approx(1 - frame_auc(labels, scores))


@SETTINGS
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=40), st.integers(1, 20),
       st.one_of(st.none(), st.integers(1, 900)))
def test_expand_snippets_lengths(scores, snippet_len, n_frames):
    out = expand_snippets(np.array(scores), snippet_len=snippet_len, n_frames=n_frames)
    assert len(out) == (snippet_len * len(scores) if n_frames is None else n_frames)
    k = min(len(out), snippet_len * len(scores))
    np.testing.assert_array_equal(out[:k], np.repeat(scores, snippet_len)[:k])
    assert (out[k:] == scores[-1]).all()


@SETTINGS
@given(st.lists(st.integers(0, 1), min_size=1, max_size=200), st.integers(1, 15))
def test_pad_labels_lengths(labels, n_snippets):
    out = pad_labels(np.array(labels), n_snippets)
    assert len(out) == 16 * n_snippets
    k = min(len(labels), len(out))
    np.testing.assert_array_equal(out[:k], labels[:k])
    assert (out[k:] == labels[-1]).all()


# ---------------------------------------------------------------------- scorers
def _outlier_videos(seed=0, n_videos=32, per_video=10):
    """300 inliers and 20 outliers as snippets of labelled videos (each snippet 16 frames)."""
    rng = np.random.default_rng(seed)
    n = n_videos * per_video
    feats = np.r_[rng.normal(0, 1, (n - 20, 4)), rng.normal(4, 1, (20, 4))]
    y = np.r_[np.zeros(n - 20, int), np.ones(20, int)]
    order = rng.permutation(n)
    feats, y = feats[order], y[order]
    videos = [Video(f"v{i:02d}", 16 * per_video, features=feats[i * per_video:(i + 1) * per_video],
                    labels=np.repeat(y[i * per_video:(i + 1) * per_video], 16)) for i in range(n_videos)]
    return VideoSet(videos), y


class VideoSetIsolationForest(IsolationForest):
    """IsolationForest on a VideoSet's snippet features; scikit-learn's sign (higher = more normal)."""

    def fit(self, X, y=None, sample_weight=None):
        return super().fit(X.features(), sample_weight=sample_weight)

    def score_samples(self, X):
        return super().score_samples(X.features() if isinstance(X, VideoSet) else X)


def test_roc_auc_scorer_trap_on_outlier_detector():
    X, y = _outlier_videos()
    clf = VideoSetIsolationForest(random_state=0).fit(X)
    ours = frame_auc_scorer(clf, X)
    sklearns = get_scorer("roc_auc")(clf, X, X.snippet_labels())
    assert ours > 0.95
    assert ours == pytest.approx(roc_auc_score(y, -clf.score_samples(X)))
    assert sklearns == pytest.approx(1 - ours)


def test_scorers_in_cross_validation():
    X, _ = _outlier_videos()
    scores = cross_val_score(VideoSetIsolationForest(random_state=0), X, scoring=frame_auc_scorer,
                             cv=GroupKFold(4), groups=X.groups)
    assert scores.shape == (4,) and (scores > 0.9).all()


class _SnippetScores:
    """A stand-in estimator whose anomaly score is the first feature of each snippet."""

    def anomaly_score(self, X):
        return X.features()[:, 0].astype(np.float64)


class _NegatedSamples:
    def score_samples(self, X):
        return -X.features()[:, 0].astype(np.float64)


class _AllFrames:
    """Scores every frame of every video, selected or not (as a frame-level protocol might)."""

    def score_frames(self, X):
        return [np.repeat(v.features[:, 0], v.snippet_len)[:v.n_frames].astype(float) for v in X.videos]


def _small_set():
    rng = np.random.default_rng(3)
    videos = []
    for i, n in enumerate((40, 64, 50)):
        t = math.ceil(n / 16)
        labels = (rng.random(n) < 0.4).astype(np.uint8)
        feats = np.c_[rng.normal(size=t), np.zeros(t)]
        videos.append(Video(f"v{i}", n, features=feats, labels=labels))
    return VideoSet(videos)


def _expected_subset_auc(X, average="micro"):
    """Frame AUC over the frames of the selected snippets only, computed from scratch."""
    labels, scores = [], []
    for v, video in enumerate(X.videos):
        starts, stops = video.snippet_bounds()
        pos = X.video_positions(v)
        idx = X.snippet_index[pos]
        labels.append(np.concatenate([video.labels[starts[i]:stops[i]] for i in idx]))
        scores.append(np.concatenate([np.full(stops[i] - starts[i], video.features[i, 0]) for i in idx]))
    return frame_auc(labels, scores, average=average)


@pytest.mark.parametrize("estimator", [_SnippetScores(), _NegatedSamples(), _AllFrames()])
def test_scorer_on_subset_drops_unselected_frames(estimator):
    X = _small_set()
    whole = np.flatnonzero(X.snippet_video != 1)  # videos 0 and 2, as GroupKFold makes folds
    sub = X[np.random.default_rng(0).permutation(whole)]  # their snippets in another order
    assert not sub.is_complete and sub.n_videos == 2
    assert frame_auc_scorer(estimator, sub) == pytest.approx(_expected_subset_auc(sub))
    assert macro_auc_scorer(estimator, sub) == pytest.approx(_expected_subset_auc(sub, "macro"))
    assert frame_auc_scorer(estimator, X) == pytest.approx(_expected_subset_auc(X))
    assert 0 < frame_ap_scorer(estimator, sub) <= 1


@pytest.mark.parametrize("scorer", [frame_auc_scorer, frame_ap_scorer, macro_auc_scorer])
def test_scorers_refuse_a_fold_that_cuts_a_video_apart(scorer):
    X = _small_set()
    with pytest.raises(ValueError, match=r"holds 3 of the 4 snippets of video 'v1' \(2 video\(s\) split\).*GroupKFold"):
        scorer(_SnippetScores(), X[np.array([0, 1, 2, 3, 4, 5, 9, 10])])


def test_cross_validation_by_video_scores_whole_videos():
    from sklearn.model_selection import GroupKFold, KFold, cross_val_score

    X = _small_set()

    class Fitted(_SnippetScores, BaseEstimator):
        def fit(self, X, y=None):
            return self

    scores = cross_val_score(Fitted(), X, groups=X.groups, cv=GroupKFold(3), scoring=frame_ap_scorer)
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="cut videos apart"):
        cross_val_score(Fitted(), X, cv=KFold(3), scoring=frame_ap_scorer, error_score="raise")


def test_scorer_rejects_nan_on_selected_frames():
    class Broken:
        def score_frames(self, X):
            return [np.full(v.n_frames, np.nan) for v in X.videos]

    with pytest.raises(ValueError, match="NaN"):
        frame_auc_scorer(Broken(), _small_set())


def test_scorer_needs_videoset_and_a_score_method():
    with pytest.raises(TypeError, match="VideoSet with frame labels"):
        frame_auc_scorer(_SnippetScores(), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="score_frames, score_snippets, anomaly_score or score_samples"):
        frame_auc_scorer(object(), _small_set())


class _NegateFeatures(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return VideoSet([v.replace(features=-v.features) for v in X.videos])


class _FittedAllFrames(_AllFrames, BaseEstimator):
    def fit(self, X, y=None):
        self.fitted_ = True
        return self


def test_frame_scores_run_a_pipeline_through_its_transformers():
    X = _small_set()
    pipe = make_pipeline(_NegateFeatures(), _FittedAllFrames()).fit(X)
    expected = _AllFrames().score_frames(_NegateFeatures().transform(X))
    for got, want in zip(frame_scores(pipe, X), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert frame_auc_scorer(pipe, X) == pytest.approx(1 - frame_auc_scorer(_AllFrames(), X))
