"""Training-free reference on real ShanghaiTech tracks: the fastest person's speed per frame.

Usage: ``python benchmarks/speed_heuristic.py [--data DIR]``. Prints the micro
frame AUC over the 199 test videos (expected 0.729) and writes
``benchmarks/results/speed_heuristic.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unsupvad._baselines import speed_frame_scores
from unsupvad.datasets import load_tracks_benchmark
from unsupvad.metrics import frame_auc

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "speed_heuristic.json"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shanghaitech-tracks folder")
    parser.add_argument("--window", type=int, default=15, help="moving-mean length in frames")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X = load_tracks_benchmark(args.data, split="test")
    loaded = time.perf_counter()
    scores = speed_frame_scores(X, window=args.window)
    labels = X.frame_labels()
    auc = frame_auc(labels, scores, average="micro")
    done = time.perf_counter()

    result = {
        "method": "speed heuristic (max person box-centre speed / box height, moving mean)",
        "split": "test",
        "window": args.window,
        "micro_auc": round(float(auc), 6),
        "n_videos": X.n_videos,
        "n_frames": int(X.n_frames.sum()),
        "n_abnormal_frames": int(sum(int(np.sum(y)) for y in labels)),
        "n_track_rows": int(sum(len(v.tracks) for v in X.videos)),
        "load_seconds": round(loaded - start, 3),
        "score_seconds": round(done - loaded, 3),
        "elapsed_seconds": round(done - start, 3),
    }
    print(
        f"micro AUC {auc:.3f}  ({result['n_videos']} videos, {result['n_frames']} frames, "
        f"{result['elapsed_seconds']:.1f} s)"
    )
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
