"""unsupvad.video people: motion detector, tracker adapters, silhouette poses, MOT / pose writers, the loop, the CLI."""

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from unsupvad import cli  # noqa: E402
from unsupvad.datasets import read_alphapose_json, read_mot_tracks, read_video_table  # noqa: E402
from unsupvad.video import (  # noqa: E402
    ByteTrack,
    MotionDetector,
    SilhouettePose,
    Sort,
    extract_people,
    load_detector,
    load_pose,
    load_tracker,
    read_frames,
    track_path,
    write_alphapose_json,
    write_mot_file,
    write_video,
)
from unsupvad.video._track import SupervisionTracker, match_boxes  # noqa: E402

HEIGHT, WIDTH, N_FRAMES = 96, 128, 30
COLOURS = ((235, 30, 30), (30, 225, 225))


def mover_box(frame: int, mover: int) -> tuple[int, int, int, int]:
    """``[left, top, right, bottom)`` of mover 0 (going right, upper half) or 1 (going left, lower half)."""
    if mover == 0:
        return 6 + 3 * frame, 8, 6 + 3 * frame + 14, 8 + 30
    return 108 - 3 * frame, 56, 108 - 3 * frame + 12, 56 + 28


def textured_background(seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(60, 140, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)


def movers_video(path, n_frames=N_FRAMES, movers=(0, 1), seed=0, fps=25):
    """A lossless video of filled rectangles moving over a static textured background."""
    frames = np.repeat(textured_background(seed)[None], n_frames, axis=0)
    for frame in range(n_frames):
        for mover in movers:
            left, top, right, bottom = mover_box(frame, mover)
            frames[frame, top:bottom, left:right] = COLOURS[mover]
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frames, fps=fps)


class LeftToRightTracker:
    """A tracker without the trackers package: id = rank of the box's left edge (for movers that never cross)."""

    def __init__(self, fps=None):
        self.fps = fps

    def update(self, boxes, scores):
        return np.argsort(np.argsort(boxes[:, 0])).astype(np.int64) if len(boxes) else np.zeros(0, np.int64)


@pytest.fixture
def video(tmp_path):
    return movers_video(tmp_path / "videos" / "walk.mkv")


# ---------------------------------------------------------------------- the motion detector
def test_the_motion_detector_finds_each_rectangle_box(video):
    detector = MotionDetector()
    detector.start_video(video)
    frames = read_frames(video)
    for index, boxes in enumerate(detector(frames)):
        assert len(boxes) == 2, index
        found = boxes[np.argsort(boxes[:, 1])]  # mover 0 is the upper one
        for mover, box in enumerate(found):
            assert np.abs(box[:4] - mover_box(index, mover)).max() <= 1, (index, mover, box)
            assert 0.9 < box[4] <= 1.0


def test_the_motion_detector_resets_per_video_and_is_deterministic(tmp_path):
    first = movers_video(tmp_path / "a.mkv", seed=0)
    second = movers_video(tmp_path / "b.mkv", movers=(1,), seed=1)  # another background, one mover
    detector = MotionDetector(n_background=10)
    detector.start_video(first)
    detector(read_frames(first)[:3])
    detector.start_video(second)
    boxes = detector(read_frames(second)[:3])
    assert [len(b) for b in boxes] == [1, 1, 1]
    assert np.abs(boxes[2][0, :4] - mover_box(2, 1)).max() <= 1
    again = MotionDetector(n_background=10)
    again.start_video(second)
    assert all(np.array_equal(a, b) for a, b in zip(again(read_frames(second)[:3]), boxes))
    assert detector.background.shape == (HEIGHT, WIDTH, 3)


def test_the_motion_detector_takes_its_background_from_the_first_frames_it_sees(video):
    frames = read_frames(video)
    boxes = MotionDetector()(frames)  # no start_video: every 2nd of the first 100 frames of these
    assert [len(b) for b in boxes] == [2] * N_FRAMES
    small = MotionDetector(min_area=10_000)(frames)
    assert all(len(b) == 0 for b in small)
    with pytest.raises(ValueError, match="min_area must be an integer >= 1"):
        MotionDetector(min_area=0)
    with pytest.raises(ValueError, match=r"uint8 array \(B, H, W, 3\)"):
        MotionDetector()(frames[0])


