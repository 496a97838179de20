"""Person detectors: the protocol, loading one from a spec, checking its output, and a training-free motion detector."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._specs import build_from_import_spec, is_import_spec

MOTION_SPEC = "motion"
_BOX_COLUMNS = 5  # left, top, right, bottom, score
_MEDIAN_BAND_ROWS = 32  # rows of the background median computed at a time: bounds its temporary copy


class MotionDetector:
    """A training-free detector of moving things for a **static camera**: background subtraction.

    For each video, the background is the per-pixel median of its first
    frames (:meth:`start_video`); a pixel whose colour differs from it by
    more than ``threshold`` is foreground; a small morphological opening
    (removes specks) then closing (fills small holes) cleans the mask; every
    8-connected component of at least ``min_area`` pixels gives one box.

    It knows nothing of people: anything that moves or was not in the
    background is a box, two people walking close together are one box, a
    person who stands still through the first frames is part of the
    background, and lighting changes or camera motion make false boxes.
    Use it for trial runs and static scenes; bring a learned detector for
    real footage (:doc:`/video`). It is deterministic.

    Parameters
    ----------
    n_background : int, default=50
        Frames whose per-pixel median is the background. Memory holds them
        (``n_background * H * W * 3`` bytes: 311 MB at 1080p for 50).
    background_step : int, default=2
        Take every ``background_step``-th frame for the background, so the
        default spans the first 100 frames (4 s at 25 fps): a person must
        cover a pixel in fewer than half of them to leave the background.
    threshold : int, default=40
        Foreground: the largest absolute difference over the three RGB
        channels (0-255) above this.
    opening : int, default=1
        Radius of the square opening (a ``2r + 1`` square; 0: none).
    closing : int, default=2
        Radius of the square closing (0: none). Larger values join a
        person's parts, and also nearby people.
    min_area : int, default=100
        Smallest component, in pixels, that gives a box.

    Attributes
    ----------
    background : ndarray of shape (H, W, 3), uint8, or None
        The current video's background.

    Notes
    -----
    Each box is ``[left, top, right, bottom, score]`` in pixels with the
    right and bottom edges exclusive (a component of columns 10 to 29 has
    ``left=10, right=30``: width 20 pixels). The score is the share of the
    box that is foreground, in (0, 1]: a solid blob scores near 1, a person
    about 0.5. It is not a calibrated probability.
    """

    def __init__(self, n_background: int = 50, background_step: int = 2, threshold: int = 40, opening: int = 1,
                 closing: int = 2, min_area: int = 100):
        for name, value, low in (("n_background", n_background, 1), ("background_step", background_step, 1),
                                 ("threshold", threshold, 0), ("opening", opening, 0), ("closing", closing, 0),
                                 ("min_area", min_area, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"MotionDetector: {name} must be an integer >= {low}, got {value!r}")
        self.n_background = int(n_background)
        self.background_step = int(background_step)
        self.threshold = int(threshold)
        self.opening = int(opening)
        self.closing = int(closing)
        self.min_area = int(min_area)
        self.background = None
        self._last = None  # (frames, masks) of the last call, for SilhouettePose

    def __repr__(self) -> str:
        return (f"MotionDetector(n_background={self.n_background}, background_step={self.background_step}, "
                f"threshold={self.threshold}, opening={self.opening}, closing={self.closing}, "
                f"min_area={self.min_area})")

    def start_video(self, path) -> None:
        """Forget the last video and take the background of this one from its first frames (decoded again)."""
        from ._decode import VideoReader

        self.background, self._last = None, None
        wanted = self.n_background * self.background_step
        kept, seen = [], 0
        with VideoReader(path) as reader:
            for chunk in reader.chunks(min(wanted, 256)):
                kept.append(chunk[(-seen) % self.background_step :: self.background_step])
                seen += len(chunk)
                if seen >= wanted:
                    break
        if seen:
            self.set_background(np.concatenate(kept)[: self.n_background])

    def set_background(self, frames) -> None:
        """Set the background to the per-pixel median of ``frames`` ``(n, H, W, 3)`` uint8 (all of them)."""
        frames = _checked_frames(frames, "set_background")
        median = np.empty(frames.shape[1:], dtype=np.uint8)
        for top in range(0, frames.shape[1], _MEDIAN_BAND_ROWS):
            band = frames[:, top : top + _MEDIAN_BAND_ROWS]
            median[top : top + _MEDIAN_BAND_ROWS] = np.round(np.median(band, axis=0)).astype(np.uint8)
        self.background, self._last = median, None

    def foreground(self, frames) -> np.ndarray:
        """The cleaned foreground masks ``(B, H, W)`` bool of frames ``(B, H, W, 3)`` uint8.

        Without a background (no :meth:`start_video` or
        :meth:`set_background` yet), it is taken from these frames: every
        ``background_step``-th of the first ``n_background * background_step``.
        """
        frames = _checked_frames(frames, "MotionDetector")
        if self.background is None:
            self.set_background(frames[: self.n_background * self.background_step : self.background_step])
        if frames.shape[1:] != self.background.shape:
            raise ValueError(f"MotionDetector: frames of size {frames.shape[2]}x{frames.shape[1]}, but the "
                             f"background is {self.background.shape[1]}x{self.background.shape[0]}: call "
                             "start_video(path) for every new video")
        masks = np.stack([self._mask(frame) for frame in frames])
        self._last = (frames, masks)
        return masks

    def _mask(self, frame: np.ndarray) -> np.ndarray:
        difference = np.abs(frame.astype(np.int16) - self.background.astype(np.int16)).max(axis=2)
        mask = difference > self.threshold
        if self.opening:
            mask = ndimage.binary_opening(mask, structure=_square(self.opening))
        if self.closing:
            # padded, because scipy's closing erodes from a background border and would shave objects at the edge
            r = self.closing
            padded = ndimage.binary_closing(np.pad(mask, r, mode="edge"), structure=_square(r))
            mask = padded[r:-r, r:-r]
        return mask

    def mask_of(self, frame: np.ndarray) -> np.ndarray:
        """The foreground mask ``(H, W)`` of one frame: the last call's when ``frame`` is one of its frames."""
        if self._last is not None:
            frames, masks = self._last
            index = _row_of(frames, frame)
            if index is not None:
                return masks[index]
        return self.foreground(np.asarray(frame)[None])[0]

    def __call__(self, frames) -> list[np.ndarray]:
        """Boxes ``(N, 5)`` ``[left, top, right, bottom, score]`` of every frame of ``(B, H, W, 3)`` uint8."""
        return [self._boxes(mask) for mask in self.foreground(frames)]

    def _boxes(self, mask: np.ndarray) -> np.ndarray:
        labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
        if n == 0:
            return np.zeros((0, _BOX_COLUMNS))
        areas = np.bincount(labels.ravel(), minlength=n + 1)
        boxes = []
        for label, found in enumerate(ndimage.find_objects(labels), start=1):
            if found is None or areas[label] < self.min_area:
                continue
            rows, cols = found
            box_area = (rows.stop - rows.start) * (cols.stop - cols.start)
            boxes.append([cols.start, rows.start, cols.stop, rows.stop, areas[label] / box_area])
        return np.array(boxes, dtype=np.float64).reshape(-1, _BOX_COLUMNS)


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)


