"""Dataset readers and generators: RTFM features, STG-NF poses, MOTChallenge tracks, ground truth."""

from ._folders import read_videos
from ._groundtruth import attach_labels, read_frame_masks, read_rtfm_gt
from ._layouts import coco17_to_openpose18
from ._mot import load_tracks_benchmark, read_mot_tracks, scene_prefix
from ._pose import load_official_layout, read_alphapose_json
from ._rtfm import read_rtfm_features
from ._synthetic import make_synthetic_videos
from ._video_table import VideoInfo, read_video_table

__all__ = [
    "VideoInfo",
    "attach_labels",
    "coco17_to_openpose18",
    "load_official_layout",
    "load_tracks_benchmark",
    "make_synthetic_videos",
    "read_alphapose_json",
    "read_frame_masks",
    "read_mot_tracks",
    "read_rtfm_features",
    "read_rtfm_gt",
    "read_video_table",
    "read_videos",
    "scene_prefix",
]
