"""Video files through PyAV: RGB frames decoded in bounded chunks, frame counts, and generated videos written."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

INSTALL_HINT = 'pip install "unsupvad[video]"'
_LOSSLESS_RGB_FORMATS = ("rgb24", "bgr0", "bgr24")


def require_av():
    """The ``av`` module (PyAV); an ImportError that says how to install it when it is missing."""
    try:
        import av
    except ImportError as exc:
        raise ImportError(f"reading and writing video files needs PyAV (the 'av' package), which is not "
                          f"installed: {INSTALL_HINT}") from exc
    return av


@dataclass(frozen=True)
class VideoFileInfo:
    """What decoding a video file tells about it.

    Attributes
    ----------
    path : Path
        The video file.
    n_frames : int
        Number of frames decoded (the true frame count, not the container's
        claim).
    width, height : int
        Frame size in pixels.
    fps : float or None
        Frames per second (the stream's average rate), None when the file
        does not say.
    """

    path: Path
    n_frames: int
    width: int
    height: int
    fps: float | None

    @property
    def name(self) -> str:
        """The video name: the file name without its suffix."""
        return self.path.stem


def _unreadable(path: Path, exc: Exception) -> ValueError:
    reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
    return ValueError(f"{path}: cannot read the video (FFmpeg: {reason})")


def _stream_fps(stream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


class VideoReader:
    """One video file open for decoding; use it as a context manager.

    Parameters
    ----------
    path : path
        A video file PyAV (FFmpeg) can read. Its first video stream is
        decoded.

    Attributes
    ----------
    width, height : int
        The frame size every decoded frame is converted to (the stream's).
    fps : float or None
        Frames per second.

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        When FFmpeg cannot read the file or it holds no video stream.
    """

    def __init__(self, path):
        self.path = Path(path)
        av = require_av()
        if not self.path.is_file():
            raise FileNotFoundError(f"video file not found: {self.path}")
        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise _unreadable(self.path, exc) from exc
        if not self._container.streams.video:
            self._container.close()
            raise ValueError(f"{self.path}: the file holds no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.width = self._stream.codec_context.width
        self.height = self._stream.codec_context.height
        self.fps = _stream_fps(self._stream)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._container.close()

    @property
    def estimated_frames(self) -> int | None:
        """The frame count the container claims (for a progress bar only; decoding gives the true count)."""
        if self._stream.frames > 0:
            return int(self._stream.frames)
        if self._container.duration and self.fps:
            return max(1, round(self._container.duration / 1e6 * self.fps))
        return None

    def _decoded(self) -> Iterator:
        av = require_av()
        try:
            yield from self._container.decode(self._stream)
        except av.FFmpegError as exc:
            raise _unreadable(self.path, exc) from exc

    def chunks(self, chunk_frames: int) -> Iterator[np.ndarray]:
        """RGB frames, ``(n, height, width, 3)`` uint8, ``chunk_frames`` at a time (the last chunk may be shorter).

        Only one chunk is held in memory. Frames of another size than the
        stream's are scaled to it, so every chunk has the same frame shape.
        """
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
        chunk = []
        for frame in self._decoded():
            if not self.width:  # a stream that left its size to the first frame
                self.width, self.height = frame.width, frame.height
            chunk.append(frame.to_ndarray(format="rgb24", width=self.width, height=self.height))
            if len(chunk) == chunk_frames:
                yield np.stack(chunk)
                chunk = []
        if chunk:
            yield np.stack(chunk)

    def count_frames(self) -> int:
        """Decode every frame without converting it and count them."""
        return sum(1 for _ in self._decoded())


def claimed_frame_counts(paths) -> list[int | None]:
    """The frame count each container claims (None where it does not say); opening every file refuses a bad one."""
    counts = []
    for path in paths:
        with VideoReader(path) as reader:
            counts.append(reader.estimated_frames)
    return counts


def progress_bar(enabled: bool, total: int | None, desc: str, unit: str):
    """A tqdm bar on stderr over ``total`` of ``unit`` (None: an open count); a no-op bar when not ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr)


def iter_frame_chunks(path, chunk_frames: int = 128) -> Iterator[np.ndarray]:
    """Decode a video file into RGB uint8 frames, ``chunk_frames`` at a time.

    Parameters
    ----------
    path : path
        The video file.
    chunk_frames : int, default=128
        Frames per chunk; the last chunk holds the rest.

    Yields
    ------
    ndarray of shape (n, height, width, 3), uint8
        Consecutive frames; concatenated, the chunks equal :func:`read_frames`.
    """
    with VideoReader(path) as reader:
        yield from reader.chunks(chunk_frames)


def read_frames(path) -> np.ndarray:
    """Every frame of a video file, ``(n_frames, height, width, 3)`` RGB uint8 (small videos only).

    Raises
    ------
    ValueError
        When the file cannot be decoded or holds no frame.
    """
    chunks = list(iter_frame_chunks(path, 256))
    if not chunks:
        raise ValueError(f"{path}: the video holds no frame")
    return np.concatenate(chunks)


def read_video_info(path) -> VideoFileInfo:
    """Frame count, frame size and fps of a video file, the frame count by decoding every frame.

    Decoding without converting the frames is much faster than extracting
    features from them, but it does read the whole file: the count containers
    store is often missing or wrong, and the snippet grid needs the true one.

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        When the file cannot be decoded or holds no frame.
    """
    with VideoReader(path) as reader:
        n_frames = reader.count_frames()
        info = VideoFileInfo(reader.path, n_frames, reader.width, reader.height, reader.fps)
    if n_frames == 0:
        raise ValueError(f"{path}: the video holds no frame")
    return info


def _pixel_format(codec, pixel_format: str | None) -> str:
    if pixel_format is not None:
        return pixel_format
    supported = [f.name for f in codec.video_formats or ()]
    return next((f for f in _LOSSLESS_RGB_FORMATS if f in supported), supported[0] if supported else "yuv420p")


def write_video(path, frames, fps: float = 25.0, *, codec: str = "ffv1", pixel_format: str | None = None,
                options: dict | None = None) -> Path:
    """Write RGB frames to a video file with PyAV (generated test videos, examples).

    Parameters
    ----------
    path : path
        The file to write; its suffix picks the container (``.mkv``,
        ``.avi``, ``.mp4``...).
    frames : array-like of shape (n_frames, height, width, 3), uint8
        RGB frames.
    fps : float, default=25.0
        Frames per second.
    codec : str, default='ffv1'
        An FFmpeg encoder. The default, FFV1 in RGB, is lossless (the frames
        read back bit for bit, in ``.mkv`` or ``.avi``); ``'libx264'`` or
        ``'mpeg4'`` make small, lossy files.
    pixel_format : str, optional
        Default: an RGB format when the codec has one (lossless), else the
        codec's first format (``yuv420p``: width and height must be even).
    options : dict of str to str, optional
        Encoder options, e.g. ``{"crf": "18"}`` for libx264.

    Returns
    -------
    Path
        ``path``.
    """
    av = require_av()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty uint8 array of shape (n, height, width, 3), got "
                         f"{frames.dtype} {frames.shape}")
    path = Path(path)
    with contextlib.closing(av.open(str(path), mode="w")) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(100_000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = _pixel_format(stream.codec_context.codec, pixel_format)
        stream.options = dict(options or {})
        for array in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")))
        container.mux(stream.encode())
    return path
