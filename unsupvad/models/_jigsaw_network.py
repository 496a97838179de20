"""The Jigsaw network: a small 3-D convolutional net solving a cube's temporal and spatial puzzles, and its training.

A cube is ``(T, S, S)`` grey frames (:mod:`._cubes`). For training, its frames
are put in a random order and its ``grid x grid`` tiles in another random
order (the same in every frame); the network predicts, for each frame
position, which original frame is there (a T-way choice) and, for each tile
position, which original tile (a grid²-way choice). The permutations are
drawn from torch's global generator, which the estimator seeds per epoch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ._base import InterruptibleNet


# ---------------------------------------------------------------------- puzzles
def random_orders(n: int, size: int) -> torch.Tensor:
    """``n`` random permutations of ``range(size)``, ``(n, size)`` int64, from torch's global CPU generator."""
    return torch.argsort(torch.rand(n, size), dim=1)


def to_tiles(cubes: torch.Tensor, grid: int) -> torch.Tensor:
    """``(N, T, grid * tile, grid * tile)`` -> ``(N, T, grid², tile, tile)``, tiles in row-major order."""
    n, t, side, _ = cubes.shape
    tile = side // grid
    tiles = cubes.reshape(n, t, grid, tile, grid, tile).permute(0, 1, 2, 4, 3, 5)
    return tiles.reshape(n, t, grid * grid, tile, tile)


def from_tiles(tiles: torch.Tensor, grid: int) -> torch.Tensor:
    """The inverse of :func:`to_tiles`."""
    n, t, _, tile, _ = tiles.shape
    cubes = tiles.reshape(n, t, grid, grid, tile, tile).permute(0, 1, 2, 4, 3, 5)
    return cubes.reshape(n, t, grid * tile, grid * tile)


def shuffle_cubes(cubes: torch.Tensor, frame_order: torch.Tensor, tile_order: torch.Tensor,
                  grid: int) -> torch.Tensor:
    """Cubes whose frame at position t is original frame ``frame_order[:, t]`` and tile at p is ``tile_order[:, p]``.

    ``cubes`` is ``(N, T, grid * tile, grid * tile)``; the tile order is the
    same in every frame. ``frame_order`` and ``tile_order`` are the targets
    the network learns to predict.
    """
    rows = torch.arange(len(cubes), device=cubes.device)[:, None]
    frames = cubes[rows, frame_order.to(cubes.device)]
    tiles = to_tiles(frames, grid)
    tiles = tiles[rows, :, tile_order.to(cubes.device)].transpose(1, 2)
    return from_tiles(tiles, grid)


def unshuffle_cubes(shuffled: torch.Tensor, frame_order: torch.Tensor, tile_order: torch.Tensor,
                    grid: int) -> torch.Tensor:
    """The inverse of :func:`shuffle_cubes` (given the same orders)."""
    rows = torch.arange(len(shuffled), device=shuffled.device)[:, None]
    tiles = to_tiles(shuffled, grid)
    inverse_tiles = torch.argsort(tile_order.to(shuffled.device), dim=1)
    tiles = tiles[rows, :, inverse_tiles].transpose(1, 2)
    frames = from_tiles(tiles, grid)
    return frames[rows, torch.argsort(frame_order.to(shuffled.device), dim=1)]


def network_input(cubes: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """uint8 cubes ``(N, T, s, s)`` -> ``(N, 1, T, s, s)`` in [-1, 1]."""
    return (cubes.to(dtype) / 127.5 - 1.0).unsqueeze(1)


class PuzzleDataset(torch.utils.data.Dataset):
    """Training cubes shuffled afresh each time they are fetched, a whole batch at a time.

    ``dataset[indices]`` returns ``({"x", "sample_weight", "frame_order",
    "tile_order", "temporal"}, None)`` on the cubes' device: each cube gets
    one puzzle (:func:`decoupled_puzzles`), a random order of its frames or of
    its tiles (the other order stays the identity), drawn with
    :func:`random_orders`, so a seeded epoch shuffles the same way every time.

    Parameters
    ----------
    cubes : Tensor of shape (N, T, grid * tile, grid * tile), uint8
    weight : Tensor of shape (N,)
        The objects' ``1 - w``.
    grid : int
    """

    def __init__(self, cubes: torch.Tensor, weight: torch.Tensor, grid: int):
        self.cubes = cubes
        self.weight = weight
        self.grid = grid

    def __len__(self) -> int:
        return len(self.cubes)

    def __getitem__(self, index):
        index = torch.as_tensor(index).reshape(-1)
        cubes = self.cubes[index.to(self.cubes.device)]
        n, n_frames = len(index), cubes.shape[1]
        temporal = decoupled_puzzles(n)
        frame_order = torch.where(temporal[:, None], random_orders(n, n_frames), torch.arange(n_frames))
        n_tiles = self.grid * self.grid
        tile_order = torch.where(temporal[:, None], torch.arange(n_tiles), random_orders(n, n_tiles))
        x = network_input(shuffle_cubes(cubes, frame_order, tile_order, self.grid))
        device = self.weight.device
        return {"x": x.to(device), "sample_weight": self.weight[index.to(device)],
                "frame_order": frame_order.to(device), "tile_order": tile_order.to(device),
                "temporal": temporal.to(device)}, None


def decoupled_puzzles(n: int) -> torch.Tensor:
    """Which of ``n`` cubes get the temporal puzzle (True) rather than the spatial one: each with probability 1/2.

    Wang et al.'s puzzles are *decoupled*: a cube is shuffled either in time
    or in space, never both, and only the head of its puzzle is trained on
    it (the full joint permutation space would be far too large to learn).
    """
    return torch.rand(n) < 0.5


# ---------------------------------------------------------------------- network
def _norm(channels: int) -> nn.GroupNorm:
    """Per-sample normalisation (no batch statistics: an object's output never depends on its batch)."""
    return nn.GroupNorm(4 if channels % 4 == 0 else 1, channels)


def _unit(c_in: int, c_out: int, kernel, stride, padding) -> list[nn.Module]:
    return [nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding), _norm(c_out), nn.ReLU()]


