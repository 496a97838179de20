"""Readers of RTFM features, STG-NF poses, MOTChallenge tracks, ground truth and dataset layouts."""

import json
import pickle
import re

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d

from unsupvad import Tracks, Video, VideoSet
from unsupvad._baselines import speed_frame_scores
from unsupvad.datasets import (
    VideoInfo,
    attach_labels,
    coco17_to_openpose18,
    load_official_layout,
    load_tracks_benchmark,
    read_alphapose_json,
    read_frame_masks,
    read_mot_tracks,
    read_rtfm_features,
    read_rtfm_gt,
    read_video_table,
    read_videos,
)
from unsupvad.datasets._layouts import (
    COCO17_JOINTS,
    COCO18_TO_OPENPOSE18,
    OPENPOSE18_BONES,
    OPENPOSE18_JOINTS,
)


# ---------------------------------------------------------------- file makers
def save_features(folder, name, T, shape=(10, 8), suffix="_i3d", seed=0):
    feats = np.random.default_rng(seed).random((T, *shape), dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{suffix}.npy"
    np.save(path, feats)
    return path, feats


def coco_skeleton(shift=0.0):
    """A COCO-17 skeleton whose joint j sits at (10 j + shift, 100 + j) with confidence j / 20."""
    j = np.arange(17, dtype=np.float64)
    return np.stack([10 * j + shift, 100 + j, j / 20], axis=1)


def pose_entry(shift=0.0):
    return {"keypoints": coco_skeleton(shift).ravel().tolist(), "scores": 2.5}


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def write_mot(path, rows, sep=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sep.join(str(v) for v in row) + "\n" for row in rows))
    return path


def mot_rows(n_frames=10, tracks=(1, 2)):
    rows = []
    for t in tracks:
        for f in range(1, n_frames + 1):
            rows.append([f, t, 10 * t + f, 20, 5, 10 + t, 1, -1, -1, -1])
    return rows


# ---------------------------------------------------------------- layouts
def test_layout_constants_are_consistent():
    assert len(COCO17_JOINTS) == 17 and len(OPENPOSE18_JOINTS) == 18
    assert sorted(COCO18_TO_OPENPOSE18) == list(range(18))
    assert len(OPENPOSE18_BONES) == 17
    coco18 = [*COCO17_JOINTS, "neck"]
    assert [coco18[i] for i in COCO18_TO_OPENPOSE18] == list(OPENPOSE18_JOINTS)


def test_coco17_to_openpose18_hand_made_skeleton():
    coco = coco_skeleton()
    op = coco17_to_openpose18(coco)
    assert op.shape == (18, 3)
    np.testing.assert_allclose(op[1], (coco[5] + coco[6]) / 2)  # neck, confidence included
    np.testing.assert_allclose(op[0], coco[0])
    np.testing.assert_allclose(op[2], coco[6])  # right shoulder
    np.testing.assert_allclose(op[5], coco[5])  # left shoulder
    np.testing.assert_allclose(op[14], coco[2])  # right eye
    np.testing.assert_allclose(op[17], coco[3])  # left ear
    batch = coco17_to_openpose18(np.stack([coco, coco + 1]))
    np.testing.assert_allclose(batch[1], op + 1)
    with pytest.raises(ValueError, match="17"):
        coco17_to_openpose18(np.zeros((18, 3)))


# ---------------------------------------------------------------- RTFM features
def test_rtfm_folder_round_trip_and_names(tmp_path):
    _, fa = save_features(tmp_path, "01_002", 3)
    _, fb = save_features(tmp_path, "01_0014", 5, suffix="", seed=1)
    X = read_rtfm_features(tmp_path)
    assert X.names == ["01_0014", "01_002"]
    assert isinstance(X.videos[0].features, np.memmap)
    np.testing.assert_array_equal(X.videos[0].features, fb)
    np.testing.assert_array_equal(X.videos[1].features, fa)
    assert list(X.n_frames) == [80, 48]
    assert X.shape == (8, 10, 8)
    Y = read_rtfm_features(tmp_path, mmap=False, n_frames={"01_002": 40, "01_0014": 77})
    assert not isinstance(Y.videos[0].features, np.memmap)
    assert list(Y.n_frames) == [77, 40]


def test_rtfm_list_file_order_relative_paths_blank_lines(tmp_path):
    save_features(tmp_path / "feats", "b", 2, shape=(4096,))
    save_features(tmp_path / "feats", "a", 3, shape=(4096,))
    absolute = tmp_path / "feats" / "a_i3d.npy"
    lst = tmp_path / "test.list"
    lst.write_text(f"feats/b_i3d.npy\n\n  {absolute}  \n\n")
    X = read_rtfm_features(lst, snippet_len=8)
    assert X.names == ["b", "a"]
    assert X.shape == (5, 4096)
    assert list(X.n_frames) == [16, 24]
    Y = read_rtfm_features([tmp_path / "feats" / "a_i3d.npy"])
    assert Y.names == ["a"]


