"""The video table: one CSV row per video with its frame count, frame size, fps, split, scene and file.

``video,n_frames[,width,height][,fps][,split][,scene][,video_file]``, the ``--frames`` file
of the command line and the ``videos.csv`` of the ``shanghaitech-tracks``
layout. Cells are read as text (``01`` stays ``01``) and checked one by one;
every error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._readers import PathLike, check_frame_count, existing, file_error, parse_int, parse_number, read_text

REQUIRED_COLUMNS = ("video", "n_frames")
_LAYOUT = "video,n_frames[,width,height][,fps][,split][,scene][,video_file]"


@dataclass(frozen=True)
class VideoInfo:
    """What a video table says about one video.

    Attributes
    ----------
    n_frames : int
        The video's true frame count.
    frame_size : (int, int) or None
        ``(width, height)`` in pixels, when the table has both columns.
    fps : float or None
        Frames per second, when the table has the column and the cell is filled.
    split : str or None
        The split the video belongs to (``train``, ``test``, ...).
    scene : str or None
        The camera (scene) of the video.
    video_file : Path or None
        The video file, for models that read frames; a relative path in the
        table is resolved against the table's folder. Not checked for
        existence here.
    line : int
        The line of the table that holds the video (for error messages).
    """

    n_frames: int
    frame_size: tuple[int, int] | None = None
    fps: float | None = None
    split: str | None = None
    scene: str | None = None
    line: int = 0
    video_file: Path | None = None


def read_video_table(path: PathLike, split: str | None = None) -> dict[str, VideoInfo]:
    """Read a video table: frame counts, sizes, fps, splits, scenes and files of videos.

    Parameters
    ----------
    path : path
        A CSV file with a header and one row per video:
        ``video,n_frames`` and, optionally, ``width,height`` (both or
        neither), ``fps``, ``split``, ``scene`` and ``video_file``, in any
        order; other columns are ignored. ``n_frames``, ``width`` and
        ``height`` are positive integers, ``fps`` a positive number (an
        empty ``fps``, ``split`` or ``video_file`` cell means unknown).
        ``video_file`` is the video's file, for models that read frames
        (:class:`~unsupvad.Jigsaw`): absolute, or relative to the table's
        folder; ``unsupvad extract`` writes it. The ``shanghaitech-tracks``
        ``videos.csv`` is such a table.
    split : str, optional
        Keep only the videos of this split (needs a ``split`` column).

    Returns
    -------
    dict of str to VideoInfo
        In the order of the file. Pass it to :func:`read_videos` to read
        exactly these videos with their true frame counts.

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        Naming the file, line and column: a missing column, a bad cell, an
        empty or repeated video name; a ``split`` that no row has (the
        message lists the splits there are).
    """
    path = existing(path, "video table", is_dir=False)
    header, table = table_with_header(path)
    return table if split is None else _of_split(table, split, header, path)


def table_with_header(path, required=REQUIRED_COLUMNS) -> tuple[list[str], dict[str, VideoInfo]]:
    """The header of a video table and its checked rows by video name; ``required``: the columns it must have."""
    header, records = _csv_records(path, required)
    table: dict[str, VideoInfo] = {}
    for line, record in records:
        name = record["video"]
        if not name:
            raise file_error(path, f"line {line}: empty video name")
        if name in table:
            raise file_error(path, f"line {line}: video name {name!r} appears twice (first on line "
                                   f"{table[name].line})")
        table[name] = _video_info(record, line, path)
    return header, table


def _of_split(table: dict[str, VideoInfo], split: str, header: list[str], path) -> dict[str, VideoInfo]:
    if "split" not in header:
        raise file_error(path, f"split {split!r} asked for, but the table has no split column")
    kept = {name: info for name, info in table.items() if info.split == split}
    if not kept:
        splits = sorted({info.split for info in table.values() if info.split is not None})
        raise file_error(path, f"no video of split {split!r}; the splits are {', '.join(map(repr, splits))}")
    return kept


def _csv_records(path, required) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header and ``(line, {column: stripped cell})`` of every non-blank row."""
    reader = csv.reader(io.StringIO(read_text(path, "video table"), newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            expected = ",".join(required) if required != REQUIRED_COLUMNS else _LAYOUT
            raise file_error(path, f"missing columns {missing}; expected {expected}")
        if len(set(header)) != len(header):
            raise file_error(path, f"a column name appears twice in the header {header}")
        if ("width" in header) != ("height" in header):
            raise file_error(path, "give both width and height columns, or neither")
        records = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise file_error(path, f"line {reader.line_num}: {len(cells)} fields, the header has {len(header)}")
            records.append((reader.line_num, dict(zip(header, (c.strip() for c in cells)))))
    except csv.Error as exc:
        raise file_error(path, f"line {reader.line_num}: not a CSV table ({exc})") from exc
    return header, records


def _video_info(record: dict, line: int, path) -> VideoInfo:
    name = record["video"]
    n_frames = _cell_int(record, "n_frames", line, path, name)
    check_frame_count(n_frames, path, name, what=f"line {line}, column 'n_frames' value")
    size = None
    if "width" in record:
        size = (_cell_int(record, "width", line, path, name), _cell_int(record, "height", line, path, name))
    fps = _cell_fps(record, line, path, name) if record.get("fps") else None
    scene = record.get("scene")
    if scene == "":
        raise file_error(path, f"line {line}, column 'scene' is empty", name)
    return VideoInfo(n_frames, size, fps, record.get("split") or None, scene, line, _cell_file(record, path))


def _cell_file(record: dict, path) -> Path | None:
    """The ``video_file`` cell as a path, relative ones resolved against the table's folder; None when empty."""
    text = record.get("video_file")
    if not text:
        return None
    file = Path(text)
    return file if file.is_absolute() else Path(path).parent / file


def _cell_int(record: dict, column: str, line: int, path, name: str) -> int:
    text = record[column]
    try:
        value = parse_int(text) if text else None
    except ValueError as exc:
        raise file_error(path, f"line {line}, column {column!r}: {text!r} {exc}", name) from None
    if value is None or value < 1:
        raise file_error(path, f"line {line}, column {column!r} must be a positive integer, got {text!r}", name)
    return value


def _cell_fps(record: dict, line: int, path, name: str) -> float:
    text = record["fps"]
    try:
        value = parse_number(text)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise file_error(path, f"line {line}, column 'fps' must be a positive, finite number, got {text!r}", name)
    return value
