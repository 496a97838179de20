"""Raw video in: decode video files and write their snippet features in the RTFM layout.

Needs the ``video`` extra, PyAV (``pip install "unsupvad[video]"``). The
package imports without it; decoding and writing videos then raise an
ImportError that says how to install it.

* decoding (``_decode``): :class:`VideoReader`, :func:`iter_frame_chunks`,
  :func:`read_frames`, :func:`read_video_info`, and :func:`write_video` for
  generated videos;
* the I3D preprocessing recipe (``_recipe``): :func:`snippet_frame_indices`,
  :func:`frames_to_tensor`, :func:`resize_shorter_side`, :func:`normalize`,
  :func:`crop_origins`, :func:`crop_clips`, chained by :class:`I3DRecipe`;
* feature extractors (``_extractors``): :func:`load_extractor` and the
  untrained :class:`TinyClipNet`;
* the loop (``_extract``): :func:`extract_features`, resumable, and
  :func:`write_video_table` (``_files``) for the ``--frames`` table.

See :doc:`/video` for the recipe, the extractor protocol and the command
``unsupvad extract``.
"""

from ._decode import (
    INSTALL_HINT,
    VideoFileInfo,
    VideoReader,
    iter_frame_chunks,
    read_frames,
    read_video_info,
    write_video,
)
from ._extract import ExtractedVideo, extract_features
from ._extractors import TinyClipNet, load_extractor
from ._files import VIDEO_SUFFIXES, feature_path, list_videos, write_video_table
from ._recipe import (
    CROP_NAMES,
    KINETICS_MEAN,
    KINETICS_STD,
    I3DRecipe,
    crop_clips,
    crop_origins,
    frames_to_tensor,
    normalize,
    resize_shorter_side,
    resized_size,
    snippet_frame_indices,
)

__all__ = [
    "CROP_NAMES",
    "INSTALL_HINT",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "VIDEO_SUFFIXES",
    "ExtractedVideo",
    "I3DRecipe",
    "TinyClipNet",
    "VideoFileInfo",
    "VideoReader",
    "crop_clips",
    "crop_origins",
    "extract_features",
    "feature_path",
    "frames_to_tensor",
    "iter_frame_chunks",
    "list_videos",
    "load_extractor",
    "normalize",
    "read_frames",
    "read_video_info",
    "resize_shorter_side",
    "resized_size",
    "snippet_frame_indices",
    "write_video",
    "write_video_table",
]