def test_rtfm_floor_and_ceil_snippet_counts(tmp_path):
    save_features(tmp_path, "v", 3)
    assert read_rtfm_features(tmp_path, n_frames={"v": 33}).n_frames[0] == 33  # ceil(33/16) = 3
    assert read_rtfm_features(tmp_path, n_frames={"v": 63}).n_frames[0] == 63  # floor(63/16) = 3


# ---------------------------------------------------------------- AlphaPose JSON
def test_alphapose_round_trip_conversion_and_int_frame_keys(tmp_path):
    data = {
        "2": {"0010": pose_entry(1), "0009": pose_entry(2)},
        "1": {"0000": pose_entry(3), "5": pose_entry(4), "0100": pose_entry(5)},
    }
    path = write_json(tmp_path / "01_0014_alphapose_tracked_person.json", data)
    X = read_alphapose_json(path, frame_size=(856, 480), fps=24)
    video = X.videos[0]
    assert video.name == "01_0014" and video.n_frames == 101
    assert video.frame_size == (856, 480) and video.fps == 24
    tracks = video.tracks
    assert tracks.kind == "keypoints" and tracks.layout == "openpose18" and tracks.n_points == 18
    np.testing.assert_array_equal(tracks.track_id, [1, 1, 1, 2, 2])
    np.testing.assert_array_equal(tracks.frame, [0, 5, 100, 9, 10])
    np.testing.assert_allclose(tracks.points[3], coco17_to_openpose18(coco_skeleton(2)), rtol=1e-6)
    coco = read_alphapose_json(path, layout="coco17", n_frames={"01_0014": 200}).videos[0]
    assert coco.n_frames == 200 and coco.tracks.n_points == 17 and coco.tracks.layout == "coco17"
    np.testing.assert_allclose(coco.tracks.points[0], coco_skeleton(3), rtol=1e-6)


def test_alphapose_list_of_dicts_is_merged(tmp_path):
    data = {"7": [{"0001": pose_entry(1)}, {"0003": pose_entry(3), "0001": pose_entry(9)}]}
    X = read_alphapose_json(write_json(tmp_path / "v.json", data), n_frames={"v": 5})
    tracks = X.videos[0].tracks
    np.testing.assert_array_equal(tracks.frame, [1, 3])
    np.testing.assert_array_equal(tracks.track_id, [7, 7])
    np.testing.assert_allclose(tracks.points[0, 0, 0], 9)  # the later entry wins, as in STG-NF


def test_alphapose_folder_sorted_by_name(tmp_path):
    write_json(tmp_path / "b_alphapose_tracked_person.json", {"1": {"0": pose_entry()}})
    write_json(tmp_path / "a_alphapose_tracked_person.json", {"1": {"3": pose_entry()}})
    X = read_alphapose_json(tmp_path)
    assert X.names == ["a", "b"] and list(X.n_frames) == [4, 1]


# ---------------------------------------------------------------- MOTChallenge
def test_mot_one_based_frames_and_boxes(tmp_path):
    rows = [
        [3, 5, 10, 20, 4, 8, 0.5, -1, -1, -1],
        [1, 5, 11, 21, 4, 8, 0.9, -1, -1, -1],
        [2, 2, 1.5, 2.5, 3, 6, 1, -1, -1, -1],
    ]
    X = read_mot_tracks(write_mot(tmp_path / "01_001.txt", rows), fps=24.0, frame_size=(856, 480))
    video = X.videos[0]
    assert video.name == "01_001" and video.n_frames == 3 and video.fps == 24.0
    tracks = video.tracks
    assert tracks.kind == "boxes"
    np.testing.assert_array_equal(tracks.track_id, [2, 5, 5])
    np.testing.assert_array_equal(tracks.frame, [1, 0, 2])
    np.testing.assert_allclose(tracks.boxes, [[1.5, 2.5, 3, 6], [11, 21, 4, 8], [10, 20, 4, 8]])
    np.testing.assert_allclose(tracks.points[:, 0, 2], [1, 0.9, 0.5])


