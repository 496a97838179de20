"""unsupvad: unsupervised video anomaly detection by interleaving one-class and weakly-supervised models."""

from ._objects import Objects, track_windows
from ._video import Tracks, Video
from ._videoset import VideoSet

__version__ = "0.1.0.dev0"

__all__ = ["Objects", "Tracks", "Video", "VideoSet", "track_windows", "__version__"]
