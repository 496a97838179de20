"""Painted generated videos and the score overlay: pixels checked where the people and their boxes are."""

import numpy as np
import pandas as pd
import pytest

from unsupvad import Tracks, Video
from unsupvad.datasets import make_synthetic_videos

pytest.importorskip("av")

from unsupvad.video import (  # noqa: E402
    draw_boxes,
    paint_people,
    read_frames,
    scene_background,
    score_colours,
    write_overlay,
    write_painted_videos,
    write_video,
)
from unsupvad.video._overlay import HIGH_COLOUR, LOW_COLOUR, MID_COLOUR, NO_SCORE_COLOUR  # noqa: E402
from unsupvad.video._paint import _PALETTE  # noqa: E402

NECK, RIGHT_HIP, RIGHT_KNEE = 1, 8, 9


def standing_person(n_frames=3, x=30.0, seen_knee=True):
    """One person whose only seen joints are neck, right hip and (optionally) right knee, on a vertical line."""
    points = np.zeros((n_frames, 18, 3), np.float32)
    for joint, y in ((NECK, 10.0), (RIGHT_HIP, 30.0), (RIGHT_KNEE, 40.0)):
        points[:, joint] = (x, y, 1.0 if joint != RIGHT_KNEE or seen_knee else 0.0)
    tracks = Tracks(frame=np.arange(n_frames), track_id=np.full(n_frames, 7), points=points, layout="openpose18")
    return Video("one", n_frames, frame_size=(64, 48), tracks=tracks)


def test_a_bone_is_painted_in_its_track_colour_and_the_rest_is_the_empty_scene():
    video = standing_person()
    frames = paint_people(video)
    scene = scene_background(64, 48)
    assert frames.shape == (3, 48, 64, 3) and frames.dtype == np.uint8
    colour = _PALETTE[7 % len(_PALETTE)]
    assert (frames[:, 20, 30] == colour).all()      # on the neck-hip bone
    assert (frames[:, 35, 30] == colour).all()      # on the hip-knee bone
    assert (frames[:, 20, 45] == scene[20, 45]).all()  # beside it
    assert (frames[:, 45, 10] == scene[45, 10]).all()


def test_a_joint_of_confidence_zero_is_not_drawn():
    frames = paint_people(standing_person(seen_knee=False))
    scene = scene_background(64, 48)
    assert (frames[:, 37, 30] == scene[37, 30]).all()  # the hip-knee bone is missing
    assert (frames[:, 20, 30] != scene[20, 30]).any()


def test_painting_refuses_boxes_and_videos_without_a_frame_size():
    boxes = Tracks.from_boxes([0], [1], [[1, 1, 5, 5]])
    with pytest.raises(ValueError, match="OpenPose-18"):
        paint_people(Video("b", 2, frame_size=(16, 16), tracks=boxes))
    with pytest.raises(ValueError, match="frame size"):
        paint_people(Video("c", 2))
    with pytest.raises(ValueError, match="background"):
        paint_people(standing_person(), background=np.zeros((4, 4, 3), np.uint8))


def test_painted_generated_videos_read_back_frame_for_frame(tmp_path):
    X = make_synthetic_videos(2, n_frames=40, frame_size=(96, 64), n_people=2, features=False,
                              abnormal_video_fraction=1.0, anomaly_ratio=0.3, random_state=0)
    paths = write_painted_videos(X.videos, tmp_path / "videos")
    assert [p.name for p in paths] == [f"{v.name}.mkv" for v in X.videos]
    for video, path in zip(X.videos, paths):
        assert np.array_equal(read_frames(path), paint_people(video))


def test_score_colours_run_from_blue_through_grey_to_red_and_nan_is_black():
    colours = score_colours([1.0, 2.0, 3.0, np.nan, 10.0], vmin=1.0, vmax=3.0)
    assert np.array_equal(colours[0], LOW_COLOUR.astype(np.uint8))
    assert np.array_equal(colours[1], MID_COLOUR.astype(np.uint8))
    assert np.array_equal(colours[2], HIGH_COLOUR.astype(np.uint8))
    assert np.array_equal(colours[3], NO_SCORE_COLOUR)
    assert np.array_equal(colours[4], colours[2])  # clipped
    assert np.array_equal(score_colours([0.0, 5.0])[1], HIGH_COLOUR.astype(np.uint8))  # default ends: min, max
    with pytest.raises(ValueError, match="vmin < vmax"):
        score_colours([1.0, 2.0], vmin=2.0, vmax=2.0)


def test_a_box_outline_is_drawn_inside_its_edges_and_clipped_to_the_frame():
    frame = np.zeros((20, 30, 3), np.uint8)
    red = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    out = draw_boxes(frame, [[5, 4, 10, 8], [25, 15, 20, 20], [40, 40, 5, 5]], red, line_width=1)
    assert (frame == 0).all()  # a copy
    drawn = out.any(axis=2)
    expected = np.zeros((20, 30), bool)
    expected[4, 5:15] = expected[11, 5:15] = expected[4:12, 5] = expected[4:12, 14] = True
    expected[15, 25:30] = expected[15:20, 25] = expected[19, 25:30] = expected[15:20, 29] = True
    assert np.array_equal(drawn, expected)
    assert (out[4, 5] == red[0]).all() and (out[15, 25] == red[1]).all()


