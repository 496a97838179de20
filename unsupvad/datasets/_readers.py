"""Shared pieces of the file readers: paths, bounded reads, safe ``.npy`` loading, per-video options.

Every reader error is a ``ValueError`` (``FileNotFoundError`` for a missing
path) whose message starts with the file and, where known, the video. Only
regular files are read (never a device, FIFO or socket, which could block
or never end), and files read whole are bounded by
:data:`~unsupvad.datasets.limits.MAX_FILE_BYTES`.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from .._video import Video, check_frame_size
from .._videoset import VideoSet
from . import limits

PathLike = str | os.PathLike
_NPY_MAGIC = b"\x93NUMPY"
_INT64_MAX = 2**63 - 1
_PLAIN_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OUT_OF_RANGE = "is out of range (more than a 64-bit integer holds)"


class _NotNpy(Exception):
    """The file does not start with the NumPy magic string."""


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


def regular_file(path: Path, what: str, video: str | None = None) -> Path:
    """``path`` if it is a regular file (links followed); FileNotFoundError or ValueError otherwise.

    Devices (``/dev/zero``), FIFOs and sockets are refused before they are
    opened: reading them never ends, or blocks forever.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise file_error(path, f"cannot read the {what} ({exc})", video) from exc
    if stat.S_ISDIR(mode):
        raise file_error(path, f"{what} must be a file, got a folder", video)
    if not stat.S_ISREG(mode):
        raise file_error(path, f"{what} is not a regular file (a device, FIFO or socket?); only files are read",
                         video)
    return Path(path)


def read_bytes(path: Path, what: str, video: str | None = None) -> bytes:
    """The whole content of a regular file of at most ``limits.MAX_FILE_BYTES`` bytes."""
    regular_file(path, what, video)
    limit = limits.MAX_FILE_BYTES
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise file_error(path, f"cannot read the {what} ({exc})", video) from exc
    if len(data) > limit:
        raise file_error(
            path, f"the {what} is larger than {limit:,} bytes; {limits.how_to_raise('MAX_FILE_BYTES')}", video
        )
    return data


def read_text(path: Path, what: str, video: str | None = None) -> str:
    """A bounded text file decoded as UTF-8 (a leading byte-order mark is dropped)."""
    try:
        return read_bytes(path, what, video).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise file_error(path, f"the {what} is not UTF-8 text ({exc})", video) from exc


def parse_int(text: str) -> int:
    """The integer that a number's text stands for, exactly, within the 64-bit range.

    ``'12'``, ``'0012'``, ``'+12'``, ``'12.0'`` and ``'1.2e1'`` give 12: the
    text is read as a decimal, never through a float, so ids above 2**53
    stay distinct. Raises a ValueError whose message is the problem
    (``'is not a number'``, ``'is not an integer'``, ``'is out of range ...'``),
    for the caller to prefix with the file, line and column.
    """
    text = text.strip()
    if _PLAIN_INT.fullmatch(text):
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > 19:  # before int(): Python refuses to parse very long digit strings
            raise ValueError(_OUT_OF_RANGE)
        value = -int(digits) if text.startswith("-") else int(digits)
    elif _NUMBER.fullmatch(text):
        try:
            number = Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal holds
            raise ValueError(_OUT_OF_RANGE) from None
        if number.adjusted() > 18:
            raise ValueError(_OUT_OF_RANGE)
        if number != number.to_integral_value():
            raise ValueError("is not an integer")
        value = int(number)
    else:
        raise ValueError("is not a number")
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise ValueError(_OUT_OF_RANGE)
    return value


def parse_number(text: str) -> float:
    """A decimal number's text as a float (``'24'``, ``'29.97'``, ``'1e3'``); ValueError otherwise.

    Stricter than :func:`float`: ``'nan'``, ``'inf'`` and ``'1_0'`` are not
    numbers here.
    """
    if not _NUMBER.fullmatch(text.strip()):
        raise ValueError("is not a number")
    return float(text)


