"""Feature extractors: loading one from a TorchScript file or an import spec, and a tiny untrained one for tests."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..models._base import torch_seeded
from ._specs import build_from_import_spec, is_import_spec

TINY_SPEC = "tiny"


class TinyClipNet(nn.Module):
    """A tiny, **untrained** 3-D convolutional network: a stand-in feature extractor for tests and quick runs.

    Its weights are random (drawn from ``seed``), so its features mean
    nothing: use it to check that a pipeline runs end to end, never to
    detect anomalies. Two 3-D convolutions (stride 2) and a global average
    pool, then a linear map to ``n_features``.

    Parameters
    ----------
    n_features : int, default=32
        Size ``D`` of the feature of one clip.
    seed : int, default=0
        Seed of the random weights (the same seed gives the same network).

    Examples
    --------
    >>> import torch
    >>> TinyClipNet(n_features=8)(torch.zeros(2, 3, 16, 32, 32)).shape
    torch.Size([2, 8])
    """

    def __init__(self, n_features: int = 32, seed: int = 0):
        super().__init__()
        with torch_seeded(seed):
            self.body = nn.Sequential(
                nn.Conv3d(3, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
                nn.Conv3d(8, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool3d(1), nn.Flatten(),
            )
            self.head = nn.Linear(16, n_features)
        self.n_features = n_features

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Features ``(batch, n_features)`` of clips ``(batch, 3, L, H, W)``."""
        return self.head(self.body(clips))


def _load_torchscript(path: Path):
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"extractor {path}: not a TorchScript file torch.jit.load can read "
                         f"({' '.join(str(exc).split())[:300]})") from exc


def load_extractor(spec):
    """A feature extractor from a file path, an import spec or ``'tiny'``.

    Nothing is downloaded: the weights come from the file or from whatever
    the named callable loads. Both kinds of spec run code from where they
    point (a TorchScript file holds a program); load only what you trust.

    Parameters
    ----------
    spec : str or path
        * a path to a TorchScript file (``torch.jit.save``), loaded with
          ``torch.jit.load(map_location='cpu')``;
        * ``"package.module:callable"`` (the callable may be a dotted name
          inside the module): the module is imported and the callable is
          called without arguments; it must return an ``nn.Module`` or any
          callable that follows the extractor protocol
          (:func:`extract_features`);
        * ``"tiny"``: :class:`TinyClipNet` ``(n_features=32)``, untrained,
          for tests and trial runs.

    Returns
    -------
    callable
        The extractor; an ``nn.Module`` is put in eval mode.

    Raises
    ------
    FileNotFoundError
        When ``spec`` looks like a file path but no such file exists.
    ValueError
        When the file is not TorchScript, the module cannot be imported, the
        callable is missing or returns something that is not callable.
    """
    if isinstance(spec, str) and spec == TINY_SPEC:
        extractor = TinyClipNet()
    elif isinstance(spec, str) and not Path(spec).exists() and is_import_spec(spec):
        extractor = build_from_import_spec(spec, "extractor", "an nn.Module or a callable")
    else:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"extractor file not found: {path} (give a TorchScript file, "
                                    "'package.module:callable' or 'tiny')")
        extractor = _load_torchscript(path)
    if isinstance(extractor, nn.Module):
        extractor.eval()
    return extractor


def checked_features(output, n_clips: int, video: str) -> torch.Tensor:
    """The extractor's output for ``n_clips`` clips, refused unless it is a finite ``(n_clips, D)`` tensor."""
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"video {video!r}: the feature extractor returned a {type(output).__name__}, not a "
                         f"tensor of shape (batch, D)")
    if output.ndim != 2 or output.shape[0] != n_clips or output.shape[1] == 0:
        raise ValueError(f"video {video!r}: the feature extractor returned shape {tuple(output.shape)} for "
                         f"{n_clips} clips; the protocol is clips (batch, 3, L, S, S) -> features (batch, D)")
    if not output.is_floating_point() or not torch.isfinite(output).all():
        raise ValueError(f"video {video!r}: the feature extractor returned non-finite or non-float features")
    return output
