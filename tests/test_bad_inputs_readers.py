"""Hostile and broken inputs to the dataset readers: each is a clear ValueError, or a documented behaviour.

The errors are one table, ``CASES``: a row writes the bad input into
``tmp_path``, makes the call, and names the exception and a regex the
message must match (the file and the problem). Adding a case is one line.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from unsupvad import Tracks, Video
from unsupvad.datasets import (
    limits,
    load_official_layout,
    load_tracks_benchmark,
    read_alphapose_json,
    read_frame_masks,
    read_mot_tracks,
    read_rtfm_features,
)

HEADER = "video,split,n_frames,width,height,fps"
GOOD_ROWS = "s_01,test,10,856,480,24\ns_02,test,10,856,480,24\n"


# ---------------------------------------------------------------- input writers
def _write(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def text(name, content):
    """Writer of one text (or bytes) file."""
    return lambda tmp: _write(tmp / name, content)


def mot_row(frame=1, tid=1, left=10, top=10, width=5, height=5):
    return f"{frame},{tid},{left},{top},{width},{height},1,-1,-1,-1\n"


def coco(shift=0.0, y=100.0):
    """A COCO-17 detection whose joint j sits at (10 j + shift, y + j), all confident."""
    j = np.arange(17, dtype=np.float64)
    return {"keypoints": np.stack([10 * j + shift, y + j, np.full(17, 0.9)], axis=1).ravel().tolist()}


def pose(data):
    """Writer of ``v.json`` from a Python object (or raw JSON text)."""
    return text("v.json", data if isinstance(data, str) else json.dumps(data))


def npy(name, array, allow_pickle=False):
    def make(tmp):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp / name, array, allow_pickle=allow_pickle)
    return make


def npy_header(header: bytes, data: bytes = b"\0" * 48):
    """Writer of ``v_i3d.npy`` with a hand-made (broken) version-1.0 header."""
    header = header + b" " * ((-len(header) - 11) % 64) + b"\n"
    return text("v_i3d.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data)


def fifo(name):
    def make(tmp):
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(tmp / name)
    return make


def no_dev_zero(tmp):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this platform")


def bench(rows=GOOD_ROWS, header=HEADER, split="s_01\ns_02\n"):
    """Writer of a two-video ``shanghaitech-tracks`` folder whose videos.csv is ``header`` + ``rows``."""
    def make(tmp):
        _write(tmp / "videos.csv", f"{header}\n{rows}")
        _write(tmp / "splits" / "test.txt", split)
        for name in ("s_01", "s_02"):
            _write(tmp / "tracks" / f"{name}.txt", "".join(mot_row(f) for f in range(1, 11)))
            (tmp / "gt" / "test").mkdir(parents=True, exist_ok=True)
            np.save(tmp / "gt" / "test" / f"{name}.npy", np.zeros(10, np.uint8))
    return make


class Payload:
    """Pickles as a call of ``func(*args)``: what a hostile ``*-num.npy`` holds."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def official(num):
    """Writer of an official layout (train split: features + poses) with ``shanghai-num.npy`` = ``num``."""
    def make(tmp):
        base = tmp / "weakly_ShanghaiTech"
        (base / "SH_Train_ten_crop_i3d").mkdir(parents=True)
        np.save(base / "SH_Train_ten_crop_i3d" / "a_i3d.npy", np.zeros((2, 2, 4), np.float32))
        _write(base / "pose" / "train" / "a_alphapose_tracked_person.json", json.dumps({"1": {"0": coco()}}))
        content = num(tmp) if callable(num) else num
        if isinstance(content, bytes):
            _write(base / "shanghai-num.npy", content)
        else:
            np.save(base / "shanghai-num.npy", content, allow_pickle=True)
    return make


def marker_payload(tmp):
    """``{'a': os.mkdir(<tmp>/pwned)}``: the directory appears only if the pickle ran."""
    return {"a": Payload(os.mkdir, str(tmp / "pwned"))}


