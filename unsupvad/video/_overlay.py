"""Who was abnormal, where, on the footage itself: people's boxes drawn on a video's frames, coloured by score.

The input is what ``unsupvad score --objects`` writes (and
:meth:`unsupvad.InterleavedVAD.score_detections` gives): per detection its
0-based frame, its box and its score. :func:`write_overlay` draws them on
the decoded frames of the video file and writes one image (``.png``) or a
short video, frames streamed in chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._decode import VideoReader, write_video

DETECTION_COLUMNS = ("frame", "left", "top", "width", "height", "score")
IMAGE_SUFFIXES = (".png",)
LOW_COLOUR = np.array([59, 76, 192], np.float64)     # blue: the video's lowest score
MID_COLOUR = np.array([221, 221, 221], np.float64)   # light grey: half way
HIGH_COLOUR = np.array([180, 4, 38], np.float64)     # red: its highest score
NO_SCORE_COLOUR = np.array([0, 0, 0], np.uint8)      # black: a detection no window holds (NaN score)


def score_colours(scores, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """RGB colours of scores on a diverging ramp: blue at ``vmin``, grey half way, red at ``vmax``.

    Parameters
    ----------
    scores : array-like of shape (n,)
        NaN is drawn black.
    vmin, vmax : float, optional
        The ends of the ramp; default the smallest and largest finite score.
        Scores outside are clipped to the ends.

    Returns
    -------
    ndarray of shape (n, 3), uint8
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    lo = np.min(scores[finite], initial=0.0) if vmin is None else float(vmin)
    hi = np.max(scores[finite], initial=1.0) if vmax is None else float(vmax)
    if not hi > lo:
        raise ValueError(f"the colour ramp needs vmin < vmax, got {lo} and {hi}")
    t = np.clip((np.where(finite, scores, lo) - lo) / (hi - lo), 0.0, 1.0)[:, None]
    low_half = LOW_COLOUR + (MID_COLOUR - LOW_COLOUR) * np.minimum(2 * t, 1.0)
    colours = np.where(t <= 0.5, low_half, MID_COLOUR + (HIGH_COLOUR - MID_COLOUR) * np.maximum(2 * t - 1, 0.0))
    colours = np.rint(colours).astype(np.uint8)
    colours[~finite] = NO_SCORE_COLOUR
    return colours


def draw_boxes(frame: np.ndarray, boxes, colours, line_width: int = 2) -> np.ndarray:
    """A copy of ``frame`` with box outlines drawn inside each box's edge.

    Parameters
    ----------
    frame : ndarray of shape (height, width, 3), uint8
    boxes : array-like of shape (n, 4)
        ``(left, top, width, height)`` in pixels; rounded to whole pixels and
        clipped to the frame (a box wholly outside is not drawn).
    colours : array-like of shape (n, 3), uint8
    line_width : int, default=2

    Returns
    -------
    ndarray of shape (height, width, 3), uint8
    """
    out = np.array(frame, dtype=np.uint8, copy=True)
    height, width = out.shape[:2]
    for (left, top, w, h), colour in zip(np.asarray(boxes, dtype=np.float64), np.asarray(colours, np.uint8)):
        x0, y0 = max(int(round(left)), 0), max(int(round(top)), 0)
        x1, y1 = min(int(round(left + w)), width), min(int(round(top + h)), height)
        if x0 >= x1 or y0 >= y1:
            continue
        lw_x, lw_y = min(line_width, x1 - x0), min(line_width, y1 - y0)
        out[y0:y0 + lw_y, x0:x1] = colour
        out[y1 - lw_y:y1, x0:x1] = colour
        out[y0:y1, x0:x0 + lw_x] = colour
        out[y0:y1, x1 - lw_x:x1] = colour
    return out


def _checked_detections(detections) -> pd.DataFrame:
    table = pd.DataFrame(detections)
    missing = [c for c in DETECTION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"detections need the columns {', '.join(DETECTION_COLUMNS)} (as 'unsupvad score "
                         f"--objects' writes them); missing: {', '.join(missing)}")
    if "video" in table.columns and table["video"].nunique() > 1:
        raise ValueError(f"detections of {table['video'].nunique()} videos: select one video's rows first")
    frames = np.asarray(table["frame"])
    if frames.size and (not np.issubdtype(frames.dtype, np.integer) or frames.min() < 0):
        raise ValueError("detection frames must be 0-based whole frame indices (MOT frame f is frame f - 1)")
    return table


