"""InterleavedVAD.fit time on the ShanghaiTech person tracks at the library's defaults, against a reference commit.

Usage: ``python benchmarks/fit_speed.py [--reference db9fe67] [--steps 2] [--repeats 2] [--threads 1]``.

Each tree (the reference commit, checked out once in a git worktree under
``/tmp``, and this one) runs, in a fresh subprocess whose ``PYTHONPATH``
points at it, alternately (reference, current, reference, current, ...):
the 238 training videos' box tracks (no label), that tree's own
``TrackSnippetFeatures(standardize=True)``, then ``InterleavedVAD(STGNF(
layout='box5'), RTFM())`` at that tree's defaults except for the length of
the loop, which is fixed for both (``max_modules=1, module_steps=--steps``)
so that both do the same number of steps. Only ``fit`` is timed (the
features are computed before). The ratio is reference seconds / current
seconds (above 1: the current tree is faster).

Writes ``benchmarks/results/fit_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

from model_speed import reference_tree, run_in_tree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT = HERE / "results" / "fit_speed.json"
TRACKS = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"

WORKER = r'''
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(int(sys.argv[1]))
from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import load_tracks_benchmark

X = TrackSnippetFeatures(standardize=True).fit_transform(load_tracks_benchmark(sys.argv[3], split="train"))
model = InterleavedVAD(STGNF(layout="box5", device="cpu"), RTFM(device="cpu"), max_modules=1,
                       module_steps=int(sys.argv[2]), device="cpu", random_state=0)
tic = time.perf_counter()
model.fit(X)
seconds = time.perf_counter() - tic
steps = [{k: r.get(k) for k in ("wocc_seconds", "ws_seconds")} for r in model.history_]
print(json.dumps({"fit_seconds": seconds, "n_steps": len(model.history_), "n_snippets": len(X),
                  "n_features": int(X.shape[-1]), "steps": steps}))
'''


def measure(tree: Path, threads: int, steps: int) -> dict:
    return run_in_tree(tree, WORKER, threads, str(steps), str(TRACKS))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="db9fe67", help="commit to compare with (default db9fe67)")
    parser.add_argument("--steps", type=int, default=2, help="interleaving steps of the one module")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="A B pairs")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if not TRACKS.is_dir():
        raise SystemExit(f"{TRACKS} is absent")

    trees = {"reference": reference_tree(args.reference), "current": REPO}
    runs, tic = [], time.perf_counter()
    for repeat in range(args.repeats):
        for name, tree in trees.items():  # A B A B
            runs.append({"tree": name, "repeat": repeat, **measure(tree, args.threads, args.steps)})
            print(json.dumps(runs[-1]), flush=True)
    median = {name: statistics.median(r["fit_seconds"] for r in runs if r["tree"] == name) for name in trees}
    result = {
        "benchmark": "InterleavedVAD(STGNF(layout='box5'), RTFM()).fit on the 238 ShanghaiTech training videos",
        "reference": args.reference,
        "current": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                  text=True).stdout.strip(),
        "median_fit_seconds": median, "speedup": median["reference"] / median["current"],
        "runs": runs, "elapsed_seconds": round(time.perf_counter() - tic, 1),
        "command": f"python benchmarks/fit_speed.py --reference {args.reference} --steps {args.steps} "
                   f"--threads {args.threads} --repeats {args.repeats}",
    }
    print(f"median fit: reference {median['reference']:.1f} s, current {median['current']:.1f} s, "
          f"speed-up {result['speedup']:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
