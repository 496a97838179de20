"""How fit time and peak memory grow with the training set: 1k to 300k snippets, memory-mapped features.

For every size N, generated 2048-d, 1-crop clip features are written to a
temporary folder as RTFM-layout ``.npy`` files (videos of 100 snippets, 5 %
of the snippets shifted along a fixed direction), then a fresh subprocess
reads them with ``read_rtfm_features(..., mmap=True)`` and runs one
interleaving step of the default models, ``InterleavedVAD(FeatureAE(),
RTFM(), max_modules=1, module_steps=1)`` (Beta-drawn weights, one wOCC
epoch, its training-set scoring, one WS epoch, its training-set scoring),
so every size runs the same loop and the time is the cost of a step. The
subprocess reports the fit's seconds and its peak resident set size
(``ru_maxrss``, which counts the memory-mapped feature pages the process
touched as well as its own memory).

The log-log slope of time against N is fitted over the sizes; 1 means
linear. Labels play no part.

    python benchmarks/scaling.py [--sizes 1000 10000 100000 300000] [--threads 2] [--keep DIR]

Writes ``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "scaling.json"
N_FEATURES = 2048
PER_VIDEO = 100
ABNORMAL_SHARE = 0.05


def write_features(folder: Path, n_snippets: int, seed: int = 0) -> int:
    """``n_snippets`` generated snippets as ``<video>_i3d.npy`` files of ``PER_VIDEO`` snippets; the video count."""
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(N_FEATURES).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    n_videos = -(-n_snippets // PER_VIDEO)
    for v in range(n_videos):
        n = min(PER_VIDEO, n_snippets - v * PER_VIDEO)
        feats = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
        feats[rng.random(n) < ABNORMAL_SHARE] += direction
        np.save(folder / f"video{v:05d}_i3d.npy", np.abs(feats))  # non-negative, like pooled ReLU features
    return n_videos


def worker(folder: Path, threads: int) -> dict:
    """One fit in this process: seconds and peak RSS."""
    import torch

    torch.set_num_threads(threads)
    from unsupvad import RTFM, FeatureAE, InterleavedVAD
    from unsupvad.datasets import read_rtfm_features

    tic = time.perf_counter()
    X = read_rtfm_features(folder, mmap=True)
    read_seconds = time.perf_counter() - tic
    model = InterleavedVAD(FeatureAE(device="cpu"), RTFM(device="cpu"), max_modules=1, module_steps=1,
                           device="cpu", random_state=0)
    tic = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - tic
    step = model.history_[-1]
    return {"n_snippets": len(X), "n_videos": X.n_videos, "read_seconds": read_seconds,
            "fit_seconds": fit_seconds, "wocc_seconds": step.get("wocc_seconds"),
            "ws_seconds": step.get("ws_seconds"), "ws_iterations": int(model.ws_.n_iter_),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 300_000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the features here and keep them")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.threads)))
        return {}

    root = args.keep or Path(tempfile.mkdtemp(prefix="unsupvad_scaling_"))
    runs, tic = [], time.perf_counter()
    try:
        for n in args.sizes:
            folder = root / f"n{n}"
            if not folder.is_dir():
                write_features(folder, n)
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
            done = subprocess.run([sys.executable, __file__, "--worker", str(folder), "--threads", str(args.threads)],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the fit at {n} snippets failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    sizes = [r["n_snippets"] for r in runs]
    result = {
        "benchmark": "InterleavedVAD(FeatureAE(), RTFM()) one step, memory-mapped 2048-d features",
        "runs": runs,
        "time_log_log_slope": slope(sizes, [r["fit_seconds"] for r in runs]) if len(runs) > 1 else None,
        "time_log_log_slope_from_10k": slope(sizes[1:], [r["fit_seconds"] for r in runs[1:]])
        if len(runs) > 2 else None,
        "peak_rss_gb_at_largest": runs[-1]["peak_rss_bytes"] / 1e9,
        "feature_gb_at_largest": runs[-1]["n_snippets"] * N_FEATURES * 4 / 1e9,
        "elapsed_seconds": round(time.perf_counter() - tic, 1),
        "command": "python benchmarks/scaling.py --sizes " + " ".join(map(str, args.sizes))
                   + f" --threads {args.threads}",
        "environment": {"python": platform.python_version(), "threads": args.threads},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    return result


if __name__ == "__main__":
    main()
