"""Imitation snippet features of the synthetic generator, with the planted anomalies' shifts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._synthetic_motion import _ar1
from ._synthetic_render import _Rows
from ._synthetic_scene import _REF_FPS, ANOMALY_KINDS, _Scene


@dataclass
class _FeatureModel:
    """Snippet features: a low-rank Gaussian with temporal drift, plus content and anomaly terms."""

    mean: np.ndarray
    latent: np.ndarray
    density: np.ndarray
    motion: np.ndarray
    anomaly: dict
    crops: np.ndarray | None
    noise: float = 0.25


def _unit(rng, n: int) -> np.ndarray:
    v = rng.normal(size=n)
    return v / np.linalg.norm(v)


def _make_feature_model(rng, n_features: int, n_crops: int | None) -> _FeatureModel:
    rank = min(8, n_features)
    common = _unit(rng, n_features)
    anomaly = {k: (common + 0.7 * _unit(rng, n_features)) for k in ANOMALY_KINDS}
    return _FeatureModel(
        mean=0.4 + 0.3 * np.abs(rng.normal(size=n_features)),
        latent=rng.normal(size=(rank, n_features)) / np.sqrt(n_features) * 1.5,
        density=_unit(rng, n_features),
        motion=_unit(rng, n_features),
        anomaly={k: v / np.linalg.norm(v) for k, v in anomaly.items()},
        crops=None if n_crops is None else rng.normal(0.0, 0.1, (n_crops, n_features)),
    )


def _snippet_stats(rows: _Rows, n_frames: int, snippet_len: int, n_snippets: int):
    """Mean people per frame and mean speed (body heights per frame) of every snippet."""
    snip = np.minimum(rows.frame // snippet_len, n_snippets - 1)
    frames_per = np.bincount(np.minimum(np.arange(n_frames) // snippet_len, n_snippets - 1),
                             minlength=n_snippets)
    count = np.bincount(snip, minlength=n_snippets)
    speed = np.bincount(snip, weights=rows.speed, minlength=n_snippets)
    return count / frames_per, np.divide(speed, count, out=np.zeros(n_snippets), where=count > 0)


def _features(model: _FeatureModel, scene: _Scene, rows: _Rows, n_frames: int, snippet_len: int,
              fps: float, rng) -> np.ndarray:
    n_snip = math.ceil(n_frames / snippet_len)
    rank = model.latent.shape[0]
    z = _ar1(rng, n_snip, 0.9, 1.0, rank) + rng.normal(0.0, 0.3, rank)
    people, speed = _snippet_stats(rows, n_frames, snippet_len, n_snip)
    walk = 0.018 * _REF_FPS / fps
    feats = (model.mean + scene.feature_offset + z @ model.latent
             + 0.35 * (people - 3.0)[:, None] * model.density
             + 0.5 * np.clip((speed - walk) / walk, -1.0, 4.0)[:, None] * model.motion
             + rng.normal(0.0, model.noise, (n_snip, len(model.mean))))
    feats = _plant_anomalies(feats, model, rows, n_frames, snippet_len, rng)
    if model.crops is not None:
        feats = feats[:, None, :] + model.crops + rng.normal(0.0, 0.1, (n_snip, *model.crops.shape))
    return feats.astype(np.float32)


def _plant_anomalies(feats, model: _FeatureModel, rows: _Rows, n_frames: int, snippet_len: int, rng):
    """Shift and enlarge the snippets that overlap an anomaly, in proportion to the overlap."""
    n_snip = len(feats)
    owner = np.minimum(np.arange(n_frames) // snippet_len, n_snip - 1)
    frames_per = np.bincount(owner, minlength=n_snip)
    for ev in rows.events:
        mask = np.zeros(n_frames)
        mask[ev["start"]:ev["stop"]] = 1.0
        share = np.bincount(owner, weights=mask, minlength=n_snip) / frames_per
        shift = rng.uniform(1.5, 3.0)
        feats = feats * (1.0 + 0.2 * share)[:, None] + (shift * share)[:, None] * model.anomaly[ev["kind"]]
    return feats