def test_mot_whitespace_six_columns_and_folder(tmp_path):
    write_mot(tmp_path / "b.txt", [[1, 1, 0, 0, 2, 2], [4, 1, 1, 0, 2, 2]], sep=" ")
    write_mot(tmp_path / "a.txt", [[2, 3, 0, 0, 2, 2]], sep="\t")
    (tmp_path / "empty.txt").write_text("")
    X = read_mot_tracks(tmp_path, n_frames={"a": 5, "b": 4, "empty": 7})
    assert X.names == ["a", "b", "empty"]
    assert list(X.n_frames) == [5, 4, 7]
    np.testing.assert_array_equal(X.videos[1].tracks.frame, [0, 3])
    np.testing.assert_array_equal(X.videos[1].tracks.points[:, :, 2], 1)  # conf defaults to 1
    assert len(X.videos[2].tracks) == 0


def test_mot_many_rows_load_fast(tmp_path):
    rows = np.array(mot_rows(n_frames=2000, tracks=range(1, 51)))
    path = tmp_path / "big.txt"
    np.savetxt(path, rows, fmt="%g", delimiter=",")
    X = read_mot_tracks(path)
    assert len(X.videos[0].tracks) == 100_000 and X.n_frames[0] == 2000


# ---------------------------------------------------------------- ground truth
def test_frame_masks_round_trip(tmp_path):
    np.save(tmp_path / "a.npy", np.array([0, 1, 1], np.uint8))
    np.save(tmp_path / "b.npy", np.array([0.0, 0.0]))
    masks = read_frame_masks(tmp_path)
    assert list(masks) == ["a", "b"]
    assert masks["b"].dtype == np.uint8
    np.testing.assert_array_equal(masks["a"], [0, 1, 1])
    assert list(read_frame_masks(tmp_path, names=["b"])) == ["b"]


def test_rtfm_gt_padding_and_splitting(tmp_path):
    videos = [
        Video("a", 20, features=np.zeros((2, 3), np.float32)),  # 16 T = 32: 12 padded frames
        Video("b", 16, features=np.zeros((1, 3), np.float32)),
        Video("c", 40, features=np.zeros((2, 3), np.float32)),
    ]  # T = floor: 16 T = 32 < 40
    X = VideoSet(videos)
    true_a = np.r_[np.zeros(15), np.ones(5)]
    true_c = np.r_[np.zeros(30), np.ones(2)]
    gt = np.r_[true_a, np.ones(12), np.zeros(16), true_c].astype(np.float64)
    np.save(tmp_path / "gt-sh.npy", gt)
    masks = read_rtfm_gt(tmp_path / "gt-sh.npy", X)
    np.testing.assert_array_equal(masks["a"], true_a)
    np.testing.assert_array_equal(masks["b"], np.zeros(16))
    np.testing.assert_array_equal(masks["c"], np.r_[true_c, np.ones(8)])  # last label repeated
    assert read_rtfm_gt(gt, X).keys() == masks.keys()


def test_attach_labels_keeps_the_selection():
    videos = [
        Video("a", 32, features=np.zeros((2, 3), np.float32)),
        Video("b", 16, features=np.ones((1, 3), np.float32)),
    ]
    X = VideoSet(videos)[[2, 0]]
    masks = {"a": np.r_[np.zeros(16), np.ones(16)], "b": np.ones(16), "unused": np.ones(3)}
    Y = attach_labels(X, masks)
    assert Y.has_labels and Y.names == X.names
    np.testing.assert_array_equal(Y.snippet_index, X.snippet_index)
    np.testing.assert_array_equal(Y.snippet_labels(), [1, 0])


# ---------------------------------------------------------------- dataset layouts
def make_tracks_benchmark(root, train=("t_01", "t_02"), test=("s_01", "s_02"), n_frames=10):
    lines = ["video,split,n_frames,width,height,fps"]
    for split, names in (("train", train), ("test", test)):
        (root / "splits").mkdir(parents=True, exist_ok=True)
        (root / "splits" / f"{split}.txt").write_text("\n".join(names) + "\n")
        for name in names:
            lines.append(f"{name},{split},{n_frames},856,480,24")
            write_mot(root / "tracks" / f"{name}.txt", mot_rows(n_frames))
            (root / "gt" / split).mkdir(parents=True, exist_ok=True)
            np.save(root / "gt" / split / f"{name}.npy", (np.arange(n_frames) > 6).astype(np.uint8))
    (root / "videos.csv").write_text("\n".join(lines) + "\n")
    return root


def test_load_tracks_benchmark(tmp_path):
    root = make_tracks_benchmark(tmp_path, test=("s_02", "01_001"))
    X = load_tracks_benchmark(root)
    assert X.names == ["s_02", "01_001"] and X.has_labels and X.has_tracks
    video = X.videos[1]
    assert video.frame_size == (856, 480) and video.fps == 24 and video.n_frames == 10
    assert len(video.tracks) == 20
    train = load_tracks_benchmark(root, split="train")
    assert not train.has_labels and train.names == ["t_01", "t_02"]
    assert load_tracks_benchmark(root, split="train", labels=True).has_labels
    assert not load_tracks_benchmark(root, labels=False).has_labels


