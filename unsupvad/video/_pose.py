"""Keypoints of tracked people: the pose protocol, loading an estimator, checking its output, a silhouette stand-in."""

from __future__ import annotations

import numpy as np

from ..datasets._layouts import COCO17_JOINTS
from ._detect import MotionDetector
from ._specs import build_from_import_spec, is_import_spec

SILHOUETTE_SPEC = "silhouette"
N_JOINTS = len(COCO17_JOINTS)

# (fraction of the silhouette's height from its top, position across the row band's extent from its left edge).
# COCO's left is the person's left: for a person facing the camera, the right of the image.
_JOINT_PLACES = {
    "nose": (0.06, 0.5),
    "left_eye": (0.05, 0.62), "right_eye": (0.05, 0.38),
    "left_ear": (0.07, 0.85), "right_ear": (0.07, 0.15),
    "left_shoulder": (0.19, 0.9), "right_shoulder": (0.19, 0.1),
    "left_elbow": (0.33, 1.0), "right_elbow": (0.33, 0.0),
    "left_hip": (0.53, 0.7), "right_hip": (0.53, 0.3),
    "left_knee": (0.75, 0.75), "right_knee": (0.75, 0.25),
    "left_ankle": (0.97, 0.85), "right_ankle": (0.97, 0.15),
}
_ARM_BAND = (0.2, 0.55)  # the rows where the wrists are the widest extents of the silhouette
_WRIST_HEIGHT = 0.45  # where the wrists go in a box without a silhouette


