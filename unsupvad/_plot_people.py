"""Who was abnormal, where: a video's people in the image plane, coloured by their detection scores."""

from __future__ import annotations

import numpy as np

from ._plot_matplotlib import _axes_or_new, _require_matplotlib


def plot_detections(video, scores, *, frame=None, ax=None, cmap="coolwarm", title=None):
    """Draw a video's tracked people in image coordinates, coloured by anomaly score.

    Without ``frame``: every track's path (box centres, one line per track)
    with each step coloured by its detection's score. With ``frame``: the
    boxes of the people in that frame, edged by score and labelled with their
    track id. An overlay without the pixels, for the output of
    :meth:`unsupvad.InterleavedVAD.score_detections` (or ``unsupvad score
    --objects``).

    Parameters
    ----------
    video : Video
        A video with tracks (and, for the axes' extent, a frame size).
    scores : array-like of shape (len(video.tracks),)
        One score per detection, in the rows' order (higher = more
        abnormal); NaN (no score: a track too short) is drawn black (a
        box: dotted).
    frame : int, optional
        0-based frame whose people are drawn as boxes.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    cmap : str, default='coolwarm'
        Colour map of the scores (the colour bar shows it).
    title : str, optional
        Default: the video name, and the frame when one is drawn.

    Returns
    -------
    ax : matplotlib Axes
    """
    _require_matplotlib()
    tracks, scores = _checked(video, scores)
    if frame is not None and not 0 <= int(frame) < video.n_frames:
        raise ValueError(f"frame {frame} is outside video {video.name!r} (0 to {video.n_frames - 1})")
    ax = _axes_or_new(ax, figsize=(8, 5))
    finite = scores[np.isfinite(scores)]
    norm = _norm(finite)
    boxes = tracks.boxes
    if frame is None:
        artist = _draw_paths(ax, tracks, boxes, scores, norm, cmap)
    else:
        artist = _draw_boxes(ax, tracks, boxes, scores, int(frame), norm, cmap)
    _image_axes(ax, video, boxes)
    ax.figure.colorbar(artist, ax=ax, label="anomaly score (higher = more abnormal)")
    default = video.name if frame is None else f"{video.name} · frame {int(frame)}"
    ax.set_title(str(default if title is None else title), fontsize="medium")
    return ax


def _checked(video, scores):
    tracks = getattr(video, "tracks", None)
    if tracks is None or not len(tracks):
        raise ValueError(f"video {getattr(video, 'name', '?')!r} has no tracks to draw")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(tracks),):
        raise ValueError(f"scores must hold one score per detection ({len(tracks)}), got shape {scores.shape}")
    return tracks, scores


def _norm(finite: np.ndarray):
    from matplotlib.colors import Normalize

    if not len(finite):
        return Normalize(0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return Normalize(low, high if high > low else low + 1.0)


def _draw_paths(ax, tracks, boxes, scores, norm, cmap):
    from matplotlib.collections import LineCollection

    centres = boxes[:, :2] + boxes[:, 2:] / 2
    segments, values = [], []
    for sl in tracks.track_slices:
        points = centres[sl]
        segments += [points[i: i + 2] for i in range(len(points) - 1)]
        values.append(scores[sl][1:])
    values = np.concatenate(values) if values else np.zeros(0)
    import matplotlib as mpl

    colours = mpl.colormaps[cmap].with_extremes(bad="black")
    lines = LineCollection(segments, cmap=colours, norm=norm, linewidths=2)
    lines.set_array(np.ma.masked_invalid(values))
    ax.add_collection(lines)
    return lines


def _draw_boxes(ax, tracks, boxes, scores, frame, norm, cmap):
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    colours = mpl.colormaps[cmap]
    for row in np.flatnonzero(tracks.frame == frame):
        left, top, width, height = boxes[row]
        scored = np.isfinite(scores[row])
        colour = colours(norm(scores[row])) if scored else "black"
        ax.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor=colour, linewidth=2,
                               linestyle="-" if scored else ":"))
        # inside the box's top-left corner: a label above a box at the top edge would run into the title
        ax.annotate(str(tracks.track_id[row]), (left, top), xytext=(2, -2), textcoords="offset points",
                    fontsize="small", color=colour, va="top")
    return mpl.cm.ScalarMappable(norm=norm, cmap=cmap)


def _image_axes(ax, video, boxes) -> None:
    """Pixel axes with y pointing down, over the frame (or the boxes' extent without a frame size)."""
    if video.frame_size is not None:
        width, height = video.frame_size
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
    else:
        ax.set_xlim(boxes[:, 0].min(), (boxes[:, 0] + boxes[:, 2]).max())
        ax.set_ylim((boxes[:, 1] + boxes[:, 3]).max(), boxes[:, 1].min())
    ax.set_aspect("equal")
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