def make_official_layout(root, names=("01_0014", "01_001"), Ts=(2, 3), with_list=True):
    base = root / "weakly_ShanghaiTech"
    for name, T in zip(names, Ts, strict=True):
        save_features(base / "SH_Test_ten_crop_i3d", name, T, shape=(2, 4))
        write_json(
            base / "pose" / "test" / f"{name}_alphapose_tracked_person.json",
            {"1": {"0000": pose_entry(), "0001": pose_entry(1)}},
        )
        (base / "gt" / "test_frame_mask").mkdir(parents=True, exist_ok=True)
        np.save(base / "gt" / "test_frame_mask" / f"{name}.npy", np.r_[np.zeros(16 * T - 3), np.ones(1)])
        save_features(base / "SH_Train_ten_crop_i3d", name + "_tr", T, shape=(2, 4))
        write_json(
            base / "pose" / "train" / f"{name}_tr_alphapose_tracked_person.json", {"3": {"2": pose_entry()}}
        )
    if with_list:
        (base / "list").mkdir(exist_ok=True)
        (base / "list" / "shanghai-i3d-test-10crop.list").write_text(
            "\n".join(f"../SH_Test_ten_crop_i3d/{n}_i3d.npy" for n in names) + "\n"
        )
    return base


def test_load_official_layout(tmp_path):
    base = make_official_layout(tmp_path)
    X = load_official_layout(tmp_path)
    assert X.names == ["01_0014", "01_001"]  # list order
    assert X.has_features and X.has_tracks and X.has_labels
    assert list(X.n_frames) == [30, 46]  # from the masks
    assert X.videos[0].tracks.n_points == 18
    train = load_official_layout(base, split="train")
    assert train.names == ["01_0014_tr", "01_001_tr"]  # folder: sorted by name
    assert list(train.n_frames) == [32, 48] and not train.has_labels
    np.save(base / "shanghai-num.npy", {"01_001_tr": 40, "01_0014_tr": 30}, allow_pickle=True)
    assert list(load_official_layout(base, split="train").n_frames) == [30, 40]
    with open(base / "shanghai-num.npy", "wb") as f:
        pickle.dump({"01_001_tr": 41, "01_0014_tr": 31}, f)
    assert list(load_official_layout(base, split="train").n_frames) == [31, 41]


# ---------------------------------------------------------------- speed heuristic
def test_speed_frame_scores_by_hand():
    frame = np.array([0, 1, 3, 1, 2])
    track = np.array([1, 1, 1, 2, 2])
    boxes = np.array([[0, 0, 2, 10], [3, 4, 2, 10], [3, 4, 2, 5], [0, 0, 1, 4], [0, 8, 1, 4]], float)
    video = Video("v", 6, tracks=Tracks.from_boxes(frame, track, boxes))
    # track 1: centres (1, 5) -> (4, 9) -> (4, 6.5), heights 10, 10, 5
    # track 2: centres (0.5, 2) -> (0.5, 10), height 4
    raw = np.array([0.0, 5 / 10, 8 / 4, 2.5 / 5, 0.0, 0.0])
    [scores] = speed_frame_scores(VideoSet([video]), window=1)
    np.testing.assert_allclose(scores, raw)
    [smooth] = speed_frame_scores(VideoSet([video]))
    np.testing.assert_allclose(smooth, uniform_filter1d(raw, 15))
    empty = Video("e", 4, tracks=Tracks.from_boxes(np.zeros(0, int), np.zeros(0, int), np.zeros((0, 4))))
    np.testing.assert_array_equal(speed_frame_scores(VideoSet([empty]))[0], np.zeros(4))


def test_speed_frame_scores_on_keypoints(tmp_path):
    single = coco_skeleton()
    single[:, 2] = 0
    single[0, 2] = 1  # one confident joint: a box without height
    data = {"1": {"0": pose_entry(), "1": pose_entry(10)}, "2": {"0": {"keypoints": single.ravel().tolist()}}}
    X = read_alphapose_json(write_json(tmp_path / "v.json", data), n_frames={"v": 3})
    [scores] = speed_frame_scores(X, window=1)
    box = X.videos[0].tracks.boxes[0]
    np.testing.assert_allclose(scores, [0.0, 10 / box[3], 0.0], rtol=1e-6)


def test_speed_frame_scores_errors():
    X = VideoSet([Video("nobody", 4)])
    with pytest.raises(ValueError, match="'nobody'.*no person tracks"):
        speed_frame_scores(X)
    with pytest.raises(ValueError, match="window"):
        speed_frame_scores(X, window=0)