def _frame_range(frame, start, stop) -> tuple[int, int | None]:
    """``(start, stop)`` asked for; ``stop`` None: to the end of the video."""
    if frame is not None:
        start, stop = frame, frame + 1
    return (0 if start is None else int(start)), (None if stop is None else int(stop))


def _outside(start: int, stop: int | None, n_frames: int) -> ValueError:
    last = (n_frames if stop is None else stop) - 1
    return ValueError(f"frames {start}..{last} are not inside the video (frames 0..{n_frames - 1})")


def _drawn_frames(reader: VideoReader, table: pd.DataFrame, start: int, stop: int | None, colours,
                  line_width: int) -> tuple[list[np.ndarray], int]:
    """The frames ``start..stop-1``, decoded in chunks, with that frame's boxes drawn; and the frames decoded."""
    by_frame = table.groupby("frame").indices
    boxes = table[["left", "top", "width", "height"]].to_numpy(np.float64)
    drawn, index = [], 0
    for chunk in reader.chunks(64):
        for pixels in chunk:
            if index >= start:
                rows = by_frame.get(index, np.zeros(0, np.int64))
                drawn.append(draw_boxes(pixels, boxes[rows], colours[rows], line_width))
            index += 1
            if stop is not None and index >= stop:
                return drawn, index
    return drawn, index


def write_overlay(video_file, detections, out, *, frame: int | None = None, start: int | None = None,
                  stop: int | None = None, vmin: float | None = None, vmax: float | None = None,
                  line_width: int = 2, fps: float | None = None, codec: str | None = None) -> Path:
    """Draw one video's scored detections on its frames and write an image or a short video.

    Parameters
    ----------
    video_file : path
        The video the detections are of.
    detections : DataFrame or mapping of columns
        One row per detection of this video: ``frame`` (0-based), ``left``,
        ``top``, ``width``, ``height`` (pixels) and ``score`` (higher = more
        abnormal, NaN = no score), e.g. one video's rows of the ``--objects``
        CSV.
    out : path
        ``.png``: one image, the frame ``frame``. Any other suffix (``.mp4``,
        ``.mkv``...): a video of the frames ``start..stop-1``.
    frame : int, optional
        The frame of an image (required for ``.png``); for a video, the same
        as ``start=frame, stop=frame + 1``.
    start, stop : int, optional
        The frames of a video (default: all of them).
    vmin, vmax : float, optional
        The colour ramp's ends (:func:`score_colours`); default the smallest
        and largest score of ``detections``, so that one colour means one
        score in every frame.
    line_width : int, default=2
    fps : float, optional
        The output video's rate (default: the input's, 25 when unknown).
    codec : str, optional
        Default ``'png'`` for an image, ``'libx264'`` for ``.mp4`` and
        lossless ``'ffv1'`` otherwise.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    table = _checked_detections(detections)
    is_image = out.suffix.lower() in IMAGE_SUFFIXES
    if is_image and frame is None:
        raise ValueError(f"{out}: an image shows one frame: pass frame=")
    begin, end = _frame_range(frame, start, stop)
    colours = score_colours(table["score"].to_numpy(np.float64), vmin, vmax)
    with VideoReader(video_file) as reader:
        rate = reader.fps
        if begin < 0 or (end is not None and end <= begin):
            raise _outside(begin, end, reader.count_frames())
        drawn, n_decoded = _drawn_frames(reader, table, begin, end, colours, line_width)
    if not drawn or (end is not None and n_decoded < end):  # the video ended before the frames asked for
        raise _outside(begin, end, n_decoded)
    frames = np.stack(drawn)
    codec = codec or ("png" if is_image else "libx264" if out.suffix.lower() == ".mp4" else "ffv1")
    return write_video(out, frames, fps=fps or rate or 25.0, codec=codec)
