"""RTFM training throughput at the paper's size: iterations per second, 10 crops and 1 crop.

One iteration = 32 positive + 32 negative bags of 16 snippets of 2048-d
features (x 10 crops or x 1 crop), forward, backward and an Adam step, plus
drawing the bags and gathering their features. Features are random (the
speed does not depend on them). Also times scoring one 10-crop video.

Usage: ``python benchmarks/rtfm_throughput.py [--iterations-10crop 3]
[--iterations-1crop 5] [--device auto]``. Writes
``benchmarks/results/rtfm_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from unsupvad import Video, VideoSet
from unsupvad.models._rtfm import RTFM

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "rtfm_throughput.json"
N_FEATURES = 2048
N_SNIPPETS = 1024
BATCH = 32
BAG = 16


def _features(n_crops: int, seed: int = 0) -> tuple[VideoSet, np.ndarray]:
    """Four videos of 256 snippets, half the snippets labelled 1, so both pools fill 32 bags of 16."""
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((N_SNIPPETS, n_crops, N_FEATURES), dtype=np.float32)
    videos = [Video(f"v{i}", 16 * 256, features=feats[i * 256:(i + 1) * 256]) for i in range(4)]
    y = np.tile([0, 1], N_SNIPPETS // 2)
    return VideoSet(videos), y


def time_training(n_crops: int, iterations: int, device: str) -> dict:
    """Seconds per training iteration after one warm-up iteration."""
    X, y = _features(n_crops)
    est = RTFM(batch_size=BATCH, bag_size=BAG, iterations_per_epoch=1, random_state=0, device=device)
    tic = time.perf_counter()
    est.partial_fit(X, y)
    warm_up = time.perf_counter() - tic
    est.set_params(iterations_per_epoch=iterations)
    tic = time.perf_counter()
    est.partial_fit(X, y)
    elapsed = time.perf_counter() - tic
    return {
        "crops": n_crops,
        "bags_per_iteration": f"{BATCH}+{BATCH} x {BAG} snippets x {n_crops} crops x {N_FEATURES}",
        "timed_iterations": iterations,
        "seconds": round(elapsed, 3),
        "seconds_per_iteration": round(elapsed / iterations, 3),
        "iterations_per_second": round(iterations / elapsed, 4),
        "first_iteration_seconds_incl_init": round(warm_up, 3),
        "final_train_loss": round(float(est.net_.history[-1, "train_loss"]), 4),
    }


def time_scoring(est: RTFM, n_snippets: int = 256) -> dict:
    """Snippets per second when scoring one 10-crop video."""
    feats = np.random.default_rng(1).standard_normal((n_snippets, 10, N_FEATURES), dtype=np.float32)
    X = VideoSet([Video("long", 16 * n_snippets, features=feats)])
    tic = time.perf_counter()
    est.score_snippets(X)
    elapsed = time.perf_counter() - tic
    return {"snippets": n_snippets, "crops": 10, "seconds": round(elapsed, 3),
            "ms_per_snippet": round(1000 * elapsed / n_snippets, 3)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations-10crop", type=int, default=3)
    parser.add_argument("--iterations-1crop", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    ten = time_training(10, args.iterations_10crop, args.device)
    one = time_training(1, args.iterations_1crop, args.device)
    for name, res in (("10 crops", ten), ("1 crop", one)):
        rate = res["iterations_per_second"]
        print(f"{name:>8}: {res['seconds_per_iteration']:.2f} s/iteration ({rate:.3f} it/s)")
    X, y = _features(1)
    est = RTFM(batch_size=2, iterations_per_epoch=1, random_state=0, device=args.device).fit(X, y)
    scoring = time_scoring(est)
    print(f"scoring: {scoring['ms_per_snippet']:.2f} ms per 10-crop snippet")

    result = {
        "what": "RTFM training iterations per second (32+32 bags x 16 snippets, 2048-d, Adam)",
        "device": str(est.device_),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "parameters": sum(p.numel() for p in est.net_.module_.parameters()),
        "ten_crops": ten,
        "one_crop": one,
        "scoring": scoring,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "note": "measured on a shared machine; other processes may have competed for the CPUs",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
