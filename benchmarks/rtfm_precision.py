"""RTFM's opt-in ``precision='bfloat16'``: its effect on scores and on frame AUC, against float32.

Three measurements, each in both precisions on the same inputs and seeds:

* ``score_difference``: one float32-trained RTFM (generated 2048-d, 10-crop
  clip features) scores the same videos with its network's arithmetic in
  float32 and in bfloat16: largest and mean absolute score difference, and
  the Spearman correlation of the two rankings;
* ``generated_clip_features``: RTFM trained on the *true* snippet labels of
  24 generated videos (2048-d, 1 crop, the WS alone, a fixed number of
  epochs) and scored on 12 held-out videos: micro frame AUC per seed;
* ``shanghaitech_tracks``: the unsupervised ``InterleavedVAD(FeatureAE(),
  RTFM(precision=...))`` on the real ShanghaiTech person tracks'
  ``TrackSnippetFeatures`` (238 training videos, no label in ``fit``),
  scored on the 199 test videos: WS micro frame AUC per seed (skipped when
  ``../shared/data`` is absent).

Speed is measured by ``benchmarks/model_speed.py`` (``rtfm_paper_bf16``).

    python benchmarks/rtfm_precision.py [--seeds 0 1 2] [--threads 2]

Writes ``benchmarks/results/rtfm_precision.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from unsupvad import RTFM, FeatureAE, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import load_tracks_benchmark, make_synthetic_videos, scene_prefix
from unsupvad.metrics import frame_auc

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "rtfm_precision.json"
TRACKS = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
PRECISIONS = ("float32", "bfloat16")


def score_difference(seed: int) -> dict:
    X = make_synthetic_videos(12, tracks=None, n_features=2048, n_crops=10, random_state=seed)
    ws = RTFM(max_epochs=2, random_state=seed, device="cpu").fit(X, X.snippet_labels())
    scores = {}
    for precision in PRECISIONS:
        ws.net_.module_.precision = precision
        scores[precision] = ws.score_snippets(X)
    diff = np.abs(scores["float32"] - scores["bfloat16"])
    return {"seed": seed, "n_snippets": len(X), "max_abs_difference": float(diff.max()),
            "mean_abs_difference": float(diff.mean()),
            "spearman": float(spearmanr(scores["float32"], scores["bfloat16"]).statistic)}


def generated_clip_features(seed: int, epochs: int) -> dict:
    X = make_synthetic_videos(36, tracks=None, n_features=2048, random_state=seed)
    train = X[np.flatnonzero(X.snippet_video < 24)]
    test = X[np.flatnonzero(X.snippet_video >= 24)]
    out = {"seed": seed, "epochs": epochs}
    for precision in PRECISIONS:
        tic = time.perf_counter()
        ws = RTFM(precision=precision, max_epochs=epochs, random_state=seed, device="cpu")
        ws.fit(train, train.snippet_labels())  # the true labels: the WS alone, same labels in both precisions
        out[f"{precision}_fit_seconds"] = time.perf_counter() - tic
        out[f"{precision}_auc"] = frame_auc(test.frame_labels(), ws.score_frames(test))
    return out


def shanghaitech_tracks(seed: int) -> dict:
    features = TrackSnippetFeatures(standardize=True)
    train = features.fit_transform(load_tracks_benchmark(TRACKS, split="train", scene=scene_prefix))
    test = features.transform(load_tracks_benchmark(TRACKS, split="test", scene=scene_prefix))
    labels = [np.load(TRACKS / "gt" / "test" / f"{name}.npy") for name in test.names]
    out = {"seed": seed}
    for precision in PRECISIONS:
        tic = time.perf_counter()
        model = InterleavedVAD(FeatureAE(device="cpu"), RTFM(precision=precision, device="cpu"),
                               device="cpu", random_state=seed).fit(train)  # no labels
        out[f"{precision}_fit_seconds"] = time.perf_counter() - tic
        out[f"{precision}_ws_auc"] = frame_auc(labels, model.ws_.score_frames(test))
        out[f"{precision}_steps"] = model.n_steps_
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=3, help="RTFM epochs on the generated clip features")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tic = time.perf_counter()
    result = {
        "benchmark": "RTFM precision='bfloat16' against 'float32': scores and frame AUC",
        "score_difference": [score_difference(s) for s in args.seeds[:1]],
        "generated_clip_features": [generated_clip_features(s, args.epochs) for s in args.seeds],
        "shanghaitech_tracks": [shanghaitech_tracks(s) for s in args.seeds] if TRACKS.is_dir() else "skipped",
    }
    for name in ("generated_clip_features", "shanghaitech_tracks"):
        rows = result[name]
        if isinstance(rows, list):
            key = "auc" if name.startswith("generated") else "ws_auc"
            result[f"{name}_mean"] = {p: float(np.mean([r[f"{p}_{key}"] for r in rows])) for p in PRECISIONS}
    result["elapsed_seconds"] = round(time.perf_counter() - tic, 1)
    result["command"] = f"python benchmarks/rtfm_precision.py --seeds {' '.join(map(str, args.seeds))} " \
                        f"--epochs {args.epochs} --threads {args.threads}"
    result["environment"] = {"torch": torch.__version__, "python": platform.python_version(),
                             "cpu": platform.processor() or platform.machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k.endswith(("_mean", "difference"))}, indent=1))
    return result


if __name__ == "__main__":
    main()
