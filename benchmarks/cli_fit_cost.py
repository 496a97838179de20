"""What ``unsupvad fit`` costs at each preset, run as a user runs it (a subprocess, its stderr a log file).

Usage: ``python benchmarks/cli_fit_cost.py [--videos 16] [--presets paper small] [--threads 2]``.

Takes ``--videos`` training videos of the real ShanghaiTech tracks (a fixed,
label-free draw of clips of 50 to 75 snippets: a small camera's worth,
like the newcomer's 16 videos and 965 snippets of issue #14), writes them as a
user's files (MOTChallenge tracks and a ``videos.csv``), and for each preset
runs ``unsupvad fit --tracks ... --frames videos.csv --split train`` with
stderr redirected to a file. It records the wall time, the modules and steps,
and whether the log holds a progress line for every module; then scores the
199 test videos with the fitted model and evaluates them (micro frame AUC, for
orientation only: nothing is chosen with it). Writes
``benchmarks/results/cli_fit_cost.json``. With ``--videos 0`` it fits the
whole training split (238 videos, 10,986 snippets).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "cli_fit_cost.json"


def training_draw(data: Path, n_videos: int, seed: int = 0) -> list[dict]:
    """``n_videos`` training clips of 50-75 snippets (all of them with 0), drawn without looking at any label."""
    with open(data / "videos.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    if n_videos == 0:
        return rows
    snippets = lambda r: -(-int(r["n_frames"]) // 16)  # noqa: E731
    pool = [r for r in rows if 50 < snippets(r) < 75]
    order = np.random.default_rng(seed).permutation(len(pool))
    return [pool[i] for i in order[:n_videos]]


def write_user_files(data: Path, rows: list[dict], root: Path) -> None:
    (root / "tracks").mkdir(parents=True)
    for row in rows:
        shutil.copy(data / "tracks" / f"{row['video']}.txt", root / "tracks")
    with open(root / "videos.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def unsupvad(*args: str, log: Path | None = None) -> tuple[float, str]:
    """Run the command with its stderr in ``log`` (a file, so not a terminal); seconds and stdout."""
    tic = time.perf_counter()
    with open(log, "w") if log else contextlib.nullcontext(subprocess.DEVNULL) as err:
        done = subprocess.run([sys.executable, "-m", "unsupvad", *args], stdout=subprocess.PIPE, stderr=err,
                              text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"unsupvad {' '.join(args)} failed ({done.returncode}); see {log}")
    return time.perf_counter() - tic, done.stdout


def fit_cost(data: Path, root: Path, preset: str, threads: int) -> dict:
    model, log = root / f"{preset}.uvad", root / f"{preset}.log"
    seconds, out = unsupvad("fit", "--tracks", str(root / "tracks"), "--frames", str(root / "videos.csv"),
                            "--split", "train", "--preset", preset, "--threads", str(threads), "--out", str(model),
                            log=log)
    lines = log.read_text().splitlines()
    summary = re.search(r"(\d+) modules?, (\d+) steps?", out)
    n_modules, n_steps = int(summary.group(1)), int(summary.group(2))
    logged_modules = {int(m.group(1)) for m in map(re.compile(r"fit: module (\d+) step").search, lines) if m}
    scores = root / f"{preset}_scores.csv"
    unsupvad("score", str(model), str(data / "tracks"), "--frames", str(data / "videos.csv"), "--split", "test",
             "--threads", str(threads), "--out", str(scores))
    _, report = unsupvad("evaluate", str(scores), "--gt", str(data / "gt" / "test"))
    return {
        "preset": preset, "fit_seconds": round(seconds, 1), "n_modules": n_modules, "n_steps": n_steps,
        "progress_lines": sum("fit: module" in line for line in lines),
        "every_module_logged": logged_modules == set(range(1, n_modules + 1)),
        "log_example": next((line for line in lines if "fit: module" in line), None),
        "test_micro_auc": float(re.search(r"micro AUC ([0-9.]+)", report).group(1)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shanghaitech-tracks folder")
    parser.add_argument("--videos", type=int, default=16, help="training videos to fit (0: all 238)")
    parser.add_argument("--presets", nargs="+", default=["paper", "small"], choices=["paper", "small"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)

    rows = training_draw(args.data, args.videos)
    n_snippets = sum(-(-int(r["n_frames"]) // 16) for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_user_files(args.data, rows, root)
        runs = []
        for preset in args.presets:
            runs.append(fit_cost(args.data, root, preset, args.threads))
            print(json.dumps(runs[-1]))
    result = {"training_videos": len(rows), "training_snippets": n_snippets, "threads": args.threads, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
