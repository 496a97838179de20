"""AlphaPose / STG-NF tracked-person JSON, and the official code's ``data/weakly_<dataset>/`` layout."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._strict_json import DuplicateKeyError, unique_keys
from .._video import DEFAULT_SNIPPET_LEN, Tracks
from .._videoset import VideoSet
from ._groundtruth import read_frame_masks
from ._layouts import COCO17_JOINTS, coco17_to_openpose18
from ._readers import (
    PathLike,
    check_frame_count,
    check_inside,
    existing,
    file_error,
    folder_files,
    frame_size_of,
    lookup_n_frames,
    make_video,
    make_videoset,
    per_video,
    read_bytes,
    read_npy_header,
)
from ._rtfm import feature_sources, load_features
from ._safe_pickle import load_restricted_pickle

POSE_SUFFIX = "_alphapose_tracked_person.json"
POSE_LAYOUTS = ("openpose18", "coco17")
_N_VALUES = 3 * len(COCO17_JOINTS)
_INDEX_KEY = re.compile(r"[0-9]+")
_MAX_KEY_DIGITS = 18  # any such key fits in an int64


def pose_video_name(path: Path) -> str:
    """Video name of a pose file: the file name without ``_alphapose_tracked_person.json``."""
    name = path.name
    if name.endswith(POSE_SUFFIX):
        return name[: -len(POSE_SUFFIX)]
    return name[: -len(".json")] if name.endswith(".json") else path.stem


def _as_index(key, what: str, path: Path, name: str) -> int:
    """A person id or frame key: plain decimal digits (zero padding allowed), nothing else."""
    if not isinstance(key, str) or not _INDEX_KEY.fullmatch(key):
        negative = isinstance(key, str) and key.startswith("-") and _INDEX_KEY.fullmatch(key[1:])
        problem = "is negative" if negative else "is not an integer (only digits, e.g. '0042')"
        raise file_error(path, f"{what} {key!r} {problem}", name)
    if len(key.lstrip("0")) > _MAX_KEY_DIGITS:
        raise file_error(path, f"{what} {key!r} is out of range (more than {_MAX_KEY_DIGITS} digits)", name)
    return int(key)


def _check_distinct(seen: dict[int, str], value: int, key: str, what: str, path: Path, name: str) -> None:
    """Refuse two keys that read as one number ('1' and '01'): they would merge two people or frames."""
    if value in seen:
        raise file_error(
            path,
            f"{what} {seen[value]!r} and {key!r} both read as {value}: ambiguous (zero padding is ignored), "
            "rename one of them",
            name,
        )
    seen[value] = key


def _load_json(path: Path, name: str):
    data = read_bytes(path, "pose file", name)
    try:
        return json.loads(data, object_pairs_hook=unique_keys)
    except DuplicateKeyError as exc:
        raise file_error(
            path, f"key {exc.key!r} appears twice in one JSON object (one of the two would be lost)", name
        ) from None
    except RecursionError:
        raise file_error(path, "malformed JSON (nested too deeply)", name) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise file_error(path, f"malformed JSON ({exc})", name) from exc


def _merged_person(value, person: int, path: Path, name: str) -> dict:
    """A person's ``{frame: detection}`` dict; a list of such dicts is merged (later entries win)."""
    parts = value if isinstance(value, list) else [value]
    merged: dict = {}
    for part in parts:
        if not isinstance(part, dict):
            raise file_error(
                path,
                f"person {person}: expected an object {{frame: detection}}, got {type(part).__name__}",
                name,
            )
        merged.update(part)
    return merged


def _check_detection(det, person: int, frame_key: str, path: Path, name: str) -> list:
    where = f"person {person}, frame {frame_key!r}"
    if not isinstance(det, dict) or "keypoints" not in det:
        raise file_error(path, f"{where}: expected an object with a 'keypoints' list", name)
    keypoints = det["keypoints"]
    if not isinstance(keypoints, list) or len(keypoints) != _N_VALUES:
        size = len(keypoints) if isinstance(keypoints, list) else type(keypoints).__name__
        raise file_error(
            path,
            f"{where}: keypoints must hold {_N_VALUES} numbers (17 COCO joints x (x, y, c)), got {size}",
            name,
        )
    return keypoints


def _first_non_number(keypoints: list, persons: list, frames: list) -> str | None:
    for det, person, frame in zip(keypoints, persons, frames):
        for value in det:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"person {person}, frame {frame} holds {value!r}"
    return None


