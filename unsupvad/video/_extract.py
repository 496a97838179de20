"""The extraction loop: videos in, one RTFM feature file per video out, resumable."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._atomic import replaced_atomically
from ..models._base import resolve_device
from ._decode import VideoFileInfo, VideoReader, claimed_frame_counts, progress_bar, read_video_info
from ._extractors import checked_features, load_extractor
from ._files import feature_path, list_videos
from ._recipe import CROP_COUNTS, I3DRecipe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractedVideo:
    """One video's feature file, as :func:`extract_features` left it.

    Attributes
    ----------
    name : str
        The video name (the video file name without suffix).
    video : Path
        The video file.
    features : Path
        The feature file, ``<name>_i3d.npy``.
    n_frames : int
        Frames decoded from the video.
    width, height : int
        Frame size in pixels.
    fps : float or None
        Frames per second, when the file says.
    shape : tuple of int
        Shape of the features: ``(T, n_crops, D)`` or ``(T, D)``, with
        ``T = ceil(n_frames / snippet_len)``.
    resumed : bool
        True when the file was already there, complete, and was kept.
    """

    name: str
    video: Path
    features: Path
    n_frames: int
    width: int
    height: int
    fps: float | None
    shape: tuple[int, ...]
    resumed: bool


def _check_options(crops, batch_size) -> None:
    if crops not in CROP_COUNTS:
        raise ValueError(f"crops must be 10 (corners, centre and their mirror images) or 1 (centre), got {crops!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def _expected_prefix(n_frames: int, crops: int, recipe: I3DRecipe) -> tuple[int, ...]:
    n_snippets = math.ceil(n_frames / recipe.snippet_len)
    return (n_snippets, crops) if crops > 1 else (n_snippets,)


def _stored_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of a float32 ``.npy`` file, None when it is missing, unreadable or of another dtype."""
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return stored.shape if stored.dtype == np.float32 else None


def _finished_videos(paths, out_dir: Path, crops: int, recipe: I3DRecipe) -> dict[Path, tuple[VideoFileInfo, tuple]]:
    """The videos whose feature file is complete: the right T (from the decoded frame count) and crop axis."""
    finished = {}
    for path in paths:
        shape = _stored_shape(feature_path(path, out_dir))
        if shape is None:
            continue
        info = read_video_info(path)
        prefix = _expected_prefix(info.n_frames, crops, recipe)
        if len(shape) == len(prefix) + 1 and shape[:-1] == prefix and shape[-1] > 0:
            finished[path] = (info, shape)
    if len({shape[-1] for _, shape in finished.values()}) > 1:
        return {}  # files of different extractors: none can be trusted
    return finished


def _features_of_clips(extractor, clips: torch.Tensor, batch_size: int, name: str, n_features) -> np.ndarray:
    """Features ``(T, n_crops, D)`` of clips ``(T, n_crops, 3, L, S, S)``, ``batch_size`` clips per call."""
    flat = clips.flatten(0, 1)
    outputs = []
    for start in range(0, len(flat), batch_size):
        batch = flat[start : start + batch_size]
        try:
            output = extractor(batch)
        except RuntimeError as exc:  # a network built for other clips, or out of memory: say what it was given
            raise ValueError(f"video {name!r}: the feature extractor failed on clips of shape {tuple(batch.shape)}: "
                             f"{' '.join(str(exc).split())[:300]}") from exc
        output = checked_features(output, len(batch), name)
        if n_features is not None and output.shape[1] != n_features:
            raise ValueError(f"video {name!r}: the feature extractor returned D={output.shape[1]} features per "
                             f"clip, after D={n_features} before")
        n_features = output.shape[1]
        outputs.append(output.to("cpu", torch.float32))
    return torch.cat(outputs).reshape(clips.shape[0], clips.shape[1], -1).numpy()


def _extract_video(path: Path, extractor, recipe: I3DRecipe, crops: int, batch_size: int, device, bar,
                   n_features=None) -> tuple[np.ndarray, VideoFileInfo]:
    """Decode one video a chunk of whole snippets at a time and return its features and what decoding told."""
    snippets_per_chunk = max(1, math.ceil(batch_size / crops))
    parts, n_frames = [], 0
    with VideoReader(path) as reader, torch.inference_mode():
        bar.set_postfix(video=path.stem, refresh=False)
        for frames in reader.chunks(snippets_per_chunk * recipe.snippet_len):
            n_frames += len(frames)
            clips = recipe.clips(frames, crops, device)
            parts.append(_features_of_clips(extractor, clips, batch_size, path.stem, n_features))
            n_features = parts[-1].shape[-1]
            bar.update(len(clips))
        info = VideoFileInfo(reader.path, n_frames, reader.width, reader.height, reader.fps)
    if n_frames == 0:
        raise ValueError(f"{path}: the video holds no frame")
    features = np.concatenate(parts)
    return (features[:, 0] if crops == 1 else features), info


def _save(path: Path, features: np.ndarray) -> None:
    with replaced_atomically(path) as f:  # an interrupted run never leaves a truncated feature file
        np.save(f, np.ascontiguousarray(features, dtype=np.float32))


def _record(info: VideoFileInfo, out_dir: Path, shape, resumed: bool) -> ExtractedVideo:
    return ExtractedVideo(info.name, info.path, feature_path(info.path, out_dir), info.n_frames, info.width,
                          info.height, info.fps, tuple(int(s) for s in shape), resumed)


def _estimated_snippets(paths, snippet_len: int) -> int | None:
    """The snippets the containers claim (None when one does not say); opening every file refuses a bad one early."""
    estimates = claimed_frame_counts(paths)
    if None in estimates:
        return None
    return sum(math.ceil(frames / snippet_len) for frames in estimates)


