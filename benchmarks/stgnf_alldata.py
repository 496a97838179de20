"""STG-NF "AllData" on ShanghaiTech box tracks: plain one-class training on every training video.

The paper's "STG-NF AllData" baseline: STG-NF trained without weights on all
238 training videos of the weakly-supervised split (63 of them contain
anomalies), then scored on the 199 test videos with STG-NF's frame protocol
(window score at its centre frame, most abnormal person, empty frames = most
normal, Gaussian sigma 1..6 cascade) and one micro AUC over the true frame
counts of all test videos.

Usage::

    python benchmarks/stgnf_alldata.py [--epochs 8] [--layout box5] [--data DIR]
                                       [--device auto] [--threads N] [--seed 0]

Writes ``benchmarks/results/stgnf_alldata.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from unsupvad.datasets import load_tracks_benchmark
from unsupvad.metrics import frame_auc
from unsupvad.models._stgnf import STGNF
from unsupvad.models._stgnf_network import count_parameters

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "stgnf_alldata.json"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shanghaitech-tracks folder")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (STG-NF: 8)")
    parser.add_argument("--layout", default="box5", choices=["box2", "box5"], help="graph layout of a box")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0, help="random_state")
    parser.add_argument("--out", type=Path, default=RESULT, help="result JSON")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train = load_tracks_benchmark(args.data, split="train")
    test = load_tracks_benchmark(args.data, split="test")

    model = STGNF(layout=args.layout, max_epochs=args.epochs, random_state=args.seed, device=args.device)
    n_train = len(model.training_objects(train))
    tic = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - tic
    epoch_seconds = float(sum(model.net_.history[:, "dur"]))
    samples_per_epoch = n_train * (2 if model.flip_augment else 1)

    n_test = len(model.scoring_objects(test))
    tic = time.perf_counter()
    frames = model.score_frames(test)
    score_seconds = time.perf_counter() - tic
    labels = test.frame_labels()

    result = {
        "method": "STG-NF AllData (unweighted, all 238 training videos), box tracks",
        "config": {k: v for k, v in model.get_params().items() if not callable(v)},
        "epochs": args.epochs,
        "faithful_epochs": args.epochs == 8,
        "layout": model.layout_,
        "n_parameters": count_parameters(model.net_.module_),
        "n_train_videos": train.n_videos,
        "n_test_videos": test.n_videos,
        "n_train_objects": n_train,
        "n_train_samples_per_epoch": samples_per_epoch,
        "n_test_objects": n_test,
        "n_test_frames": int(test.n_frames.sum()),
        "n_abnormal_test_frames": int(sum(int(np.sum(y)) for y in labels)),
        "frame_set": "true frame counts of the 199 test videos (STG-NF protocol)",
        "micro_auc": round(float(frame_auc(labels, frames, average="micro")), 6),
        "macro_auc": round(float(frame_auc(labels, frames, average="macro")), 6),
        "fit_seconds": round(fit_seconds, 2),
        "train_epoch_seconds": round(epoch_seconds, 2),
        "train_samples_per_second": round(args.epochs * samples_per_epoch / epoch_seconds, 1),
        "score_seconds": round(score_seconds, 2),
        "score_objects_per_second": round(n_test / score_seconds, 1),
        "final_train_loss": round(float(model.net_.history[-1, "train_loss"]), 6),
        "device": str(model.device_),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    print(
        f"micro AUC {result['micro_auc']:.4f}  macro AUC {result['macro_auc']:.4f}  "
        f"fit {fit_seconds:.0f} s ({result['train_samples_per_second']:.0f} samples/s)  "
        f"scoring {score_seconds:.0f} s ({result['score_objects_per_second']:.0f} objects/s)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