# ---------------------------------------------------------------- bad inputs
def test_bad_nan_features(tmp_path):
    feats = np.ones((3, 4), np.float32)
    feats[2, 1] = np.nan
    np.save(tmp_path / "v_nan_i3d.npy", feats)
    with pytest.raises(ValueError, match=r"v_nan_i3d\.npy.*'v_nan'.*NaN or infinite.*snippet 2"):
        read_rtfm_features(tmp_path)


def test_bad_inf_features(tmp_path):
    np.save(tmp_path / "v_inf.npy", np.full((2, 10, 4), np.inf, np.float32))
    with pytest.raises(ValueError, match=r"v_inf\.npy.*'v_inf'.*NaN or infinite"):
        read_rtfm_features(tmp_path, mmap=False)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 5)])
def test_bad_feature_dimensions(tmp_path, shape):
    np.save(tmp_path / "v_i3d.npy", np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*\(T, D\) or \(T, n_crops, D\)"):
        read_rtfm_features(tmp_path)


def test_bad_snippet_count_for_the_frame_count(tmp_path):
    save_features(tmp_path, "v", 5)
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*T=5 snippets but a video of 200 frames"):
        read_rtfm_features(tmp_path, n_frames={"v": 200})


def test_bad_feature_video_missing_from_n_frames(tmp_path):
    save_features(tmp_path, "v", 5)
    with pytest.raises(ValueError, match=r"'v'.*no frame count"):
        read_rtfm_features(tmp_path, n_frames={"w": 80})


def test_bad_feature_shapes_differ_between_videos(tmp_path):
    save_features(tmp_path, "a", 2, shape=(10, 8))
    save_features(tmp_path, "b", 2, shape=(10, 6))
    with pytest.raises(ValueError, match=r"'b'.*feature shape \(10, 6\).*differs"):
        read_rtfm_features(tmp_path)


def test_bad_garbage_npy(tmp_path):
    (tmp_path / "v_i3d.npy").write_bytes(b"this is not an array" * 10)
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*not a \.npy file"):
        read_rtfm_features(tmp_path)


def test_bad_npy_header_and_pickled_objects(tmp_path):
    path, _ = save_features(tmp_path, "v", 2)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*unreadable \.npy header"):
        read_rtfm_features(tmp_path)
    np.save(path, np.array([{"a": 1}, None]), allow_pickle=True)
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*holds Python objects"):
        read_rtfm_features(tmp_path)


@pytest.mark.parametrize("mmap", [True, False])
def test_bad_truncated_npy(tmp_path, mmap):
    path, _ = save_features(tmp_path, "v", 4)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match=r"v_i3d\.npy.*'v'.*truncated \.npy file"):
        read_rtfm_features(tmp_path, mmap=mmap)


def test_bad_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="feature list or folder not found"):
        read_rtfm_features(tmp_path / "nope")
    (tmp_path / "x.list").write_text("missing_i3d.npy\n")
    with pytest.raises(FileNotFoundError, match=r"x\.list: line 1: feature file not found"):
        read_rtfm_features(tmp_path / "x.list")
    with pytest.raises(FileNotFoundError, match="track file or folder not found"):
        read_mot_tracks(tmp_path / "none.txt")
    with pytest.raises(FileNotFoundError, match="pose file or folder not found"):
        read_alphapose_json(tmp_path / "none.json")
    with pytest.raises(FileNotFoundError, match="frame-mask folder not found"):
        read_frame_masks(tmp_path / "gt")
    with pytest.raises(FileNotFoundError, match="benchmark folder not found"):
        load_tracks_benchmark(tmp_path / "bench")


def test_bad_duplicate_video_names(tmp_path):
    save_features(tmp_path, "v", 2)
    save_features(tmp_path, "v", 2, suffix="")
    with pytest.raises(ValueError, match=r"video name 'v' appears twice \(v\.npy and v_i3d\.npy\)"):
        read_rtfm_features(tmp_path)


def test_bad_malformed_json(tmp_path):
    (tmp_path / "v_alphapose_tracked_person.json").write_text('{"1": {"0001": {"keypoints": [1, 2,')
    with pytest.raises(ValueError, match=r"v_alphapose_tracked_person\.json.*'v'.*malformed JSON"):
        read_alphapose_json(tmp_path)


def test_bad_json_keypoint_length(tmp_path):
    path = write_json(tmp_path / "v.json", {"1": {"0001": {"keypoints": [1.0] * 54, "scores": 1}}})
    with pytest.raises(ValueError, match=r"v\.json.*'v'.*person 1, frame '0001'.*51 numbers.*got 54"):
        read_alphapose_json(path)


