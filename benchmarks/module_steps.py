"""Row 4 of ``shanghaitech_tracks`` with longer modules: does the 3-step cap hold back the loop's wOCC and WS?

``benchmarks/shanghaitech_tracks.py`` caps a module at ``max_module_steps=3``
for compute, while the paper reports about 5 steps per module on
ShanghaiTech. This script refits row 4 (InterleavedVAD(STGNF box5 + RTFM),
the same config, data and scoring) with ``--steps`` as the cap instead::

    python benchmarks/module_steps.py [--steps 5] [--seeds 0 1 2 3 4] [--jobs 2]

No label is read before the test AUCs. Writes
``benchmarks/results/module_steps.json``.
"""

from __future__ import annotations

from pathlib import Path

import row_variants
import shanghaitech_tracks as tracks

RESULT = Path(__file__).resolve().parent / "results" / "module_steps.json"
SCORERS = ("ws", "wocc", "ws_last", "wocc_last")
KEYS = [f"{key}_micro_auc" for key in SCORERS]


def run_one(seed: int, steps: int, cfg: dict) -> dict:
    loop = {**cfg["interleaved"], "max_module_steps": steps}
    run = tracks.run_task("stgnf_rtfm", seed, {**cfg, "interleaved": loop})
    return {"seed": seed, "max_module_steps": steps, "thresholds": run["thresholds"],
            "steps_per_module": run["steps_per_module"], "termination": run["termination"],
            "fit_seconds": run["fit_seconds"],
            **{f"{key}_micro_auc": run["scores"][key]["test"]["micro_auc"] for key in SCORERS}}


def main() -> None:
    args, cfg, runs, started = row_variants.run_grid(__doc__.splitlines()[0], "--steps", [5], run_one)
    row_variants.write_result(
        RESULT, what="row 4 of shanghaitech_tracks (STGNF + RTFM) at other max_module_steps",
        command=row_variants.command_line("module_steps.py", "--steps", args), cfg=cfg,
        summary=row_variants.grouped_summary(runs, "max_module_steps", args.grid, KEYS),
        runs=runs, started=started)


if __name__ == "__main__":
    main()
