"""Frame-level ground truth: per-video masks, RTFM's concatenated file, attaching labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._video import video_error
from .._videoset import VideoSet
from ._readers import PathLike, existing, file_error, folder_files, load_npy


def _as_mask(values: np.ndarray, source: PathLike, name: str | None) -> np.ndarray:
    """A 0/1 uint8 frame mask, or an error naming the source and the problem."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise file_error(source, f"a frame mask must be 1-D, got shape {values.shape}", name)
    if values.size == 0:
        raise file_error(source, "the frame mask is empty (a video has at least one frame)", name)
    if values.dtype.kind not in "biuf":
        raise file_error(source, f"a frame mask must be numeric, got dtype {values.dtype}", name)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise file_error(source, "the frame mask contains NaN or infinite values", name)
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise file_error(
            source,
            f"frame mask values must be 0 (normal) or 1 (abnormal), got {values[i].item()!r} at frame {i}",
            name,
        )
    return values.astype(np.uint8)


def read_frame_masks(folder: PathLike, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Read per-video frame masks, one ``<video>.npy`` per video.

    Parameters
    ----------
    folder : path
        Folder of ``<video>.npy`` files, each a 1-D array with one value per
        frame: 1 = abnormal, 0 = normal.
    names : sequence of str, optional
        Videos to read (a missing file is an error). Default: every ``.npy``
        file of the folder, sorted by name.

    Returns
    -------
    dict of str to ndarray of uint8
        Video name -> frame mask.

    Raises
    ------
    FileNotFoundError
        When the folder or a requested mask is missing.
    ValueError
        Naming the file: unreadable or truncated files, masks that are not
        1-D, empty, longer than :data:`~unsupvad.datasets.limits.MAX_FRAMES`
        or hold values other than 0 and 1.
    """
    folder = existing(folder, "frame-mask folder", is_dir=True)
    if names is None:
        sources = folder_files(folder, ".npy", lambda p: p.name[: -len(".npy")])
    else:
        sources = [(name, folder / f"{name}.npy") for name in names]
        for name, path in sources:
            if not path.exists():
                raise FileNotFoundError(f"frame mask of video {name!r} not found: {path}")
    return {
        name: _as_mask(load_npy(path, video=name, per_frame=True), path, name) for name, path in sources
    }


def _padded_lengths(videoset: VideoSet) -> np.ndarray:
    return np.array([v.snippet_len * v.n_snippets for v in videoset.videos], dtype=np.int64)


def read_rtfm_gt(path: PathLike | np.ndarray, videoset: VideoSet) -> dict[str, np.ndarray]:
    """Split an RTFM concatenated ground-truth file into per-video frame masks.

    Parameters
    ----------
    path : path or ndarray
        ``gt-sh.npy``-style file (or its array): the frame labels of every
        video in the order of ``videoset``, each padded to ``16 T`` frames by
        repeating its last label (T = the video's snippet count).
    videoset : VideoSet
        The videos, in the file's order, with their true frame counts.

    Returns
    -------
    dict of str to ndarray of uint8
        Video name -> mask of ``n_frames`` frames: the padded labels cut back
        to ``n_frames``, or, when the features dropped a partial last snippet
        (``16 T < n_frames``), extended by repeating the last label.

    Raises
    ------
    ValueError
        When the total length differs from ``16 * sum(T)`` (both are given),
        or the values are not 0/1.
    """
    if isinstance(path, np.ndarray):
        source, gt = "RTFM ground truth", path
    else:
        source = existing(path, "RTFM ground-truth file", is_dir=False)
        gt = load_npy(source)
    gt = _as_mask(gt, source, None)
    lengths = _padded_lengths(videoset)
    expected = int(lengths.sum())
    if len(gt) != expected:
        raise file_error(
            source,
            f"has {len(gt)} frame labels, but the {videoset.n_videos} videos need "
            f"16 * sum(T) = {expected} (snippet_len * T per video, in the VideoSet's order)",
        )
    bounds = np.r_[0, np.cumsum(lengths)]
    masks = {}
    for video, a, b in zip(videoset.videos, bounds[:-1], bounds[1:], strict=True):
        part = gt[a:b]
        if video.n_frames > len(part):
            part = np.r_[part, np.full(video.n_frames - len(part), part[-1], np.uint8)]
        masks[video.name] = part[: video.n_frames]
    return masks


def attach_labels(videoset: VideoSet, masks: Mapping[str, np.ndarray]) -> VideoSet:
    """A VideoSet whose videos carry frame labels (for evaluation only).

    Parameters
    ----------
    videoset : VideoSet
        The videos; a subset keeps its snippet selection.
    masks : mapping of str to array-like
        Video name -> frame mask of ``n_frames`` values (1 = abnormal). Masks
        of videos not in the set are ignored.

    Returns
    -------
    VideoSet

    Raises
    ------
    ValueError
        Naming the video: a missing mask, a mask whose length differs from
        the video's frame count, or values other than 0 and 1.
    """
    videos = []
    for video in videoset.videos:
        if video.name not in masks:
            raise video_error(video.name, "has no frame mask among the labels given")
        videos.append(video.replace(labels=masks[video.name]))
    counts = np.array([v.n_snippets for v in videos], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(counts)]
    positions = offsets[videoset.snippet_video] + videoset.snippet_index
    return VideoSet(videos, None if videoset.is_complete else positions)