def test_bad_json_frame_key_and_non_numeric_keypoints(tmp_path):
    path = write_json(tmp_path / "v.json", {"1": {"frame3": pose_entry()}})
    with pytest.raises(ValueError, match=r"v\.json.*person 1: frame key 'frame3' is not an integer"):
        read_alphapose_json(path)
    entry = pose_entry()
    entry["keypoints"][4] = "x"
    path = write_json(tmp_path / "w.json", {"1": {"3": entry}})
    with pytest.raises(ValueError, match=r"w\.json.*'w'.*keypoints must be numbers"):
        read_alphapose_json(path)


def test_bad_json_frames_beyond_n_frames(tmp_path):
    path = write_json(tmp_path / "v.json", {"1": {"0009": pose_entry()}})
    with pytest.raises(ValueError, match=r"v\.json.*'v'.*frame index 9 lies outside the video"):
        read_alphapose_json(path, n_frames={"v": 5})


def test_bad_mot_rows_outside_the_video(tmp_path):
    path = write_mot(tmp_path / "v.txt", mot_rows(11))
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*frame 11 lies outside the video's 10 frames"):
        read_mot_tracks(path, n_frames={"v": 10})


def test_bad_mot_duplicate_rows(tmp_path):
    rows = mot_rows(5)
    rows.append(list(rows[2]))
    path = write_mot(tmp_path / "v.txt", rows)
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*duplicate rows: track 1 has two rows for frame 3"):
        read_mot_tracks(path)


@pytest.mark.parametrize("col", [4, 5])
def test_bad_mot_negative_box_size(tmp_path, col):
    rows = mot_rows(5)
    rows[3][col] = -2
    path = write_mot(tmp_path / "v.txt", rows)
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*line 4: box width and height must be positive"):
        read_mot_tracks(path)


def test_bad_mot_frame_zero(tmp_path):
    path = write_mot(tmp_path / "v.txt", [[0, 1, 0, 0, 2, 2], [1, 1, 0, 0, 2, 2]])
    with pytest.raises(
        ValueError, match=r"v\.txt.*'v'.*line 1: frame 0, but MOTChallenge frames are 1-based"
    ):
        read_mot_tracks(path)


def test_bad_mot_too_few_columns(tmp_path):
    path = write_mot(tmp_path / "v.txt", [[1, 1, 0, 0, 2], [2, 1, 0, 0, 2]])
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*rows have 5 columns, need at least 6"):
        read_mot_tracks(path)
    path = write_mot(tmp_path / "w.txt", [[1, 1, 0, 0, 2, 2, 1], [2, 1, 0, 0, 2]])
    with pytest.raises(ValueError, match=r"w\.txt.*'w'.*line 2: missing, NaN or infinite height"):
        read_mot_tracks(path)


def test_bad_mot_non_integer_ids_and_frames(tmp_path):
    path = write_mot(tmp_path / "v.txt", [[1, 1.5, 0, 0, 2, 2]])
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*line 1: id '1.5' is not an integer"):
        read_mot_tracks(path)
    path = write_mot(tmp_path / "w.txt", [[2.5, 1, 0, 0, 2, 2]])
    with pytest.raises(ValueError, match=r"w\.txt.*'w'.*frame '2.5' is not an integer"):
        read_mot_tracks(path)
    path = write_mot(tmp_path / "x.txt", [[1, "bob", 0, 0, 2, 2]])
    with pytest.raises(ValueError, match=r"x\.txt.*'x'.*not a MOTChallenge track file of numbers"):
        read_mot_tracks(path)


def test_bad_empty_video(tmp_path):
    path = write_mot(tmp_path / "v.txt", [])
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*empty track file.*pass n_frames"):
        read_mot_tracks(path)
    with pytest.raises(ValueError, match=r"v\.txt.*'v'.*the video is empty \(n_frames=0\)"):
        read_mot_tracks(path, n_frames={"v": 0})
    path = write_json(tmp_path / "p.json", {})
    with pytest.raises(ValueError, match=r"p\.json.*'p'.*no person in the file.*pass n_frames"):
        read_alphapose_json(path)


def test_bad_mask_values_and_shapes(tmp_path):
    np.save(tmp_path / "a.npy", np.array([0, 1, 2], np.uint8))
    with pytest.raises(
        ValueError, match=r"a\.npy.*'a'.*must be 0 \(normal\) or 1 \(abnormal\), got 2 at frame 2"
    ):
        read_frame_masks(tmp_path)
    np.save(tmp_path / "a.npy", np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"a\.npy.*'a'.*must be 1-D"):
        read_frame_masks(tmp_path)
    np.save(tmp_path / "a.npy", np.zeros(0))
    with pytest.raises(ValueError, match=r"a\.npy.*'a'.*frame mask is empty"):
        read_frame_masks(tmp_path)
    with pytest.raises(FileNotFoundError, match="frame mask of video 'b' not found"):
        read_frame_masks(tmp_path, names=["b"])


