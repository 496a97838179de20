"""What the commands do with the Python API: read videos, build, fit and score models."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._parser import FEATURE_FORMATS, TRACK_FORMATS

if TYPE_CHECKING:
    import pandas as pd


def _track_format(path: Path, fmt: str) -> str:
    """The tracks' format: ``--format`` when it names one, else guessed from the file suffixes."""
    from ..datasets._folders import guess_track_format

    if fmt in FEATURE_FORMATS:
        raise ValueError(f"--format {fmt} reads --features, not --tracks")
    return guess_track_format(path, fmt)  # 'auto' on a missing path: FileNotFoundError


def read_videos(tracks=None, features=None, fmt="auto", frames=None, split=None, frame_size=None):
    """The VideoSet of the CLI inputs (see ``unsupvad fit --help``): :func:`unsupvad.datasets.read_videos`."""
    from .. import datasets

    if tracks is None and features is None:
        raise ValueError("give the videos: --tracks PATH and/or --features PATH")
    if tracks is None and fmt in TRACK_FORMATS:
        raise ValueError(f"--format {fmt} reads --tracks, not --features")
    if frames is None and split is not None:
        raise ValueError("--split needs a --frames table with a split column")
    table = None if frames is None else datasets.read_video_table(frames, split)
    track_format = _track_format(tracks, fmt) if tracks is not None else "auto"
    return datasets.read_videos(tracks, features, videos=table, track_format=track_format, frame_size=frame_size)


def _require_frame_sizes(X) -> None:
    missing = [v.name for v in X.videos if v.frame_size is None]
    if missing:
        raise ValueError(f"video {missing[0]!r} has no frame size: give a --frames table with width,height "
                         "columns, or --frame-size WIDTHxHEIGHT")


SMALL_PRESET = {
    "stgnf": dict(n_flows=4, seg_len=12, batch_size=256, lr=2e-3, flip_augment=False, score_stride=4,
                  snippet_scoring="max"),
    "feature_ae": dict(hidden=(32, 16), batch_size=64),
}
"""The demo's fast settings, by registered model name (models not named keep their defaults)."""


def _model_templates(preset: str) -> dict:
    """A fresh instance of every registered model: its defaults (the paper's), or the small preset's settings."""
    from ..models import get_model, list_models

    return {name: get_model(name)(**(SMALL_PRESET.get(name, {}) if preset == "small" else {}))
            for name in list_models()}


def default_wocc(has_tracks: bool) -> str:
    """The first registered wOCC that reads tracks (when given) or features: ``stgnf`` or ``feature_ae``."""
    from ..models import get_model, list_models, model_tags

    wanted = "tracks" if has_tracks else "features"
    return next(name for name in list_models("wocc") if model_tags(get_model(name)).reads == wanted)


def build_model(*, wocc: str, ws: str, track_features: bool, preset: str = "paper", initial_ratio: float = 0.15,
                max_modules: int = 6, module_steps="auto", seed: int = 0, device: str = "auto",
                verbose: bool = False):
    """The estimator ``unsupvad fit`` trains: InterleavedVAD, after TrackSnippetFeatures when asked.

    The pipeline is ``make_pipeline``'s, so its steps are named as in Python
    (``tracksnippetfeatures``, ``interleavedvad``).
    """
    from sklearn.pipeline import make_pipeline

    from .._interleaved import InterleavedVAD
    from ..features import TrackSnippetFeatures

    templates = _model_templates(preset)
    model = InterleavedVAD(
        templates[wocc], templates[ws], initial_ratio=initial_ratio, max_modules=max_modules,
        module_steps=module_steps, max_module_steps=5 if preset == "small" else 10, device=device,
        random_state=seed, verbose=int(verbose),
    )
    if track_features:
        return make_pipeline(TrackSnippetFeatures(standardize=True), model)
    return model


