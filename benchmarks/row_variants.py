"""Shared by the scripts that refit one row of ``shanghaitech_tracks`` at other settings.

``alldata_epochs.py`` (row 3 at other epoch counts) and ``module_steps.py``
(row 4 at other module lengths) summarise their runs and write their JSON
the same way.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


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