def _row_of(frames: np.ndarray, frame) -> int | None:
    """Which row of ``frames`` the array ``frame`` is (the same memory, not equal values), None if none."""
    if not isinstance(frame, np.ndarray) or frame.shape != frames.shape[1:] or frame.strides != frames.strides[1:]:
        return None
    offset = frame.ctypes.data - frames.ctypes.data
    step = frames.strides[0]
    if step <= 0 or offset % step or not 0 <= offset // step < len(frames):
        return None
    return offset // step


def _checked_frames(frames, who: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"{who}: frames must be a non-empty uint8 array (B, H, W, 3), got {frames.dtype} "
                         f"{frames.shape}")
    return frames


def load_detector(spec):
    """A person detector from ``'motion'`` or an import spec.

    Parameters
    ----------
    spec : str or callable
        * ``"motion"``: :class:`MotionDetector` with its defaults, training
          free, for a static camera;
        * ``"package.module:callable"``: the module is imported and the
          callable is called without arguments; it must return a detector
          (see :func:`extract_people` for the protocol). This runs code
          from where the spec points: load only what you trust;
        * a detector (any callable) is returned as it is.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        When the spec is neither, the module cannot be imported, or the
        callable is missing or returns something that is not callable.
    """
    if callable(spec) and not isinstance(spec, str):
        return spec
    if spec == MOTION_SPEC:
        return MotionDetector()
    if is_import_spec(spec):
        return build_from_import_spec(spec, "detector")
    raise ValueError(f"detector {spec!r}: give 'motion' or 'package.module:callable'")


def checked_detections(output, frames: np.ndarray, video: str, first_frame: int) -> list[np.ndarray]:
    """A detector's output for ``frames``, refused unless it is one finite ``(N, 5)`` array per frame inside it.

    ``first_frame`` is the 0-based index of ``frames[0]`` in the video, so
    that an error names the frame.
    """
    if not isinstance(output, (list, tuple)) or len(output) != len(frames):
        size = len(output) if isinstance(output, (list, tuple)) else type(output).__name__
        raise ValueError(f"video {video!r}, frames {first_frame}-{first_frame + len(frames) - 1}: the detector "
                         f"returned {size} for {len(frames)} frames; the protocol is frames (B, H, W, 3) -> a "
                         "list of B arrays (N, 5) [left, top, right, bottom, score]")
    height, width = frames.shape[1:3]
    return [_checked_boxes(boxes, width, height, f"video {video!r}, frame {first_frame + i}")
            for i, boxes in enumerate(output)]


def _checked_boxes(boxes, width: int, height: int, where: str) -> np.ndarray:
    try:
        boxes = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: the detector returned boxes that are not numbers ({exc})") from None
    if boxes.size == 0 and boxes.ndim <= 2:
        return np.zeros((0, _BOX_COLUMNS))
    if boxes.ndim != 2 or boxes.shape[1] != _BOX_COLUMNS:
        raise ValueError(f"{where}: the detector returned shape {boxes.shape}; each frame needs (N, 5) "
                         "[left, top, right, bottom, score] in pixels")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{where}: the detector returned NaN or infinite values")
    left, top, right, bottom, score = boxes.T
    bad = (left < 0) | (top < 0) | (right > width) | (bottom > height) | (right <= left) | (bottom <= top)
    if bad.any():
        box = boxes[np.flatnonzero(bad)[0], :4].tolist()
        raise ValueError(f"{where}: box {box} is empty or outside the {width}x{height} frame (boxes are "
                         "[left, top, right, bottom] with 0 <= left < right <= width, 0 <= top < bottom <= height; "
                         "clip them to the frame in the detector)")
    if ((score < 0) | (score > 1)).any():
        raise ValueError(f"{where}: detection score {score[(score < 0) | (score > 1)][0]:g} is outside [0, 1]")
    return boxes
