"""Shared pieces of the file readers: paths, safe ``.npy`` loading, per-video options.

Every reader error is a ``ValueError`` (``FileNotFoundError`` for a missing
path) whose message starts with the file and, where known, the video.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .._video import Video
from .._videoset import VideoSet

PathLike = str | os.PathLike
_NPY_MAGIC = b"\x93NUMPY"


def file_error(path: PathLike, problem: str, video: str | None = None) -> ValueError:
    """A ValueError naming the file (and the video) and the problem."""
    where = f"{path}" if video is None else f"{path} (video {video!r})"
    return ValueError(f"{where}: {problem}")


def existing(path: PathLike, what: str, is_dir: bool | None = None) -> Path:
    """``path`` as a Path, or FileNotFoundError naming ``what`` when it is absent."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    if is_dir is True and not path.is_dir():
        raise file_error(path, f"{what} must be a folder, got a file")
    if is_dir is False and path.is_dir():
        raise file_error(path, f"{what} must be a file, got a folder")
    return path


def folder_files(folder: Path, suffix: str, name_of: Callable[[Path], str]) -> list[tuple[str, Path]]:
    """``(video name, path)`` of the files ending with ``suffix`` in a folder, sorted by name."""
    found = [(name_of(p), p) for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix)]
    found.sort(key=lambda item: (item[0], item[1].name))
    check_unique([name for name, _ in found], folder, [p for _, p in found])
    return found


def check_unique(names: Sequence[str], source: PathLike, paths: Sequence[Path] | None = None) -> None:
    """Raise when two entries give the same video name."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name:
            raise file_error(source, f"entry {i + 1} gives an empty video name")
        if name in first:
            detail = f" ({paths[first[name]].name} and {paths[i].name})" if paths is not None else ""
            raise file_error(source, f"video name {name!r} appears twice{detail}")
        first[name] = i


def _npy_header(path: Path, video: str | None) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset from a ``.npy`` header."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            if f.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                f.seek(0)
                version = fmt.read_magic(f)
                read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = read_header(f)
                return shape, dtype, f.tell()
    except OSError as exc:
        raise file_error(path, f"cannot read the file ({exc})", video) from exc
    except (ValueError, EOFError, SyntaxError) as exc:
        raise file_error(path, f"unreadable .npy header ({exc})", video) from exc
    raise file_error(path, "not a .npy file (no NumPy header)", video)


def load_npy(path: Path, mmap: bool = False, video: str | None = None) -> np.ndarray:
    """Load a plain ``.npy`` array, with a clear error for garbage, truncated or pickled files.

    The header is read first, so a truncated file is reported with the byte
    counts rather than as a failed memory map or reshape.
    """
    shape, dtype, offset = _npy_header(path, video)
    if dtype.hasobject:
        raise file_error(path, "holds Python objects (pickled data); only numeric arrays are read", video)
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise file_error(
            path, f"truncated .npy file: {size} bytes, but an array of shape {shape} needs {expected}", video
        )
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise file_error(path, f"cannot read the array ({exc})", video) from exc


def per_video(value, name: str, what: str, source: PathLike, required: bool = False):
    """The value of a per-video option: a mapping is looked up by name, anything else is shared."""
    if isinstance(value, Mapping):
        if name not in value:
            if required:
                raise file_error(source, f"no {what} given for this video", name)
            return None
        return value[name]
    return value


def lookup_n_frames(n_frames, name: str, source: PathLike) -> int | None:
    """The frame count of one video from ``None`` or a ``name -> n_frames`` mapping."""
    if n_frames is None:
        return None
    if not isinstance(n_frames, Mapping):
        raise TypeError(f"n_frames must be None or a mapping video name -> frame count, got {type(n_frames)}")
    value = per_video(n_frames, name, "frame count (n_frames)", source, required=True)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise file_error(source, f"n_frames must be an integer, got {value!r}", name)
    if value < 1:
        raise file_error(source, f"the video is empty (n_frames={value})", name)
    return int(value)


def make_video(source: PathLike, **fields) -> Video:
    """Build a Video, adding the file to the message of any validation error."""
    try:
        return Video(**fields)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc


def make_videoset(source: PathLike, videos: Iterable[Video]) -> VideoSet:
    """Build a VideoSet, adding the source to the message of any consistency error."""
    try:
        return VideoSet(list(videos))
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