# ---------------------------------------------------------------------- specs and checks
def test_specs_load_the_built_ins_and_bad_specs_say_why(tmp_path, monkeypatch):
    assert isinstance(load_detector("motion"), MotionDetector)
    detector = MotionDetector()
    assert load_pose("silhouette", detector).detector is detector
    assert load_pose("silhouette", lambda frames: []).detector is not None
    (tmp_path / "my_people.py").write_text("from unsupvad.video import MotionDetector\n\n"
                                           "def build():\n    return MotionDetector(min_area=5)\n\n"
                                           "def factory(fps=None):\n    return None\n\nNUMBER = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_detector("my_people:build").min_area == 5
    assert load_tracker("my_people:factory").__name__ == "factory"  # the named callable is the factory
    for load, message in ((load_detector, "give 'motion'"), (load_tracker, "give 'bytetrack', 'sort'"),
                          (load_pose, "give 'silhouette'")):
        with pytest.raises(ValueError, match=message):
            load("nonsense")
    with pytest.raises(ValueError, match="detector 'no_such_module_here:x': cannot import module"):
        load_detector("no_such_module_here:x")
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        load_pose("my_people:missing")
    with pytest.raises(ValueError, match="is not callable"):
        load_detector("my_people:NUMBER")
    with pytest.raises(ValueError, match="are for 'bytetrack' or 'sort' only"):
        load_tracker("my_people:factory", lost_track_buffer=3)
    with pytest.raises(ValueError, match="without an update"):
        extract_people(movers_video(tmp_path / "v.mkv", n_frames=2), tmp_path, tracker="my_people:factory")


@pytest.mark.parametrize(("output", "message"), [
    (lambda frames: [np.zeros((1, 4))] * len(frames), r"frame 0: the detector returned shape \(1, 4\)"),
    (lambda frames: [np.zeros((0, 5))] * (len(frames) - 1), "the detector returned 4 for 5 frames"),
    (lambda frames: np.zeros((len(frames), 0, 5)), "the detector returned ndarray"),
    (lambda frames: [np.array([[1, 1, 5, np.nan, 0.5]])] * len(frames), "frame 0: the detector returned NaN"),
    (lambda frames: [np.zeros((0, 5))] * 3 + [np.array([[1, 1, WIDTH + 3, 9, 0.5]])] + [np.zeros((0, 5))],
     r"video 'v', frame 3: box \[1.0, 1.0, 131.0, 9.0\] is empty or outside the 128x96 frame"),
    (lambda frames: [np.array([[1, 1, 5, 5, 1.5]])] * len(frames), "score 1.5 is outside"),
])
def test_a_detector_output_off_the_protocol_is_refused_naming_video_and_frame(tmp_path, output, message):
    path = movers_video(tmp_path / "v.mkv", n_frames=5)
    with pytest.raises(ValueError, match=message):
        extract_people(path, tmp_path / "out", detector=output, tracker=LeftToRightTracker)


@pytest.mark.parametrize(("ids", "message"), [
    (lambda boxes: np.zeros(len(boxes) + 1, int), r"frame 0: the tracker returned shape \(3,\) for 2 boxes"),
    (lambda boxes: np.zeros(len(boxes), int), "frame 0: the tracker gave id 0 to two boxes of one frame"),
    (lambda boxes: np.full(len(boxes), -2), "returned id -2"),
    (lambda boxes: np.full(len(boxes), 0.5), "not integers"),
])
def test_a_tracker_output_off_the_protocol_is_refused(video, tmp_path, ids, message):
    class Tracker:
        def __init__(self, fps=None):
            pass

        def update(self, boxes, scores):
            return ids(boxes)

    with pytest.raises(ValueError, match=message):
        extract_people(video, tmp_path / "out", tracker=Tracker)


def test_a_pose_output_off_the_protocol_is_refused(video, tmp_path):
    with pytest.raises(ValueError, match=r"frame 0: the pose estimator returned shape \(2, 18, 3\)"):
        extract_people(video, tmp_path, tracker=LeftToRightTracker, pose=lambda f, b: np.zeros((len(b), 18, 3)))


def test_a_missing_trackers_package_says_how_to_install_it(monkeypatch, video, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "trackers", None)
    for spec in ("bytetrack", "sort"):
        with pytest.raises(ImportError, match=r'pip install "unsupvad\[tracking\]"'):
            load_tracker(spec)
    with pytest.raises(ImportError, match="trackers"):
        ByteTrack()(fps=25)
    status = cli.main(["extract", str(video), "--out", str(tmp_path / "out"), "--no-features", "--tracks"])
    err = capsys.readouterr().err
    assert status == 2 and 'pip install "unsupvad[tracking]"' in err
    assert not (tmp_path / "out" / "tracks").exists()


# ---------------------------------------------------------------------- the tracker adapter
class _Detections:
    """Just enough of supervision.Detections for the adapter's mapping."""

    def __init__(self, xyxy, tracker_id, data=None):
        self.xyxy, self.tracker_id, self.data = xyxy, tracker_id, data or {}

    def __len__(self):
        return len(self.xyxy)


class ReversingTracker:
    """Returns the detections reversed, with ids 10, 11, ... in its own order, keeping ``data`` or dropping it."""

    def __init__(self, keep_data):
        self.keep_data = keep_data

    def update(self, detections):
        order = np.arange(len(detections))[::-1]
        data = {k: v[order] for k, v in detections.data.items()} if self.keep_data else None
        return _Detections(detections.xyxy[order], 10 + np.arange(len(order)), data)


@pytest.mark.parametrize("keep_data", [True, False])
def test_the_adapter_maps_reordered_tracker_output_back_to_the_input_boxes(keep_data):
    pytest.importorskip("trackers")
    boxes = np.array([[0, 0, 5, 5], [10, 10, 20, 20], [30, 0, 40, 8.5]], dtype=float)
    ids = SupervisionTracker(ReversingTracker(keep_data)).update(boxes, np.array([0.9, 0.8, 0.7]))
    assert ids.tolist() == [12, 11, 10]


def test_boxes_are_matched_back_by_identity_each_used_once():
    boxes = np.array([[0, 0, 5, 5], [1, 1, 6, 6], [0, 0, 5, 5]], dtype=float)
    assert match_boxes(boxes, boxes[[2, 1, 0]]).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="not one of the detections"):
        match_boxes(boxes, np.array([[0, 0, 5, 5.5]]))


