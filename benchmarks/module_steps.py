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

import argparse
import time
from pathlib import Path

import row_variants
import shanghaitech_tracks as tracks
from joblib import Parallel, delayed

RESULT = Path(__file__).resolve().parent / "results" / "module_steps.json"
SCORERS = ("ws", "wocc", "ws_last", "wocc_last")


def run_one(seed: int, steps: int, cfg: dict) -> dict:
    loop = {**cfg["interleaved"], "max_module_steps": steps}
    run = tracks.run_task("stgnf_rtfm", seed, {**cfg, "interleaved": loop})
    return {"seed": seed, "max_module_steps": steps, "thresholds": run["thresholds"],
            "steps_per_module": run["steps_per_module"], "termination": run["termination"],
            "fit_seconds": run["fit_seconds"],
            **{f"{key}_micro_auc": run["scores"][key]["test"]["micro_auc"] for key in SCORERS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes, one torch thread each")
    args = parser.parse_args()
    tic = time.perf_counter()
    cfg = tracks.make_config(tracks.parse_args([]))
    runs = Parallel(n_jobs=args.jobs)(delayed(run_one)(s, n, cfg) for n in args.steps for s in args.seeds)
    summary = row_variants.grouped_summary(runs, "max_module_steps", args.steps,
                                           [f"{key}_micro_auc" for key in SCORERS])
    row_variants.write_result(
        RESULT, what="row 4 of shanghaitech_tracks (STGNF + RTFM) at other max_module_steps",
        command=f"python benchmarks/module_steps.py --steps {' '.join(map(str, args.steps))} "
                f"--seeds {' '.join(map(str, args.seeds))}",
        cfg=cfg, summary=summary, runs=runs, started=tic)

if __name__ == "__main__":
    main()
