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
  :func:`write_video_table` (``_files``) for the ``--frames`` table;
* person detection (``_detect``): :func:`load_detector` and the
  training-free :class:`MotionDetector` (background subtraction);
* tracking (``_track``, the ``tracking`` extra): :func:`load_tracker`,
  :class:`ByteTrack` and :class:`Sort` over Roboflow's ``trackers``;
* poses (``_pose``): :func:`load_pose` and the crude, training-free
  :class:`SilhouettePose`;
* person tracks and poses of videos (``_people``): :func:`extract_people`,
  resumable, writing with :func:`write_mot_file` and
  :func:`write_alphapose_json`;
* who was abnormal, where, on the footage (``_overlay``): :func:`write_overlay`
  draws scored boxes on a video's frames, with :func:`score_colours` and
  :func:`draw_boxes`;
* painted generated videos (``_paint``): :func:`paint_people` and
  :func:`write_painted_videos` draw generated skeletons as stick figures on
  :func:`scene_background`.

See :doc:`/video` for the recipe, the protocols and the command
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
from ._detect import MotionDetector, load_detector
from ._extract import ExtractedVideo, extract_features
from ._extractors import TinyClipNet, load_extractor
from ._files import VIDEO_SUFFIXES, feature_path, list_videos, write_video_table
from ._overlay import draw_boxes, score_colours, write_overlay
from ._paint import paint_people, scene_background, write_painted_videos
from ._people import (
    ExtractedPeople,
    extract_people,
    pose_path,
    track_path,
    write_alphapose_json,
    write_mot_file,
)
from ._pose import SilhouettePose, load_pose
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
from ._track import TRACKING_INSTALL_HINT, ByteTrack, Sort, load_tracker

__all__ = [
    "ByteTrack",
    "CROP_NAMES",
    "ExtractedPeople",
    "ExtractedVideo",
    "I3DRecipe",
    "INSTALL_HINT",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "MotionDetector",
    "SilhouettePose",
    "Sort",
    "TRACKING_INSTALL_HINT",
    "TinyClipNet",
    "VIDEO_SUFFIXES",
    "VideoFileInfo",
    "VideoReader",
    "crop_clips",
    "crop_origins",
    "draw_boxes",
    "extract_features",
    "extract_people",
    "feature_path",
    "frames_to_tensor",
    "iter_frame_chunks",
    "list_videos",
    "load_detector",
    "load_extractor",
    "load_pose",
    "load_tracker",
    "normalize",
    "paint_people",
    "pose_path",
    "read_frames",
    "read_video_info",
    "resize_shorter_side",
    "resized_size",
    "scene_background",
    "score_colours",
    "snippet_frame_indices",
    "track_path",
    "write_alphapose_json",
    "write_mot_file",
    "write_overlay",
    "write_painted_videos",
    "write_video",
    "write_video_table",
]