def test_bad_mask_length_and_missing_mask():
    X = VideoSet(
        [
            Video("a", 32, features=np.zeros((2, 3), np.float32)),
            Video("b", 16, features=np.zeros((1, 3), np.float32)),
        ]
    )
    with pytest.raises(ValueError, match=r"video 'a'.*frame labels have shape \(30,\).*32 frames"):
        attach_labels(X, {"a": np.zeros(30), "b": np.zeros(16)})
    with pytest.raises(ValueError, match=r"video 'b'.*no frame mask"):
        attach_labels(X, {"a": np.zeros(32)})


def test_bad_rtfm_gt_total_length(tmp_path):
    X = VideoSet(
        [
            Video("a", 20, features=np.zeros((2, 3), np.float32)),
            Video("b", 16, features=np.zeros((1, 3), np.float32)),
        ]
    )
    np.save(tmp_path / "gt-sh.npy", np.zeros(40))
    with pytest.raises(
        ValueError, match=r"gt-sh\.npy.*has 40 frame labels.*2 videos need 16 \* sum\(T\) = 48"
    ):
        read_rtfm_gt(tmp_path / "gt-sh.npy", X)


def test_bad_official_layout_names_differ(tmp_path):
    base = make_official_layout(tmp_path)
    (base / "pose" / "test" / "01_001_alphapose_tracked_person.json").unlink()
    with pytest.raises(ValueError, match=r"video '01_001' has features.*but no pose file"):
        load_official_layout(tmp_path)
    write_json(base / "pose" / "test" / "01_001_alphapose_tracked_person.json", {"1": {"0": pose_entry()}})
    write_json(base / "pose" / "test" / "09_999_alphapose_tracked_person.json", {"1": {"0": pose_entry()}})
    with pytest.raises(ValueError, match=r"video '09_999' has pose file.*but no features"):
        load_official_layout(tmp_path)
    (base / "pose" / "test" / "09_999_alphapose_tracked_person.json").unlink()
    (base / "gt" / "test_frame_mask" / "01_0014.npy").unlink()
    with pytest.raises(ValueError, match=r"video '01_0014' has features or poses but no frame mask"):
        load_official_layout(tmp_path)


def test_bad_official_layout_frame_count_vs_features(tmp_path):
    base = make_official_layout(tmp_path)
    np.save(base / "gt" / "test_frame_mask" / "01_001.npy", np.zeros(100))
    with pytest.raises(ValueError, match=re.escape("video '01_001'") + r".*T=3 snippets but a video of 100"):
        load_official_layout(tmp_path)


def test_bad_tracks_benchmark_names(tmp_path):
    root = make_tracks_benchmark(tmp_path)
    write_mot(root / "tracks" / "stray.txt", mot_rows(3))
    with pytest.raises(ValueError, match=r"stray\.txt: track file of a video that is not in videos\.csv"):
        load_tracks_benchmark(root)
    (root / "tracks" / "stray.txt").unlink()
    (root / "splits" / "test.txt").write_text("s_01\nt_01\n")
    with pytest.raises(ValueError, match=r"test\.txt: video 't_01' is listed as 'train' in videos\.csv"):
        load_tracks_benchmark(root)
    (root / "splits" / "test.txt").write_text("s_01\n")
    with pytest.raises(
        ValueError, match=r"test\.txt: video 's_02' of split 'test' in videos\.csv is not listed"
    ):
        load_tracks_benchmark(root)
    (root / "splits" / "test.txt").write_text("s_01\ns_02\n")
    np.save(root / "gt" / "test" / "s_03.npy", np.zeros(10))
    with pytest.raises(ValueError, match=r"mask of video 's_03', which is not in the split"):
        load_tracks_benchmark(root)
    (root / "gt" / "test" / "s_03.npy").unlink()
    np.save(root / "gt" / "test" / "s_02.npy", np.zeros(9))
    with pytest.raises(ValueError, match=r"s_02\.npy: video 's_02'.*frame labels have shape \(9,\)"):
        load_tracks_benchmark(root)


# ---------------------------------------------------------------- video tables and read_videos
def write_table(path, text):
    path.write_text(text)
    return path


