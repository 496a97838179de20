"""STG-NF AllData at the training length of one module's wOCC: the same-settings baseline of the loop's wOCC.

In ``benchmarks/shanghaitech_tracks.py`` a module's wOCC trains one epoch per
step, at most ``max_module_steps`` (3) epochs, while its AllData row (row 3)
trains STG-NF's 8. This script fits the same unweighted STGNF (the same
``config.stgnf``, data and scoring as row 3) for ``--epochs`` epochs instead::

    python benchmarks/alldata_epochs.py [--epochs 3] [--seeds 0 1 2 3 4] [--jobs 2]

No label is read before the test AUCs (and the training-snippet diagnostics,
read after each fit). Writes ``benchmarks/results/alldata_epochs.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import row_variants
import shanghaitech_tracks as tracks
from joblib import Parallel, delayed

RESULT = Path(__file__).resolve().parent / "results" / "alldata_epochs.json"


def run_one(seed: int, epochs: int, cfg: dict) -> dict:
    run = tracks.run_task("alldata", seed, {**cfg, "alldata_epochs": epochs})
    return {"seed": seed, "epochs": epochs, "micro_auc": run["scores"]["test"]["micro_auc"],
            "macro_auc": run["scores"]["test"]["macro_auc"],
            "train_snippet_auc": run["scores"]["diagnostic"]["train_snippet_auc"],
            "fit_seconds": run["fit_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes, one torch thread each")
    args = parser.parse_args()
    tic = time.perf_counter()
    cfg = tracks.make_config(tracks.parse_args([]))
    runs = Parallel(n_jobs=args.jobs)(delayed(run_one)(s, e, cfg) for e in args.epochs for s in args.seeds)
    summary = row_variants.grouped_summary(runs, "epochs", args.epochs, ("micro_auc", "macro_auc", "train_snippet_auc"))
    row_variants.write_result(
        RESULT, what="STG-NF AllData (unweighted STGNF, row 3 of shanghaitech_tracks) at other epoch counts",
        command=f"python benchmarks/alldata_epochs.py --epochs {' '.join(map(str, args.epochs))} "
                f"--seeds {' '.join(map(str, args.seeds))}",
        cfg=cfg, summary=summary, runs=runs, started=tic)

if __name__ == "__main__":
    main()
