"""Shared by the scripts that refit one row of ``shanghaitech_tracks`` at other settings.

``alldata_epochs.py`` (row 3 at other epoch counts) and ``module_steps.py``
(row 4 at other module lengths) summarise their runs and write their JSON
the same way.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import shanghaitech_tracks as tracks
from joblib import Parallel, delayed


def run_grid(description: str, flag: str, default: list[int], run_one) -> tuple[argparse.Namespace, dict, list, float]:
    """Parse ``flag`` (a grid of ints), ``--seeds`` and ``--jobs``; run ``run_one(seed, value, cfg)`` over the grid.

    ``cfg`` is ``shanghaitech_tracks``' configuration at its defaults. Returns
    the arguments, ``cfg``, the runs (grid-major) and the start time.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(flag, type=int, nargs="+", default=default, dest="grid", metavar=flag.lstrip("-").upper())
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes, one torch thread each")
    args = parser.parse_args()
    started = time.perf_counter()
    cfg = tracks.make_config(tracks.parse_args([]))
    runs = Parallel(n_jobs=args.jobs)(delayed(run_one)(s, v, cfg) for v in args.grid for s in args.seeds)
    return args, cfg, runs, started


def command_line(script: str, flag: str, args: argparse.Namespace) -> str:
    """The command that reruns ``script`` with the same grid and seeds."""
    return (f"python benchmarks/{script} {flag} {' '.join(map(str, args.grid))} "
            f"--seeds {' '.join(map(str, args.seeds))}")


def grouped_summary(runs: list[dict], by: str, groups, keys) -> dict:
    """Per value of ``groups`` (keyed as a string): mean and std of every key over the runs whose ``by`` is it."""
    summary = {}
    for group in groups:
        mine = [run for run in runs if run[by] == group]
        summary[str(group)] = {key: {"mean": float(np.mean([r[key] for r in mine])),
                                     "std": float(np.std([r[key] for r in mine]))} for key in keys}
    return summary


def write_result(path: Path, *, what: str, command: str, cfg: dict, summary: dict, runs: list[dict],
                 started: float) -> None:
    """Write the JSON (``started``: the ``time.perf_counter()`` of the start) and print the summary."""
    path.write_text(json.dumps({
        "what": what, "command": command, "config": cfg, "summary": summary, "runs": runs,
        "elapsed_seconds": time.perf_counter() - started}, indent=2, default=str) + "\n")
    print(json.dumps(summary, indent=2))
