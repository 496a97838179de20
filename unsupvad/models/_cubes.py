"""Object-centric cubes: grey square crops around a tracked person over a window's frames, read from the video file.

For a window of ``clip_len`` detections of one track (an object of
:class:`~unsupvad.Objects`), the cube is the region of the window's centre
detection box, enlarged by a margin and made square, cut from the frame of
every detection of the window, converted to grey and resized to
``cube_size x cube_size``: uint8 ``(clip_len, cube_size, cube_size)``, 28 KB
with the defaults (7 x 64 x 64). Frames are decoded from the video's
``video_file`` in order, a chunk at a time, up to the last frame a cube
needs; no video is ever held in memory.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
from torch.nn import functional as F

from .._objects import Objects
from .._video import Video, video_error
from .._videoset import VideoSet

GREY_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luma weights of R, G and B (full range: 0-255 in, 0-255 out)."""

DECODE_CHUNK = 32
"""Frames decoded and converted at a time."""


# ---------------------------------------------------------------------- one crop
def crop_squares(boxes: np.ndarray, frame_size: tuple[int, int], margin: float) -> np.ndarray:
    """The square crop of every box: ``(n, 3)`` int64 ``(left, top, side)`` in pixels, inside the frame.

    The side is the box's longer side times ``1 + 2 * margin`` (``margin``
    of it added on each side), rounded to whole pixels, at least 1 and at
    most the frame's shorter side; the square is centred on the box's
    centre, then shifted as little as needed to lie inside the frame (so
    that no cube holds padding).

    Parameters
    ----------
    boxes : ndarray of shape (n, 4)
        ``(left, top, width, height)`` in pixels.
    frame_size : (int, int)
        ``(width, height)`` of the frames.
    margin : float
        Non-negative.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    width, height = frame_size
    side = np.rint(np.maximum(boxes[:, 2], boxes[:, 3]) * (1.0 + 2.0 * margin)).astype(np.int64)
    side = np.clip(side, 1, min(width, height))
    left = np.rint(boxes[:, 0] + boxes[:, 2] / 2 - side / 2).astype(np.int64)
    top = np.rint(boxes[:, 1] + boxes[:, 3] / 2 - side / 2).astype(np.int64)
    left = np.clip(left, 0, width - side)
    top = np.clip(top, 0, height - side)
    return np.stack([left, top, side], axis=1)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(..., 3)`` -> float32 grey ``(...)`` in [0, 255] (:data:`GREY_WEIGHTS`)."""
    return rgb.astype(np.float32) @ np.asarray(GREY_WEIGHTS, np.float32)


def resize_square(grey: np.ndarray, size: int) -> np.ndarray:
    """Grey squares ``(k, s, s)`` (or one ``(s, s)``) resized to ``size x size``, rounded to uint8.

    Bilinear, ``align_corners=False``, no antialiasing
    (:func:`torch.nn.functional.interpolate`), rounded half to even:
    deterministic, and each square's result is the same alone or among
    others.
    """
    grey = np.asarray(grey, np.float32)
    images = torch.from_numpy(np.ascontiguousarray(grey.reshape(-1, *grey.shape[-2:])))[:, None]
    resized = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    out = np.clip(np.rint(resized[:, 0].numpy()), 0, 255).astype(np.uint8)
    return out.reshape(*grey.shape[:-2], size, size)


def grey_crop(frame: np.ndarray, square) -> np.ndarray:
    """The square ``(left, top, side)`` of an RGB frame, in grey (float32)."""
    left, top, side = (int(v) for v in square)
    return to_grey(frame[top: top + side, left: left + side])


def cube_crop(frame: np.ndarray, square, size: int) -> np.ndarray:
    """One frame's crop: the square ``(left, top, side)`` of an RGB frame, grey, resized to ``(size, size)`` uint8."""
    return resize_square(grey_crop(frame, square), size)


# ---------------------------------------------------------------------- cubes of a video
def object_frames(video: Video, objects: Objects) -> np.ndarray:
    """``(n, clip_len)`` frame index of every detection of every object (all of one video)."""
    return video.tracks.frame[objects.rows]


