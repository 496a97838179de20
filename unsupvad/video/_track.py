"""Multi-object tracking: the tracker protocol, adapters to Roboflow's ``trackers`` package, checks of its output."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ._specs import is_import_spec, resolve_import_spec

TRACKING_INSTALL_HINT = 'pip install "unsupvad[tracking]"'
TRACKER_SPECS = ("bytetrack", "sort")
_INDEX_KEY = "unsupvad_detection_index"


def require_trackers():
    """The ``trackers`` and ``supervision`` modules; an ImportError that says how to install them when missing."""
    try:
        import supervision
        import trackers
    except ImportError as exc:
        raise ImportError(f"tracking needs Roboflow's 'trackers' package, which is not installed: "
                          f"{TRACKING_INSTALL_HINT}") from exc
    return trackers, supervision


class SupervisionTracker:
    """One tracker of the ``trackers`` package behind the protocol ``update(boxes, scores) -> ids``.

    Parameters
    ----------
    tracker : object
        A tracker whose ``update(supervision.Detections)`` returns the
        detections with a ``tracker_id`` each (-1: not tracked), possibly
        reordered or fewer, such as ``trackers.ByteTrackTracker``.

    Notes
    -----
    Each detection carries its input index through the tracker (in the
    ``Detections.data`` field) and every returned box is checked to be the
    box at that index. A tracker that drops ``data`` is mapped back by box
    identity: equal coordinates, each input box used once, in order.
    """

    def __init__(self, tracker):
        self.tracker = tracker
        self._sv = require_trackers()[1]

    def update(self, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Track ids ``(N,)`` int64 of the boxes ``(N, 4)`` xyxy with scores ``(N,)`` of the next frame (-1: none)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        detections = self._sv.Detections(xyxy=boxes.copy(), confidence=scores.copy(),
                                          data={_INDEX_KEY: np.arange(len(boxes))})
        result = self.tracker.update(detections)
        ids = np.full(len(boxes), -1, dtype=np.int64)
        if len(result) == 0:
            return ids
        returned_ids = np.asarray(result.tracker_id, dtype=np.int64)
        ids[_input_rows(boxes, result)] = returned_ids
        return ids


def _input_rows(boxes: np.ndarray, result) -> np.ndarray:
    """The input row of every detection a tracker returned."""
    returned = np.asarray(result.xyxy, dtype=np.float64).reshape(-1, 4)
    carried = getattr(result, "data", {}).get(_INDEX_KEY)
    if carried is not None:
        rows = np.asarray(carried, dtype=np.int64)
        if len(np.unique(rows)) != len(rows) or not np.array_equal(boxes[rows], returned):
            raise ValueError("the tracker returned detections that are not the ones it was given")
        return rows
    return match_boxes(boxes, returned)


def match_boxes(boxes: np.ndarray, returned: np.ndarray) -> np.ndarray:
    """For each returned box, the row of the identical input box (each input row used once, the first free one).

    Raises
    ------
    ValueError
        When a returned box equals no unused input box.
    """
    used = np.zeros(len(boxes), dtype=bool)
    rows = np.empty(len(returned), dtype=np.int64)
    for i, box in enumerate(returned):
        candidates = np.flatnonzero(~used & (boxes == box).all(axis=1))
        if len(candidates) == 0:
            raise ValueError(f"the tracker returned the box {box.tolist()}, which is not one of the detections "
                             "it was given (or was returned twice)")
        rows[i] = candidates[0]
        used[candidates[0]] = True
    return rows


def _frame_rate(fps, default_fps: float) -> float:
    return float(fps) if fps is not None and np.isfinite(fps) and fps > 0 else float(default_fps)


def _package_tracker(class_name: str, settings, fps) -> SupervisionTracker:
    """The ``trackers`` package's ``class_name`` built from a factory's fields, at the video's frame rate."""
    trackers = require_trackers()[0]
    options = asdict(settings)
    default_fps = options.pop("default_fps")
    tracker_class = getattr(trackers, class_name)
    return SupervisionTracker(tracker_class(frame_rate=_frame_rate(fps, default_fps), **options))


@dataclass(frozen=True)
class ByteTrack:
    """A factory of ByteTrack trackers (``trackers.ByteTrackTracker``), one per video.

    Every field is passed to ``trackers.ByteTrackTracker`` under its name,
    and ``frame_rate`` is the video's fps. Three defaults differ from that
    package's (0.7, 0.6 and 2), because the built-in
    :class:`MotionDetector` scores a person about 0.5 (the share of its box
    that is foreground), which the package's thresholds would treat as a
    weak detection that never starts a track. For a learned detector with
    calibrated scores, ``ByteTrack(track_activation_threshold=0.7,
    high_conf_det_threshold=0.6, minimum_consecutive_frames=2)`` is
    ByteTrack as published.

    Parameters
    ----------
    lost_track_buffer : int, default=30
        Frames (at 30 fps, scaled to the video's) a lost track is kept for
        re-association.
    track_activation_threshold : float, default=0.25
        Smallest score of a detection that starts a track.
    high_conf_det_threshold : float, default=0.25
        Detections scoring at least this are matched first; weaker ones
        only continue existing tracks.
    minimum_iou_threshold : float, default=0.1
        Smallest IoU of a detection with a track's predicted box to match.
    minimum_consecutive_frames : int, default=1
        Matches before a track gets an id. The package never gives an id to
        the detection that starts a track, so every track starts one frame
        after its first detection (with 1) or later.
    default_fps : float, default=30.0
        ``frame_rate`` for a video that does not say its fps.
    """

    lost_track_buffer: int = 30
    track_activation_threshold: float = 0.25
    high_conf_det_threshold: float = 0.25
    minimum_iou_threshold: float = 0.1
    minimum_consecutive_frames: int = 1
    default_fps: float = 30.0

    def __call__(self, fps: float | None = None) -> SupervisionTracker:
        """A new tracker for one video of ``fps`` frames per second (None: ``default_fps``)."""
        return _package_tracker("ByteTrackTracker", self, fps)