def check_frame_count(count: int, source: PathLike, video: str | None, what: str = "n_frames") -> int:
    """``count`` if it is at most ``limits.MAX_FRAMES``; a ValueError naming the limit otherwise."""
    if count > limits.MAX_FRAMES:
        shown = f"{count:,}" if count.bit_length() <= 64 else "beyond 2**64"
        raise file_error(
            source,
            f"{what} {shown} is more than the {limits.MAX_FRAMES:,} frames allowed (a typo, a wrong column?); "
            f"{limits.how_to_raise('MAX_FRAMES')}",
            video,
        )
    return count


def frame_size_of(value, source: PathLike, video: str) -> tuple[int, int] | None:
    """A checked ``(width, height)``, or None; a ValueError naming the file otherwise."""
    if value is None:
        return None
    try:
        return check_frame_size(value, video)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc


def check_inside(boxes: np.ndarray, frame_size, where: Callable[[int], str], source: PathLike,
                 video: str, what: str = "box") -> None:
    """Refuse a ``(left, top, width, height)`` box that lies entirely outside the frame.

    A box partly outside is kept: trackers do produce them at the borders.
    """
    if frame_size is None or len(boxes) == 0:
        return
    width, height = frame_size
    left, top = boxes[:, 0], boxes[:, 1]
    right, bottom = left + boxes[:, 2], top + boxes[:, 3]
    outside = (right < 0) | (bottom < 0) | (left > width) | (top > height)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        box = ", ".join(f"{v:g}" for v in boxes[i])
        raise file_error(
            source,
            f"{where(i)}: {what} (left, top, width, height) = ({box}) lies entirely outside the "
            f"{width} x {height} frame (wrong frame_size, or coordinates not in pixels?)",
            video,
        )


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


def read_npy_header(f, path: Path, video: str | None = None) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset from the ``.npy`` header at the start of the binary file ``f``."""
    fmt = np.lib.format
    try:
        if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise _NotNpy
        f.seek(0)
        version = fmt.read_magic(f)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read_header(f)
    except _NotNpy:
        raise file_error(path, "not a .npy file (no NumPy header)", video) from None
    except OSError as exc:
        raise file_error(path, f"cannot read the file ({exc})", video) from exc
    # a corrupt header makes NumPy raise ValueError, TokenError, SyntaxError, TypeError, RecursionError...:
    # whatever it raises, the header is unreadable
    except Exception as exc:
        raise file_error(path, f"unreadable .npy header ({type(exc).__name__}: {exc})", video) from exc
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise file_error(path, f"unreadable .npy header (shape {shape!r})", video)
    return shape, dtype, f.tell()


def _npy_header(path: Path, video: str | None) -> tuple[tuple[int, ...], np.dtype, int]:
    regular_file(path, ".npy file", video)
    try:
        with open(path, "rb") as f:
            return read_npy_header(f, path, video)
    except OSError as exc:
        raise file_error(path, f"cannot read the file ({exc})", video) from exc


def load_npy(path: Path, mmap: bool = False, video: str | None = None, per_frame: bool = False) -> np.ndarray:
    """Load a plain ``.npy`` array, with a clear error for garbage, truncated or pickled files.

    The header is read first, so a truncated file is reported with the byte
    counts rather than as a failed memory map or reshape, and a per-frame
    array (a frame mask) longer than ``limits.MAX_FRAMES`` is refused before
    it is read.
    """
    shape, dtype, offset = _npy_header(path, video)
    if dtype.hasobject:
        raise file_error(path, "holds Python objects (pickled data); only numeric arrays are read", video)
    n_items = math.prod(shape)
    if per_frame and n_items > limits.MAX_FRAMES:
        raise file_error(
            path, f"holds {n_items:,} values, one per frame: more than {limits.MAX_FRAMES:,} frames; "
            f"{limits.how_to_raise('MAX_FRAMES')}", video,
        )
    expected = offset + n_items * dtype.itemsize
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
    return check_frame_count(int(value), source, name)


def make_video(source: PathLike, **fields) -> Video:
    """Build a Video, adding the file to the message of any validation error.

    The frame count is bounded by ``limits.MAX_FRAMES`` here, whatever it
    came from, before anything is allocated for the video.
    """
    count = fields.get("n_frames")
    if isinstance(count, (int, np.integer)):
        check_frame_count(int(count), source, fields.get("name"))
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
