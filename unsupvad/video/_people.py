"""Person tracks and poses from video files: detector, tracker and pose estimator per frame; MOT and pose files out."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .._atomic import replaced_atomically
from ..datasets._pose import POSE_SUFFIX
from ._decode import VideoFileInfo, VideoReader, claimed_frame_counts, progress_bar
from ._detect import checked_detections, load_detector
from ._files import list_videos
from ._pose import N_JOINTS, checked_keypoints, load_pose
from ._track import checked_track_ids, load_tracker, new_tracker

logger = logging.getLogger(__name__)

TRACKS_FOLDER = "tracks"
POSES_FOLDER = "poses"
MANIFEST_NAME = "people_manifest.json"
_MANIFEST_VERSION = 1


def track_path(video, out_dir) -> Path:
    """``out_dir / 'tracks' / '<video name>.txt'``, the MOTChallenge file :func:`read_mot_tracks` names the video by."""
    return Path(out_dir) / TRACKS_FOLDER / f"{Path(video).stem}.txt"


def pose_path(video, out_dir) -> Path:
    """``out_dir / 'poses' / '<video name>_alphapose_tracked_person.json'``, as :func:`read_alphapose_json` names it."""
    return Path(out_dir) / POSES_FOLDER / f"{Path(video).stem}{POSE_SUFFIX}"


def _checked_rows(frames0, track_ids, scores, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0-based frames and track ids as int64 (both >= 0, no (frame, id) twice) and finite scores, ``n_rows`` each."""
    columns = []
    for label, values in (("frames0", frames0), ("track_ids", track_ids)):
        values = np.asarray(values)
        if values.shape != (n_rows,) or (n_rows and values.dtype.kind not in "iu"):
            raise ValueError(f"{label} must be {n_rows} integers, got {values.dtype} {values.shape}")
        if (values < 0).any():
            raise ValueError(f"{label} must be >= 0 (frames are 0-based here, tracked ids non-negative), got "
                             f"{values[values < 0][0]}")
        columns.append(values.astype(np.int64))
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (n_rows,) or not np.isfinite(scores).all():
        raise ValueError(f"scores must be {n_rows} finite numbers, got shape {scores.shape}")
    frame, track = columns
    pairs = np.unique(np.stack([frame, track], axis=1), axis=0) if n_rows else np.zeros((0, 2))
    if len(pairs) != n_rows:
        raise ValueError("two rows share one (frame, track id): a track has one detection per frame")
    return frame, track, scores


def _number(value: float) -> str:
    return format(float(value), ".10g")