def test_video_table_reads_every_optional_column_as_text(tmp_path):
    table = read_video_table(write_table(tmp_path / "videos.csv",
                                         "video,split,n_frames,width,height,fps,scene\n"
                                         "01_0014,train,265,856,480,24,01\n"
                                         "\n"
                                         "02_0001,test,40,856,480,,02\n"))
    assert list(table) == ["01_0014", "02_0001"]
    assert table["01_0014"] == VideoInfo(265, (856, 480), 24.0, "train", "01", line=2)
    assert table["02_0001"].fps is None and table["02_0001"].line == 4
    assert list(read_video_table(tmp_path / "videos.csv", split="test")) == ["02_0001"]
    minimal = read_video_table(write_table(tmp_path / "min.csv", "n_frames,video\n7,a\n"))
    assert minimal == {"a": VideoInfo(7, line=2)}


@pytest.mark.parametrize("text, match", [
    ("video,width\na,3\n", r"missing columns \['n_frames'\]"),
    ("video,n_frames,width\na,3,4\n", "both width and height"),
    ("video,n_frames\na,3\na,4\n", r"line 3: video name 'a' appears twice \(first on line 2\)"),
    ("video,n_frames\n,3\n", "line 2: empty video name"),
    ("video,n_frames,fps\na,3,fast\n", r"line 2, column 'fps' must be a positive, finite number, got 'fast'"),
    ("video,n_frames\na,0\n", r"line 2, column 'n_frames' must be a positive integer, got '0'"),
])
def test_video_table_errors_name_line_and_column(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_video_table(write_table(tmp_path / "t.csv", text))


def test_video_table_split_errors(tmp_path):
    path = write_table(tmp_path / "t.csv", "video,n_frames,split\na,3,train\nb,3,test\n")
    with pytest.raises(ValueError, match="no video of split 'Train'; the splits are 'test', 'train'"):
        read_video_table(path, split="Train")
    with pytest.raises(ValueError, match="no split column"):
        read_video_table(write_table(tmp_path / "u.csv", "video,n_frames\na,3\n"), split="train")
    with pytest.raises(FileNotFoundError, match="video table not found"):
        read_video_table(tmp_path / "none.csv")


def test_read_videos_takes_exactly_the_videos_of_a_split(tmp_path):
    for name in ("s_03", "s_01", "s_02"):
        write_mot(tmp_path / "tracks" / f"{name}.txt", mot_rows(n_frames=10))
    path = write_table(tmp_path / "videos.csv", "video,n_frames,width,height,fps,split,scene\n"
                       "s_02,40,856,480,25,train,cam2\ns_03,30,856,480,25,test,cam3\ns_01,20,856,480,25,train,cam1\n")
    train = read_videos(tmp_path / "tracks", videos=read_video_table(path, split="train"))
    assert train.names == ["s_02", "s_01"]  # the table's order
    assert [v.n_frames for v in train.videos] == [40, 20]  # the true counts, not the last tracked frame
    assert [v.frame_size for v in train.videos] == [(856, 480)] * 2 and train.videos[0].fps == 25.0
    assert [v.scene for v in train.videos] == ["cam2", "cam1"]
    every = read_videos(tmp_path / "tracks")
    assert every.names == ["s_01", "s_02", "s_03"] and every.videos[0].n_frames == 10
    missing = write_table(tmp_path / "more.csv", "video,n_frames\ns_01,20\ns_09,20\n")
    with pytest.raises(FileNotFoundError, match="no mot file for video 's_09'"):
        read_videos(tmp_path / "tracks", videos=read_video_table(missing))


def test_read_videos_merges_tracks_and_features_by_name(tmp_path):
    for name in ("a", "b"):
        write_mot(tmp_path / "tracks" / f"{name}.txt", mot_rows(n_frames=30))
        save_features(tmp_path / "feats", name, T=2)
    X = read_videos(tmp_path / "tracks", tmp_path / "feats", frame_size=(100, 80))
    assert X.names == ["a", "b"] and X.has_tracks and X.has_features
    assert X.videos[0].frame_size == (100, 80) and len(X) == 4
    save_features(tmp_path / "feats", "c", T=2)
    with pytest.raises(ValueError, match="video 'c' has features but no tracks"):
        read_videos(tmp_path / "tracks", tmp_path / "feats")
    with pytest.raises(ValueError, match="track_format must be"):
        read_videos(tmp_path / "tracks", track_format="csv")
    with pytest.raises(ValueError, match="give the videos"):
        read_videos()


def test_select_videos_by_split_of_a_video_table(tmp_path):
    for name in ("a", "b", "c"):
        write_mot(tmp_path / "tracks" / f"{name}.txt", mot_rows(n_frames=10))
    path = write_table(tmp_path / "videos.csv", "video,n_frames,split\nc,10,test\na,10,train\nb,10,test\n")
    X = read_videos(tmp_path / "tracks")
    assert X.select_videos(read_video_table(path, split="test")).names == ["c", "b"]