def _keypoint_array(keypoints: list, persons: list, frames: list, path: Path, name: str) -> np.ndarray:
    """The ``(n, 17, 3)`` keypoints; every detection already holds 51 values."""
    if not keypoints:
        return np.zeros((0, len(COCO17_JOINTS), 3))
    try:
        raw = np.array(keypoints)
    except (TypeError, ValueError, OverflowError):
        raw = None
    if raw is None or raw.dtype.kind not in "iuf":  # text, null, booleans, or integers beyond int64
        where = _first_non_number(keypoints, persons, frames)
        if where is not None:
            raise file_error(path, f"keypoints must be numbers: {where}", name)
        try:
            raw = np.array(keypoints, dtype=np.float64)
        except OverflowError:
            raise file_error(path, "keypoints must be numbers within the float range", name) from None
    return raw.astype(np.float64).reshape(-1, len(COCO17_JOINTS), 3)


def _parse_pose_file(path: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frame, person_id, keypoints (n, 17, 3))`` of one STG-NF pose JSON."""
    data = _load_json(path, name)
    if not isinstance(data, dict):
        raise file_error(path, "the top level must be an object {person_id: {frame: detection}}", name)
    frames, persons, keypoints = [], [], []
    person_keys: dict[int, str] = {}
    for person_key, value in data.items():
        person = _as_index(person_key, "person id", path, name)
        _check_distinct(person_keys, person, person_key, "person ids", path, name)
        frame_keys: dict[int, str] = {}
        for frame_key, det in _merged_person(value, person, path, name).items():
            frame = _as_index(frame_key, f"person {person}: frame key", path, name)
            _check_distinct(frame_keys, frame, frame_key, f"person {person}: frame keys", path, name)
            check_frame_count(frame + 1, path, name, what=f"person {person}: frame key {frame_key!r} implies n_frames")
            frames.append(frame)
            persons.append(person)
            keypoints.append(_check_detection(det, person, frame_key, path, name))
    points = _keypoint_array(keypoints, persons, frames, path, name)
    return np.array(frames, dtype=np.int64), np.array(persons, dtype=np.int64), points


def read_pose_tracks(path: Path, name: str, layout: str) -> Tracks:
    """The person tracks of one pose JSON, in ``layout``."""
    if layout not in POSE_LAYOUTS:
        raise ValueError(f"layout must be one of {POSE_LAYOUTS}, got {layout!r}")
    frame, person, points = _parse_pose_file(path, name)
    if layout == "openpose18":
        points = coco17_to_openpose18(points)
    return Tracks(frame=frame, track_id=person, points=points, kind="keypoints", layout=layout)


def pose_sources(path_or_folder: PathLike) -> list[tuple[str, Path]]:
    """``(video name, path)`` of one pose file, or of every ``.json`` of a folder sorted by name."""
    path = existing(path_or_folder, "pose file or folder")
    if not path.is_dir():
        return [(pose_video_name(path), path)]
    found = folder_files(path, ".json", pose_video_name)
    if not found:
        raise file_error(path, "the folder holds no .json pose file")
    return found


def _frames_from_tracks(tracks: Tracks, path: Path, name: str) -> int:
    if len(tracks) == 0:
        raise file_error(path, "no person in the file, so the frame count is unknown: pass n_frames", name)
    return int(tracks.frame.max()) + 1


def read_alphapose_json(
    path_or_folder: PathLike,
    n_frames: Mapping[str, int] | None = None,
    frame_size=None,
    layout: str = "openpose18",
    fps=None,
) -> VideoSet:
    """Read AlphaPose tracked-person JSON files as written for STG-NF.

    Parameters
    ----------
    path_or_folder : path
        One ``<video>_alphapose_tracked_person.json`` file or a folder of
        ``.json`` files (sorted by video name). The video name is the file
        name without ``_alphapose_tracked_person.json`` (or ``.json``).
        Format: ``{person_id: {frame: {"keypoints": [x, y, c] * 17,
        "scores": float}}}``, where a person's value may also be a list of
        such objects, merged in order (a frame given twice keeps the later
        detection, as STG-NF does). Person ids and frame keys (absolute
        0-based frame indices) are plain decimal digits, zero padding
        allowed: ``'0042'`` is 42, but ``'1_5'``, ``'-1'`` or ``'4.0'`` are
        errors, and so are two keys that read as one number (``'1'`` and
        ``'01'``), which would merge two people or two frames. A key given
        twice in one JSON object is an error too (``json`` would drop one).
        The person ``scores`` are not kept.
    n_frames : mapping of str to int, optional
        Frame count of every video (a missing video is an error). Default:
        the largest frame index in the file plus one, which undercounts a
        video whose last frames show nobody. At most
        :data:`unsupvad.datasets.limits.MAX_FRAMES` either way.
    frame_size : (width, height) or mapping of str to (width, height), optional
        Frame size in pixels. A detection whose keypoints' bounding box lies
        entirely outside the frame is an error; partly outside is kept.
    layout : {'openpose18', 'coco17'}, default='openpose18'
        ``'openpose18'`` converts the COCO-17 keypoints as STG-NF does (see
        :func:`coco17_to_openpose18`); ``'coco17'`` keeps them.
    fps : float or mapping of str to float, optional
        Frames per second.

    Returns
    -------
    VideoSet
        Videos with keypoint ``tracks`` (one track per person id) and no features.

    Raises
    ------
    FileNotFoundError
        When the path is missing.
    ValueError
        Naming the file and the video: malformed or too deeply nested JSON,
        duplicate keys, person ids or frame keys that are not plain digits,
        are negative or ambiguous, keypoints of the wrong length or not
        numeric, NaN or infinite coordinates, frames beyond ``n_frames`` or
        :data:`~unsupvad.datasets.limits.MAX_FRAMES`, detections entirely
        outside ``frame_size``, a video missing from ``n_frames``, a file
        without any person and no ``n_frames``, two files with one video
        name, a path that is not a regular file or a file larger than
        :data:`~unsupvad.datasets.limits.MAX_FILE_BYTES`.
    """
    videos = []
    for name, path in pose_sources(path_or_folder):
        size = frame_size_of(per_video(frame_size, name, "frame size", path), path, name)
        tracks = read_pose_tracks(path, name, layout)
        count = lookup_n_frames(n_frames, name, path)
        check_inside(tracks.boxes, size, lambda i, t=tracks: f"person {t.track_id[i]}, frame {t.frame[i]}", path,
                     name, what="the keypoints' bounding box")
        videos.append(
            make_video(
                path,
                name=name,
                n_frames=_frames_from_tracks(tracks, path, name) if count is None else count,
                fps=per_video(fps, name, "fps", path),
                frame_size=size,
                tracks=tracks,
            )
        )
    return make_videoset(path_or_folder, videos)


def _split_folder(base: Path, split: str) -> Path | None:
    """A ``<prefix>_<Split>_ten_crop_i3d`` feature folder, if there is exactly one."""
    found = sorted(p for p in base.glob("*_ten_crop_i3d") if p.is_dir() and f"_{split}_" in p.name.lower())
    if len(found) > 1:
        raise file_error(base, f"several feature folders for split {split!r}: {[p.name for p in found]}")
    return found[0] if found else None


def _official_features(base: Path, split: str) -> Path | None:
    """The feature list file of the split, else its feature folder, else None."""
    lists = sorted((base / "list").glob(f"*-i3d-{split}-10crop.list"))
    if len(lists) > 1:
        raise file_error(
            base / "list", f"several feature lists for split {split!r}: {[p.name for p in lists]}"
        )
    if lists:
        return lists[0]
    folder = _split_folder(base, split)
    if folder is None and (base / "features" / split).is_dir():
        folder = base / "features" / split
    return folder


def _pickle_payload(data: bytes, path: Path) -> bytes:
    """The pickle inside a ``.npy`` file holding one Python object, or ``data`` itself (a bare pickle)."""
    if not data.startswith(b"\x93NUMPY"):
        return data
    f = io.BytesIO(data)
    shape, dtype, offset = read_npy_header(f, path)
    if not dtype.hasobject or shape != ():
        raise file_error(
            path, f"holds an array of shape {shape} and dtype {dtype}, not the dict video -> n_frames of np.save"
        )
    return data[offset:]


def _count_of(video, count, path: Path) -> int:
    if not isinstance(video, str) or not video:
        raise file_error(path, f"video names must be non-empty strings, got {video!r}")
    whole = isinstance(count, int) or (isinstance(count, float) and count.is_integer())
    if isinstance(count, bool) or not whole or count < 1:
        raise file_error(path, f"n_frames must be a positive integer, got {count!r}", video)
    return check_frame_count(int(count), path, video)


def _official_frame_counts(base: Path) -> dict[str, int] | None:
    """The ``video -> n_frames`` dict of ``*-num.npy``, read without running any code of the pickle."""
    found = sorted(base.glob("*-num.npy")) + sorted((base / "list").glob("*-num.npy"))
    if not found:
        return None
    if len(found) > 1:
        raise file_error(base, f"several frame-count files: {[p.name for p in found]}")
    path = found[0]
    payload = _pickle_payload(read_bytes(path, "frame-count file"), path)
    try:
        counts = load_restricted_pickle(payload)
    # whatever a refused or damaged pickle raises, nothing of it ran: report it as unreadable
    except Exception as exc:
        raise file_error(
            path, f"not a pickled dict video -> n_frames readable without running code ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(counts, dict):
        raise file_error(path, f"expected a dict video -> n_frames, got {type(counts).__name__}")
    return {video: _count_of(video, count, path) for video, count in counts.items()}


def _check_same_names(names: list[str], other: list[str], what: str, other_what: str, source: Path) -> None:
    other_set, name_set = set(other), set(names)
    missing = [n for n in names if n not in other_set]
    if missing:
        raise file_error(source, f"video {missing[0]!r} has {what} but no {other_what}")
    extra = [n for n in other if n not in name_set]
    if extra:
        raise file_error(source, f"video {extra[0]!r} has {other_what} but no {what}")


def load_official_layout(
    root: PathLike,
    split: str = "test",
    dataset: str = "ShanghaiTech",
    layout: str = "openpose18",
    mmap: bool = True,
) -> VideoSet:
    """Load one split of the paper's official data folder ``data/weakly_<dataset>/``.

    Parameters
    ----------
    root : path
        The ``weakly_<dataset>`` folder, or the folder holding it.
    split : {'train', 'test'}, default='test'
    dataset : str, default='ShanghaiTech'
        Used to find ``weakly_<dataset>`` under ``root``.
    layout : {'openpose18', 'coco17'}, default='openpose18'
        Keypoint layout of the pose tracks (see :func:`read_alphapose_json`).
    mmap : bool, default=True
        Memory-map the feature files.

    Returns
    -------
    VideoSet
        One video per name, in the feature list's order (else sorted by
        name), with what the folder holds:

        - features from ``list/*-i3d-<split>-10crop.list`` if present, else
          from a ``*_<Split>_ten_crop_i3d/`` or ``features/<split>/`` folder;
        - pose tracks from ``pose/<split>/<video>_alphapose_tracked_person.json``;
        - for the test split, labels from ``gt/test_frame_mask/<video>.npy``
          (or ``gt/test_gt/``), 1 = abnormal.

        Frame counts come from the test masks, else (training split) from
        ``*-num.npy``, else ``16 T`` from the features, else the last posed
        frame plus one.

    Raises
    ------
    FileNotFoundError
        When the folder is missing or holds neither features nor poses for the split.
    ValueError
        When a video has features but no pose file (or the reverse), no mask
        or a mask of another length, or any file is invalid (see the readers).

    Notes
    -----
    ``*-num.npy`` is a pickled dict (``np.save(path, {video: n_frames})``).
    It is read without ``allow_pickle``: a restricted reader accepts only
    what such a dict needs (strings, integers, NumPy integer scalars and the
    0-d object array around them) and refuses any other object the pickle
    names before it is created, so a hostile file cannot run code. A bare
    ``pickle.dump`` of the dict is read the same way.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = existing(root, "official data folder", is_dir=True)
    base = root / f"weakly_{dataset}" if (root / f"weakly_{dataset}").is_dir() else root
    feature_source = _official_features(base, split)
    pose_dir = base / "pose" / split
    if feature_source is None and not pose_dir.is_dir():
        raise FileNotFoundError(
            f"{base}: no features (list/*-i3d-{split}-10crop.list or a feature folder) and no pose folder "
            f"pose/{split}/"
        )
    feats = dict(feature_sources(feature_source)) if feature_source is not None else None
    poses = dict(pose_sources(pose_dir)) if pose_dir.is_dir() else None
    names = list(feats) if feats is not None else list(poses)
    if feats is not None and poses is not None:
        _check_same_names(
            names, list(poses), f"features ({feature_source})", f"pose file in {pose_dir}", base
        )
    masks = _official_masks(base, split, names)
    counts = _official_frame_counts(base) if split == "train" else None
    videos = []
    for name in names:
        source = feats[name] if feats is not None else poses[name]
        features = load_features(feats[name], name, mmap) if feats is not None else None
        tracks = read_pose_tracks(poses[name], name, layout) if poses is not None else None
        if masks is not None:
            count = len(masks[name])
        elif counts is not None:
            count = lookup_n_frames(counts, name, base)
        elif features is not None:
            count = DEFAULT_SNIPPET_LEN * features.shape[0]
        else:
            count = _frames_from_tracks(tracks, source, name)
        labels = masks[name] if masks is not None else None
        videos.append(
            make_video(source, name=name, n_frames=count, features=features, tracks=tracks, labels=labels)
        )
    return make_videoset(base, videos)


def _official_masks(base: Path, split: str, names: list[str]) -> dict[str, np.ndarray] | None:
    """The test frame masks, checked to cover exactly the split's videos."""
    if split != "test":
        return None
    folder = next(
        (base / "gt" / d for d in ("test_frame_mask", "test_gt") if (base / "gt" / d).is_dir()), None
    )
    if folder is None:
        return None
    masks = read_frame_masks(folder)
    _check_same_names(names, list(masks), "features or poses", f"frame mask in {folder}", base)
    return masks