def write_mot_file(path, frames0, track_ids, boxes_xyxy, scores) -> Path:
    """Write person tracks as a MOTChallenge text file, as :func:`~unsupvad.datasets.read_mot_tracks` reads it.

    One row per detection, sorted by frame then track id:
    ``frame,id,left,top,width,height,conf,-1,-1,-1``, with ``frame`` the
    **1-based** MOTChallenge frame: row frame ``f`` is the library's 0-based
    frame index ``f - 1``, so ``frames0 = [0, 1]`` is written as frames 1
    and 2, and reads back as 0 and 1.

    Parameters
    ----------
    path : path
        The ``<video>.txt`` file, replaced atomically (folders created).
    frames0 : array-like of int, shape (n,)
        0-based frame index of every detection.
    track_ids : array-like of int, shape (n,)
        Track id of every detection, >= 0.
    boxes_xyxy : array-like of shape (n, 4)
        ``[left, top, right, bottom]`` in pixels, written as left, top,
        width, height.
    scores : array-like of shape (n,)
        Detection scores (the ``conf`` column).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When the lengths differ, a frame or id is negative or not an
        integer, a box is not finite or has no width or height, or one track
        has two rows in one frame.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    if boxes.size == 0:
        boxes = np.zeros((0, 4))
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes_xyxy must have shape (n, 4) [left, top, right, bottom], got {boxes.shape}")
    frame, track, scores = _checked_rows(frames0, track_ids, scores, len(boxes))
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    if not np.isfinite(boxes).all() or (widths <= 0).any() or (heights <= 0).any():
        raise ValueError("boxes must be finite [left, top, right, bottom] with right > left and bottom > top")
    text = io.StringIO()
    for i in np.lexsort((track, frame)):
        text.write(f"{frame[i] + 1},{track[i]},{_number(boxes[i, 0])},{_number(boxes[i, 1])},{_number(widths[i])},"
                   f"{_number(heights[i])},{_number(scores[i])},-1,-1,-1\n")
    with replaced_atomically(Path(path), "w", newline="") as f:
        f.write(text.getvalue())
    return Path(path)


def write_alphapose_json(path, frames0, track_ids, keypoints, scores) -> Path:
    """Write poses as AlphaPose tracked-person JSON, as :func:`~unsupvad.datasets.read_alphapose_json` reads it.

    ``{track_id: {frame: {"keypoints": [x, y, c] * 17, "scores": score}}}``,
    with ``frame`` the **0-based** frame index as a zero-padded key
    (``"0007"`` is frame 7, as STG-NF writes it; unlike the 1-based MOT
    file), people and frames in numerical order.

    Parameters
    ----------
    path : path
        The ``<video>_alphapose_tracked_person.json`` file, replaced
        atomically (folders created).
    frames0 : array-like of int, shape (n,)
        0-based frame index of every pose.
    track_ids : array-like of int, shape (n,)
        Person (track) id of every pose, >= 0.
    keypoints : array-like of shape (n, 17, 3)
        COCO-17 ``[x, y, confidence]`` in pixels.
    scores : array-like of shape (n,)
        The person's detection score.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        As :func:`write_mot_file`, and when the keypoints are not a finite
        ``(n, 17, 3)`` array.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    n_rows = len(points)
    if points.shape != (n_rows, N_JOINTS, 3) or not np.isfinite(points).all():
        raise ValueError(f"keypoints must be a finite array (n, {N_JOINTS}, 3), got shape {points.shape}")
    frame, track, scores = _checked_rows(frames0, track_ids, scores, n_rows)
    people: dict[str, dict] = {}
    for i in np.lexsort((frame, track)):
        people.setdefault(str(track[i]), {})[f"{frame[i]:04d}"] = {
            "keypoints": points[i].reshape(-1).tolist(), "scores": float(scores[i])}
    with replaced_atomically(Path(path), "w", encoding="utf-8") as f:
        json.dump(people, f, allow_nan=False)
    return Path(path)


@dataclass(frozen=True)
class ExtractedPeople:
    """One video's person tracks (and poses), as :func:`extract_people` left them.

    Attributes
    ----------
    name : str
        The video name (the video file name without suffix).
    video : Path
        The video file.
    tracks : Path
        The MOTChallenge file, ``<out_dir>/tracks/<name>.txt``.
    poses : Path or None
        The pose file, ``<out_dir>/poses/<name>_alphapose_tracked_person.json``,
        when poses were asked for.
    n_frames : int
        Frames decoded from the video.
    width, height : int
        Frame size in pixels.
    fps : float or None
        Frames per second, when the file says.
    n_detections : int
        Boxes the detector found, over all frames.
    n_tracked : int
        Rows written: detections the tracker gave an id.
    n_tracks : int
        Distinct track ids.
    resumed : bool
        True when the files were already there, complete, and were kept.
    """

    name: str
    video: Path
    tracks: Path
    poses: Path | None
    n_frames: int
    width: int
    height: int
    fps: float | None
    n_detections: int
    n_tracked: int
    n_tracks: int
    resumed: bool


