"""InterleavedVAD on generated videos: does the wOCC trained in the loop beat the same wOCC alone?

The paper's claim (Table 1): STG-NF trained inside the interleaving beats STG-NF
trained on all (contaminated) training data. This script measures it on
generated videos, with no label reaching ``fit``:

    python benchmarks/interleaved_synthetic.py [--seeds 0 1 2] [--videos 60] [--features tracks|generated]

``--features tracks`` (default): box tracks only, the WS reads
:class:`~unsupvad.TrackSnippetFeatures` computed from them (the setting of the
end-to-end test); ``generated``: pose tracks plus the generator's imitation clip
features. All four planted anomaly kinds unless ``--kinds`` says otherwise.

It writes ``benchmarks/results/interleaved_synthetic[_<features>].json``: per seed,
held-out micro frame AUC of the WS and the wOCC of InterleavedVAD, of the wOCC
trained alone for as many epochs as its last module gave it, fit times and
thresholds. Whatever the answer, it is reported, not tuned for.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import make_synthetic_videos
from unsupvad.datasets._synthetic import ANOMALY_KINDS
from unsupvad.metrics import frame_auc

RESULTS = Path(__file__).resolve().parent / "results"


def wocc_template() -> STGNF:
    return STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, flip_augment=False, score_stride=2,
                 snippet_scoring="max", device="cpu")


def ws_template() -> RTFM:
    return RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=50, device="cpu")


def make_split(seed: int, n_videos: int, features: str, kinds):
    if features == "tracks":
        X = make_synthetic_videos(n_videos, n_frames=(160, 240), tracks="boxes", features=False,
                                  anomaly_kinds=kinds, random_state=seed)
    else:
        X = make_synthetic_videos(n_videos, anomaly_kinds=kinds, random_state=seed)
    n_train = n_videos * 2 // 3
    train = X[np.flatnonzero(X.snippet_video < n_train)]
    test = X[np.flatnonzero(X.snippet_video >= n_train)]
    if features == "tracks":
        to_features = TrackSnippetFeatures(standardize=True).fit(train)
        train, test = to_features.transform(train), to_features.transform(test)
    return train, test


def run_seed(seed: int, n_videos: int, features: str, kinds) -> dict:
    train, test = make_split(seed, n_videos, features, kinds)
    labels = test.frame_labels()

    tic = time.perf_counter()
    model = InterleavedVAD(wocc_template(), ws_template(), max_modules=4, max_module_steps=6, device="cpu",
                           random_state=seed).fit(train)
    fit_seconds = time.perf_counter() - tic
    ws_auc = frame_auc(labels, model.set_params(scorer="ws").score_frames(test))
    wocc_auc = frame_auc(labels, model.set_params(scorer="wocc").score_frames(test))
    epochs = sum(1 for r in model.history_ if r["module"] == model.n_modules_)

    tic = time.perf_counter()
    alone = wocc_template().set_params(max_epochs=epochs, random_state=seed).fit(train)
    alone_seconds = time.perf_counter() - tic
    alone_auc = frame_auc(labels, alone.score_frames(test))
    return {
        "seed": seed, "train_videos": train.n_videos, "test_videos": test.n_videos,
        "ws_auc": ws_auc, "wocc_in_loop_auc": wocc_auc, "wocc_alone_auc": alone_auc,
        "wocc_alone_epochs": epochs, "thresholds": model.thresholds_, "n_steps": model.n_steps_,
        "termination": model.termination_condition_, "fit_seconds": fit_seconds, "alone_seconds": alone_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--features", choices=["tracks", "generated"], default="tracks")
    parser.add_argument("--kinds", nargs="+", choices=ANOMALY_KINDS, default=list(ANOMALY_KINDS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for seed in args.seeds:
        runs.append(run_seed(seed, args.videos, args.features, args.kinds))
        r = runs[-1]
        print(f"seed {seed}: WS {r['ws_auc']:.3f}  wOCC in loop {r['wocc_in_loop_auc']:.3f}  "
              f"wOCC alone {r['wocc_alone_auc']:.3f}  T_ws {r['thresholds']}  fit {r['fit_seconds']:.0f} s")
    summary = {key: {"mean": float(np.mean([r[key] for r in runs])), "std": float(np.std([r[key] for r in runs]))}
               for key in ("ws_auc", "wocc_in_loop_auc", "wocc_alone_auc", "fit_seconds")}
    summary["wocc_in_loop_beats_alone"] = int(sum(r["wocc_in_loop_auc"] > r["wocc_alone_auc"] for r in runs))
    out = RESULTS / f"interleaved_synthetic_{args.features}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {"videos": args.videos, "features": args.features, "kinds": args.kinds, "torch_threads": 1}
    out.write_text(json.dumps({"metric": "micro frame AUC on held-out generated videos", "config": config,
                               "summary": summary, "runs": runs}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