def test_bytetrack_follows_boxes_given_in_any_order_and_skips_empty_frames():
    pytest.importorskip("trackers")
    for factory in (ByteTrack(), Sort(), load_tracker("bytetrack", lost_track_buffer=5)):
        tracker = factory(fps=25.0)
        seen = {}
        for frame in range(8):
            boxes = np.array([mover_box(frame, 0), mover_box(frame, 1)], dtype=float)
            order = [1, 0] if frame % 2 else [0, 1]
            if frame == 4:  # nobody in this frame: the tracker still sees it
                assert tracker.update(np.zeros((0, 4)), np.zeros(0)).shape == (0,)
                continue
            ids = tracker.update(boxes[order], np.array([0.9, 0.6])[order])
            for mover, track in zip(order, ids):
                if track >= 0:
                    seen.setdefault(mover, set()).add(int(track))
        assert len(seen[0]) == len(seen[1]) == 1 and seen[0] != seen[1], (factory, seen)


# ---------------------------------------------------------------------- writers
def test_mot_frames_are_one_based_in_the_file_and_zero_based_in_the_library(tmp_path):
    path = write_mot_file(tmp_path / "v.txt", [5, 0, 5], [2, 7, 7], [[1, 2, 11, 22], [0, 0, 4.5, 8], [3, 4, 5, 6]],
                          [0.5, 1.0, 0.25])
    lines = path.read_text().splitlines()
    assert lines == ["1,7,0,0,4.5,8,1,-1,-1,-1", "6,2,1,2,10,20,0.5,-1,-1,-1", "6,7,3,4,2,2,0.25,-1,-1,-1"]
    tracks = read_mot_tracks(path, n_frames={"v": 6}).videos[0].tracks
    rows = sorted(zip(tracks.frame.tolist(), tracks.track_id.tolist(), tracks.boxes.tolist()))
    assert rows == [(0, 7, [0, 0, 4.5, 8]), (5, 2, [1, 2, 10, 20]), (5, 7, [3, 4, 2, 2])]


