"""Snippet features computed from person tracks.

:class:`TrackSnippetFeatures` turns the person tracks of a :class:`~unsupvad.VideoSet`
(boxes, or keypoints reduced to their bounding box) into one feature vector per
snippet, so that the snippet-feature models (``FeatureAE``, ``MIL``, ``RTFM``)
and :class:`~unsupvad.InterleavedVAD` can run on tracks alone: basic motion
statistics (``_basic``), how unusual the motion is for the camera and the image
location (``_scene``), and trajectory shape and interaction (``_shape``), all
from the per-row kinematics of ``_rows``.
"""

from ._basic import BASIC_FEATURE_NAMES
from ._scene import SCENE_FEATURE_NAMES
from ._shape import SHAPE_FEATURE_NAMES
from ._transformer import TrackSnippetFeatures

FEATURE_NAMES = BASIC_FEATURE_NAMES
"""The 16 basic features (``feature_set='basic'``), in order."""
FULL_FEATURE_NAMES = BASIC_FEATURE_NAMES + SCENE_FEATURE_NAMES + SHAPE_FEATURE_NAMES
"""The 31 features of ``feature_set='full'`` (the default) before their ``_context`` copies, in order."""

__all__ = ["BASIC_FEATURE_NAMES", "FEATURE_NAMES", "FULL_FEATURE_NAMES", "SCENE_FEATURE_NAMES",
           "SHAPE_FEATURE_NAMES", "TrackSnippetFeatures"]
