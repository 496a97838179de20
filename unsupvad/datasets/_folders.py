"""Folders of tracks and features read into one VideoSet, as the command line reads them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .._videoset import VideoSet
from ._mot import read_mot_tracks
from ._pose import pose_sources, read_alphapose_json
from ._readers import PathLike, existing, file_error, folder_files
from ._rtfm import feature_sources, read_rtfm_features
from ._video_table import VideoInfo

TRACK_FORMATS = ("mot", "alphapose")


def read_videos(tracks: PathLike | None = None, features: PathLike | None = None, *,
                videos: Mapping[str, VideoInfo] | None = None, track_format: str = "auto",
                frame_size=None) -> VideoSet:
    """Read person tracks and/or snippet features of many videos into one VideoSet.

    The Python twin of the command line's ``--tracks``, ``--features``,
    ``--frames`` and ``--split``.

    Parameters
    ----------
    tracks : path, optional
        A MOTChallenge ``.txt`` file or AlphaPose ``.json`` file, or a folder
        of them (one per video, named after it).
    features : path, optional
        RTFM ``.npy`` feature files: one file, a folder or a list file (see
        :func:`read_rtfm_features`). With ``tracks`` too, every video needs
        both, matched by name.
    videos : dict of str to VideoInfo, optional
        A video table from :func:`read_video_table` (for one split, say):
        exactly its videos are read, in its order, with its frame counts,
        frame sizes, fps, scenes and video files (``video_file``, for
        models that read frames); a video without a track or feature file
        is an error, files of other videos are left alone. Default: every
        file, frame counts from the files (the last tracked frame for
        tracks, which undercounts a video whose last frames show nobody).
    track_format : {'auto', 'mot', 'alphapose'}, default='auto'
        The format of ``tracks``; 'auto' tells it from the file suffixes.
    frame_size : (width, height), optional
        For videos whose size the table does not give.

    Returns
    -------
    VideoSet

    Raises
    ------
    FileNotFoundError
        When a path, or the file of a video of ``videos``, is missing.
    ValueError
        When the inputs disagree (a video with tracks but no features) or
        a file is invalid (see the readers).

    Examples
    --------
    >>> from unsupvad.datasets import read_video_table, read_videos
    >>> train = read_videos("tracks/", videos=read_video_table("videos.csv", split="train"))  # doctest: +SKIP
    """
    if tracks is None and features is None:
        raise ValueError("give the videos: tracks and/or features")
    if track_format not in ("auto", *TRACK_FORMATS):
        raise ValueError(f"track_format must be 'auto', 'mot' or 'alphapose', got {track_format!r}")
    track_videos = feature_videos = None
    if tracks is not None:
        track_videos = _read_kind(Path(tracks), guess_track_format(tracks, track_format), videos)
    if features is not None:
        feature_videos = _read_kind(Path(features), "rtfm", videos)
    if track_videos is not None and feature_videos is not None:
        found = _merge(track_videos, feature_videos)
    else:
        found = track_videos if track_videos is not None else feature_videos
    if frame_size is not None:
        found = [v if v.frame_size is not None else v.replace(frame_size=frame_size) for v in found]
    return VideoSet(found)


def guess_track_format(path: PathLike, track_format: str = "auto") -> str:
    """``track_format``, or for 'auto' the one format whose suffix the file (or folder's files) has."""
    if track_format != "auto":
        return track_format
    path = existing(path, "track file or folder")
    names = [p.name for p in path.iterdir() if p.is_file()] if path.is_dir() else [path.name]
    found = {f for f, suffix in (("mot", ".txt"), ("alphapose", ".json")) if any(n.endswith(suffix) for n in names)}
    if len(found) != 1:
        what = "both .txt and .json files" if found else "no .txt (mot) or .json (alphapose) file"
        raise file_error(path, f"{what}; say which format they are in (mot or alphapose)")
    return found.pop()


def _sources(path: Path, kind: str) -> list[tuple[str, Path]]:
    """``(video name, file)`` of one file or every file of a folder, as the readers name them."""
    if kind == "rtfm":
        return feature_sources([path] if path.is_file() and path.suffix == ".npy" else path)
    if kind == "alphapose":
        return pose_sources(path)
    path = existing(path, "track file or folder")
    if not path.is_dir():
        return [(path.stem, path)]
    found = folder_files(path, ".txt", lambda p: p.name[: -len(".txt")])
    if not found:
        raise file_error(path, "the folder holds no .txt track file")
    return found


def _read_kind(path: Path, kind: str, table: Mapping[str, VideoInfo] | None) -> list:
    """The videos of one input, one file at a time (with a table: exactly its videos, in its order)."""
    sources = _sources(path, kind)
    if table is not None:
        files = dict(sources)
        absent = [name for name in table if name not in files]
        if absent:
            raise FileNotFoundError(f"{path}: no {kind} file for video {absent[0]!r} of the video table")
        sources = [(name, files[name]) for name in table]
    table = table or {}
    n_frames = {name: info.n_frames for name, info in table.items()} or None
    sizes = {name: info.frame_size for name, info in table.items() if info.frame_size}
    fps = {name: info.fps for name, info in table.items() if info.fps}
    videos = []
    for _, source in sources:
        if kind == "mot":
            videos.extend(read_mot_tracks(source, n_frames=n_frames, frame_size=sizes, fps=fps).videos)
        elif kind == "alphapose":
            videos.extend(read_alphapose_json(source, n_frames=n_frames, frame_size=sizes, fps=fps).videos)
        else:
            found = read_rtfm_features([source], n_frames=n_frames).videos
            videos.extend(v.replace(frame_size=sizes.get(v.name), fps=fps.get(v.name)) for v in found)
    return [_with_table_facts(v, table.get(v.name)) for v in videos]


def _with_table_facts(video, info: VideoInfo | None):
    """The video with the scene and video file its table row gives (unchanged without a row or those cells)."""
    if info is None:
        return video
    changes = {key: value for key, value in (("scene", info.scene), ("video_file", info.video_file)) if value}
    return video.replace(**changes) if changes else video


def _merge(track_videos: list, feature_videos: list) -> list:
    """One video per name with both the tracks and the features."""
    by_name = {v.name: v for v in feature_videos}
    track_names = {v.name for v in track_videos}
    for name in by_name:
        if name not in track_names:
            raise ValueError(f"video {name!r} has features but no tracks")
    merged = []
    for video in track_videos:
        if video.name not in by_name:
            raise ValueError(f"video {video.name!r} has tracks but no features")
        feats = by_name[video.name]
        # the frame count: the table's (both equal), else the larger estimate (last tracked frame vs 16 T)
        n_frames = max(video.n_frames, feats.n_frames)
        try:
            merged.append(video.replace(n_frames=n_frames, features=feats.features,
                                        snippet_len=feats.snippet_len))
        except ValueError as exc:
            raise ValueError(f"{exc} (give the true frame counts in a video table)") from exc
    return merged