@dataclass
class _Run:
    """What every video of one extraction shares, and the feature size the extractor turned out to give."""

    extractor: object
    recipe: I3DRecipe
    crops: int
    batch_size: int
    device: torch.device
    bar: object
    out_dir: Path
    n_features: int | None = None

    def extract(self, path: Path) -> ExtractedVideo:
        features, info = _extract_video(path, self.extractor, self.recipe, self.crops, self.batch_size,
                                        self.device, self.bar, self.n_features)
        self.n_features = features.shape[-1]
        record = _record(info, self.out_dir, features.shape, resumed=False)
        _save(record.features, features)
        logger.info("%s: %d frames, features %s written to %s", info.name, info.n_frames, features.shape,
                    record.features)
        return record


def _prepared_extractor(extractor, device: torch.device):
    if isinstance(extractor, (str, os.PathLike)):
        extractor = load_extractor(extractor)
    if not callable(extractor):
        raise TypeError(f"extractor must be callable (clips -> features) or a spec for load_extractor, got a "
                        f"{type(extractor).__name__}")
    if isinstance(extractor, nn.Module):
        extractor.to(device).eval()
    return extractor


def extract_features(videos, out_dir, extractor, *, crops: int = 10, batch_size: int = 20, device="cpu",
                     resume: bool = True, progress: bool = False, recipe: I3DRecipe | None = None
                     ) -> list[ExtractedVideo]:
    """Decode videos and write their snippet features in the RTFM layout, one ``<video>_i3d.npy`` per video.

    Every video is cut into snippets on the library's grid (snippet ``i``:
    frames ``16 i`` to ``16 i + 15``, the last snippet padded with the last
    frame), each snippet becomes ``crops`` clips by the ``recipe``, and the
    extractor turns the clips into features.

    Parameters
    ----------
    videos : path or sequence of paths
        Video files and folders of them (:func:`list_videos`).
    out_dir : path
        The folder for the feature files (created when missing).
    extractor : callable or str
        A *feature extractor*: any callable mapping a float32 tensor of clips
        ``(batch, 3, L, S, S)`` (``(batch, 3, 16, 224, 224)`` with the
        default recipe; normalised RGB, channels first, then time, height,
        width) to a float tensor of features ``(batch, D)``, the same ``D``
        for every batch. It is called under ``torch.inference_mode()`` with
        clips on ``device``; an ``nn.Module`` is moved there and put in eval
        mode first. For I3D, the features are the backbone's global average
        pool. A string is a spec for :func:`load_extractor`.
    crops : {10, 1}, default=10
        10: the corners, the centre and their mirror images
        (:data:`CROP_NAMES`), written as ``(T, 10, D)``; 1: the centre crop,
        written as ``(T, D)``.
    batch_size : int, default=20
        Clips per call of the extractor. Frames are decoded a chunk of
        ``ceil(batch_size / crops)`` snippets at a time, so memory holds one
        chunk (its frames and clips) and the features of one video.
    device : str or torch.device, default='cpu'
        Where the recipe and the extractor run (``'auto'``: CUDA when there
        is one).
    resume : bool, default=True
        Keep a feature file that is already there with the right shape:
        ``T = ceil(n_frames / snippet_len)`` of the decoded frame count (the
        video is decoded to count its frames), the crop axis, and one ``D``
        shared by every kept file and by the extractor's output. Any other
        file is extracted again.
    progress : bool, default=False
        A tqdm bar over snippets on stderr.
    recipe : I3DRecipe, optional
        The preprocessing; default ``I3DRecipe()``: 16 frames, shorter side
        256, 224 x 224 crops, mean 0.45 and std 0.225 per channel.

    Returns
    -------
    list of ExtractedVideo
        One per video, in order, with its frame count, size and fps
        (:func:`write_video_table` writes them as the ``--frames`` table).

    Raises
    ------
    FileNotFoundError
        When a video is missing.
    ValueError
        When a video cannot be decoded or holds no frame, two videos share a
        name, or the extractor's output is not a finite ``(batch, D)`` tensor.

    Notes
    -----
    Each file is written to a temporary name in ``out_dir`` and moved onto
    ``<video>_i3d.npy`` when complete, so an interrupted run leaves only
    complete files, which a resumed run keeps. Read them back with the true
    frame counts: ``read_rtfm_features(out_dir, n_frames={r.name: r.n_frames
    for r in records})``.
    """
    _check_options(crops, batch_size)
    recipe = I3DRecipe() if recipe is None else recipe
    device = resolve_device(device)
    extractor = _prepared_extractor(extractor, device)
    paths = list_videos(videos)
    out_dir = Path(out_dir)
    finished = _finished_videos(paths, out_dir, crops, recipe) if resume else {}
    todo = [p for p in paths if p not in finished]
    total = _estimated_snippets(todo, recipe.snippet_len)
    out_dir.mkdir(parents=True, exist_ok=True)
    records: dict[Path, ExtractedVideo] = {}
    with progress_bar(progress and bool(todo), total, "extract", "snippet") as bar:
        run = _Run(extractor, recipe, crops, batch_size, device, bar, out_dir)
        for path in todo:
            records[path] = run.extract(path)
        for path, (info, shape) in finished.items():
            if run.n_features is not None and shape[-1] != run.n_features:  # written by another extractor
                records[path] = run.extract(path)
            else:
                records[path] = _record(info, out_dir, shape, resumed=True)
                logger.info("%s: complete features %s kept (resume)", info.name, shape)
    return [records[p] for p in paths]