@pytest.fixture
def striped_video(tmp_path):
    """Ten frames, frame i filled with grey level 20 * i, so that a frame read back names its index."""
    frames = np.stack([np.full((24, 32, 3), 20 * i, np.uint8) for i in range(10)])
    return write_video(tmp_path / "striped.mkv", frames, fps=5), frames


def detections_at(frames, boxes, scores, video="striped"):
    boxes = np.asarray(boxes, float)
    return pd.DataFrame({"video": video, "frame": frames, "track_id": np.arange(len(frames)), "left": boxes[:, 0],
                         "top": boxes[:, 1], "width": boxes[:, 2], "height": boxes[:, 3], "score": scores})


def test_the_overlay_image_is_the_chosen_0_based_frame_with_only_its_own_boxes(striped_video, tmp_path):
    path, frames = striped_video
    table = detections_at([3, 3, 4], [[2, 2, 8, 6], [15, 10, 10, 10], [0, 0, 30, 20]], [0.0, 1.0, 0.5])
    image = read_frames(write_overlay(path, table, tmp_path / "frame3.png", frame=3, line_width=1))[0]
    colours = score_colours(table["score"])
    expected = draw_boxes(frames[3], table[["left", "top", "width", "height"]].to_numpy()[:2], colours[:2], 1)
    assert np.array_equal(image, expected)
    assert (image[12, 0] == 60).all()  # frame 3's grey: the frame-4 box is not on it


def test_the_overlay_video_has_the_chosen_frames(striped_video, tmp_path):
    path, frames = striped_video
    table = detections_at([6], [[1, 1, 6, 6]], [2.0])
    clip = read_frames(write_overlay(path, table, tmp_path / "clip.mkv", start=5, stop=8, line_width=1))
    assert clip.shape == (3, 24, 32, 3)
    assert (clip[0, 10, 10] == 100).all() and (clip[2, 10, 10] == 140).all()
    assert (clip[1, 1, 1] != frames[6, 1, 1]).any() and (clip[0, 1, 1] == frames[5, 1, 1]).all()


@pytest.mark.parametrize("change, kwargs, message", [
    (lambda t: t, {"out": "x.png"}, "pass frame="),
    (lambda t: t, {"out": "x.png", "frame": 10}, "not inside the video"),
    (lambda t: t, {"out": "x.mkv", "start": 8, "stop": 12}, r"frames 8..11 are not inside the video \(frames 0..9\)"),
    (lambda t: t, {"out": "x.mkv", "start": 12}, r"frames 12..9 are not inside the video \(frames 0..9\)"),
    (lambda t: t, {"out": "x.mkv", "start": 5, "stop": 3}, r"frames 5..2 are not inside the video \(frames 0..9\)"),
    (lambda t: t.drop(columns="score"), {"out": "x.mkv"}, "missing: score"),
    (lambda t: t.assign(video=["a", "b"]), {"out": "x.mkv"}, "select one video"),
    (lambda t: t.assign(frame=[-1, 2]), {"out": "x.mkv"}, "0-based"),
    (lambda t: t.assign(frame=[1.5, 2.0]), {"out": "x.mkv"}, "0-based"),
])
def test_an_overlay_that_cannot_be_drawn_is_refused(striped_video, tmp_path, change, kwargs, message):
    path, _ = striped_video
    table = change(detections_at([1, 2], [[1, 1, 4, 4], [2, 2, 4, 4]], [0.0, 1.0]))
    kwargs = {**kwargs, "out": tmp_path / kwargs["out"]}
    with pytest.raises(ValueError, match=message):
        write_overlay(path, table, **kwargs)


def test_the_overlay_command_draws_the_most_abnormal_frame_of_the_named_video(striped_video, tmp_path, capsys):
    from unsupvad.cli import main

    path, frames = striped_video
    table = detections_at([2, 7, 7], [[1, 1, 6, 6], [10, 5, 8, 8], [20, 2, 6, 6]], [0.5, 3.0, np.nan])
    objects = tmp_path / "people.csv"
    pd.concat([table, detections_at([7], [[0, 0, 3, 3]], [9.0], video="other")]).to_csv(objects, index=False)
    assert main(["overlay", str(path), "--objects", str(objects), "--out", str(tmp_path / "o.png")]) == 0
    assert "frame 7" in capsys.readouterr().out
    image = read_frames(tmp_path / "o.png")[0]
    colours = score_colours(table["score"])
    boxes = table[["left", "top", "width", "height"]].to_numpy()
    assert np.array_equal(image, draw_boxes(frames[7], boxes[1:], colours[1:]))
    assert (image[5, 10] == HIGH_COLOUR.astype(np.uint8)).all() and (image[2, 20] == NO_SCORE_COLOUR).all()
    assert main(["overlay", str(path), "--objects", str(objects), "--out", str(tmp_path / "o.mkv"), "--start", "6",
                 "--stop", "9"]) == 0
    assert len(read_frames(tmp_path / "o.mkv")) == 3
    assert main(["overlay", str(path), "--objects", str(objects), "--out", str(tmp_path / "x.png"),
                 "--video", "nobody"]) == 2
    assert "no detection of video 'nobody'" in capsys.readouterr().err
