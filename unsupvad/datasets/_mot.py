"""MOTChallenge text tracks, and the ``shanghaitech-tracks`` benchmark layout built on them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._video import Tracks, Video
from .._videoset import VideoSet
from ._groundtruth import read_frame_masks
from ._readers import (
    PathLike,
    check_frame_count,
    check_inside,
    check_unique,
    existing,
    file_error,
    folder_files,
    frame_size_of,
    lookup_n_frames,
    make_video,
    make_videoset,
    parse_int,
    parse_number,
    per_video,
    read_bytes,
    read_text,
)
from ._video_table import VideoInfo, table_with_header

MOT_COLUMNS = ("frame", "id", "left", "top", "width", "height", "conf")
_EXTRA_COLUMNS = ("x", "y", "z")
_MIN_COLUMNS = 6
CSV_COLUMNS = ("video", "split", "n_frames", "width", "height", "fps")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class MotRows:
    """The rows of one MOTChallenge file: exact integer frames and ids, float boxes, file lines."""

    frame: np.ndarray
    track: np.ndarray
    boxes: np.ndarray
    conf: np.ndarray | None
    lines: np.ndarray | None

    def where(self, i: int) -> str:
        """Where row ``i`` is in the file: its line, else its rank among the data rows."""
        return _locator(self.lines)(i)


def _locator(lines: np.ndarray | None) -> Callable[[int], str]:
    return lambda i: f"line {lines[i]}" if lines is not None else f"data row {i + 1}"


def _row_error(rows_where: Callable[[int], str], i: int, problem: str, path: Path, name: str) -> ValueError:
    return file_error(path, f"{rows_where(i)}: {problem}", name)


def _parse_table(data: bytes, path: Path, name: str) -> pd.DataFrame:
    """The cells of a MOT file: frame and id as text (parsed exactly later), the rest as pandas infers."""
    first = next((line for line in data.splitlines() if line.strip()), b"")
    sep = "," if b"," in first else r"\s+"
    try:
        table = pd.read_csv(
            io.BytesIO(data), header=None, sep=sep, dtype={0: str, 1: str}, skipinitialspace=True,
            engine="c", quoting=csv.QUOTE_NONE,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise file_error(path, f"not a MOTChallenge track file of numbers ({str(exc).strip()})", name) from exc
    while table.shape[1] > _MIN_COLUMNS and table.iloc[:, -1].isna().all():
        table = table.iloc[:, :-1]
    if table.shape[1] < _MIN_COLUMNS:
        raise file_error(
            path,
            f"rows have {table.shape[1]} columns, need at least {_MIN_COLUMNS} "
            f"(frame, id, left, top, width, height[, conf, x, y, z])",
            name,
        )
    return table


def _data_lines(data: bytes, n_rows: int) -> np.ndarray | None:
    """File line of every data row (pandas skips blank lines), None if the count does not match."""
    lines = np.array([i for i, line in enumerate(data.splitlines(), start=1) if line.strip()], dtype=np.int64)
    return lines if len(lines) == n_rows else None


def _plain_digits(texts: np.ndarray) -> np.ndarray | None:
    """Fast path: the integers of a column of ASCII digit strings (18 digits at most), else None."""
    try:
        raw = np.asarray(texts, dtype="S")
    except (UnicodeEncodeError, ValueError, TypeError):
        return None
    if raw.size == 0 or raw.dtype.itemsize > 18 or not np.char.isdigit(raw).all():
        return None
    return raw.astype(np.int64)


def _int_column(texts: np.ndarray, column: str, where: Callable[[int], str], path: Path, name: str) -> np.ndarray:
    """A frame or id column parsed exactly as 64-bit integers (never through a float)."""
    fast = _plain_digits(texts)
    if fast is not None:
        return fast
    out = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise _row_error(where, i, f"missing or NaN {column} (too few columns?)", path, name)
        try:
            out[i] = parse_int(text)
        except ValueError as exc:
            hint = ": not a MOTChallenge track file of numbers" if str(exc) == "is not a number" else ""
            raise _row_error(where, i, f"{column} {text.strip()!r} {exc}{hint}", path, name) from None
    return out


def _float_column(column: pd.Series, label: str, where: Callable[[int], str], path: Path, name: str) -> np.ndarray:
    if column.dtype.kind in "iuf":
        return column.to_numpy(dtype=np.float64)
    values = np.empty(len(column), dtype=np.float64)
    for i, cell in enumerate(column.to_numpy(dtype=object)):
        try:
            if isinstance(cell, (bool, np.bool_)):  # pandas reads the text True / False as booleans
                raise ValueError(cell)
            values[i] = parse_number(cell) if isinstance(cell, str) else float(cell)
        except (TypeError, ValueError):
            raise _row_error(
                where, i, f"{label} {cell!r} is not a number: not a MOTChallenge track file of numbers", path, name
            ) from None
    return values


def read_mot_table(path: Path, name: str) -> MotRows:
    """The rows of one MOTChallenge file, with the file line of each row."""
    data = read_bytes(path, "track file", name)
    if not data.strip():
        empty = np.zeros(0, dtype=np.int64)
        return MotRows(empty, empty, np.zeros((0, 4)), None, empty)
    table = _parse_table(data, path, name)
    lines = _data_lines(data, len(table))
    where = _locator(lines)
    frame = _int_column(table[0].to_numpy(dtype=object), "frame", where, path, name)
    track = _int_column(table[1].to_numpy(dtype=object), "id", where, path, name)
    n_used = min(table.shape[1], len(MOT_COLUMNS))
    values = np.stack(
        [_float_column(table[c], MOT_COLUMNS[c], where, path, name) for c in range(2, n_used)], axis=1
    )
    for c in range(n_used, table.shape[1]):  # x, y, z...: ignored, but a file of numbers all the same
        label = _EXTRA_COLUMNS[c - n_used] if c - n_used < len(_EXTRA_COLUMNS) else f"column {c + 1}"
        _float_column(table[c], label, where, path, name)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise _row_error(where, row, f"missing, NaN or infinite {MOT_COLUMNS[col + 2]} (too few columns?)",
                         path, name)
    conf = values[:, 4] if values.shape[1] > 4 else None
    return MotRows(frame, track, values[:, :4], conf, lines)


def _first(mask: np.ndarray) -> int | None:
    return int(np.flatnonzero(mask)[0]) if mask.any() else None


def _check_frames(rows: MotRows, path: Path, name: str, n_frames: int | None) -> None:
    frame = rows.frame
    if (i := _first(frame < 1)) is not None:
        raise _row_error(rows.where, i, f"frame {frame[i]}, but MOTChallenge frames are 1-based (first = 1)",
                         path, name)
    if n_frames is not None and (i := _first(frame > n_frames)) is not None:
        raise _row_error(
            rows.where, i, f"frame {frame[i]} lies outside the video's {n_frames} frames (frames are 1-based)",
            path, name,
        )
    if len(frame):
        i = int(np.argmax(frame))
        check_frame_count(int(frame[i]), path, name, what=f"{rows.where(i)}: frame")


def _check_ids(rows: MotRows, path: Path, name: str) -> None:
    if (i := _first(rows.track < 0)) is not None:
        raise _row_error(
            rows.where, i,
            f"track id {rows.track[i]} is negative: a MOTChallenge track file needs tracker ids (id -1 marks "
            "untracked detections, a detector's output before tracking); run a tracker on the detections first",
            path, name,
        )


def _check_boxes(rows: MotRows, path: Path, name: str, frame_size) -> None:
    boxes = rows.boxes
    if (i := _first((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))) is not None:
        raise _row_error(
            rows.where, i, f"box width and height must be positive, got {boxes[i, 2]:g} x {boxes[i, 3]:g}",
            path, name,
        )
    corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    if (i := _first((np.abs(corners) > _FLOAT32_MAX).any(axis=1))) is not None:
        raise _row_error(rows.where, i, f"box coordinates {boxes[i].tolist()} are too large for pixels",
                         path, name)
    check_inside(boxes, frame_size, rows.where, path, name)


def _check_rows(rows: MotRows, path: Path, name: str, n_frames: int | None, frame_size=None) -> None:
    _check_frames(rows, path, name, n_frames)
    _check_ids(rows, path, name)
    _check_boxes(rows, path, name, frame_size)
    _check_duplicates(rows, path, name)


def _check_duplicates(rows: MotRows, path: Path, name: str) -> None:
    frame, track = rows.frame, rows.track
    order = np.lexsort((frame, track))
    same = (np.diff(track[order]) == 0) & (np.diff(frame[order]) == 0)
    if same.any():
        i = int(np.flatnonzero(same)[0])
        first, second = sorted((int(order[i]), int(order[i + 1])))
        raise file_error(
            path,
            f"duplicate rows: track {track[order[i]]} has two rows for frame {frame[order[i]]} "
            f"({rows.where(first)} and {rows.where(second)})",
            name,
        )


def read_mot_video(path: Path, name: str, n_frames: int | None = None, frame_size=None, fps=None) -> Video:
    """One video from one MOTChallenge file (frame f of the file is frame index f - 1)."""
    frame_size = frame_size_of(frame_size, path, name)
    rows = read_mot_table(path, name)
    _check_rows(rows, path, name, n_frames, frame_size)
    if n_frames is None:
        if len(rows.frame) == 0:
            raise file_error(path, "empty track file (nobody in the video): pass n_frames", name)
        n_frames = int(rows.frame.max())
    tracks = Tracks.from_boxes(rows.frame - 1, rows.track, rows.boxes, rows.conf)
    return make_video(path, name=name, n_frames=n_frames, fps=fps, frame_size=frame_size, tracks=tracks)


def read_mot_tracks(
    path_or_folder: PathLike,
    n_frames: Mapping[str, int] | None = None,
    frame_size=None,
    fps=None,
) -> VideoSet:
    """Read person tracks in MOTChallenge text format.

    Parameters
    ----------
    path_or_folder : path
        One ``<video>.txt`` file or a folder of them (sorted by video name).
        Rows: ``frame, id, left, top, width, height[, conf, x, y, z]``,
        separated by commas or white space. ``frame`` is 1-based: row frame
        f is frame index f - 1. ``conf`` defaults to 1; ``x, y, z`` are
        ignored. Boxes are in pixels. Frames and ids are read exactly as
        64-bit integers (``7``, ``007`` and ``7.0`` are the same id; ids
        above 2**53, such as timestamps, stay distinct). Ids must not be
        negative: ``-1`` marks detections no tracker has linked yet.
    n_frames : mapping of str to int, optional
        Frame count of every video (a missing video is an error). Default:
        the largest frame in the file, which undercounts a video whose last
        frames show nobody. An empty file (nobody in the video) needs it.
        At most :data:`unsupvad.datasets.limits.MAX_FRAMES` either way.
    frame_size : (width, height) or mapping of str to (width, height), optional
        Frame size in pixels. A box entirely outside the frame is an error;
        a box partly outside is kept.
    fps : float or mapping of str to float, optional
        Frames per second.

    Returns
    -------
    VideoSet
        Videos with box ``tracks`` (see :meth:`unsupvad.Tracks.from_boxes`)
        and no features.

    Raises
    ------
    FileNotFoundError
        When the path is missing.
    ValueError
        Naming the file, the video and the line: fewer than 6 columns,
        non-numeric values, non-integer frames or ids, ids beyond the 64-bit
        range or negative, frame 0 or below (the format is 1-based), frames
        beyond ``n_frames`` or :data:`~unsupvad.datasets.limits.MAX_FRAMES`,
        two rows for one (frame, track), a width or height that is not
        positive, a box entirely outside ``frame_size``, an empty file
        without ``n_frames``, a video missing from ``n_frames``, a path that
        is not a regular file or a file larger than
        :data:`~unsupvad.datasets.limits.MAX_FILE_BYTES`.
    """
    path = existing(path_or_folder, "track file or folder")
    if path.is_dir():
        sources = folder_files(path, ".txt", lambda p: p.name[: -len(".txt")])
        if not sources:
            raise file_error(path, "the folder holds no .txt track file")
    else:
        sources = [(path.stem, path)]
    videos = [
        read_mot_video(
            source,
            name,
            n_frames=lookup_n_frames(n_frames, name, source),
            frame_size=per_video(frame_size, name, "frame size", source),
            fps=per_video(fps, name, "fps", source),
        )
        for name, source in sources
    ]
    return make_videoset(path, videos)


def _read_benchmark_table(path: Path) -> dict[str, VideoInfo]:
    """``videos.csv`` of the benchmark layout: a video table with every column of :data:`CSV_COLUMNS`."""
    return table_with_header(path, required=CSV_COLUMNS)[1]


def _read_split_names(path: Path) -> list[str]:
    existing(path, "split file", is_dir=False)
    names = [line.strip() for line in read_text(path, "split file").splitlines()]
    names = [n for n in names if n]
    if not names:
        raise file_error(path, "the split file names no video")
    check_unique(names, path)
    return names


def _check_split(table: dict[str, VideoInfo], names: list[str], split: str, csv_path: Path,
                 split_file: Path) -> None:
    unknown = [n for n in names if n not in table]
    if unknown:
        raise file_error(split_file, f"video {unknown[0]!r} is not in {csv_path.name}")
    wrong = [n for n in names if table[n].split != split]
    if wrong:
        raise file_error(split_file, f"video {wrong[0]!r} is listed as {table[wrong[0]].split!r} in {csv_path.name}")
    listed = set(names)
    absent = [n for n, row in table.items() if row.split == split and n not in listed]
    if absent:
        raise file_error(split_file, f"video {absent[0]!r} of split {split!r} in {csv_path.name} is not listed")


def _check_track_files(folder: Path, table: dict[str, VideoInfo], csv_path: Path) -> None:
    stray = sorted(p.name for p in folder.glob("*.txt") if p.name[: -len(".txt")] not in table)
    if stray:
        raise file_error(folder / stray[0], f"track file of a video that is not in {csv_path.name}")


def _attach_benchmark_labels(videos: list[Video], folder: Path) -> list[Video]:
    folder = existing(folder, "ground-truth folder", is_dir=True)
    names = [v.name for v in videos]
    masks = read_frame_masks(folder)
    extra = sorted(set(masks) - set(names))
    if extra:
        raise file_error(folder, f"mask of video {extra[0]!r}, which is not in the split")
    missing = [n for n in names if n not in masks]
    if missing:
        raise FileNotFoundError(f"frame mask of video {missing[0]!r} not found in {folder}")
    out = []
    for video in videos:
        try:
            out.append(video.replace(labels=masks[video.name]))
        except ValueError as exc:
            raise ValueError(f"{folder / (video.name + '.npy')}: {exc}") from exc
    return out


def scene_prefix(name: str, sep: str = "_") -> str | None:
    """A video's scene read from its name: the part before the first ``sep``, None without one.

    ShanghaiTech names its videos ``<scene>_<clip>`` (``01_0014`` is clip 0014
    of camera 01). Pass it as ``load_tracks_benchmark(..., scene=scene_prefix)``
    or ``X.with_scenes(scene_prefix)``.
    """
    head, found, _ = name.partition(sep)
    return head if found and head else None


def load_tracks_benchmark(root: PathLike, split: str = "test", labels: bool | None = None,
                          scene=None) -> VideoSet:
    """Load one split of the ``shanghaitech-tracks`` layout.

    Parameters
    ----------
    root : path
        Folder holding ``videos.csv`` (``video,split,n_frames,width,height,fps``
        and optionally ``scene``; ``n_frames``, ``width`` and ``height``
        positive integers, ``fps`` a positive number, cells read as text so
        ``01`` stays ``01``), ``splits/{train,test}.txt``,
        ``tracks/<video>.txt`` (MOTChallenge, 1-based frames) and
        ``gt/{train,test}/<video>.npy`` frame masks.
    split : {'train', 'test'}, default='test'
    labels : bool, optional
        Attach the split's frame masks. Default: True for ``'test'``, False
        for ``'train'``; training masks are for diagnostics only and must
        never reach ``fit``, so they are attached only when asked for.
    scene : callable, optional
        ``scene(name)`` gives a video's scene (camera) when ``videos.csv``
        has no ``scene`` column, e.g. :func:`scene_prefix` for
        ShanghaiTech's ``<scene>_<clip>`` names. A ``scene`` column of
        ``videos.csv`` always wins. Default: no scene.

    Returns
    -------
    VideoSet
        The split's videos in the split file's order, with box tracks, frame
        counts, frame sizes, fps (and scenes) from ``videos.csv`` and, if
        requested, labels.

    Raises
    ------
    FileNotFoundError
        When the folder, a file of the layout, a track file or a mask is missing.
    ValueError
        When names disagree between ``videos.csv``, the split file, the
        track files and the masks, or any file is invalid (see
        :func:`read_mot_tracks` and :func:`read_frame_masks`); a bad cell
        of ``videos.csv`` is named by line and column.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = existing(root, "benchmark folder", is_dir=True)
    csv_path = existing(root / "videos.csv", "video table", is_dir=False)
    table = _read_benchmark_table(csv_path)
    split_file = root / "splits" / f"{split}.txt"
    names = _read_split_names(split_file)
    _check_split(table, names, split, csv_path, split_file)
    track_dir = existing(root / "tracks", "track folder", is_dir=True)
    _check_track_files(track_dir, table, csv_path)
    videos = []
    for name in names:
        row = table[name]
        path = existing(track_dir / f"{name}.txt", f"track file of video {name!r}", is_dir=False)
        videos.append(read_mot_video(path, name, n_frames=row.n_frames, frame_size=row.frame_size, fps=row.fps))
    if split == "test" if labels is None else labels:
        videos = _attach_benchmark_labels(videos, root / "gt" / split)
    if any(table[v.name].scene is not None for v in videos):
        videos = [v.replace(scene=table[v.name].scene) for v in videos]
    elif scene is not None:
        videos = [v.replace(scene=None if scene(v.name) is None else str(scene(v.name))) for v in videos]
    return make_videoset(root, videos)