class _Rows:
    """What one video's tracked detections collect, frame by frame, until its files are written."""

    def __init__(self):
        self.frame, self.track, self.boxes, self.scores, self.keypoints = [], [], [], [], []

    def add(self, frame: int, ids: np.ndarray, detections: np.ndarray, keypoints: np.ndarray | None) -> None:
        self.frame.append(np.full(len(ids), frame, dtype=np.int64))
        self.track.append(ids)
        self.boxes.append(detections[:, :4])
        self.scores.append(detections[:, 4])
        if keypoints is not None:
            self.keypoints.append(keypoints)

    def arrays(self) -> dict:
        """Every collected column joined over the frames (empty arrays of the right shape when nothing was)."""
        empty = {"frame": np.zeros(0, np.int64), "track": np.zeros(0, np.int64), "boxes": np.zeros((0, 4)),
                 "scores": np.zeros(0), "keypoints": np.zeros((0, N_JOINTS, 3))}
        return {name: np.concatenate(getattr(self, name)) if getattr(self, name) else value
                for name, value in empty.items()}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_manifest(out_dir: Path) -> dict:
    """The videos an earlier run finished, by name; empty when there is no readable manifest."""
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != _MANIFEST_VERSION or not isinstance(data.get("videos"), dict):
            raise ValueError("not a manifest of this version")
    except (OSError, ValueError, AttributeError) as exc:
        logger.warning("%s: unreadable (%s); every video is extracted again", path, exc)
        return {}
    return data["videos"]


def _write_manifest(out_dir: Path, entries: dict) -> None:
    with replaced_atomically(out_dir / MANIFEST_NAME, "w", encoding="utf-8") as f:
        json.dump({"version": _MANIFEST_VERSION, "videos": entries}, f, indent=1, sort_keys=True)


def _entry(record: ExtractedPeople) -> dict:
    entry = {key: value for key, value in asdict(record).items() if key.startswith("n_") or key in
             ("width", "height", "fps")}
    entry["video_bytes"] = record.video.stat().st_size
    entry["tracks_sha256"] = _digest(record.tracks)
    entry["poses_sha256"] = _digest(record.poses) if record.poses is not None else None
    return entry


def _kept(path: Path, entry, out_dir: Path, with_poses: bool) -> ExtractedPeople | None:
    """The record of a video whose files an earlier run completed (unchanged since, by their digests), else None."""
    if not isinstance(entry, dict) or entry.get("video_bytes") != path.stat().st_size:
        return None
    tracks, poses = track_path(path, out_dir), pose_path(path, out_dir)
    if entry.get("tracks_sha256") is None or _digest(tracks) != entry["tracks_sha256"]:
        return None
    if with_poses and (entry.get("poses_sha256") is None or _digest(poses) != entry["poses_sha256"]):
        return None
    try:
        counts = [entry[key] for key in ("n_frames", "width", "height", "fps", "n_detections", "n_tracked",
                                         "n_tracks")]
    except KeyError:
        return None
    return ExtractedPeople(path.stem, path, tracks, poses if with_poses else None, *counts, resumed=True)


def _remove_stale_poses(path: Path, out_dir: Path, entry) -> None:
    """Remove a pose file an earlier run wrote for this video: the tracks about to be written replace its people."""
    poses = pose_path(path, out_dir)
    if isinstance(entry, dict) and entry.get("poses_sha256") and _digest(poses) == entry["poses_sha256"]:
        poses.unlink()
        logger.info("%s: the earlier pose file %s was removed (its tracks are being redone)", path.stem, poses)


