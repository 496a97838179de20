"""A paper-sized InterleavedVAD fit on CUDA: fit time, per-step times and peak GPU memory.

The problem is generated (no download) at the size of ShanghaiTech's training
split: about 11,000 training snippets of 10-crop 2048-d features and about
150,000 pose windows (stride 6), fitted with the paper's STGNF + RTFM
defaults::

    python benchmarks/gpu_fit.py                 # on a machine with a GPU
    python benchmarks/gpu_fit.py --scale 0.02 --device cpu   # a quick smoke run anywhere

Writes ``benchmarks/results/gpu_fit.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from unsupvad import RTFM, STGNF, InterleavedVAD
from unsupvad.datasets import make_synthetic_videos

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_fit.json"
PAPER_VIDEOS = 238  # ShanghaiTech weakly-supervised training split
FRAMES = (600, 860)  # mean ~730 frames, as in that split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the paper-sized problem")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--max-modules", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n_videos = max(2, round(PAPER_VIDEOS * args.scale))
    tic = time.perf_counter()
    X = make_synthetic_videos(n_videos, n_frames=FRAMES, n_people=(7, 11), n_features=2048, n_crops=10,
                              random_state=args.seed)
    generate_seconds = time.perf_counter() - tic
    wocc, ws = STGNF(layout="openpose18"), RTFM()
    n_windows = len(wocc.training_objects(X))
    print(f"{n_videos} videos, {len(X)} snippets, {n_windows} training pose windows "
          f"(generated in {generate_seconds:.0f} s)", flush=True)

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model = InterleavedVAD(wocc, ws, max_modules=args.max_modules, device=args.device, random_state=args.seed,
                           verbose=1)
    tic = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - tic
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "scale": args.scale, "n_videos": n_videos, "n_snippets": len(X), "n_training_windows": n_windows,
        "fit_seconds": fit_seconds, "peak_gpu_memory_gib": peak, "n_modules": model.n_modules_,
        "n_steps": model.n_steps_, "thresholds": model.thresholds_,
        "termination": model.termination_condition_,
        "seconds_per_step": float(np.mean([r["wocc_seconds"] + r["ws_seconds"] for r in model.history_])),
        "steps": [{"module": r["module"], "step": r["step"], "wocc_seconds": r["wocc_seconds"],
                   "ws_seconds": r["ws_seconds"]} for r in model.history_],
        "torch": torch.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"fit {fit_seconds:.0f} s, peak GPU memory {peak:.2f} GiB, {model.n_steps_} steps")


if __name__ == "__main__":
    main()