class SilhouettePose:
    """A crude, **training-free stand-in** for a pose model: COCO-17 joints placed on a foreground silhouette.

    It is no pose estimator: it knows where a standing person's joints
    usually are, not where this person's are. Inside each box it takes the
    foreground mask of a :class:`MotionDetector` (the background
    subtraction), finds the silhouette's top and bottom rows, and places
    every joint at a fixed fraction of that height (nose at 6 %, shoulders
    19 %, elbows 33 %, hips 53 %, knees 75 %, ankles 97 %), across the
    silhouette's extent in a thin row band there (the head joints near its
    middle, shoulders and elbows at its edges); each wrist is the widest
    foreground pixel of the arm band (20-55 % of the height) on its side.
    Joints on the person's left are on the image's right (a person facing
    the camera). Use it, like the untrained
    :class:`TinyClipNet`, to try the pose pipeline end to end; bring a real
    pose model for anything else.

    Parameters
    ----------
    detector : MotionDetector, optional
        Whose background and masks to use: pass the detector of the same
        run so the masks are computed once. Default: a
        :class:`MotionDetector` of its own (with its defaults), which then
        needs :meth:`start_video` for every video.
    band : float, default=0.04
        Height of the row band around each joint, as a share of the
        silhouette's height (at least one row).
    radius : float, default=0.05
        A joint's confidence is 1 when the mask has a foreground pixel
        within ``radius`` times the silhouette's height (at least one
        pixel) of it, else 0.

    Notes
    -----
    A box without foreground gets its joints on the box's vertical centre
    line at the same fractions of the box height, all with confidence 0.
    Keypoints are pixel centres (``column + 0.5``), so they lie inside the
    box.
    """

    def __init__(self, detector: MotionDetector | None = None, band: float = 0.04, radius: float = 0.05):
        if detector is not None and not isinstance(detector, MotionDetector):
            raise TypeError(f"SilhouettePose needs a MotionDetector's masks, got a {type(detector).__name__}")
        if not 0 < band <= 1 or not 0 < radius <= 1:
            raise ValueError(f"SilhouettePose: band and radius must lie in (0, 1], got {band!r} and {radius!r}")
        self.detector = MotionDetector() if detector is None else detector
        self.band = band
        self.radius = radius

    def __repr__(self) -> str:
        return f"SilhouettePose(detector={self.detector!r}, band={self.band}, radius={self.radius})"

    def start_video(self, path) -> None:
        """Start a video: its detector's background from the video's first frames."""
        self.detector.start_video(path)

    def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Keypoints ``(N, 17, 3)`` ``[x, y, confidence]`` in pixels of the boxes ``(N, 4)`` xyxy of one frame."""
        mask = self.detector.mask_of(frame)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return np.stack([self._joints(mask, box) for box in boxes]) if len(boxes) else np.zeros((0, N_JOINTS, 3))

    def _joints(self, mask: np.ndarray, box: np.ndarray) -> np.ndarray:
        height, width = mask.shape
        left, top = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
        right, bottom = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        crop = mask[top:bottom, left:right]
        rows = np.flatnonzero(crop.any(axis=1)) if crop.size else np.zeros(0, dtype=np.int64)
        if len(rows) == 0:
            return _joints_without_silhouette(box)
        silhouette = crop[rows[0] : rows[-1] + 1]
        joints = _silhouette_joints(silhouette, self.band)
        joints[:, 2] = _confidences(silhouette, joints, max(1, round(self.radius * len(silhouette))))
        joints[:, 0] += left
        joints[:, 1] += top + rows[0]
        return joints


def _joints_without_silhouette(box: np.ndarray) -> np.ndarray:
    joints = np.zeros((N_JOINTS, 3))
    joints[:, 0] = (box[0] + box[2]) / 2
    fractions = np.array([_JOINT_PLACES[name][0] if name in _JOINT_PLACES else _WRIST_HEIGHT
                          for name in COCO17_JOINTS])
    joints[:, 1] = box[1] + fractions * (box[3] - box[1])
    return joints


def _band_extent(silhouette: np.ndarray, first: int, last: int) -> tuple[float, float] | None:
    """Pixel centres of the leftmost and rightmost foreground columns of rows ``first..last``, None if empty."""
    columns = np.flatnonzero(silhouette[first : last + 1].any(axis=0))
    if len(columns) == 0:
        return None
    return columns[0] + 0.5, columns[-1] + 0.5


def _silhouette_joints(silhouette: np.ndarray, band: float) -> np.ndarray:
    """Joints ``(17, 3)`` in the silhouette's coordinates (x from its box's left, y from its top row), confidence 0."""
    n_rows = len(silhouette)
    whole = _band_extent(silhouette, 0, n_rows - 1)
    half_band = max(0.5, band * n_rows / 2)
    joints = np.zeros((N_JOINTS, 3))
    for j, name in enumerate(COCO17_JOINTS):
        if name.endswith("wrist"):
            joints[j, :2] = _wrist(silhouette, name.startswith("left"), whole)
            continue
        fraction, across = _JOINT_PLACES[name]
        y = min(max(fraction * n_rows, 0.5), n_rows - 0.5)  # within the rows of pixel centres
        extent = _band_extent(silhouette, max(0, int(y - half_band)), min(n_rows - 1, int(y + half_band)))
        low, high = extent if extent is not None else whole
        joints[j, :2] = low + across * (high - low), y
    return joints


def _wrist(silhouette: np.ndarray, left: bool, whole: tuple[float, float]) -> tuple[float, float]:
    """The outermost foreground pixel of the arm band on one side, the mean row where it is foreground."""
    n_rows = len(silhouette)
    first, last = int(_ARM_BAND[0] * n_rows), max(int(_ARM_BAND[0] * n_rows), int(_ARM_BAND[1] * n_rows) - 1)
    band = silhouette[first : last + 1]
    columns = np.flatnonzero(band.any(axis=0))
    if len(columns) == 0:
        return (whole[1] if left else whole[0]), (first + last + 1) / 2
    column = columns[-1] if left else columns[0]
    return column + 0.5, first + np.flatnonzero(band[:, column]).mean() + 0.5


def _confidences(silhouette: np.ndarray, joints: np.ndarray, radius: int) -> np.ndarray:
    found = np.zeros(len(joints))
    for j, (x, y, _) in enumerate(joints):
        column, row = int(x), int(y)
        window = silhouette[max(0, row - radius) : row + radius + 1, max(0, column - radius) : column + radius + 1]
        found[j] = float(window.any())
    return found


def load_pose(spec, detector=None):
    """A keypoint estimator from ``'silhouette'`` or an import spec.

    Parameters
    ----------
    spec : str or callable
        * ``"silhouette"``: :class:`SilhouettePose`, a crude training-free
          stand-in for trial runs, not a pose model;
        * ``"package.module:callable"``: the module is imported and the
          callable is called without arguments; it must return an estimator
          (see :func:`extract_people` for the protocol). This runs code from
          where the spec points: load only what you trust;
        * an estimator (any callable) is returned as it is.
    detector : object, optional
        The run's detector: a :class:`MotionDetector` is shared with
        ``'silhouette'`` (its masks are reused); anything else is ignored
        and the silhouettes come from a motion detector of their own.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        When the spec is neither, or the import spec does not load.
    """
    if callable(spec) and not isinstance(spec, str):
        return spec
    if spec == SILHOUETTE_SPEC:
        return SilhouettePose(detector if isinstance(detector, MotionDetector) else None)
    if is_import_spec(spec):
        return build_from_import_spec(spec, "pose estimator")
    raise ValueError(f"pose estimator {spec!r}: give 'silhouette' or 'package.module:callable'")


def checked_keypoints(output, n_boxes: int, video: str, frame: int) -> np.ndarray:
    """A pose estimator's output for ``n_boxes`` boxes, refused unless it is finite ``(n_boxes, 17, 3)``."""
    where = f"video {video!r}, frame {frame}"
    try:
        keypoints = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: the pose estimator returned keypoints that are not numbers ({exc})") from None
    if keypoints.shape != (n_boxes, N_JOINTS, 3):
        raise ValueError(f"{where}: the pose estimator returned shape {keypoints.shape} for {n_boxes} boxes; the "
                         "protocol is pose(frame, boxes (N, 4)) -> (N, 17, 3) [x, y, confidence], COCO-17 order")
    if not np.isfinite(keypoints).all():
        raise ValueError(f"{where}: the pose estimator returned NaN or infinite keypoints")
    return keypoints