class _StepProgress:
    """InterleavedVAD callback: a tqdm bar over steps (it only reads the step's record)."""

    def __init__(self, enabled: bool):
        from tqdm.auto import tqdm

        # no total: a module ends when its soft labels settle, the fit when T_ws does
        self.bar = tqdm(desc="fit", unit="step", disable=not enabled, leave=True, file=sys.stderr)

    def on_step_end(self, estimator, record, **models):
        self.bar.set_postfix(module=record["module"], step=record["step"], T_ws=record["threshold"], refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()


@contextlib.contextmanager
def logging_to_stderr(logger_name: str = "unsupvad", label: str = "fit"):
    """A logger's INFO lines (by default the fit's progress) on stderr, time-stamped and labelled, meanwhile."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {label}: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger(logger_name)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _interleaved(model):
    """The InterleavedVAD of a fitted CLI model (the last step of a pipeline)."""
    return model[-1] if hasattr(model, "steps") else model


def fit_model(model, X, *, progress: bool = False, log: bool = False):
    """Fit without labels (they are removed from X first); returns seconds.

    ``progress``: a progress bar (a terminal); else ``log``: the fit's
    ``logging`` lines, one per step, on stderr (a log file). Neither with the
    model's own ``verbose`` lines.
    """
    from .._videoset import VideoSet

    X = VideoSet([v.replace(labels=None) for v in X.videos])  # fit never reads labels; now it cannot
    ivad = _interleaved(model)
    bar = _StepProgress(progress and not ivad.verbose)
    logs = logging_to_stderr() if log and not progress and not ivad.verbose else contextlib.nullcontext()
    ivad.set_params(callbacks=[bar])
    tic = time.perf_counter()
    try:
        with logs:
            model.fit(X)
    finally:
        bar.close()
        ivad.set_params(callbacks=None)
    return time.perf_counter() - tic


def _scoring_parts(model, scorer: str | None):
    """``(transform or None, estimator with score_frames)``; ``scorer`` switches InterleavedVAD's model."""
    transform = None
    if hasattr(model, "steps"):
        transform, model = model[:-1], model[-1]
    if scorer is not None:
        if "scorer" not in model.get_params(deep=False):
            raise ValueError(f"--scorer needs an InterleavedVAD model, this is a {type(model).__name__}")
        model.set_params(scorer=scorer)
    return transform, model


def _reads(model) -> str:
    """What the scoring path of a model reads first: 'tracks' or 'features' (as the scoring model declares)."""
    from ..models import ModelTags, model_tags

    transform, est = _scoring_parts(model, None)
    if transform is not None:
        return "tracks"
    if hasattr(est, "wocc_"):
        est = est.wocc_ if est.scorer == "wocc" else est.ws_
    return model_tags(est, default=ModelTags(role="ws", reads="features")).reads


def score_videos(model, X, scorer: str | None = None) -> list[np.ndarray]:
    """Frame scores (higher = more abnormal) of every video of X."""
    from ..metrics import frame_scores

    _scoring_parts(model, scorer)  # switches InterleavedVAD's scoring model
    return frame_scores(model, X)


def frame_score_table(X, frame_scores) -> pd.DataFrame:
    """The score CSV's rows: ``video,frame,score``, frame 0-based, one row per frame."""
    import pandas as pd

    return pd.DataFrame({
        "video": np.repeat(X.names, [len(s) for s in frame_scores]),
        "frame": np.concatenate([np.arange(len(s)) for s in frame_scores]),
        "score": np.concatenate(frame_scores),
    })


def detection_table(model, X) -> pd.DataFrame:
    """Who is abnormal: one row per detection, ``video,frame,track_id,left,top,width,height,score``.

    ``frame`` is 0-based like the score CSV's (MOT frame f is frame f-1); the
    box is the detection's (a pose's keypoint box); ``score`` comes from the
    wOCC's windows that hold the detection (higher = more abnormal; empty when
    no window holds it, a track too short). Rows by video, frame, track.
    """
    import pandas as pd

    transform, est = _scoring_parts(model, None)
    if not hasattr(est, "score_detections"):
        raise ValueError(f"--objects needs an InterleavedVAD model, this is a {type(est).__name__}")
    Xt = X if transform is None else transform.transform(X)
    if not Xt.has_tracks:
        raise ValueError("--objects scores people: give the tracks (--tracks or INPUT)")
    parts = []
    for video, scores in zip(Xt.videos, est.score_detections(Xt)):
        tracks = video.tracks
        if tracks is None or not len(tracks):
            continue
        boxes = tracks.boxes
        parts.append(pd.DataFrame({"video": video.name, "frame": tracks.frame, "track_id": tracks.track_id,
                                   "left": boxes[:, 0], "top": boxes[:, 1], "width": boxes[:, 2],
                                   "height": boxes[:, 3], "score": scores}))
    columns = ["video", "frame", "track_id", "left", "top", "width", "height", "score"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return table.sort_values(["video", "frame", "track_id"], kind="stable", ignore_index=True)
