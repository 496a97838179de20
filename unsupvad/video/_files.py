"""Which files are videos, what their feature files are called, and the table of what was extracted."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from .._atomic import replaced_atomically
from ..datasets._rtfm import FEATURE_SUFFIX

VIDEO_SUFFIXES = (".avi", ".flv", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".webm", ".wmv")
TABLE_COLUMNS = ("video", "n_frames", "width", "height", "fps", "video_file")


def list_videos(sources) -> list[Path]:
    """The video files of paths that are video files or folders of them.

    Parameters
    ----------
    sources : path or iterable of paths
        Files (taken as they are, whatever their suffix) and folders (their
        files with a video suffix, :data:`VIDEO_SUFFIXES`, any case, sorted by
        name; sub-folders are not searched).

    Returns
    -------
    list of Path
        In the order given, each folder's files in name order.

    Raises
    ------
    FileNotFoundError
        When a path is missing.
    ValueError
        When a folder holds no video, nothing is given, or two videos share a
        name (the file name without suffix names the feature file).
    """
    sources = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    videos = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise ValueError(f"{source}: the folder holds no video file ({', '.join(VIDEO_SUFFIXES)})")
            videos += found
        elif source.is_file():
            videos.append(source)
        else:
            raise FileNotFoundError(f"video file or folder not found: {source}")
    if not videos:
        raise ValueError("no video given")
    _check_unique_names(videos)
    return videos


def _check_unique_names(videos: list[Path]) -> None:
    first: dict[str, Path] = {}
    for path in videos:
        if path.stem in first:
            raise ValueError(f"two videos share the name {path.stem!r} ({first[path.stem]} and {path}); their "
                             "feature files would collide: rename one")
        first[path.stem] = path


def feature_path(video: Path, out_dir: Path) -> Path:
    """``out_dir / '<video name>_i3d.npy'``, the RTFM file name that names the video."""
    return Path(out_dir) / f"{Path(video).stem}{FEATURE_SUFFIX}.npy"


def write_video_table(records, path) -> Path:
    """Write ``video,n_frames,width,height,fps,video_file``, one row per video, as read by ``read_video_table``.

    Parameters
    ----------
    records : iterable
        Objects with ``name``, ``n_frames``, ``width``, ``height`` and ``fps``
        attributes and optionally ``video`` (the video file), such as the
        :class:`ExtractedVideo` records of :func:`extract_features`. An
        unknown fps leaves its cell empty.
    path : path
        The CSV file, replaced atomically.

    Returns
    -------
    Path
        ``path``; pass it as ``--frames`` to ``unsupvad fit`` or to
        :func:`unsupvad.datasets.read_video_table`.

    Notes
    -----
    ``video_file`` is the absolute path of the record's ``video``, so that
    models that read frames (:class:`~unsupvad.Jigsaw`) find the file
    wherever the table is read from. The cell is left empty when the record
    has no ``video`` or no such file exists (a row kept from an earlier run
    that only knew the video's name), rather than pointing at a wrong file.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for record in records:
        fps = "" if record.fps is None else format(record.fps, ".10g")
        writer.writerow([record.name, record.n_frames, record.width, record.height, fps, _video_file_cell(record)])
    with replaced_atomically(Path(path), "w", newline="") as f:
        f.write(text.getvalue())
    return Path(path)


def _video_file_cell(record) -> str:
    video = getattr(record, "video", None)
    if video is None or not Path(video).is_file():
        return ""
    return str(Path(video).resolve())
