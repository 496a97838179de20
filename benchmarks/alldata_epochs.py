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

from pathlib import Path

import row_variants
import shanghaitech_tracks as tracks

RESULT = Path(__file__).resolve().parent / "results" / "alldata_epochs.json"
KEYS = ("micro_auc", "macro_auc", "train_snippet_auc")


def run_one(seed: int, epochs: int, cfg: dict) -> dict:
    run = tracks.run_task("alldata", seed, {**cfg, "alldata_epochs": epochs})
    return {"seed": seed, "epochs": epochs, "micro_auc": run["scores"]["test"]["micro_auc"],
            "macro_auc": run["scores"]["test"]["macro_auc"],
            "train_snippet_auc": run["scores"]["diagnostic"]["train_snippet_auc"],
            "fit_seconds": run["fit_seconds"]}


def main() -> None:
    args, cfg, runs, started = row_variants.run_grid(__doc__.splitlines()[0], "--epochs", [3], run_one)
    row_variants.write_result(
        RESULT, what="STG-NF AllData (unweighted STGNF, row 3 of shanghaitech_tracks) at other epoch counts",
        command=row_variants.command_line("alldata_epochs.py", "--epochs", args), cfg=cfg,
        summary=row_variants.grouped_summary(runs, "epochs", args.grid, KEYS),
        runs=runs, started=started)


if __name__ == "__main__":
    main()
