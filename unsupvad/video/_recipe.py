"""The I3D preprocessing recipe, step by step: snippets of frames, resize, crops, normalisation.

Each step is a small pure function on arrays or tensors; :class:`I3DRecipe`
chains them with its constants, which are all parameters because a
checkpoint expects whatever it was trained with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .._video import DEFAULT_SNIPPET_LEN

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
CROP_NAMES = ("top_left", "top_right", "bottom_left", "bottom_right", "centre",
              "top_left_flipped", "top_right_flipped", "bottom_left_flipped", "bottom_right_flipped",
              "centre_flipped")
"""The 10 crops, in the order of the crop axis of the features. Crop 5 + i is crop i mirrored left to right."""
CROP_COUNTS = (1, 10)
RESIZE_GROUP = 8


def snippet_frame_indices(n_frames: int, snippet_len: int = DEFAULT_SNIPPET_LEN) -> np.ndarray:
    """The frames of every snippet, on the library's snippet grid.

    Snippet ``i`` takes frames ``snippet_len * i`` to ``snippet_len * i +
    snippet_len - 1``; a partial last snippet repeats the video's last frame
    to fill its ``snippet_len`` places.

    Parameters
    ----------
    n_frames : int
        Frames in the video, at least 1.
    snippet_len : int, default=16
        Frames per snippet.

    Returns
    -------
    ndarray of shape (ceil(n_frames / snippet_len), snippet_len), int64
        Frame indices, row ``i`` for snippet ``i``.
    """
    if n_frames < 1 or snippet_len < 1:
        raise ValueError(f"n_frames and snippet_len must be positive, got {n_frames} and {snippet_len}")
    n_snippets = math.ceil(n_frames / snippet_len)
    indices = np.arange(n_snippets * snippet_len, dtype=np.int64).reshape(n_snippets, snippet_len)
    return np.minimum(indices, n_frames - 1)


def frames_to_tensor(frames) -> torch.Tensor:
    """RGB uint8 frames ``(n, H, W, 3)`` as float32 ``(n, 3, H, W)`` scaled to [0, 1] (divided by 255)."""
    frames = torch.as_tensor(frames)
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 of shape (n, height, width, 3), got {frames.dtype} "
                         f"{tuple(frames.shape)}")
    return frames.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)


def resized_size(height: int, width: int, shorter_side: int) -> tuple[int, int]:
    """``(height, width)`` with the shorter side set to ``shorter_side``, the longer side rounded to keep the aspect.

    Parameters
    ----------
    height, width : int
        Frame size in pixels.
    shorter_side : int
        The new length of the shorter side (256 in the I3D recipe).

    Returns
    -------
    (int, int)
        E.g. ``(256, 455)`` for 1280 x 720 frames, ``(455, 256)`` for 720 x 1280.
    """
    if height <= width:
        return shorter_side, max(shorter_side, round(width * shorter_side / height))
    return max(shorter_side, round(height * shorter_side / width)), shorter_side


def resize_shorter_side(frames: torch.Tensor, shorter_side: int = 256) -> torch.Tensor:
    """Resize float frames ``(n, 3, H, W)`` so the shorter side is ``shorter_side``, keeping the aspect ratio.

    Bilinear interpolation (``torch.nn.functional.interpolate``,
    ``align_corners=False``) without antialiasing, so a large downscale
    samples rather than averages; frames already of that size are returned
    as they are.
    """
    size = resized_size(frames.shape[-2], frames.shape[-1], shorter_side)
    if size == tuple(frames.shape[-2:]):
        return frames
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False, antialias=False)


def normalize(frames: torch.Tensor, mean=KINETICS_MEAN, std=KINETICS_STD) -> torch.Tensor:
    """``(frames - mean) / std`` per channel, on ``(n, 3, H, W)`` frames in [0, 1].

    The defaults are the usual Kinetics I3D-ResNet50 constants; use the ones
    your checkpoint was trained with.
    """
    mean = torch.as_tensor(mean, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    std = torch.as_tensor(std, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    return (frames - mean) / std


def crop_origins(height: int, width: int, crop_size: int) -> list[tuple[int, int]]:
    """``(top, left)`` of the five crops: top-left, top-right, bottom-left, bottom-right, centre.

    The centre crop starts at ``((height - crop_size) // 2, (width - crop_size) // 2)``.
    """
    if crop_size > min(height, width):
        raise ValueError(f"a {crop_size} x {crop_size} crop does not fit in {width} x {height} frames")
    bottom, right = height - crop_size, width - crop_size
    return [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]


def crop_clips(clips: torch.Tensor, crop_size: int, n_crops: int = 10) -> torch.Tensor:
    """Crops of clips ``(..., H, W)``, stacked on a new crop axis before the last four: ``(..., n_crops, C, L, S, S)``.

    Parameters
    ----------
    clips : Tensor of shape (n, 3, L, H, W)
        Clips of frames.
    crop_size : int
        The crops' side ``S`` (224 in the I3D recipe).
    n_crops : {10, 1}
        10: the five crops of :func:`crop_origins` then each of them mirrored
        left to right (the order of :data:`CROP_NAMES`); 1: the centre crop.

    Returns
    -------
    Tensor of shape (n, n_crops, 3, L, S, S)
    """
    if n_crops not in CROP_COUNTS:
        raise ValueError(f"n_crops must be 10 or 1, got {n_crops!r}")
    origins = crop_origins(clips.shape[-2], clips.shape[-1], crop_size)
    if n_crops == 1:
        origins = origins[4:]
    crops = [clips[..., top : top + crop_size, left : left + crop_size] for top, left in origins]
    if n_crops == 10:
        crops += [crop.flip(-1) for crop in crops]
    return torch.stack(crops, dim=1)


@dataclass(frozen=True)
class I3DRecipe:
    """The preprocessing of frames into I3D clips; every constant is a parameter.

    Parameters
    ----------
    snippet_len : int, default=16
        Frames per snippet and per clip (:func:`snippet_frame_indices`).
    shorter_side : int, default=256
        Frames are resized so their shorter side has this length
        (:func:`resize_shorter_side`).
    crop_size : int, default=224
        Side of the square crops (:func:`crop_clips`), at most ``shorter_side``.
    mean, std : tuple of 3 floats, default=(0.45,) * 3 and (0.225,) * 3
        Per-channel normalisation of RGB in [0, 1] (:func:`normalize`): the
        common Kinetics I3D-ResNet50 constants. Match your checkpoint's.
    """

    snippet_len: int = DEFAULT_SNIPPET_LEN
    shorter_side: int = 256
    crop_size: int = 224
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD

    def __post_init__(self):
        for name in ("snippet_len", "shorter_side", "crop_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.crop_size > self.shorter_side:
            raise ValueError(f"crop_size {self.crop_size} is larger than shorter_side {self.shorter_side}")
        for name in ("mean", "std"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise ValueError(f"{name} must be 3 finite numbers (R, G, B), got {getattr(self, name)!r}")
            object.__setattr__(self, name, values)
        if min(self.std) <= 0:
            raise ValueError(f"std must be positive, got {self.std!r}")

    def resized_frames(self, frames) -> torch.Tensor:
        """Frames ``(n, H, W, 3)`` uint8, scaled, resized and normalised: ``(n, 3, h, w)`` float32."""
        return normalize(resize_shorter_side(frames_to_tensor(frames), self.shorter_side), self.mean, self.std)

    def clips(self, frames, n_crops: int = 10, device="cpu") -> torch.Tensor:
        """The clips of consecutive frames that start a snippet, ``(T, n_crops, 3, L, S, S)`` float32.

        Parameters
        ----------
        frames : ndarray of shape (n, H, W, 3), uint8
            RGB frames; the first one starts a snippet. ``n`` need not be a
            multiple of ``snippet_len``: the last snippet is padded with the
            last frame.
        n_crops : {10, 1}, default=10
        device : str or torch.device, default='cpu'
            Where the recipe runs.

        Returns
        -------
        Tensor of shape (ceil(n / L), n_crops, 3, L, S, S)
        """
        frames = torch.as_tensor(frames).to(device)  # uint8 crosses to the device, not float
        # a few frames at a time: a full-resolution float copy of every frame would dwarf the resized ones
        tensor = torch.cat([self.resized_frames(frames[start : start + RESIZE_GROUP])
                            for start in range(0, len(frames), RESIZE_GROUP)])
        indices = torch.from_numpy(snippet_frame_indices(len(tensor), self.snippet_len)).to(tensor.device)
        clips = tensor[indices].transpose(1, 2)  # (T, L, 3, h, w) -> (T, 3, L, h, w)
        return crop_clips(clips, self.crop_size, n_crops)
