"""Where and how people normally move in each camera: a grid of robust motion statistics per scene.

Fitted on the training videos' tracks without any label, the model holds, for
every scene (camera) and every cell of a ``grid x grid`` partition of the image,
robust statistics of the rows seen there: the median and spread of the log
speed, the mean walking direction and how concentrated it is, the median and
spread of the log box height and log aspect ratio, and how often anybody is
there at all. A row is then "unusual here" by how far it lies from its cell's
statistics. Cells with few rows lean on their scene's statistics, scenes with
few rows on the global ones (a weighted mean with ``PRIOR_ROWS`` pseudo-rows),
and a video of an unknown or unseen scene is compared with the global,
location-free statistics.
"""

from __future__ import annotations

import numpy as np

from ._basic import grouped_quantile
from ._rows import TrackRows

SCENE_FEATURE_NAMES = (
    "fast_here",
    "slow_here",
    "against_flow",
    "size_unusual",
    "shape_unusual",
    "place_unusual",
    "entry_unusual",
    "track_fast_here",
    "track_size_unusual",
    "track_shape_unusual",
)
_TRACK_LEVEL = {"track_fast_here": "fast_here", "track_size_unusual": "size_unusual",
                "track_shape_unusual": "shape_unusual"}
PRIOR_ROWS = 50.0
SPEED_FLOOR = 1e-3  # box heights per frame added before the log: a standing person's speed is not -inf
IQR_TO_SIGMA = 1.349
MIN_LOG_SCALE = 0.05
STATS = ("n", "speed_med", "speed_scale", "flow_x", "flow_y", "height_med", "height_scale",
         "aspect_med", "aspect_scale", "n_moving")
_S = {name: i for i, name in enumerate(STATS)}


class RowMotion:
    """The per-row quantities the scene model compares: cell, log speed, heading, log size and shape."""

    def __init__(self, rows: TrackRows, grid: int, stationary_speed: float):
        x = np.where(np.isfinite(rows.frame_w), rows.cx / np.where(np.isfinite(rows.frame_w), rows.frame_w, 1.0),
                     0.0)
        y = rows.cy / rows.frame_h
        gx = np.clip((x * grid).astype(np.int64), 0, grid - 1)
        gy = np.clip((y * grid).astype(np.int64), 0, grid - 1)
        self.cell = gy * grid + gx
        vx, vy, self.speed_def = rows.smoothed_velocity()
        speed = np.hypot(vx, vy)
        self.log_speed = np.log(speed + SPEED_FLOOR)
        self.moving = self.speed_def & (speed >= max(stationary_speed, 1e-12))
        safe = np.where(self.moving, speed, 1.0)
        self.ex, self.ey = vx / safe, vy / safe
        self.size_def = rows.ok_h
        self.log_height = np.log(np.where(rows.ok_h, rows.h, 1.0) / rows.frame_h)
        self.log_aspect = np.log(np.where(rows.ok_h, rows.w / rows.safe_h, 1.0))


