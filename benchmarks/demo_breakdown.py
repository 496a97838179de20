"""Where ``unsupvad demo`` gains and loses: its frame AUC per planted anomaly kind, per module, against an oracle.

Fits exactly the demo's model on exactly its data (``unsupvad demo --seed S``:
60 generated videos, the first 40 fitted without labels, the last 20 scored)
and breaks the held-out frame AUC down:

* per anomaly kind: the frames of that kind's events against the normal
  frames, for the WS, the wOCC and the training-free speed score;
* per module: the final WS of every module alone (the demo's score averages
  the modules after the first, ``ensemble='modules'``);
* the **labelled oracle** (not a method): the same RTFM trained on the *true*
  training-snippet labels of the same fitted TrackSnippetFeatures, at 1, 3 and
  10 epochs (all reported, none chosen). It bounds what the features allow
  the unsupervised WS to reach.

::

    python benchmarks/demo_breakdown.py [--seeds 0 1 2]

Labels are read only after each fit (the oracle reads the training labels
by design). Writes ``benchmarks/results/demo_breakdown.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from unsupvad import RTFM
from unsupvad._baselines import speed_frame_scores
from unsupvad.cli._demo import demo_data, demo_model
from unsupvad.cli._workflow import _interleaved, fit_model, score_videos
from unsupvad.metrics import frame_auc

RESULT = Path(__file__).resolve().parent / "results" / "demo_breakdown.json"
ORACLE_EPOCHS = (1, 3, 10)


def kind_masks(test, events) -> dict[str, np.ndarray]:
    """Per anomaly kind, a mask over the concatenated test frames: the frames of that kind's events.

    Checked against the frame labels: the union of the masks is exactly the
    abnormal frames.
    """
    offsets = dict(zip(test.names, np.cumsum([0] + [v.n_frames for v in test.videos])[:-1], strict=True))
    n_frames = sum(v.n_frames for v in test.videos)
    masks = {}
    for kind, rows in events[events["video"].isin(offsets)].groupby("kind"):
        mask = np.zeros(n_frames, bool)
        for video, start, stop in zip(rows["video"], rows["start"], rows["stop"], strict=True):
            mask[offsets[video] + start: offsets[video] + stop] = True
        masks[str(kind)] = mask
    abnormal = np.concatenate(test.frame_labels()).astype(bool)
    if not np.array_equal(np.logical_or.reduce(list(masks.values())), abnormal):
        raise AssertionError("the events table does not match the frame labels")
    return masks


def breakdown(labels, frames, masks: dict[str, np.ndarray]) -> dict:
    """Micro frame AUC overall and per kind (that kind's frames against the normal frames)."""
    scores, normal = np.concatenate(frames), ~np.concatenate(labels).astype(bool)
    out = {"all": float(frame_auc(labels, frames))}
    for kind, mask in sorted(masks.items()):
        keep = mask | normal
        out[kind] = float(roc_auc_score(mask[keep], scores[keep]))
    return out


def run_seed(seed: int) -> dict:
    train, test, events = demo_data(60, seed, return_events=True)
    labels, masks = test.frame_labels(), kind_masks(test, events)
    model = demo_model(seed, device="cpu")
    fit_seconds = fit_model(model, train)
    ivad, features = _interleaved(model), model[0]
    train_f, test_f = features.transform(train), features.transform(test)
    frames = {name: score_videos(model, test, name) for name in ("ws", "wocc")}
    frames["speed_heuristic"] = speed_frame_scores(test)
    out = {"seed": seed, "fit_seconds": fit_seconds, "thresholds": [int(t) for t in ivad.thresholds_],
           "termination": ivad.termination_condition_,
           "frame_auc": {name: breakdown(labels, f, masks) for name, f in frames.items()}}
    out["module_ws"] = [breakdown(labels, test_f.snippets_to_frames(models["ws"].score_snippets(test_f)), masks)
                        for models in ivad.module_models_]
    y_train = train_f.snippet_labels()  # the oracle only
    out["oracle_rtfm"] = {str(epochs): breakdown(labels, test_f.snippets_to_frames(
        RTFM(max_epochs=epochs, random_state=seed, device="cpu").fit(train_f, y_train).score_snippets(test_f)),
        masks) for epochs in ORACLE_EPOCHS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    tic = time.perf_counter()
    runs = [run_seed(seed) for seed in args.seeds]
    RESULT.write_text(json.dumps({
        "what": "unsupvad demo's held-out frame AUC per anomaly kind and per module, and a labelled RTFM oracle "
                "on the same features (an oracle, not a method)",
        "command": f"python benchmarks/demo_breakdown.py --seeds {' '.join(map(str, args.seeds))}",
        "runs": runs, "elapsed_seconds": time.perf_counter() - tic}, indent=2) + "\n")
    for run in runs:
        print(run["seed"], run["thresholds"], {k: {kk: round(vv, 3) for kk, vv in v.items()}
                                               for k, v in run["frame_auc"].items()})
        print("  modules", [round(m["all"], 3) for m in run["module_ws"]],
              "oracle", {k: round(v["all"], 3) for k, v in run["oracle_rtfm"].items()})


if __name__ == "__main__":
    main()