# ---------------------------------------------------------------- calls
def mot(name="v.txt", **kw):
    return lambda tmp: read_mot_tracks(tmp / name, **kw)


def alphapose(name="v.json", **kw):
    return lambda tmp: read_alphapose_json(tmp / name, **kw)


def rtfm(name="v_i3d.npy", **kw):
    return lambda tmp: read_rtfm_features([tmp / name], **kw)


def benchmark(**kw):
    return lambda tmp: load_tracks_benchmark(tmp, **kw)


def official_train(tmp):
    return load_official_layout(tmp, split="train")


def masks(tmp):
    return read_frame_masks(tmp / "gt")


def nothing(tmp):
    return None


@dataclass
class Case:
    id: str
    make: object
    call: object
    match: str
    error: type = ValueError
    limits: dict = field(default_factory=dict)


BIG_ID = "100000000000000000000000"  # 23 digits: beyond int64
DEEP = "[" * 100_000 + "]" * 100_000
HEADER_OF_SHAPE = b"{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
CSV = r"videos\.csv \(video 's_01'\): "

CASES = [
    # --- MOT track ids: exact 64-bit integers, never negative
    Case("mot_id_23_digits", text("v.txt", mot_row(tid=BIG_ID)), mot(),
         rf"v\.txt.*'v'.*line 1: id '{BIG_ID}' is out of range"),
    Case("mot_id_1e20", text("v.txt", mot_row(tid="1e20")), mot(), r"v\.txt.*line 1: id '1e20' is out of range"),
    Case("mot_id_fraction", text("v.txt", mot_row(tid="2.5")), mot(), r"v\.txt.*line 1: id '2\.5' is not an integer"),
    Case("mot_id_text", text("v.txt", mot_row(tid="bob")), mot(), r"v\.txt.*line 1: id 'bob' is not a number"),
    Case("mot_id_underscore", text("v.txt", mot_row(tid="1_0")), mot(), r"v\.txt.*line 1: id '1_0' is not a number"),
    Case("mot_id_nan", text("v.txt", mot_row(tid="nan")), mot(), r"v\.txt.*line 1: missing or NaN id"),
    Case("mot_id_minus_one", text("v.txt", mot_row() + mot_row(2, tid=-1)), mot(),
         r"v\.txt.*'v'.*line 2: track id -1 is negative.*tracker ids.*untracked detections"),
    # --- MOT frames and sizes
    Case("mot_frame_2e9", text("v.txt", mot_row(frame=2_000_000_000)), mot(),
         r"v\.txt.*line 1: frame 2,000,000,000 is more than the 10,000,000 frames allowed.*limits\.MAX_FRAMES"),
    Case("mot_frame_float_2e9", text("v.txt", mot_row(frame="2e9")), mot(),
         r"v\.txt.*line 1: frame 2,000,000,000.*MAX_FRAMES"),
    Case("mot_frame_beyond_int64", text("v.txt", mot_row(frame="1e30")), mot(),
         r"v\.txt.*line 1: frame '1e30' is out of range"),
    Case("mot_n_frames_huge", text("v.txt", mot_row()), mot(n_frames={"v": 4_820_000_000}),
         r"v\.txt.*'v'.*n_frames 4,820,000,000 is more than.*raise unsupvad\.datasets\.limits\.MAX_FRAMES"),
    Case("mot_line_after_blank_lines", text("v.txt", "\n" + mot_row() + "\n  \n" + mot_row(2, width=0)), mot(),
         r"v\.txt.*line 5: box width and height must be positive"),
    Case("mot_left_nan", text("v.txt", mot_row(left="nan")), mot(), r"v\.txt.*line 1: missing, NaN or infinite left"),
    Case("mot_left_text", text("v.txt", mot_row() + mot_row(2, left="x")), mot(),
         r"v\.txt.*line 2: left 'x' is not a number"),
    Case("mot_conf_boolean", text("v.txt", "1,1,0,0,2,2,True\n"), mot(), r"v\.txt.*line 1: conf True is not a number"),
    Case("mot_x_text", text("v.txt", "1,1,0,0,2,2,1,abc,-1,-1\n"), mot(), r"v\.txt.*line 1: x 'abc' is not a number"),
    Case("mot_coordinates_overflow", text("v.txt", mot_row(left="1e300")), mot(),
         r"v\.txt.*line 1: box coordinates.*too large"),
    Case("mot_box_outside_right", text("v.txt", mot_row() + mot_row(2, left=500)), mot(frame_size=(100, 50)),
         r"v\.txt.*'v'.*line 2: box \(left, top, width, height\) = \(500, 10, 5, 5\) lies entirely outside the 100 x 50"
         r" frame"),
    Case("mot_box_outside_above", text("v.txt", mot_row(top=-20)), mot(frame_size=(100, 50)),
         r"v\.txt.*line 1: box .*\(10, -20, 5, 5\) lies entirely outside"),
    Case("mot_frame_size_fraction", text("v.txt", mot_row()), mot(frame_size=(856.9, 480.7)),
         r"v\.txt.*'v'.*frame_size \(856\.9, 480\.7\): width must be a whole number, got 856\.9"),
    Case("mot_fps_nan", text("v.txt", mot_row()), mot(fps=float("nan")),
         r"v\.txt.*'v'.*fps must be a positive, finite number"),
    Case("mot_not_utf8", text("v.txt", b"\xff\xfe\x00garbage\n"), mot(), r"v\.txt.*not a MOTChallenge track file"),
    # --- what is read: regular files of bounded size only
    Case("mot_dev_zero", no_dev_zero, lambda tmp: read_mot_tracks("/dev/zero"), r"/dev/zero.*not a regular file"),
    Case("mot_fifo", fifo("v.txt"), mot(), r"v\.txt.*'v'.*not a regular file"),
    Case("mot_file_too_big", text("v.txt", mot_row() * 10), mot(), r"v\.txt.*larger than 100 bytes.*MAX_FILE_BYTES",
         limits={"MAX_FILE_BYTES": 100}),
    Case("pose_fifo", fifo("v.json"), alphapose(), r"v\.json.*not a regular file"),
    Case("rtfm_fifo", fifo("v_i3d.npy"), rtfm(), r"v_i3d\.npy.*not a regular file"),
    Case("rtfm_list_names_fifo", lambda tmp: (fifo("f_i3d.npy")(tmp), _write(tmp / "x.list", "f_i3d.npy\n")),
         lambda tmp: read_rtfm_features(tmp / "x.list"), r"x\.list: line 1: .*f_i3d\.npy.*not a regular file"),
    Case("rtfm_dev_zero", no_dev_zero, lambda tmp: read_rtfm_features(["/dev/zero"]), r"/dev/zero.*not a regular file"),
    # --- videos.csv of the shanghaitech-tracks layout: file, line, column
    Case("csv_fps_text", bench("s_01,test,10,856,480,abc\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'fps' must be a positive, finite number, got 'abc'"),
    Case("csv_fps_inf", bench("s_01,test,10,856,480,inf\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'fps'.*'inf'"),
    Case("csv_fps_zero", bench("s_01,test,10,856,480,0\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'fps'.*'0'"),
    Case("csv_n_frames_huge", bench("s_01,test,4820000000,856,480,24\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'n_frames' value 4,820,000,000 is more than the 10,000,000 frames allowed.*MAX_FRAMES"),
    Case("csv_n_frames_zero", bench("s_01,test,0,856,480,24\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'n_frames' must be a positive integer, got '0'"),
    Case("csv_width_fraction", bench("s_01,test,10,856.9,480,24\ns_02,test,10,856,480,24\n"), benchmark(),
         CSV + r"line 2, column 'width': '856\.9' is not an integer"),
    Case("csv_height_empty", bench("\ns_02,test,10,856,480,24\n\ns_01,test,10,856,,24\n"), benchmark(),
         CSV + r"line 5, column 'height' must be a positive integer, got ''"),
    Case("csv_too_few_fields", bench("s_01,test,10,856,480\n"), benchmark(),
         r"videos\.csv: line 2: 5 fields, the header has 6"),
    Case("csv_video_twice", bench(GOOD_ROWS + "s_01,test,10,856,480,24\n"), benchmark(),
         r"videos\.csv: line 4: video name 's_01' appears twice \(first on line 2\)"),
    Case("csv_missing_column", bench(header="video,split,n_frames,width,height"), benchmark(),
         r"videos\.csv: missing columns \['fps'\]"),
    Case("csv_scene_empty", bench("s_01,test,10,856,480,24,\ns_02,test,10,856,480,24,b\n", header=HEADER + ",scene"),
         benchmark(), CSV + r"line 2, column 'scene' is empty"),
    Case("split_not_utf8", bench(split=b"s_01\n\xff\n"), benchmark(), r"test\.txt: the split file is not UTF-8 text"),
    Case("csv_fifo", lambda tmp: (bench()(tmp), os.remove(tmp / "videos.csv"), fifo("videos.csv")(tmp)), benchmark(),
         r"videos\.csv.*not a regular file"),
    # --- AlphaPose JSON: keys are plain digits, distinct, and bounded
    Case("pose_person_1_and_01", pose({"1": {"0": coco()}, "01": {"1": coco()}}), alphapose(),
         r"v\.json.*'v'.*person ids '1' and '01' both read as 1: ambiguous"),
    Case("pose_frame_5_and_0005", pose({"1": {"5": coco(), "0005": coco(1)}}), alphapose(),
         r"v\.json.*person 1: frame keys '5' and '0005' both read as 5"),
    Case("pose_frame_5_and_0005_in_parts", pose({"1": [{"5": coco()}, {"0005": coco(1)}]}), alphapose(),
         r"v\.json.*person 1: frame keys '5' and '0005' both read as 5"),
    Case("pose_frame_1_5", pose({"1": {"1_5": coco()}}), alphapose(),
         r"v\.json.*person 1: frame key '1_5' is not an integer"),
    Case("pose_frame_space", pose({"1": {" 5": coco()}}), alphapose(), r"v\.json.*frame key ' 5' is not an integer"),
    Case("pose_frame_float", pose({"1": {"4.0": coco()}}), alphapose(), r"v\.json.*frame key '4\.0' is not an integer"),
    Case("pose_frame_negative", pose({"1": {"-3": coco()}}), alphapose(), r"v\.json.*frame key '-3' is negative"),
    Case("pose_person_plus", pose({"+1": {"0": coco()}}), alphapose(), r"v\.json.*person id '\+1' is not an integer"),
    Case("pose_person_23_digits", pose({BIG_ID: {"0": coco()}}), alphapose(),
         rf"v\.json.*person id '{BIG_ID}' is out of range"),
    Case("pose_frame_2e9", pose({"1": {"2000000000": coco()}}), alphapose(),
         r"v\.json.*frame key '2000000000' implies n_frames 2,000,000,001 is more than.*MAX_FRAMES"),
    Case("pose_duplicate_key", pose('{"1": {"0": {"keypoints": []}, "0": {"keypoints": []}}}'), alphapose(),
         r"v\.json.*key '0' appears twice in one JSON object"),
    Case("pose_deep_nesting", pose(DEEP), alphapose(), r"v\.json.*'v'.*malformed JSON \(nested too deeply\)"),
    Case("pose_keypoint_text", pose({"1": {"3": {"keypoints": ["1.5"] * 51}}}), alphapose(),
         r"v\.json.*keypoints must be numbers: person 1, frame 3 holds '1\.5'"),
    Case("pose_keypoint_null", pose({"1": {"3": {"keypoints": [None] * 51}}}), alphapose(),
         r"v\.json.*keypoints must be numbers: person 1, frame 3 holds None"),
    Case("pose_keypoint_boolean", pose({"1": {"3": {"keypoints": [True] * 51}}}), alphapose(),
         r"v\.json.*keypoints must be numbers: person 1, frame 3 holds True"),
    Case("pose_keypoint_beyond_float", pose({"1": {"3": {"keypoints": [10**400] * 51}}}), alphapose(),
         r"v\.json.*keypoints must be numbers within the float range"),
    Case("pose_outside_frame", pose({"1": {"0": coco(), "1": coco(y=900)}}), alphapose(frame_size=(856, 480)),
         r"v\.json.*person 1, frame 1: the keypoints' bounding box .* lies entirely outside the 856 x 480 frame"),
    Case("pose_frame_size_nan", pose({"1": {"0": coco()}}), alphapose(frame_size=(float("nan"), 480)),
         r"v\.json.*frame_size.*whole number, got nan"),
    # --- RTFM features and masks: .npy headers and sizes
    Case("rtfm_header_unterminated", npy_header(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)"), rtfm(),
         r"v_i3d\.npy.*'v'.*unreadable \.npy header"),
    Case("rtfm_header_nested", npy_header(HEADER_OF_SHAPE % (b"(" * 400 + b")" * 400)), rtfm(),
         r"v_i3d\.npy.*'v'.*unreadable \.npy header"),
    Case("rtfm_header_bad_descr", npy_header(b"{'descr': [(1, 2)], 'fortran_order': False, 'shape': (3, 4)}"), rtfm(),
         r"v_i3d\.npy.*unreadable \.npy header"),
    Case("rtfm_header_huge_shape", npy_header(HEADER_OF_SHAPE % b"(99999999999999999999, 4)"), rtfm(),
         r"v_i3d\.npy.*truncated \.npy file"),
    Case("rtfm_list_not_utf8", text("x.list", b"\xff\xfe\n"), lambda tmp: read_rtfm_features(tmp / "x.list"),
         r"x\.list: not a text list of \.npy paths"),
    Case("mask_longer_than_max_frames", npy("gt/a.npy", np.zeros(50, np.uint8)), masks,
         r"a\.npy.*'a'.*holds 50 values, one per frame: more than 20 frames.*MAX_FRAMES", limits={"MAX_FRAMES": 20}),
    # --- *-num.npy of the official layout: read without running the pickle
    Case("num_payload_refused", official(marker_payload), official_train,
         r"shanghai-num\.npy: not a pickled dict.*without running code.*names (posix|nt)\.mkdir"),
    Case("num_print_refused", official({"a": Payload(print, "PWNED")}), official_train,
         r"shanghai-num\.npy.*names builtins\.print"),
    Case("num_bare_pickle_refused", official(pickle.dumps({"a": Payload(eval, "1 + 1")})), official_train,
         r"shanghai-num\.npy.*names builtins\.eval.*refused"),
    Case("num_object_vector", official(np.array([{"a_tr": 3}, None], dtype=object)), official_train,
         r"shanghai-num\.npy: holds an array of shape \(2,\).*not the dict"),
    Case("num_plain_array", official(np.arange(3)), official_train,
         r"shanghai-num\.npy: holds an array of shape \(3,\)"),
    Case("num_list", official(pickle.dumps([1, 2])), official_train, r"shanghai-num\.npy: expected a dict.*got list"),
    Case("num_negative", official({"a": -5}), official_train,
         r"shanghai-num\.npy \(video 'a'\): n_frames must be a positive integer, got -5"),
    Case("num_huge", official({"a": 4_820_000_000}), official_train,
         r"shanghai-num\.npy \(video 'a'\): n_frames 4,820,000,000.*MAX_FRAMES"),
    Case("num_int_key", official({1: 32}), official_train,
         r"shanghai-num\.npy: video names must be non-empty strings, got 1"),
    Case("num_garbage", official(b"\x80\x04garbage"), official_train, r"shanghai-num\.npy: not a pickled dict"),
    # --- Video and Tracks built directly
    Case("video_frame_size_fraction", nothing, lambda tmp: Video("v", 10, frame_size=(856.9, 480.7)),
         r"video 'v': frame_size \(856\.9, 480\.7\): width must be a whole number, got 856\.9"),
    Case("video_frame_size_inf", nothing, lambda tmp: Video("v", 10, frame_size=(856, float("inf"))),
         r"height must be a whole number"),
    Case("video_frame_size_bool", nothing, lambda tmp: Video("v", 10, frame_size=(True, 480)),
         r"width must be a whole number, got True"),
    Case("video_frame_size_text", nothing, lambda tmp: Video("v", 10, frame_size="856x480"),
         r"frame_size must be \(width, height\)"),
    Case("video_frame_size_three", nothing, lambda tmp: Video("v", 10, frame_size=(1, 2, 3)),
         r"frame_size must be \(width, height\)"),
    Case("video_frame_size_negative", nothing, lambda tmp: Video("v", 10, frame_size=(-856, 480)),
         r"frame_size must be .* > 0"),
    Case("video_fps_inf", nothing, lambda tmp: Video("v", 10, fps=float("inf")),
         r"fps must be a positive, finite number, got inf"),
    Case("video_fps_text", nothing, lambda tmp: Video("v", 10, fps="24"),
         r"fps must be a positive, finite number, got '24'"),
    Case("video_fps_bool", nothing, lambda tmp: Video("v", 10, fps=True), r"fps must be .* got True"),
    Case("video_n_frames_negative", nothing, lambda tmp: Video("v", -3),
         r"video 'v': the video is empty \(n_frames=-3\)"),
    Case("video_snippet_len_bool", nothing, lambda tmp: Video("v", 10, snippet_len=True),
         r"snippet_len must be a positive integer"),
    Case("tracks_float_ids_beyond_2_53", nothing,
         lambda tmp: Tracks.from_boxes([0, 1], np.array([2.0**53, 2.0**53 + 2]), np.ones((2, 4))),
         r"track_id .* below 2\*\*53"),
    Case("tracks_uint64_ids", nothing,
         lambda tmp: Tracks.from_boxes([0], np.array([2**63], np.uint64), np.ones((1, 4))), r"64-bit signed integer"),
]


def _timeout(signum, frame):
    raise TimeoutError("the reader blocked (a FIFO opened?)")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_clear_error(tmp_path, monkeypatch, case):
    for name, value in case.limits.items():
        monkeypatch.setattr(limits, name, value)
    case.make(tmp_path)
    alarm = hasattr(signal, "SIGALRM")
    if alarm:  # a reader that opened a FIFO would block forever: fail instead
        previous = signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(20)
    try:
        with pytest.raises(case.error, match=case.match):
            case.call(tmp_path)
    finally:
        if alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


# ---------------------------------------------------------------- documented behaviours
def test_mot_ids_are_exact_integers(tmp_path):
    big = 2**53
    rows = [mot_row(1, big), mot_row(1, big + 1), mot_row(2, "007"), mot_row(3, "7.0"), mot_row(4, "7"),
            mot_row(5, 2**63 - 1), mot_row("6.000000000000000000e+00", "1.000000000000000000e+00")]
    X = read_mot_tracks(write_text(tmp_path / "v.txt", "".join(rows)))
    tracks = X.videos[0].tracks
    np.testing.assert_array_equal(tracks.track_ids, [1, 7, big, big + 1, 2**63 - 1])
    assert list(tracks.frame[tracks.track_id == 7]) == [1, 2, 3]  # 007, 7.0 and 7 are one track
    assert X.n_frames[0] == 6


def test_mot_savetxt_default_format_reads(tmp_path):
    rows = np.array([[f, t, 10 * t + f, 20, 5, 10, 1, -1, -1, -1] for t in (1, 2) for f in range(1, 6)], float)
    np.savetxt(tmp_path / "v.txt", rows, delimiter=",")  # '%.18e': every value a float literal
    tracks = read_mot_tracks(tmp_path / "v.txt").videos[0].tracks
    np.testing.assert_array_equal(tracks.track_ids, [1, 2])
    np.testing.assert_allclose(tracks.boxes[:, 0], rows[:, 2])


def test_mot_boxes_partly_outside_are_kept(tmp_path):
    rows = mot_row(1, 1, left=-3, top=-4) + mot_row(2, 1, left=98, top=48) + mot_row(3, 1, left=100, top=50)
    video = read_mot_tracks(write_text(tmp_path / "v.txt", rows), frame_size=(100, 50)).videos[0]
    assert len(video.tracks) == 3  # the last box touches the corner of the frame


def test_alphapose_zero_padded_keys_and_partly_outside_skeletons(tmp_path):
    path = write_text(tmp_path / "v.json", json.dumps({"0007": {"0042": coco(shift=-100)}, "3": {"0": coco()}}))
    tracks = read_alphapose_json(path, frame_size=(856, 480)).videos[0].tracks
    np.testing.assert_array_equal(tracks.track_id, [3, 7])
    np.testing.assert_array_equal(tracks.frame, [0, 42])


def test_video_accepts_integral_frame_sizes():
    for size in [(856.0, 480.0), (np.int64(856), np.int32(480)), np.array([856.0, 480.0], np.float32)]:
        video = Video("v", 10, frame_size=size, fps=np.float32(24))
        assert video.frame_size == (856, 480) and all(type(s) is int for s in video.frame_size)
        assert video.fps == 24.0 and type(video.fps) is float


def test_video_table_cells_are_text(tmp_path):
    rows = "s_01,test,10,856.0,480,29.97,01\n s_02 , test , 10 , 856 , 480 , 24 , 1 \n"
    bench(rows, header=HEADER + ",scene")(tmp_path)
    X = load_tracks_benchmark(tmp_path)
    assert [v.scene for v in X.videos] == ["01", "1"]  # not both 1, as a numeric column would make them
    assert X.videos[0].frame_size == (856, 480) and X.videos[0].fps == pytest.approx(29.97)


def test_max_frames_is_raised_by_the_module_attribute(tmp_path, monkeypatch):
    path = write_text(tmp_path / "v.txt", mot_row(frame=30))
    monkeypatch.setattr(limits, "MAX_FRAMES", 20)
    with pytest.raises(ValueError, match=r"frame 30 is more than the 20 frames allowed.*MAX_FRAMES \(now 20\)"):
        read_mot_tracks(path)
    monkeypatch.setattr(limits, "MAX_FRAMES", 40)
    assert read_mot_tracks(path).n_frames[0] == 30


def test_frame_counts_file_as_the_official_code_writes_it(tmp_path):
    official({"a": 40, "b": np.int64(33), "c": np.int32(17)})(tmp_path)  # np.save(path, dict)
    assert list(load_official_layout(tmp_path, split="train").n_frames) == [40]
    path = tmp_path / "weakly_ShanghaiTech" / "shanghai-num.npy"
    for protocol in (2, 3, 4, 5):  # older NumPy pickled with protocol 2, newer with 3 or 4
        path.write_bytes(_npy_with_pickle({"a": np.uint16(35), "z": np.float64(20.0)}, protocol))
        assert list(load_official_layout(tmp_path, split="train").n_frames) == [35]


def _npy_with_pickle(obj, protocol: int) -> bytes:
    """A ``.npy`` file holding ``obj`` in a 0-d object array, pickled with ``protocol``."""
    array = np.array(obj, dtype=object)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(array))
    pickle.dump(array, buf, protocol=protocol)
    return buf.getvalue()


def test_hostile_frame_counts_file_does_not_run(tmp_path, capsys):
    official(marker_payload)(tmp_path)
    official_dir = tmp_path / "weakly_ShanghaiTech"
    with pytest.raises(ValueError, match="refused"):
        load_official_layout(tmp_path, split="train")
    assert not (tmp_path / "pwned").exists()
    np.save(official_dir / "shanghai-num.npy", {"a": Payload(print, "PWNED")}, allow_pickle=True)
    with pytest.raises(ValueError, match="refused"):
        load_official_layout(tmp_path, split="train")
    assert "PWNED" not in capsys.readouterr().out


def write_text(path: Path, content: str) -> Path:
    _write(path, content)
    return path