def _robust(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and IQR-based standard deviation of ``values`` per group (0 for an empty group)."""
    med = grouped_quantile(values, groups, n_groups, 0.5)
    iqr = grouped_quantile(values, groups, n_groups, 0.75) - grouped_quantile(values, groups, n_groups, 0.25)
    return med, iqr / IQR_TO_SIGMA


def _group_stats(motion: RowMotion, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Raw (unshrunk) statistics of every group of rows, ``(n_groups, len(STATS))``."""
    out = np.zeros((n_groups, len(STATS)))
    out[:, _S["n"]] = np.bincount(groups, minlength=n_groups)
    s = motion.speed_def
    out[:, _S["speed_med"]], out[:, _S["speed_scale"]] = _robust(motion.log_speed[s], groups[s], n_groups)
    m = motion.moving
    n_moving = np.bincount(groups[m], minlength=n_groups).astype(np.float64)
    out[:, _S["n_moving"]] = n_moving
    for name, e in (("flow_x", motion.ex), ("flow_y", motion.ey)):
        total = np.bincount(groups[m], weights=e[m], minlength=n_groups)
        out[:, _S[name]] = np.divide(total, n_moving, out=np.zeros(n_groups), where=n_moving > 0)
    z = motion.size_def
    out[:, _S["height_med"]], out[:, _S["height_scale"]] = _robust(motion.log_height[z], groups[z], n_groups)
    out[:, _S["aspect_med"]], out[:, _S["aspect_scale"]] = _robust(motion.log_aspect[z], groups[z], n_groups)
    return out


def _shrink(raw: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Every statistic pulled towards ``prior`` with ``PRIOR_ROWS`` pseudo-rows (counts are kept)."""
    out = raw.copy()
    n = raw[..., [_S["n"]]]
    n_moving = raw[..., [_S["n_moving"]]]
    share = n / (n + PRIOR_ROWS)
    moving_share = n_moving / (n_moving + PRIOR_ROWS)
    for name in STATS:
        if name in ("n", "n_moving"):
            continue
        weight = moving_share if name.startswith("flow") else share
        out[..., _S[name]] = (weight[..., 0] * raw[..., _S[name]] + (1 - weight[..., 0]) * prior[..., _S[name]])
    return out


def fit_scene_stats(rows: TrackRows, scene_of_row: np.ndarray, n_scenes: int, grid: int,
                    stationary_speed: float, use: np.ndarray | None = None) -> np.ndarray:
    """Statistics ``(1 + n_scenes, grid * grid, len(STATS))``: row 0 global, then one per scene.

    ``scene_of_row`` is the scene index of every row (-1 for rows that enter
    the global statistics only); ``use`` masks the rows to learn from (all).
    """
    motion = RowMotion(rows, grid, stationary_speed)
    use = np.ones(len(rows), bool) if use is None else use
    cells = grid * grid
    everything = _group_stats(motion, np.where(use, 0, 1), 2)[0]
    everything[_S["speed_scale"]] = max(everything[_S["speed_scale"]], MIN_LOG_SCALE)
    out = np.empty((1 + n_scenes, cells, len(STATS)))
    out[0] = everything
    known = (scene_of_row >= 0) & use
    per_scene = _shrink(_group_stats(motion, scene_of_row[known], n_scenes), everything[None, :])
    per_cell = _group_stats(motion, scene_of_row[known] * cells + motion.cell[known], n_scenes * cells)
    per_cell = per_cell.reshape(n_scenes, cells, len(STATS))
    out[1:] = _shrink(per_cell, per_scene[:, None, :])
    for name in ("speed_scale", "height_scale", "aspect_scale"):
        out[..., _S[name]] = np.maximum(out[..., _S[name]], MIN_LOG_SCALE)
    return out


def scene_row_values(rows: TrackRows, model_of_row: np.ndarray, stats: np.ndarray, grid: int,
                     stationary_speed: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per row, how unusual it is for its scene and cell: ``{name: (values, defined)}``.

    ``model_of_row`` indexes ``stats`` (0: the global statistics, for videos of
    an unknown or unseen scene; their place is never unusual).
    """
    motion = RowMotion(rows, grid, stationary_speed)
    cell = np.where(model_of_row > 0, motion.cell, 0)
    at = stats[model_of_row, cell]  # (n_rows, len(STATS))
    z_speed = (motion.log_speed - at[:, _S["speed_med"]]) / at[:, _S["speed_scale"]]
    flow_x, flow_y = at[:, _S["flow_x"]], at[:, _S["flow_y"]]
    concentration = np.hypot(flow_x, flow_y)
    cos = np.divide(motion.ex * flow_x + motion.ey * flow_y, concentration,
                    out=np.ones(len(cell)), where=concentration > 0)
    against = concentration * (1 - np.clip(cos, -1, 1)) / 2
    size = np.abs(motion.log_height - at[:, _S["height_med"]]) / at[:, _S["height_scale"]]
    shape = np.abs(motion.log_aspect - at[:, _S["aspect_med"]]) / at[:, _S["aspect_scale"]]
    scene_rows = stats[:, :, _S["n"]].sum(axis=1)[model_of_row]
    share = (at[:, _S["n"]] + 1.0) / (scene_rows + grid * grid)
    place = np.where(model_of_row > 0, -np.log(share * grid * grid), 0.0)
    return {
        "fast_here": (z_speed, motion.speed_def),
        "slow_here": (-z_speed, motion.speed_def),
        "against_flow": (against, motion.moving),
        "size_unusual": (size, motion.size_def),
        "shape_unusual": (shape, motion.size_def),
        "place_unusual": (place, np.ones(len(cell), bool)),
    }


def scene_features(rows: TrackRows, model_of_row: np.ndarray, stats: np.ndarray, grid: int,
                   stationary_speed: float) -> np.ndarray:
    """The scene features of every snippet, ``(n_snippets, 7)``: per person the mean over its rows, then the
    largest over the snippet's people (0 without people); ``entry_unusual`` is the largest
    ``place_unusual`` of the rows where a track starts (after the video's first frame)."""
    values = scene_row_values(rows, model_of_row, stats, grid, stationary_speed)
    people = rows.people
    out = np.zeros((rows.n_snippets, len(SCENE_FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(SCENE_FEATURE_NAMES)}
    for name in SCENE_FEATURE_NAMES[:6]:
        per_person, defined = people.mean(*values[name])
        out[:, col[name]] = people.snippet_max(per_person, defined)
    place, _ = values["place_unusual"]
    born = rows.new_track & (rows.frame > 0)
    entry = np.zeros(rows.n_snippets)
    np.maximum.at(entry, rows.snippet[born].astype(np.int64), place[born])
    out[:, col["entry_unusual"]] = entry
    track_starts = np.flatnonzero(rows.new_track)
    track_of_person = np.searchsorted(track_starts, people.starts, side="right") - 1
    for name, source in _TRACK_LEVEL.items():
        value, defined = values[source]
        total = np.add.reduceat(np.where(defined, value, 0.0), track_starts) if len(track_starts) else np.zeros(0)
        count = np.add.reduceat(defined.astype(np.int64), track_starts) if len(track_starts) else np.zeros(0)
        per_track = np.divide(total, count, out=np.zeros(len(total)), where=count > 0)
        out[:, col[name]] = people.snippet_max(per_track[track_of_person], (count > 0)[track_of_person])
    return out
