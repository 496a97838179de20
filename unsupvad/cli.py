"""Command line: ``unsupvad demo`` (more subcommands arrive with the CLI issue)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def run_demo(n_videos: int = 24, seed: int = 0, out: Path | None = None) -> dict:
    """Generate videos, fit without labels on some, score and evaluate the others.

    Returns the report (also written to ``out/demo_report.json`` when ``out`` is given).
    """
    from ._baselines import speed_frame_scores
    from .datasets import make_synthetic_videos
    from .metrics import evaluate

    tic = time.perf_counter()
    X = make_synthetic_videos(n_videos=n_videos, tracks="boxes", random_state=seed)
    n_train = n_videos * 2 // 3
    train, test = X[np.flatnonzero(X.snippet_video < n_train)], X[np.flatnonzero(X.snippet_video >= n_train)]
    labels = test.frame_labels()
    report = {
        "data": {"train_videos": train.n_videos, "test_videos": test.n_videos,
                 "test_frames": int(sum(len(lab) for lab in labels)),
                 "abnormal_frames": int(sum(lab.sum() for lab in labels))},
        "speed_heuristic": evaluate(labels, speed_frame_scores(test)),
    }
    report["seconds"] = time.perf_counter() - tic
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "demo_report.json").write_text(json.dumps(report, indent=2))
    return report


def _print_report(report: dict) -> None:
    data = report["data"]
    print(f"generated data: {data['train_videos']} training videos (not needed by the training-free "
          f"baseline), {data['test_videos']} test videos, {data['test_frames']} test frames "
          f"({data['abnormal_frames']} abnormal)")
    for name, metrics in report.items():
        if isinstance(metrics, dict) and "micro_auc" in metrics:
            print(f"{name:>20}: micro AUC {metrics['micro_auc']:.3f}  macro AUC {metrics['macro_auc']:.3f}  "
                  f"AP {metrics['ap']:.3f}  EER {metrics['eer']:.3f}")
    print(f"done in {report['seconds']:.1f} s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unsupvad", description="Unsupervised video anomaly detection.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit on generated videos without labels, then score and evaluate")
    demo.add_argument("--videos", type=int, default=24, help="number of generated videos (default 24)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--out", type=Path, default=None, help="folder for the report (default: print only)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            _print_report(run_demo(args.videos, args.seed, args.out))
    except (ValueError, FileNotFoundError) as exc:
        print(f"unsupvad: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
