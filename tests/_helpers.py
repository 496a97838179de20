"""Small builders shared by the test modules."""

import numpy as np
import torch

from unsupvad import Video, VideoSet
from unsupvad.models._stgnf_network import WeightedBatchNorm2d


def random_feature_videos(lengths, d=6, crops=None, seed=0):
    """Videos of ``lengths`` snippets with random features ``(T, d)`` or ``(T, crops, d)``, 16 T frames each."""
    rng = np.random.default_rng(seed)
    videos = []
    for i, t in enumerate(lengths):
        shape = (t, d) if crops is None else (t, crops, d)
        videos.append(Video(f"v{i}", 16 * t, features=rng.normal(size=shape).astype(np.float32)))
    return VideoSet(videos)


def random_snippet_labels(X, seed=0):
    """About 30 % of snippets labelled 1, with both classes guaranteed by the first two."""
    y = (np.random.default_rng(seed).random(len(X)) < 0.3).astype(int)
    y[:2] = [0, 1]
    return y


def write_mot(video, path):
    """A video's box tracks as a MOTChallenge file (1-based frames)."""
    tracks = video.tracks
    rows = [f"{f + 1},{k},{x:.3f},{y:.3f},{w:.3f},{h:.3f},1,-1,-1,-1"
            for f, k, (x, y, w, h) in zip(tracks.frame, tracks.track_id, tracks.boxes)]
    path.write_text("\n".join(rows) + "\n")


def perturbed(module: torch.nn.Module, seed: int = 0, scale: float = 0.3) -> torch.nn.Module:
    """Random parameters (``scale`` x N(0, 1) added) and BN statistics, so that no unit sits at its initial state."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))
        for m in module.modules():
            if isinstance(m, WeightedBatchNorm2d):
                m.running_mean.normal_(0, 0.3, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
    return module
