"""MOTChallenge text tracks, and the ``shanghaitech-tracks`` benchmark layout built on them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._video import Tracks, Video
from .._videoset import VideoSet
from ._groundtruth import read_frame_masks
from ._readers import (
    PathLike,
    check_unique,
    existing,
    file_error,
    folder_files,
    lookup_n_frames,
    make_video,
    make_videoset,
    per_video,
)

MOT_COLUMNS = ("frame", "id", "left", "top", "width", "height", "conf")
_MIN_COLUMNS = 6
CSV_COLUMNS = ("video", "split", "n_frames", "width", "height", "fps")


def _first_data_line(path: Path) -> str | None:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                return line
    return None


def read_mot_table(path: Path, name: str) -> np.ndarray:
    """The rows of one MOTChallenge file as a float array ``(n_rows, n_columns)``."""
    try:
        first = _first_data_line(path)
    except OSError as exc:
        raise file_error(path, f"cannot read the file ({exc})", name) from exc
    if first is None:
        return np.zeros((0, len(MOT_COLUMNS)))
    sep = "," if "," in first else r"\s+"
    try:
        table = pd.read_csv(
            path, header=None, sep=sep, dtype=np.float64, skipinitialspace=True, engine="c"
        ).to_numpy()
    except (ValueError, pd.errors.ParserError) as exc:
        raise file_error(path, f"not a MOTChallenge track file of numbers ({exc})", name) from exc
    while table.shape[1] > _MIN_COLUMNS and np.isnan(table[:, -1]).all():
        table = table[:, :-1]
    if table.shape[1] < _MIN_COLUMNS:
        raise file_error(
            path,
            f"rows have {table.shape[1]} columns, need at least {_MIN_COLUMNS} "
            f"(frame, id, left, top, width, height[, conf, x, y, z])",
            name,
        )
    return table


def _check_rows(table: np.ndarray, path: Path, name: str, n_frames: int | None) -> None:
    used = table[:, : min(table.shape[1], len(MOT_COLUMNS))]
    bad = ~np.isfinite(used)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise file_error(
            path, f"data row {row + 1}: missing, NaN or infinite {MOT_COLUMNS[col]} (too few columns?)", name
        )
    for col in (0, 1):
        frac = used[:, col] != np.round(used[:, col])
        if frac.any():
            row = int(np.flatnonzero(frac)[0])
            raise file_error(
                path, f"data row {row + 1}: {MOT_COLUMNS[col]} {used[row, col]:g} is not an integer", name
            )
    frame = used[:, 0]
    if (frame < 1).any():
        row = int(np.flatnonzero(frame < 1)[0])
        raise file_error(
            path,
            f"data row {row + 1}: frame {frame[row]:g}, but MOTChallenge frames are 1-based (first = 1)",
            name,
        )
    if n_frames is not None and (frame > n_frames).any():
        row = int(np.flatnonzero(frame > n_frames)[0])
        raise file_error(
            path,
            f"data row {row + 1}: frame {frame[row]:g} lies outside the video's {n_frames} frames "
            "(frames are 1-based)",
            name,
        )
    size_bad = (used[:, 4] <= 0) | (used[:, 5] <= 0)
    if size_bad.any():
        row = int(np.flatnonzero(size_bad)[0])
        raise file_error(
            path,
            f"data row {row + 1}: box width and height must be positive, got "
            f"{used[row, 4]:g} x {used[row, 5]:g}",
            name,
        )
    _check_duplicates(used[:, 0].astype(np.int64), used[:, 1].astype(np.int64), path, name)


def _check_duplicates(frame: np.ndarray, track: np.ndarray, path: Path, name: str) -> None:
    order = np.lexsort((frame, track))
    same = (np.diff(track[order]) == 0) & (np.diff(frame[order]) == 0)
    if same.any():
        i = int(np.flatnonzero(same)[0])
        first, second = sorted((int(order[i]) + 1, int(order[i + 1]) + 1))
        raise file_error(
            path,
            f"duplicate rows: track {track[order[i]]} has two rows for frame {frame[order[i]]} "
            f"(data rows {first} and {second})",
            name,
        )


def read_mot_video(path: Path, name: str, n_frames: int | None = None, frame_size=None, fps=None) -> Video:
    """One video from one MOTChallenge file (frame f of the file is frame index f - 1)."""
    table = read_mot_table(path, name)
    _check_rows(table, path, name, n_frames)
    if n_frames is None:
        if len(table) == 0:
            raise file_error(path, "empty track file (nobody in the video): pass n_frames", name)
        n_frames = int(table[:, 0].max())
    conf = table[:, 6] if table.shape[1] > 6 else None
    tracks = Tracks.from_boxes(
        table[:, 0].astype(np.int64) - 1, table[:, 1].astype(np.int64), table[:, 2:6], conf
    )
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
        ignored. Boxes are in pixels.
    n_frames : mapping of str to int, optional
        Frame count of every video (a missing video is an error). Default:
        the largest frame in the file, which undercounts a video whose last
        frames show nobody. An empty file (nobody in the video) needs it.
    frame_size : (width, height) or mapping of str to (width, height), optional
        Frame size in pixels.
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
        Naming the file, the video and the row: fewer than 6 columns,
        non-numeric values, non-integer frames or ids, frame 0 or below (the
        format is 1-based), frames beyond ``n_frames``, two rows for one
        (frame, track), a width or height that is not positive, an empty
        file without ``n_frames``, a video missing from ``n_frames``.
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


def _read_video_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"video": str, "split": str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise file_error(path, f"not a CSV table ({exc})") from exc
    missing = [c for c in CSV_COLUMNS if c not in table.columns]
    if missing:
        raise file_error(path, f"missing columns {missing}; expected {list(CSV_COLUMNS)}")
    check_unique(list(table["video"].astype(str)), path)
    for col in ("n_frames", "width", "height"):
        if not pd.api.types.is_integer_dtype(table[col]):
            raise file_error(path, f"column {col!r} must hold integers")
    return table.set_index("video")


def _read_split_names(path: Path) -> list[str]:
    names = [line.strip() for line in existing(path, "split file", is_dir=False).read_text().splitlines()]
    names = [n for n in names if n]
    if not names:
        raise file_error(path, "the split file names no video")
    check_unique(names, path)
    return names


def _check_split(table: pd.DataFrame, names: list[str], split: str, csv: Path, split_file: Path) -> None:
    unknown = [n for n in names if n not in table.index]
    if unknown:
        raise file_error(split_file, f"video {unknown[0]!r} is not in {csv.name}")
    wrong = [n for n in names if table.at[n, "split"] != split]
    if wrong:
        raise file_error(
            split_file, f"video {wrong[0]!r} is listed as {table.at[wrong[0], 'split']!r} in {csv.name}"
        )
    listed = set(names)
    absent = [n for n in table.index[table["split"] == split] if n not in listed]
    if absent:
        raise file_error(split_file, f"video {absent[0]!r} of split {split!r} in {csv.name} is not listed")


def _check_track_files(folder: Path, table: pd.DataFrame, csv: Path) -> None:
    stray = sorted(p.name for p in folder.glob("*.txt") if p.name[: -len(".txt")] not in table.index)
    if stray:
        raise file_error(folder / stray[0], f"track file of a video that is not in {csv.name}")


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
        Folder holding ``videos.csv`` (``video,split,n_frames,width,height,fps``),
        ``splits/{train,test}.txt``, ``tracks/<video>.txt`` (MOTChallenge,
        1-based frames) and ``gt/{train,test}/<video>.npy`` frame masks.
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
        :func:`read_mot_tracks` and :func:`read_frame_masks`).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = existing(root, "benchmark folder", is_dir=True)
    csv = existing(root / "videos.csv", "video table", is_dir=False)
    table = _read_video_table(csv)
    split_file = root / "splits" / f"{split}.txt"
    names = _read_split_names(split_file)
    _check_split(table, names, split, csv, split_file)
    track_dir = existing(root / "tracks", "track folder", is_dir=True)
    _check_track_files(track_dir, table, csv)
    videos = []
    for name in names:
        row = table.loc[name]
        path = existing(track_dir / f"{name}.txt", f"track file of video {name!r}", is_dir=False)
        videos.append(
            read_mot_video(
                path,
                name,
                n_frames=int(row["n_frames"]),
                frame_size=(int(row["width"]), int(row["height"])),
                fps=float(row["fps"]),
            )
        )
    if split == "test" if labels is None else labels:
        videos = _attach_benchmark_labels(videos, root / "gt" / split)
    if "scene" in table.columns:
        videos = [v.replace(scene=str(table.at[v.name, "scene"])) for v in videos]
    elif scene is not None:
        videos = [v.replace(scene=None if scene(v.name) is None else str(scene(v.name))) for v in videos]
    return make_videoset(root, videos)
