"""Oracle ceiling of the WS models on track features: trained on the TRUE training snippet labels.

Not a result of the unsupervised method and not usable for choosing anything: it
says how far a weakly-supervised model can go on the ``TrackSnippetFeatures``
of the real ShanghaiTech tracks if its pseudo-labels were perfect, which bounds
the WS rows of ``benchmarks/shanghaitech_tracks.py``::

    python benchmarks/track_features_oracle.py [--data DIR] [--seeds 0 1 2] [--folds 3]

A training snippet is abnormal when it holds an abnormal frame of ``gt/train``.
As any supervised model, each oracle chooses its training length on the
training set alone: the epoch count of ``EPOCH_GRID`` with the best mean micro
frame AUC on held-out training videos (``--folds`` folds of whole videos, drawn
by the seed), then it is refitted on all training videos with that count. The
test videos are scored once, by that refitted model. ``--folds 0`` skips the
choice: the models' own epoch counts (RTFM 5, MIL its default 20).

Writes ``benchmarks/results/track_features_oracle.json``: micro frame AUC on the
199 test videos (a frame takes its snippet's score) per model and seed, with
the held-out curves the epoch counts were chosen from.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

from unsupvad import MIL, RTFM, TrackSnippetFeatures, VideoSet
from unsupvad.datasets import load_tracks_benchmark, scene_prefix
from unsupvad.metrics import frame_auc

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "track_features_oracle.json"
EPOCH_GRID = (1, 2, 3, 5, 10, 20)
"""Epoch counts each oracle may choose from, on held-out training videos."""


def templates(seed: int) -> dict:
    return {"RTFM": RTFM(max_epochs=5, device="cpu", random_state=seed),
            "MIL": MIL(device="cpu", random_state=seed)}


def heldout_curve(template, X: VideoSet, folds: list[list[str]]) -> np.ndarray:
    """Micro frame AUC on each fold's held-out training videos after each epoch of ``EPOCH_GRID``.

    Shape ``(n_folds, len(EPOCH_GRID))``: one model per fold (``folds`` are
    lists of video names), trained epoch by epoch (``partial_fit``; equal to
    ``fit`` with that many epochs) on the other folds' videos and their true
    labels.
    """
    curve = np.zeros((len(folds), len(EPOCH_GRID)))
    for f, held in enumerate(folds):
        X_fit = X.select_videos([name for name in X.names if name not in set(held)])
        X_held = X.select_videos(held)
        model, y_fit = clone(template), X_fit.snippet_labels()
        for epoch in range(1, max(EPOCH_GRID) + 1):
            model.partial_fit(X_fit, y_fit)
            if epoch in EPOCH_GRID:
                frames = X_held.snippets_to_frames(model.score_snippets(X_held))
                curve[f, EPOCH_GRID.index(epoch)] = frame_auc(X_held.frame_labels(), frames)
    return curve


def run_oracle(name: str, template, train_f: VideoSet, test_f: VideoSet, test_labels, y, seed: int,
               n_folds: int) -> dict:
    tic = time.perf_counter()
    entry = {"model": name, "seed": seed}
    if n_folds:
        order = np.random.default_rng(seed).permutation(train_f.n_videos)
        folds = [[train_f.names[i] for i in fold] for fold in np.array_split(order, n_folds)]
        curve = heldout_curve(template, train_f, folds)
        epochs = EPOCH_GRID[int(np.argmax(curve.mean(axis=0)))]
        entry.update(heldout_auc=dict(zip(map(str, EPOCH_GRID), curve.mean(axis=0).round(4).tolist())))
        template = clone(template).set_params(max_epochs=epochs)
    model = clone(template).fit(train_f, y)
    auc = frame_auc(test_labels, test_f.snippets_to_frames(model.score_snippets(test_f)))
    entry.update(epochs=int(model.max_epochs), micro_auc=float(auc), seconds=time.perf_counter() - tic)
    print(f"{name} seed {seed}: {entry['epochs']} epochs, micro frame AUC {auc:.3f}", flush=True)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=3, help="folds of training videos (0: no epoch choice)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = load_tracks_benchmark(args.data, "train", labels=True, scene=scene_prefix)
    test = load_tracks_benchmark(args.data, "test", scene=scene_prefix)
    features = TrackSnippetFeatures(standardize=True).fit(train)
    train_f, test_f = features.transform(train), features.transform(test)
    y = train.snippet_labels()
    runs = [run_oracle(name, template, train_f, test_f, test.frame_labels(), y, seed, args.folds)
            for seed in args.seeds for name, template in templates(seed).items()]
    summary = {name: {"mean": float(np.mean([r["micro_auc"] for r in runs if r["model"] == name])),
                      "std": float(np.std([r["micro_auc"] for r in runs if r["model"] == name]))}
               for name in templates(0)}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({
        "what": "ORACLE: WS trained on true training snippet labels (not unsupervised)",
        "command": "python benchmarks/track_features_oracle.py " + f"--seeds {' '.join(map(str, args.seeds))} "
                   f"--folds {args.folds}",
        "epoch_choice": (f"best mean held-out micro frame AUC over {args.folds} folds of training videos, "
                         f"grid {list(EPOCH_GRID)}") if args.folds else "none (the models' own max_epochs)",
        "positive_share": float(y.mean()), "summary": summary, "runs": runs}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
