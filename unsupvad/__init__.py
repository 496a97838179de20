"""unsupvad: unsupervised video anomaly detection by interleaving one-class and weakly-supervised models."""

import logging

from ._health import DegenerateLoopWarning
from ._interleaved import InterleavedVAD
from ._objects import Objects, track_windows
from ._video import Tracks, Video
from ._videoset import VideoSet
from .callbacks import Callback, FrameAUCMonitor
from .features import TrackSnippetFeatures
from .models import MIL, RTFM, STGNF, FeatureAE, Jigsaw
from .persistence import load_model, save_model

__version__ = "0.1.0.dev0"

# a library logs, the application decides where to (``logging.basicConfig(level="INFO")`` shows the fit's progress)
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Callback",
    "DegenerateLoopWarning",
    "FeatureAE",
    "FrameAUCMonitor",
    "InterleavedVAD",
    "Jigsaw",
    "MIL",
    "Objects",
    "RTFM",
    "STGNF",
    "TrackSnippetFeatures",
    "Tracks",
    "Video",
    "VideoSet",
    "track_windows",
    "__version__",
    "load_model",
    "save_model",
]