def feature_side(side: int, n_stages: int) -> int:
    """Spatial size after the stem (/4) and ``n_stages - 1`` stride-2 stages."""
    size = side // 4
    for _ in range(n_stages - 1):
        size = (size - 1) // 2 + 1
    return size


class JigsawModule(nn.Module):
    """A small 3-D convolutional network with a temporal and a spatial puzzle head.

    A stem of ``channels[0]`` filters of 3 x 4 x 4 with spatial stride 4,
    then, for every further width, a 1 x 3 x 3 spatial convolution of stride
    2 followed by a 3 x 1 x 1 temporal convolution; each convolution is
    followed by a GroupNorm and a ReLU. The flattened features feed two heads
    of ``hidden`` units: ``clip_len x clip_len`` logits (for each frame
    position, which original frame) and ``grid² x grid²`` logits (for each
    tile position, which original tile).

    Parameters
    ----------
    clip_len : int
    grid : int
    tile : int
        Tile side in pixels; the input is ``(N, 1, clip_len, grid * tile, grid * tile)``.
    channels : tuple of int
    hidden : int
    """

    def __init__(self, clip_len: int, grid: int, tile: int, channels=(8, 16, 32), hidden: int = 128):
        super().__init__()
        self.clip_len, self.n_tiles = clip_len, grid * grid
        channels = tuple(int(c) for c in channels)
        layers = _unit(1, channels[0], (3, 4, 4), (1, 4, 4), (1, 0, 0))
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += _unit(c_in, c_out, (1, 3, 3), (1, 2, 2), (0, 1, 1))
            layers += _unit(c_out, c_out, (3, 1, 1), 1, (1, 0, 0))
        self.features = nn.Sequential(*layers, nn.Flatten())
        size = feature_side(grid * tile, len(channels))
        flat = channels[-1] * clip_len * size * size
        self.temporal_head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, clip_len ** 2))
        self.spatial_head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, self.n_tiles ** 2))

    def forward(self, x, sample_weight=None, frame_order=None, tile_order=None, temporal=None):
        """``(temporal logits (N, T, T), spatial logits (N, grid², grid²))``: [object, position, original index]."""
        z = self.features(x)
        return (self.temporal_head(z).view(-1, self.clip_len, self.clip_len),
                self.spatial_head(z).view(-1, self.n_tiles, self.n_tiles))


def puzzle_losses(temporal: torch.Tensor, spatial: torch.Tensor, frame_order: torch.Tensor,
                  tile_order: torch.Tensor, is_temporal: torch.Tensor) -> torch.Tensor:
    """Per object, the cross-entropy of its puzzle: over the frame positions (mean) or over the tile positions."""
    n, t, _ = temporal.shape
    frame_loss = F.cross_entropy(temporal.reshape(n * t, t), frame_order.reshape(-1), reduction="none")
    g = spatial.shape[1]
    tile_loss = F.cross_entropy(spatial.reshape(n * g, g), tile_order.reshape(-1), reduction="none")
    return torch.where(is_temporal, frame_loss.view(n, t).mean(dim=1), tile_loss.view(n, g).mean(dim=1))


class WeightedPuzzleLoss(nn.Module):
    """Paper Eq. 2 with the puzzle loss: ``sum_i s_i loss_i / #{i : s_i > 0}`` over the batch.

    As :class:`~unsupvad.models._stgnf_training.WeightedNLL`: an object of
    weight 0 changes neither the sum nor the count, all-ones weights give
    the plain batch mean, a batch without positive weight gives 0.
    """

    def forward(self, temporal, spatial, frame_order, tile_order, is_temporal, weight) -> torch.Tensor:
        losses = puzzle_losses(temporal, spatial, frame_order, tile_order, is_temporal)
        weight = weight.to(losses.dtype)
        return (weight * losses).sum() / (weight > 0).sum().clamp_min(1)


class JigsawNet(InterruptibleNet):
    """skorch net over :class:`PuzzleDataset` batches whose loss is :class:`WeightedPuzzleLoss`."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        temporal, spatial = y_pred
        device = temporal.device
        return self.criterion_(temporal, spatial, X["frame_order"].to(device), X["tile_order"].to(device),
                               X["temporal"].to(device), X["sample_weight"].to(device))


def identity_confidence(module: nn.Module, x: torch.Tensor, reduce: str = "min") -> torch.Tensor:
    """Per object, the probability the network gives to the true position, over every frame and tile: min or mean.

    ``x`` is unshuffled cubes (:func:`network_input`), so the true original
    index at every position is the position itself. ``reduce='min'``: the
    least recognisable of the ``clip_len + grid²`` pieces; ``'mean'``: their
    mean.
    """
    temporal, spatial = module(x)
    frames = torch.softmax(temporal, dim=-1).diagonal(dim1=1, dim2=2)
    tiles = torch.softmax(spatial, dim=-1).diagonal(dim1=1, dim2=2)
    pieces = torch.cat([frames, tiles], dim=1)
    return pieces.min(dim=1).values if reduce == "min" else pieces.mean(dim=1)