@dataclass
class _PeopleRun:
    """What every video of one run shares."""

    detector: object
    tracker_factory: object
    pose: object
    chunk_frames: int
    out_dir: Path
    bar: object

    def _start_video(self, path: Path) -> None:
        if callable(getattr(self.detector, "start_video", None)):
            self.detector.start_video(path)
        shares_detector = getattr(self.pose, "detector", None) is self.detector
        if self.pose is not None and not shares_detector and callable(getattr(self.pose, "start_video", None)):
            self.pose.start_video(path)

    def _track_frame(self, tracker, frame: np.ndarray, detections: np.ndarray, index: int, rows: _Rows,
                     name: str) -> None:
        try:
            output = tracker.update(detections[:, :4].copy(), detections[:, 4].copy())
        except ValueError as exc:
            raise ValueError(f"video {name!r}, frame {index}: {exc}") from exc
        ids = checked_track_ids(output, len(detections), name, index)
        keep = ids >= 0
        tracked = detections[keep]
        keypoints = None
        if self.pose is not None:
            keypoints = np.zeros((0, N_JOINTS, 3))
            if len(tracked):
                keypoints = checked_keypoints(self.pose(frame, tracked[:, :4].copy()), len(tracked), name, index)
        rows.add(index, ids[keep], tracked, keypoints)

    def _decode_and_track(self, path: Path) -> tuple[_Rows, int, VideoFileInfo]:
        rows, n_detections, n_frames = _Rows(), 0, 0
        with VideoReader(path) as reader:
            self.bar.set_postfix(video=path.stem, refresh=False)
            tracker = new_tracker(self.tracker_factory, reader.fps, path.stem)
            for frames in reader.chunks(self.chunk_frames):
                detections = checked_detections(self.detector(frames), frames, path.stem, n_frames)
                for i, boxes in enumerate(detections):
                    self._track_frame(tracker, frames[i], boxes, n_frames + i, rows, path.stem)
                n_detections += sum(len(boxes) for boxes in detections)
                n_frames += len(frames)
                self.bar.update(len(frames))
            info = VideoFileInfo(reader.path, n_frames, reader.width, reader.height, reader.fps)
        if n_frames == 0:
            raise ValueError(f"{path}: the video holds no frame")
        return rows, n_detections, info

    def extract(self, path: Path) -> ExtractedPeople:
        self._start_video(path)
        rows, n_detections, info = self._decode_and_track(path)
        found = rows.arrays()
        tracks = write_mot_file(track_path(path, self.out_dir), found["frame"], found["track"], found["boxes"],
                                found["scores"])
        poses = None
        if self.pose is not None:
            poses = write_alphapose_json(pose_path(path, self.out_dir), found["frame"], found["track"],
                                         found["keypoints"], found["scores"])
        record = ExtractedPeople(info.name, path, tracks, poses, info.n_frames, info.width, info.height, info.fps,
                                 n_detections, len(found["track"]), len(np.unique(found["track"])), False)
        logger.info("%s: %d frames, %d detections, %d tracks written to %s", info.name, info.n_frames,
                    n_detections, record.n_tracks, tracks)
        return record


def _estimated_frames(paths) -> int | None:
    """The frames the containers claim (None when one does not say); opening every file refuses a bad one early."""
    estimates = claimed_frame_counts(paths)
    return None if None in estimates else sum(estimates)


def _check_chunk_frames(chunk_frames) -> None:
    if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise ValueError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")


