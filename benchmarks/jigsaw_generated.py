"""Table 2's Jigsaw row on generated painted videos: Jigsaw alone (plain OCC) and InterleavedVAD(Jigsaw(), RTFM()).

The paper's Table 2 reports Jigsaw as the wOCC with RTFM as the WS on
ShanghaiTech. Without ShanghaiTech's frames here, this script measures the
same pair on generated footage: :func:`unsupvad.datasets.make_synthetic_videos`
skeletons with planted anomalies, painted as stick figures into lossless video
files (:func:`unsupvad.video.write_painted_videos`, Ut Video: it decodes
about 7 times faster than FFV1 at this size), which Jigsaw reads
through each video's ``video_file``; no label reaches ``fit``::

    python benchmarks/jigsaw_generated.py [--seeds 0 1 2] [--videos 15] [--threads 2]

Per seed, on held-out videos (a third of the abnormal and of the normal
ones), the micro frame AUC of

* ``Jigsaw()`` fitted alone on the training videos, every weight 1 (plain
  OCC on contaminated data, ``max_epochs=10``);
* ``InterleavedVAD(Jigsaw(), RTFM())``: its wOCC (the Jigsaws of the
  modules) and its WS (the RTFMs);

and the same two with ``Jigsaw(score_reduce='mean')``. Models at their
defaults otherwise, except ``InterleavedVAD(max_modules=...)``. RTFM
reads the generator's imitation clip features (64-d, ``make_synthetic_videos``),
which carry a planted anomaly signal of their own; Jigsaw reads only the
painted pixels and the skeletons' extents (as boxes). It writes
``benchmarks/results/jigsaw_generated.json``. Whatever it measures is
reported, not tuned for.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

from unsupvad import RTFM, InterleavedVAD, Jigsaw
from unsupvad.datasets import make_synthetic_videos
from unsupvad.datasets._synthetic import ANOMALY_KINDS
from unsupvad.metrics import frame_auc
from unsupvad.video import write_painted_videos

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {"score_reduce='min' (default)": Jigsaw(device="cpu"),
            "score_reduce='mean'": Jigsaw(score_reduce="mean", device="cpu")}


def painted_split(seed: int, args, folder: Path):
    """Generated videos painted into ``folder``; a third of the abnormal and of the normal videos held out.

    The split reads which videos hold an anomaly (so that both sides have
    some); ``fit`` never sees a label.
    """
    X = make_synthetic_videos(args.videos, n_frames=tuple(args.frames), tracks="keypoints",
                              frame_size=tuple(args.frame_size), anomaly_kinds=args.kinds, random_state=seed)
    paths = write_painted_videos(X.videos, folder, suffix=".avi", codec="utvideo")
    X = X.with_video_files(dict(zip(X.names, paths)))
    abnormal = np.array([video.labels.any() for video in X.videos])
    held_out = np.zeros(X.n_videos, bool)
    for group in (np.flatnonzero(abnormal), np.flatnonzero(~abnormal)):
        held_out[group[::3]] = True
    train = X.select_videos([name for name, out in zip(X.names, held_out) if not out])
    return train, X.select_videos([name for name, out in zip(X.names, held_out) if out])


def run_variant(jigsaw: Jigsaw, train, test, labels, seed: int, max_modules: int) -> dict:
    """Frame AUCs of one Jigsaw setting: fitted alone (every weight 1), and interleaved with RTFM."""
    tic = time.perf_counter()
    alone = clone(jigsaw).set_params(random_state=seed).fit(train)
    alone_seconds = time.perf_counter() - tic
    alone_auc = frame_auc(labels, alone.score_frames(test))

    tic = time.perf_counter()
    model = InterleavedVAD(clone(jigsaw), RTFM(), max_modules=max_modules, device="cpu", random_state=seed).fit(train)
    fit_seconds = time.perf_counter() - tic
    ws_auc = frame_auc(labels, model.set_params(scorer="ws").score_frames(test))
    wocc_auc = frame_auc(labels, model.set_params(scorer="wocc").score_frames(test))
    return {
        "jigsaw_alone_auc": alone_auc, "interleaved_wocc_auc": wocc_auc, "interleaved_ws_auc": ws_auc,
        "thresholds": model.thresholds_, "n_modules": model.n_modules_, "n_steps": model.n_steps_,
        "termination": model.termination_condition_, "alone_fit_seconds": alone_seconds,
        "interleaved_fit_seconds": fit_seconds,
    }


def run_seed(seed: int, args, folder: Path) -> dict:
    tic = time.perf_counter()
    train, test = painted_split(seed, args, folder)
    run = {"seed": seed, "train_videos": train.n_videos, "test_videos": test.n_videos,
           "train_snippets": len(train), "train_objects": len(Jigsaw().training_objects(train)),
           "test_abnormal_frame_share": float(np.mean(np.concatenate(test.frame_labels()))),
           "paint_seconds": time.perf_counter() - tic}
    run["variants"] = {name: run_variant(jigsaw, train, test, test.frame_labels(), seed, args.max_modules)
                       for name, jigsaw in VARIANTS.items()}
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--videos", type=int, default=18, help="generated videos per seed, 2/3 for training")
    parser.add_argument("--frames", type=int, nargs=2, default=[300, 400], metavar=("MIN", "MAX"))
    parser.add_argument("--frame-size", type=int, nargs=2, default=[320, 180], metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--kinds", nargs="+", choices=ANOMALY_KINDS, default=["running", "falling"])
    parser.add_argument("--max-modules", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            runs.append(run_seed(seed, args, Path(folder)))
            for name, r in runs[-1]["variants"].items():
                print(f"seed {seed}, {name}: Jigsaw alone {r['jigsaw_alone_auc']:.3f}  interleaved wOCC "
                      f"{r['interleaved_wocc_auc']:.3f}  WS {r['interleaved_ws_auc']:.3f}  T_ws {r['thresholds']}  "
                      f"fit {r['interleaved_fit_seconds']:.0f} s", flush=True)
    keys = ("jigsaw_alone_auc", "interleaved_wocc_auc", "interleaved_ws_auc", "alone_fit_seconds",
            "interleaved_fit_seconds")
    summary = {}
    for name in VARIANTS:
        results = [run["variants"][name] for run in runs]
        summary[name] = {key: {"mean": float(np.mean([r[key] for r in results])),
                               "std": float(np.std([r[key] for r in results]))} for key in keys}
        summary[name]["interleaved_wocc_beats_alone"] = int(sum(r["interleaved_wocc_auc"] > r["jigsaw_alone_auc"]
                                                                for r in results))
    summary["total_seconds"] = time.perf_counter() - started
    config = {"videos": args.videos, "frames": args.frames, "frame_size": args.frame_size, "kinds": args.kinds,
              "max_modules": args.max_modules, "torch_threads": args.threads,
              "jigsaw": "Jigsaw() defaults, and with score_reduce='mean'",
              "ws": "RTFM() defaults on make_synthetic_videos' 64-d features",
              "painting": "unsupvad.video.write_painted_videos (Ut Video, lossless, .avi)"}
    command = "python benchmarks/jigsaw_generated.py " + shlex.join(sys.argv[1:])
    out = RESULTS / "jigsaw_generated.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"metric": "micro frame AUC on held-out generated painted videos",
                               "command": command.strip(), "config": config, "summary": summary, "runs": runs},
                              indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
