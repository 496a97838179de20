"""Model speed against a reference commit: STG-NF training and scoring windows/s, RTFM iterations/s, A B A B.

Usage: ``python benchmarks/model_speed.py [--reference db9fe67] [--threads 1 2] [--repeats 2] [--parts ...]``.

The reference commit is checked out once in a git worktree (``/tmp``), and
every measurement runs in a fresh subprocess whose ``PYTHONPATH`` points at
either tree, alternately (reference, current, reference, current, ...), so
that the shared machine's drift hits both alike. Each subprocess, with
``torch.set_num_threads(threads)``, measures on the same generated data:

* STG-NF training windows/s (flips included) of one ``partial_fit`` epoch after
  a first one (windows cut), OpenPose-18 keypoints and box5 boxes, batch 256;
* STG-NF scoring windows/s of ``score_objects`` on the stride-1 windows;
* RTFM training iterations/s at the paper's bag shape (32 + 32 bags of 16
  snippets of 10 crops x 2048), batch statistics as released (``'running'``)
  and no input scaling where the option exists, so both trees do the same
  computation; and, where the tree has the option, the same with
  ``precision='bfloat16'`` (``rtfm_paper_bf16``, its ratio taken against the
  reference's float32 figure).

``--parts rtfm`` (or ``stgnf``) measures only one model.

Writes ``benchmarks/results/model_speed.json``: every run, the median per
tree, and the ratio current / reference per metric and thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT = HERE / "results" / "model_speed.json"
REFERENCE_METRIC = {"rtfm_paper_bf16_iterations_per_s": "rtfm_paper_iterations_per_s"}
"""Metrics the reference cannot run, compared with the reference's figure of another metric."""

WORKER = r'''
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
parts = sys.argv[2].split(",")
from unsupvad import RTFM, STGNF, Video, VideoSet
from unsupvad.datasets import make_synthetic_videos

def timed(fn):
    tic = time.perf_counter(); fn(); return time.perf_counter() - tic

out = {}
STGNF_CASES = (("openpose18", "keypoints", "auto"), ("box5", "boxes", "box5"))
for name, tracks, layout in STGNF_CASES if "stgnf" in parts else ():
    X = make_synthetic_videos(16, n_frames=(400, 480), n_people=(6, 8), tracks=tracks, features=False,
                              random_state=0)
    est = STGNF(layout=layout, max_epochs=1, batch_size=256, random_state=0, device="cpu")
    est.partial_fit(X)  # cuts and caches the windows, builds the net
    n_train = 2 * len(est.training_objects(X))
    out[f"stgnf_{name}_train_windows_per_s"] = n_train / timed(lambda: est.partial_fit(X))
    objects = est.scoring_objects(X)
    est.score_objects(X, objects)
    out[f"stgnf_{name}_score_windows_per_s"] = len(objects) / timed(lambda: est.score_objects(X, objects))

rng = np.random.default_rng(0)
videos = [Video(f"v{i}", 16 * 40, features=rng.normal(size=(40, 10, 2048)).astype(np.float32))
          for i in range(32 if "rtfm" in parts else 0)]
precisions = ["float32"] + (["bfloat16"] if "precision" in RTFM().get_params() else [])
for precision in precisions if videos else ():
    X = VideoSet(videos)
    y = (np.random.default_rng(0).random(len(X)) < 0.3).astype(int)
    params = dict(batch_norm="running", iterations_per_epoch=2, max_epochs=1, batch_size=32, random_state=0,
                  device="cpu")
    if "input_scaling" in RTFM().get_params():
        params["input_scaling"] = "none"
    if precision != "float32":
        params["precision"] = precision
    est = RTFM(**params)
    est.partial_fit(X, y)
    key = "rtfm_paper" if precision == "float32" else "rtfm_paper_bf16"
    out[f"{key}_iterations_per_s"] = 2 / timed(lambda: est.partial_fit(X, y))
print(json.dumps(out))
'''


def reference_tree(commit: str) -> Path:
    """A worktree of ``commit`` under the temp folder, made once."""
    sha = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"unsupvad_reference_{sha}"
    if not (tree / "unsupvad").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", "--force", str(tree), sha], cwd=REPO, check=True,
                       capture_output=True)
    return tree


def run_in_tree(tree: Path, worker: str, threads: int, *args: str) -> dict:
    """Run ``worker`` (Python source) in a fresh process importing unsupvad from ``tree``; its last JSON line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", worker, str(threads), *args], env=env,
                          cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"running the worker with {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(tree: Path, threads: int, parts: list[str]) -> dict:
    return run_in_tree(tree, WORKER, threads, ",".join(parts))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="db9fe67", help="commit to compare with (default db9fe67)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2, help="A B pairs per thread count")
    parser.add_argument("--parts", nargs="+", choices=["stgnf", "rtfm"], default=["stgnf", "rtfm"])
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)

    trees = {"reference": reference_tree(args.reference), "current": REPO}
    runs, tic = [], time.perf_counter()
    for threads in args.threads:
        for repeat in range(args.repeats):
            for name, tree in trees.items():  # A B A B
                runs.append({"tree": name, "threads": threads, "repeat": repeat, **measure(tree, threads, args.parts)})
                print(json.dumps(runs[-1]), flush=True)
    metrics = [k for k in runs[1] if k.endswith("_per_s")]  # the current tree's
    summary = {}
    for threads in args.threads:
        for metric in metrics:
            med = {name: statistics.median(r[REFERENCE_METRIC.get(metric, metric) if name == "reference" else metric]
                                           for r in runs if r["tree"] == name and r["threads"] == threads)
                   for name in trees}
            summary[f"{metric}@{threads}"] = {**med, "ratio": med["current"] / med["reference"]}
    result = {"reference": args.reference, "current": subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip(),
        "summary": summary, "runs": runs, "elapsed_seconds": round(time.perf_counter() - tic, 1)}
    for key, value in summary.items():
        print(f"{key:45s} reference {value['reference']:10.1f}  current {value['current']:10.1f}  "
              f"ratio {value['ratio']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