def centre_boxes(video: Video, objects: Objects) -> np.ndarray:
    """``(n, 4)`` box of every object's centre detection (row ``clip_len // 2``): the box, or the keypoints' extent."""
    centre = objects.rows[:, objects.rows.shape[1] // 2]
    return video.tracks.boxes[centre] if len(centre) else np.zeros((0, 4), np.float32)


def _frames_of(video: Video, reader, last_frame: int):
    """``(index, RGB frame)`` of the video file, in order, up to ``last_frame``; an error naming the video if short."""
    index = 0
    for chunk in reader.chunks(DECODE_CHUNK):
        for frame in chunk:
            yield index, frame
            if index == last_frame:
                return
            index += 1
    raise video_error(video.name, f"its video_file {video.video_file} holds {index} frames, but its tracks reach "
                                  f"frame {last_frame} (is it the video the tracks were made on?)")


def _check_frame_size(video: Video, reader) -> tuple[int, int]:
    size = (int(reader.width), int(reader.height))
    if video.frame_size is not None and tuple(video.frame_size) != size:
        raise video_error(video.name, f"frame_size {tuple(video.frame_size)}, but its video_file {video.video_file} "
                                      f"has frames of {size[0]} x {size[1]}: the crops would miss the people")
    return size


def video_cubes(video: Video, objects: Objects, margin: float, cube_size: int) -> np.ndarray:
    """The cubes of objects of one video, ``(n, clip_len, cube_size, cube_size)`` uint8, decoding its file once.

    Frames are decoded in order up to the last one a cube needs; each
    decoded frame is cropped (in grey) for every object that holds it, then
    dropped; an object's crops are resized together once its last frame is
    read.
    """
    from ..video._decode import VideoReader  # here: unsupvad.video imports the models package

    out = np.empty((len(objects), objects.seg_len, cube_size, cube_size), np.uint8)
    if len(objects) == 0:
        return out
    frames = object_frames(video, objects)
    order = np.argsort(frames, axis=None, kind="stable")  # by frame; an object's frames increase along t
    needed_frames = frames.reshape(-1)[order]
    owner = np.unravel_index(order, frames.shape)[0]
    pending: dict[int, list] = {}
    try:
        with VideoReader(video.video_file) as reader:
            squares = crop_squares(centre_boxes(video, objects), _check_frame_size(video, reader), margin)
            k = 0
            for index, frame in _frames_of(video, reader, int(needed_frames[-1])):
                while k < len(needed_frames) and needed_frames[k] == index:
                    crops = pending.setdefault(int(owner[k]), [])
                    crops.append(grey_crop(frame, squares[owner[k]]))
                    if len(crops) == objects.seg_len:
                        out[owner[k]] = resize_square(np.stack(pending.pop(int(owner[k]))), cube_size)
                    k += 1
    except (FileNotFoundError, ValueError) as exc:
        if str(exc).startswith(f"video {video.name!r}"):
            raise
        raise type(exc)(f"video {video.name!r}: {exc}") from exc
    return out


def object_cubes(X: VideoSet, objects: Objects, margin: float, cube_size: int) -> np.ndarray:
    """The cubes of objects of ``X`` (:func:`video_cubes`, video by video), in the objects' order."""
    out = np.empty((len(objects), objects.seg_len, cube_size, cube_size), np.uint8)
    for v in np.unique(objects.video):
        chosen = np.flatnonzero(objects.video == v)
        out[chosen] = video_cubes(X.videos[v], objects.subset(chosen), margin, cube_size)
    return out


# ---------------------------------------------------------------------- the cache
def _file_identity(video: Video) -> tuple:
    stat = os.stat(video.video_file)
    return str(video.video_file.resolve()), stat.st_size, stat.st_mtime_ns


def cube_key(X: VideoSet, objects: Objects, margin: float, cube_size: int) -> tuple:
    """What the cubes of ``objects`` depend on: the videos' names and files, the windows' frames and boxes, the crop.

    Two calls give equal keys exactly when they would build the same cubes
    (files are told apart by path, size and modification time).
    """
    digest = hashlib.blake2b(digest_size=16)
    used = np.unique(objects.video)
    for v in used:
        video, chosen = X.videos[v], objects.subset(objects.video == v)
        digest.update(np.int64(v).tobytes())
        digest.update(np.ascontiguousarray(object_frames(video, chosen), np.int64).tobytes())
        digest.update(np.ascontiguousarray(centre_boxes(video, chosen), np.float32).tobytes())
    digest.update(np.ascontiguousarray(objects.video, np.int64).tobytes())
    files = tuple((X.videos[v].name, *_file_identity(X.videos[v])) for v in used)
    return files, digest.hexdigest(), len(objects), objects.seg_len, float(margin), int(cube_size)


class CubeCache:
    """Cubes kept between the steps of a fit, by :func:`cube_key`: one entry per slot ('train', 'score').

    Keyed by content, not by the VideoSet object: the same videos and
    windows hit whatever container holds them, and a changed file misses.
    Memory: ``clip_len * cube_size**2`` bytes per object (28 KB with the
    defaults), while the estimator lives or until :meth:`clear`. Never
    pickled nor saved in model files.
    """

    def __init__(self):
        self._entries: dict[str, tuple] = {}

    def lookup(self, key):
        """The cubes stored under ``key`` in any slot, or None."""
        return next((cubes for stored, cubes in self._entries.values() if stored == key), None)

    def store(self, slot: str, key, cubes) -> None:
        self._entries[slot] = (key, cubes)

    def clear(self) -> None:
        self._entries.clear()