@dataclass(frozen=True)
class Sort:
    """A factory of SORT trackers (``trackers.SORTTracker``), one per video.

    Every field is passed to ``trackers.SORTTracker`` under its name, and
    ``frame_rate`` is the video's fps. ``minimum_consecutive_frames``
    defaults to 1 instead of the package's 3 (a track gets its id on its
    second detection), the rest are the package's defaults.

    Parameters
    ----------
    lost_track_buffer : int, default=30
        Frames (at 30 fps, scaled to the video's) a lost track is kept.
    track_activation_threshold : float, default=0.25
        Smallest score of a detection that starts a track.
    minimum_iou_threshold : float, default=0.3
        Smallest IoU of a detection with a track's predicted box to match.
    minimum_consecutive_frames : int, default=1
        Matches before a track gets an id.
    default_fps : float, default=30.0
        ``frame_rate`` for a video that does not say its fps.
    """

    lost_track_buffer: int = 30
    track_activation_threshold: float = 0.25
    minimum_iou_threshold: float = 0.3
    minimum_consecutive_frames: int = 1
    default_fps: float = 30.0

    def __call__(self, fps: float | None = None) -> SupervisionTracker:
        """A new tracker for one video of ``fps`` frames per second (None: ``default_fps``)."""
        return _package_tracker("SORTTracker", self, fps)


def load_tracker(spec="bytetrack", **options):
    """A tracker factory from ``'bytetrack'``, ``'sort'`` or an import spec.

    Parameters
    ----------
    spec : str or callable, default='bytetrack'
        * ``"bytetrack"``: :class:`ByteTrack` ``(**options)``;
        * ``"sort"``: :class:`Sort` ``(**options)``;
        * ``"package.module:callable"``: the named callable *is* the
          factory (it is not called here); it runs code from where it
          points, so load only what you trust;
        * a factory (any callable) is returned as it is.

        Both built-ins need the ``tracking`` extra (Roboflow's ``trackers``
        package): ``pip install "unsupvad[tracking]"``.
    **options
        Fields of :class:`ByteTrack` or :class:`Sort` (thresholds,
        ``lost_track_buffer``...); not accepted with other specs.

    Returns
    -------
    callable
        A factory, called once per video as ``factory(fps=...)`` (the
        video's frames per second, or None), returning a tracker with
        ``update(boxes (N, 4) xyxy float, scores (N,)) -> ids (N,) int``
        (see :func:`extract_people`).

    Raises
    ------
    ImportError
        For ``'bytetrack'`` or ``'sort'`` without the ``trackers`` package.
    ValueError
        For an unknown spec, a bad import spec, or ``options`` with a spec
        other than the built-ins.
    """
    if spec in TRACKER_SPECS:
        require_trackers()
        return (ByteTrack if spec == "bytetrack" else Sort)(**options)
    if options:
        raise ValueError(f"tracker {spec!r}: options {sorted(options)} are for 'bytetrack' or 'sort' only")
    if callable(spec) and not isinstance(spec, str):
        return spec
    if is_import_spec(spec):
        return resolve_import_spec(spec, "tracker")
    raise ValueError(f"tracker {spec!r}: give 'bytetrack', 'sort' or 'package.module:callable'")


def new_tracker(factory, fps: float | None, video: str):
    """The factory's tracker for one video, refused unless it has an ``update`` method."""
    try:
        tracker = factory(fps=fps)
    except (ImportError, ValueError):
        raise
    except Exception as exc:  # the user's factory: say which video it failed for
        raise ValueError(f"video {video!r}: the tracker factory failed ({type(exc).__name__}: {exc})") from exc
    if not callable(getattr(tracker, "update", None)):
        raise ValueError(f"video {video!r}: the tracker factory returned a {type(tracker).__name__} without an "
                         "update(boxes, scores) method")
    return tracker


def checked_track_ids(output, n_boxes: int, video: str, frame: int) -> np.ndarray:
    """A tracker's ids for ``n_boxes`` boxes, refused unless ``(n_boxes,)`` integers >= -1, distinct when >= 0."""
    where = f"video {video!r}, frame {frame}"
    ids = np.asarray(output)
    if ids.shape != (n_boxes,):
        raise ValueError(f"{where}: the tracker returned shape {ids.shape} for {n_boxes} boxes; the protocol is "
                         "update(boxes (N, 4), scores (N,)) -> ids (N,)")
    if n_boxes == 0:
        return np.zeros(0, dtype=np.int64)
    if ids.dtype.kind not in "iu" and not (ids.dtype.kind == "f" and np.isfinite(ids).all()
                                           and (ids == np.round(ids)).all()):
        raise ValueError(f"{where}: the tracker returned ids that are not integers ({ids.dtype})")
    ids = ids.astype(np.int64)
    if (ids < -1).any():
        raise ValueError(f"{where}: the tracker returned id {ids[ids < -1][0]}; ids are >= 0, or -1 for untracked")
    tracked = ids[ids >= 0]
    if len(np.unique(tracked)) != len(tracked):
        values, counts = np.unique(tracked, return_counts=True)
        raise ValueError(f"{where}: the tracker gave id {values[counts > 1][0]} to two boxes of one frame")
    return ids