def extract_people(videos, out_dir, *, detector="motion", tracker="bytetrack", pose=None, chunk_frames: int = 32,
                   resume: bool = True, progress: bool = False) -> list[ExtractedPeople]:
    """Detect and track people in videos (and estimate their poses): one MOTChallenge file (and pose JSON) per video.

    Each video is decoded ``chunk_frames`` frames at a time; the detector
    sees each chunk, the tracker each frame in order, and the pose
    estimator each frame's tracked boxes. Detections the tracker leaves
    untracked (id -1) are not written.

    Parameters
    ----------
    videos : path or sequence of paths
        Video files and folders of them (:func:`list_videos`).
    out_dir : path
        Where to write ``tracks/<video>.txt`` (read by
        :func:`~unsupvad.datasets.read_mot_tracks`, ``unsupvad fit --tracks
        out_dir/tracks``), ``poses/<video>_alphapose_tracked_person.json``
        (:func:`~unsupvad.datasets.read_alphapose_json`) and
        ``people_manifest.json`` (what resume checks).
    detector : callable or str, default='motion'
        A *detector*: any callable ``detector(frames)`` taking RGB frames
        ``(B, H, W, 3)`` uint8 and returning a list of B float arrays
        ``(N, 5)``, ``[left, top, right, bottom, score]`` in pixels, with
        ``0 <= left < right <= W``, ``0 <= top < bottom <= H`` and the score
        in [0, 1]. Anything else is refused with an error naming the video
        and the frame. If it has a ``start_video(path)`` method, that is
        called before each video (the :class:`MotionDetector` takes its
        background there). A string is a spec for :func:`load_detector`.
    tracker : callable or str, default='bytetrack'
        A *tracker factory*: called once per video as ``factory(fps=...)``
        (the video's frames per second, None when unknown), it returns an
        object whose ``update(boxes, scores)`` takes one frame's boxes
        ``(N, 4)`` ``[left, top, right, bottom]`` float and scores ``(N,)``
        and returns ``(N,)`` integer ids, -1 for a box it does not track
        (dropped), distinct within the frame. ``update`` is called for every
        frame in order, also with ``N = 0``. A string is a spec for
        :func:`load_tracker` (``'bytetrack'`` and ``'sort'`` need the
        ``tracking`` extra).
    pose : callable or str, optional
        A *pose estimator*: any callable ``pose(frame, boxes)`` taking one
        RGB frame ``(H, W, 3)`` uint8 and its tracked boxes ``(N, 4)``
        ``[left, top, right, bottom]`` (N >= 1) and returning keypoints
        ``(N, 17, 3)`` ``[x, y, confidence]`` in pixels, COCO-17 order. Like
        the detector it may have ``start_video(path)``. A string is a spec
        for :func:`load_pose` (``'silhouette'`` shares the motion detector's
        masks). None (the default): no pose file.
    chunk_frames : int, default=32
        Frames decoded and given to the detector at a time.
    resume : bool, default=True
        Keep the files of a video that an earlier run into ``out_dir``
        finished: the manifest names it, the video file has the same size,
        and its track file (and its pose file, when ``pose`` is given) has
        the digest the manifest recorded, so a truncated or edited file is
        redone. Files are not tagged with the detector or tracker: after
        changing either, pass ``resume=False`` or another ``out_dir``.
    progress : bool, default=False
        A tqdm bar over frames on stderr.

    Returns
    -------
    list of ExtractedPeople
        One per video, in order, with its frame count, size, fps and counts
        (:func:`write_video_table` writes them as the ``--frames`` table).

    Raises
    ------
    ImportError
        When PyAV, or the ``trackers`` package for ``'bytetrack'`` or
        ``'sort'``, is missing.
    FileNotFoundError
        When a video is missing.
    ValueError
        When a spec does not load, a video cannot be decoded or holds no
        frame, two videos share a name, or a detector, tracker or pose
        estimator returns something else than its protocol says.

    Notes
    -----
    Memory holds one chunk of frames (and its foreground masks with the
    motion detector) and the tracked rows of one video until its files are
    written. Every file is written to a temporary name and moved into place
    when complete, then the manifest is updated, so an interrupted run
    leaves only complete files and redoes at most the video it was on.
    Frames are 1-based in the MOT file and 0-based in the pose file, as
    their readers expect; both read back as 0-based frame indices.
    """
    _check_chunk_frames(chunk_frames)
    detector = load_detector(detector)
    tracker_factory = load_tracker(tracker)
    pose = None if pose is None else load_pose(pose, detector)
    paths = list_videos(videos)
    out_dir = Path(out_dir)
    entries = _read_manifest(out_dir)
    kept = {path: _kept(path, entries.get(path.stem), out_dir, pose is not None) for path in paths} if resume else {}
    records = {path: record for path, record in kept.items() if record is not None}
    todo = [path for path in paths if path not in records]
    total = _estimated_frames(todo)
    with progress_bar(progress and bool(todo), total, "people", "frame") as bar:
        run = _PeopleRun(detector, tracker_factory, pose, chunk_frames, out_dir, bar)
        for path in todo:
            if pose is None:
                _remove_stale_poses(path, out_dir, entries.get(path.stem))
            records[path] = run.extract(path)
            entries[path.stem] = _entry(records[path])
            _write_manifest(out_dir, entries)
    for path in paths:
        if records[path].resumed:
            logger.info("%s: complete tracks kept (resume)", path.stem)
    return [records[path] for path in paths]
