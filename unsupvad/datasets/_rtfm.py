"""RTFM snippet-feature files: one ``.npy`` per video, listed in a ``.list`` file or a folder."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._video import DEFAULT_SNIPPET_LEN
from .._videoset import VideoSet
from ._readers import (
    PathLike,
    check_unique,
    existing,
    file_error,
    folder_files,
    load_npy,
    lookup_n_frames,
    make_video,
    make_videoset,
    read_bytes,
    regular_file,
)

FEATURE_SUFFIX = "_i3d"


def feature_video_name(path: Path) -> str:
    """Video name of a feature file: its stem without a trailing ``_i3d``."""
    stem = path.name[: -len(".npy")] if path.name.endswith(".npy") else path.stem
    return stem[: -len(FEATURE_SUFFIX)] if stem.endswith(FEATURE_SUFFIX) else stem


def _list_file_paths(list_file: Path) -> list[Path]:
    try:
        lines = read_bytes(list_file, "feature list").decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise file_error(list_file, f"not a text list of .npy paths ({exc})") from exc
    paths = []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry:
            continue
        path = Path(entry).expanduser()
        path = path if path.is_absolute() else list_file.parent / path
        if not path.exists():
            raise FileNotFoundError(f"{list_file}: line {number}: feature file not found: {path}")
        try:
            regular_file(path, "feature file")
        except ValueError as exc:
            raise ValueError(f"{list_file}: line {number}: {exc}") from exc
        paths.append(path)
    if not paths:
        raise file_error(list_file, "the list names no feature file")
    return paths


def feature_sources(source) -> list[tuple[str, Path]]:
    """``(video name, path)`` of every feature file of a list file, a folder or a sequence of paths."""
    if isinstance(source, Sequence) and not isinstance(source, str):
        paths = [existing(p, "feature file", is_dir=False) for p in source]
        origin = "feature files"
    else:
        source = existing(source, "feature list or folder")
        if source.is_dir():
            found = folder_files(source, ".npy", feature_video_name)
            if not found:
                raise file_error(source, "the folder holds no .npy feature file")
            return found
        paths = _list_file_paths(source)
        origin = source
    names = [feature_video_name(p) for p in paths]
    check_unique(names, origin, paths)
    return list(zip(names, paths, strict=True))


def load_features(path: Path, name: str, mmap: bool) -> np.ndarray:
    """One video's snippet features, checked for dtype and number of dimensions."""
    feats = load_npy(path, mmap=mmap, video=name)
    if feats.dtype.kind not in "fiu":
        raise file_error(path, f"features must be numeric, got dtype {feats.dtype}", name)
    if feats.ndim not in (2, 3):
        raise file_error(
            path, f"features must have shape (T, D) or (T, n_crops, D), got shape {feats.shape}", name
        )
    if feats.shape[0] == 0:
        raise file_error(path, f"the feature file holds no snippet (shape {feats.shape})", name)
    return feats


def read_rtfm_features(
    source: PathLike | Sequence[PathLike],
    n_frames: Mapping[str, int] | None = None,
    snippet_len: int = DEFAULT_SNIPPET_LEN,
    mmap: bool = True,
) -> VideoSet:
    """Read RTFM-style snippet features, one ``.npy`` file per video.

    Parameters
    ----------
    source : path or sequence of paths
        A list file (``.list`` / ``.txt``: one ``.npy`` path per line, blank
        lines ignored, relative paths taken from the list file's folder), a
        folder of ``<video>_i3d.npy`` or ``<video>.npy`` files, or the feature
        files themselves. The video name is the file name without ``.npy``
        and without a trailing ``_i3d``. Videos come in list order, or sorted
        by name for a folder.
    n_frames : mapping of str to int, optional
        Frame count of every video. Default: ``snippet_len * T`` (the RTFM
        protocol, which knows only the snippet count T).
    snippet_len : int, default=16
        Frames per snippet.
    mmap : bool, default=True
        Open the files as read-only memory maps (nothing is read until used,
        except one pass to check for NaN and infinite values).

    Returns
    -------
    VideoSet
        Videos with ``features`` of shape ``(T, D)`` or ``(T, n_crops, D)``
        (I3D ``(T, 10, 2048)``, C3D ``(T, 4096)``...), all with one common
        per-snippet shape.

    Raises
    ------
    FileNotFoundError
        When the source or a listed file is missing.
    ValueError
        Naming the file and the video: an unreadable, truncated, pickled or
        non-numeric file (a garbage ``.npy`` header included), a path that
        is not a regular file, features that are not 2-D or 3-D, NaN or infinite
        values, a snippet count T outside ``floor..ceil(n_frames / snippet_len)``,
        a video missing from ``n_frames``, two files with one video name, or
        per-snippet shapes that differ between videos.
    """
    videos = []
    for name, path in feature_sources(source):
        feats = load_features(path, name, mmap)
        count = lookup_n_frames(n_frames, name, path)
        videos.append(
            make_video(
                path,
                name=name,
                n_frames=snippet_len * feats.shape[0] if count is None else count,
                features=feats,
                snippet_len=snippet_len,
            )
        )
    origin = source if isinstance(source, (str, os.PathLike)) else "feature files"
    return make_videoset(origin, videos)