def test_pose_frame_keys_are_zero_based_and_read_back(tmp_path):
    keypoints = np.tile(np.array([10.0, 20.0, 0.5]), (2, 17, 1))
    keypoints[1, :, :2] += 5
    path = write_alphapose_json(tmp_path / "v_alphapose_tracked_person.json", [0, 12], [3, 3], keypoints, [0.9, 0.8])
    data = json.loads(path.read_text())
    assert list(data) == ["3"] and list(data["3"]) == ["0000", "0012"]
    assert data["3"]["0012"]["scores"] == 0.8 and len(data["3"]["0000"]["keypoints"]) == 51
    tracks = read_alphapose_json(path, layout="coco17").videos[0].tracks
    assert tracks.frame.tolist() == [0, 12] and np.array_equal(tracks.points, keypoints)
    assert read_alphapose_json(path, layout="coco17").videos[0].n_frames == 13


@pytest.mark.parametrize(("args", "message"), [
    (([0, 0], [1, 1], [[0, 0, 2, 2]] * 2, [1, 1]), r"two rows share one \(frame, track id\)"),
    (([-1], [1], [[0, 0, 2, 2]], [1]), "frames0 must be >= 0"),
    (([0], [-1], [[0, 0, 2, 2]], [1]), "track_ids must be >= 0"),
    (([0.5], [1], [[0, 0, 2, 2]], [1]), "frames0 must be 1 integers"),
    (([0], [1], [[0, 0, 0, 2]], [1]), "right > left"),
    (([0, 1], [1, 1], [[0, 0, 2, 2]], [1]), "frames0 must be 1 integers"),
    (([0], [1], [[0, 0, 2, 2, 1]], [1]), r"boxes_xyxy must have shape \(n, 4\)"),
])
def test_the_writers_refuse_rows_their_readers_would_misread(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        write_mot_file(tmp_path / "v.txt", *args)
    assert not (tmp_path / "v.txt").exists()


# ---------------------------------------------------------------------- the loop
def _rows_by_track(tracks):
    return {int(t): (tracks.frame[s], tracks.boxes[s]) for t, s in zip(tracks.track_ids, tracks.track_slices)}


def test_two_separated_movers_keep_two_track_ids_at_the_right_frames(video, tmp_path):
    pytest.importorskip("trackers")
    records = extract_people(video, tmp_path / "out", chunk_frames=7)  # chunks that do not divide the frames
    record = records[0]
    assert (record.name, record.n_frames, record.width, record.height, record.fps) == ("walk", 30, 128, 96, 25.0)
    assert (record.n_detections, record.n_tracks, record.resumed, record.poses) == (60, 2, False, None)
    assert record.tracks == tmp_path / "out" / "tracks" / "walk.txt"
    tracks = read_mot_tracks(record.tracks, n_frames={"walk": 30}, frame_size=(WIDTH, HEIGHT)).videos[0].tracks
    assert record.n_tracked == len(tracks) == 58  # each track starts one frame after its first box
    by_track = _rows_by_track(tracks)
    assert len(by_track) == 2
    for frames, boxes in by_track.values():
        assert frames.tolist() == list(range(1, 30))
        mover = 0 if boxes[0, 1] < HEIGHT / 2 else 1
        truth = np.array([mover_box(f, mover) for f in frames], dtype=float)
        truth[:, 2:] -= truth[:, :2]  # (left, top, width, height), as the reader gives them
        assert np.abs(boxes - truth).max() <= 1


def test_silhouette_poses_read_back_with_17_keypoints_inside_their_boxes(video, tmp_path):
    record = extract_people(video, tmp_path / "out", tracker=LeftToRightTracker, pose="silhouette")[0]
    assert record.poses == tmp_path / "out" / "poses" / "walk_alphapose_tracked_person.json"
    poses = read_alphapose_json(record.poses, layout="coco17", frame_size=(WIDTH, HEIGHT)).videos[0].tracks
    boxes = read_mot_tracks(record.tracks).videos[0].tracks
    assert poses.points.shape == (2 * N_FRAMES, 17, 3) and len(boxes) == 2 * N_FRAMES
    box_of = {(int(f), int(t)): b for f, t, b in zip(boxes.frame, boxes.track_id, boxes.boxes)}
    for frame, track, points in zip(poses.frame, poses.track_id, poses.points):
        left, top, width, height = box_of[(int(frame), int(track))]  # the same 0-based frame in both files
        assert (points[:, 0] >= left).all() and (points[:, 0] <= left + width).all()
        assert (points[:, 1] >= top).all() and (points[:, 1] <= top + height).all()
        assert (points[:, 2] == 1).all()  # a filled rectangle has foreground at every joint
        assert points[0, 1] < points[11, 1] < points[15, 1]  # nose above hips above ankles
        assert points[5, 0] > points[6, 0]  # the left shoulder on the image's right


def test_the_silhouette_of_an_empty_box_has_zero_confidence(video):
    detector = MotionDetector()
    detector.start_video(video)
    frame = read_frames(video)[0]
    joints = SilhouettePose(detector)(frame, np.array([[60.0, 40, 80, 50]]))  # background only
    assert joints.shape == (1, 17, 3) and (joints[..., 2] == 0).all()
    assert (joints[0, :, 0] == 70).all() and (joints[0, :, 1] >= 40).all() and (joints[0, :, 1] <= 50).all()
    with pytest.raises(TypeError, match="needs a MotionDetector"):
        SilhouettePose(detector=lambda frames: [])


def test_resume_keeps_complete_files_and_redoes_a_truncated_one(tmp_path):
    videos = [movers_video(tmp_path / "videos" / f"{name}.mkv", n_frames=12) for name in ("a", "b")]
    out = tmp_path / "out"
    first = extract_people(videos, out, tracker=LeftToRightTracker, pose="silhouette")
    texts = {r.name: r.tracks.read_text() for r in first}
    again = extract_people(videos, out, tracker=LeftToRightTracker, pose="silhouette")
    assert [r.resumed for r in again] == [True, True]
    assert [(r.n_frames, r.n_detections, r.n_tracked, r.n_tracks) for r in again] == \
        [(r.n_frames, r.n_detections, r.n_tracked, r.n_tracks) for r in first]
    track_path(videos[0], out).write_text(texts["a"][: len(texts["a"]) // 2])  # a truncated file
    (out / "poses" / "b_alphapose_tracked_person.json").unlink()
    redone = extract_people(videos, out, tracker=LeftToRightTracker, pose="silhouette")
    assert [r.resumed for r in redone] == [False, False]
    assert {r.name: r.tracks.read_text() for r in redone} == texts
    tracks_only = extract_people(videos, out, tracker=LeftToRightTracker)
    assert [r.resumed for r in tracks_only] == [True, True] and tracks_only[0].poses is None
    assert not extract_people(videos, out, tracker=LeftToRightTracker, resume=False)[0].resumed
    assert not (out / "poses" / "a_alphapose_tracked_person.json").exists()  # no pose file for other tracks


def test_a_custom_detector_and_a_video_without_movers(tmp_path):
    still = write_video(tmp_path / "still.mkv", np.repeat(textured_background()[None], 6, axis=0))
    record = extract_people(still, tmp_path / "out", tracker=LeftToRightTracker)[0]
    assert (record.n_frames, record.n_detections, record.n_tracks) == (6, 0, 0)
    assert record.tracks.read_text() == ""
    assert len(read_mot_tracks(record.tracks, n_frames={"still": 6}).videos[0].tracks) == 0
    calls = []

    def corner_detector(frames):
        calls.append(len(frames))
        return [np.array([[0.0, 0.0, 10.5, 20.25, 0.75]]) for _ in frames]

    record = extract_people(still, tmp_path / "own", detector=corner_detector, tracker=LeftToRightTracker,
                            chunk_frames=4)[0]
    assert calls == [4, 2] and record.n_tracked == 6
    assert record.tracks.read_text().splitlines()[0] == "1,0,0,0,10.5,20.25,0.75,-1,-1,-1"


# ---------------------------------------------------------------------- the command line
def _main(capsys, *args):
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_extract_help_describes_tracks_and_poses(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["extract", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for text in ("--tracks", "--poses", "--no-features", "--detector motion|SPEC", "--tracker bytetrack|sort|SPEC",
                 "--pose silhouette|SPEC", "1-based", 'pip install "unsupvad[tracking]"', "not a pose model",
                 "--frames features/videos.csv", "--tracks people/poses"):
        assert text in out, text


@pytest.mark.filterwarnings("ignore::unsupvad.DegenerateLoopWarning")  # two tiny generated videos
def test_extract_poses_end_to_end_and_fit_with_the_printed_command(tmp_path, capsys, monkeypatch):
    pytest.importorskip("trackers")
    folder = tmp_path / "videos"
    movers_video(folder / "a.mkv")
    movers_video(folder / "b.mkv", seed=1)
    out = tmp_path / "people"
    status, printed, err = _main(capsys, "extract", folder, "--out", out, "--no-features", "--poses", "--threads", "1")
    assert status == 0, err
    assert "tracked 2 videos: 120 detections, 116 tracked in 4 tracks" in printed and "not a pose model" in printed
    assert err.count("extract: ") == 2
    assert sorted(p.name for p in (out / "tracks").iterdir()) == ["a.txt", "b.txt"]
    assert not list(out.glob("*.npy"))
    table = read_video_table(out / "videos.csv")
    assert [(n, i.n_frames, i.frame_size, i.fps) for n, i in table.items()] == \
        [("a", 30, (128, 96), 25.0), ("b", 30, (128, 96), 25.0)]
    next_line = next(line for line in printed.splitlines() if line.startswith("next: "))
    assert next_line == f"next: unsupvad fit --tracks {out / 'poses'} --frames {out / 'videos.csv'} --out model.uvad"
    monkeypatch.chdir(tmp_path)
    fit_args = shlex.split(next_line[len("next: unsupvad "):]) + ["--preset", "small", "--max-modules", "1",
                                                                  "--module-steps", "1", "--quiet", "--device", "cpu"]
    status, printed, err = _main(capsys, *fit_args)
    assert status == 0, err
    assert (tmp_path / "model.uvad").is_file()
    status, printed, _ = _main(capsys, "extract", folder, "--out", out, "--no-features", "--tracks", "--quiet")
    assert status == 0 and "(2 kept from an earlier run)" in printed
    assert f"next: unsupvad fit --tracks {out / 'tracks'} --frames" in printed


def test_extract_features_and_tracks_together(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # the --tracker spec names this module
    folder = tmp_path / "videos"
    movers_video(folder / "a.mkv", n_frames=20)
    out = tmp_path / "out"
    status, printed, err = _main(capsys, "extract", folder, "--out", out, "--extractor", "tiny", "--crops", "1",
                                 "--tracks", "--tracker", "test_video_people:LeftToRightTracker", "--device", "cpu",
                                 "--quiet")
    assert status == 0, err
    assert "extracted 1 video: 2 snippets, features (T, 32)" in printed and "tracked 1 video: 40 detections" in printed
    assert f"next: unsupvad fit --tracks {out / 'tracks'} --features {out} --frames {out / 'videos.csv'}" in printed
    X = cli.read_videos(out / "tracks", out, "auto", out / "videos.csv", None, None)
    assert X.names == ["a"] and X.n_frames.tolist() == [20] and len(X.videos[0].tracks) == 40


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("unsupvad: error: ")
    return lines[0]


def test_extract_people_errors_are_one_line(video, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    common = ("--out", tmp_path / "out", "--quiet")
    cases = [
        ((video, "--no-features"), "--no-features leaves nothing to write"),
        ((video, "--tracks"), "--extractor is required"),
        ((video, "--no-features", "--tracks", "--detector", "nonsense"), "give 'motion'"),
        ((video, "--no-features", "--tracks", "--tracker", "no_such_module_here:make"), "cannot import module"),
        ((video, "--no-features", "--pose", "nonsense", "--tracker", "test_video_people:LeftToRightTracker"),
         "give 'silhouette'"),  # --pose implies --poses
        ((video, "--extractor", "tiny", "--tracker", "sort"), "--tracker is for person tracks: add --tracks"),
    ]
    for args, message in cases:
        status, _, err = _main(capsys, "extract", *args, *common)
        assert status == 2 and message in _one_error_line(err), err
