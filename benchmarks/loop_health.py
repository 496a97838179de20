"""Loop health of InterleavedVAD at the library's defaults, on inputs shaped like the paper's.

For every setting, one fit per seed with no label; every step's label-free health
record (``history_``) is checked against the robust-loop criteria:

- saturation: at most 20 % of the training snippets at a saturated WS score
  (within 1e-3 of 1) beyond the share labelled positive in that step;
- agreement: the WS's AUC against its own pseudo-labels of the step >= 0.6 at
  every step, median over the steps of a fit >= 0.8;
- spread: standard deviation of the WS training scores >= 0.01;
- threshold: every T_ws >= 16 (the positive bag size).

Settings (generated videos without tracks; clip features imitating pooled I3D/C3D
features; the default models ``InterleavedVAD(FeatureAE(), RTFM())``):

- ``clip2048``: 2048-d, 1 crop; ``clip2048x10``: 2048-d, 10 crops;
- ``clip4096``: 4096-d, 1 crop; ``clip2048_x1000``: the 2048-d features x 1000;
- ``tracks_ae``: the real ShanghaiTech person tracks' ``TrackSnippetFeatures``
  (238 training videos), ``InterleavedVAD(FeatureAE(), RTFM())``;
- ``tracks_stgnf``: the same with ``InterleavedVAD(STGNF(layout='box5'), RTFM())``
  at ``train_stride = score_stride = 24`` (a quarter of the windows of
  ``benchmarks/shanghaitech_tracks.py``'s stride 6, to keep this check short;
  the health criteria concern the WS, which sees the same snippets).

``--released`` adds, for the 1-crop generated settings, the WS as released
(``input_scaling='none'``, ``batch_norm='running'``, ``min_iterations=1``) with
``weight_floor=0``: the state of the loop before this benchmark existed.

Labels are read only after each fit, for the diagnostic snippet AUCs of the
final models (training snippets; ``gt/train`` for the real tracks).

    python benchmarks/loop_health.py [--seeds 0 1] [--settings ...] [--released] [--jobs 2] [--update]

Writes ``benchmarks/results/loop_health.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.metrics import roc_auc_score

from unsupvad import RTFM, STGNF, FeatureAE, InterleavedVAD, TrackSnippetFeatures, VideoSet
from unsupvad.datasets import load_tracks_benchmark, make_synthetic_videos, scene_prefix

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "loop_health.json"
TRACKS = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"

MAX_EXCESS_SATURATION = 0.2
MIN_STEP_AGREEMENT = 0.6
MIN_MEDIAN_AGREEMENT = 0.8
MIN_SPREAD = 0.01
MIN_THRESHOLD = 16

GENERATED = {  # name: (feature size, crops, factor)
    "clip2048": (2048, None, 1.0),
    "clip2048x10": (2048, 10, 1.0),
    "clip4096": (4096, None, 1.0),
    "clip2048_x1000": (2048, None, 1000.0),
}
SETTINGS = (*GENERATED, "tracks_ae", "tracks_stgnf")
RELEASED_WS = {"input_scaling": "none", "batch_norm": "running", "min_iterations": 1}
N_VIDEOS = 24


# ---------------------------------------------------------------------- data
def generated(name: str, seed: int) -> VideoSet:
    n_features, crops, factor = GENERATED[name]
    X = make_synthetic_videos(N_VIDEOS, tracks=None, n_features=n_features, n_crops=crops, random_state=seed)
    if factor != 1.0:
        X = VideoSet([v.replace(features=v.features * np.float32(factor)) for v in X.videos])
    return X


def real_tracks() -> VideoSet:
    train = load_tracks_benchmark(TRACKS, split="train", scene=scene_prefix)  # no labels attached
    return TrackSnippetFeatures(standardize=True).fit_transform(train)


def real_train_labels(X: VideoSet) -> np.ndarray:
    """DIAGNOSTIC ONLY, after the fit: 1 for training snippets holding an abnormal frame (gt/train)."""
    masks = [np.load(TRACKS / "gt" / "train" / f"{name}.npy") for name in X.names]
    return (X.frames_to_snippets(masks, reduce="max") > 0).astype(np.int64)


# ---------------------------------------------------------------------- one fit
def model_for(setting: str, variant: str, seed: int, options: dict | None = None) -> InterleavedVAD:
    """The fit of one run; ``options`` are the non-default model settings of ``--stgnf-batch-norm`` and
    ``--ws-min-agreement`` (``{'stgnf': {...}, 'ws': {...}}``)."""
    options = options or {}
    ws = RTFM(device="cpu", **(RELEASED_WS if variant == "released" else {}), **options.get("ws", {}))
    if setting == "tracks_stgnf":
        wocc = STGNF(layout="box5", train_stride=24, score_stride=24, device="cpu", **options.get("stgnf", {}))
    else:
        wocc = FeatureAE(device="cpu")
    extra = {"weight_floor": 0.0} if variant == "released" else {}
    return InterleavedVAD(wocc, ws, device="cpu", random_state=seed, **extra)


def run(setting: str, variant: str, seed: int, options: dict | None = None) -> dict:
    torch.set_num_threads(1)
    X = real_tracks() if setting.startswith("tracks") else generated(setting, seed)
    model = model_for(setting, variant, seed, options)
    tic = time.perf_counter()
    error = None
    try:
        model.fit(X)  # no y; the VideoSet's labels are never read by fit
    except ValueError as exc:  # reported, not hidden
        error = str(exc)
    out = {"setting": setting, "variant": variant, "seed": seed, "n_snippets": len(X),
           "feature_shape": list(X.shape[1:]), "fit_seconds": time.perf_counter() - tic, "error": error}
    if error is not None:
        return out
    labels = real_train_labels(X) if setting.startswith("tracks") else X.snippet_labels()  # after the fit
    out.update({
        "thresholds": [int(t) for t in model.thresholds_], "n_modules": model.n_modules_,
        "n_steps": model.n_steps_, "termination": model.termination_condition_,
        "steps": [_step(r) for r in model.history_],
        "diagnostic_train_snippet_auc": {
            "ws": float(roc_auc_score(labels, model.ws_.score_snippets(X))),
            "wocc": float(roc_auc_score(labels, model.wocc_.score_snippets(X))),
        },
    })
    out["checks"] = checks(out)
    return out


def _step(record: dict) -> dict:
    keys = ("module", "step", "threshold", "n_positive", "ws_saturated", "ws_spread", "ws_agreement",
            "wocc_weight_ess", "ws_degenerate", "mean_weight", "weight_change", "wocc_seconds", "ws_seconds")
    return {k: record[k] for k in keys if k in record}


def checks(run: dict) -> dict:
    """The robust-loop criteria on one fit's steps."""
    n = run["n_snippets"]
    steps = run["steps"]
    excess = [s["ws_saturated"] - s["n_positive"] / n for s in steps]
    agreement = [s["ws_agreement"] for s in steps]
    spread = [s["ws_spread"] for s in steps]
    result = {
        "max_excess_saturation": float(max(excess)),
        "min_agreement": float(min(agreement)),
        "median_agreement": float(np.median(agreement)),
        "min_spread": float(min(spread)),
        "min_threshold": int(min(run["thresholds"])),
        "n_degenerate_steps": int(sum(s["ws_degenerate"] for s in steps)),
    }
    result["pass"] = bool(
        result["max_excess_saturation"] <= MAX_EXCESS_SATURATION
        and result["min_agreement"] >= MIN_STEP_AGREEMENT
        and result["median_agreement"] >= MIN_MEDIAN_AGREEMENT
        and result["min_spread"] >= MIN_SPREAD
        and result["min_threshold"] >= MIN_THRESHOLD
    )
    return result


# ---------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--ten-crop-seeds", type=int, nargs="+", default=[0],
                        help="seeds of clip2048x10 (about 15 minutes a fit on one CPU thread)")
    parser.add_argument("--released", action="store_true", help="also run the WS as released (1-crop settings)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel fits, one torch thread each")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--update", action="store_true",
                        help="keep the runs of the other settings already in --out (rerun only --settings)")
    parser.add_argument("--stgnf-batch-norm", choices=("running", "precise"), default="running",
                        help="STGNF(batch_norm=...) of tracks_stgnf (the library default: running)")
    parser.add_argument("--ws-min-agreement", type=float, default=None,
                        help="RTFM(min_agreement=...) (the library default: None, one epoch per step)")
    return parser.parse_args(argv)


def model_options(args: argparse.Namespace) -> dict:
    """The non-default model settings asked for on the command line (empty at the library defaults)."""
    options = {}
    if args.stgnf_batch_norm != "running":
        options["stgnf"] = {"batch_norm": args.stgnf_batch_norm}
    if args.ws_min_agreement is not None:
        options["ws"] = {"min_agreement": args.ws_min_agreement}
    return options


def tasks(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    out = []
    for setting in args.settings:
        if setting.startswith("tracks") and not TRACKS.is_dir():
            print(f"skipping {setting}: {TRACKS} is absent")
            continue
        seeds = args.ten_crop_seeds if setting == "clip2048x10" else args.seeds
        variants = ["default"] + (["released"] if args.released and GENERATED.get(setting, (0, 1))[1] is None
                                  and setting in GENERATED else [])
        out += [(setting, variant, seed) for variant in variants for seed in seeds]
    heavy = {"clip2048x10": 0, "tracks_stgnf": 1, "clip4096": 2}
    return sorted(out, key=lambda t: heavy.get(t[0], 9))  # longest first


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    runs = []
    options = model_options(args)
    for result in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(run)(*task, options) for task in tasks(args)):
        runs.append(result)
        verdict = "error: " + result["error"] if result["error"] else (
            f"pass={result['checks']['pass']} {result['checks']}  T_ws {result['thresholds']}  "
            f"train AUC WS {result['diagnostic_train_snippet_auc']['ws']:.3f}")
        print(f"{result['setting']} [{result['variant']}] seed {result['seed']} ({result['fit_seconds']:.0f} s): "
              f"{verdict}", flush=True)
    command = "python benchmarks/loop_health.py " + " ".join(sys.argv[1:] if argv is None else argv)
    commands = [command]
    if args.update and args.out.exists():
        previous = json.loads(args.out.read_text())
        runs += [r for r in previous["runs"] if r["setting"] not in args.settings]
        commands = previous.get("commands", [previous.get("command", "")]) + commands
    runs.sort(key=lambda r: (SETTINGS.index(r["setting"]), r["variant"], r["seed"]))
    defaults = [r for r in runs if r["variant"] == "default"]
    result = {
        "benchmark": "InterleavedVAD loop health at the library defaults (label-free per-step statistics)"
                     + (f", except {options}" if options else ""),
        "model_options": options,
        "criteria": {"max_excess_saturation": MAX_EXCESS_SATURATION, "min_step_agreement": MIN_STEP_AGREEMENT,
                     "min_median_agreement": MIN_MEDIAN_AGREEMENT, "min_spread": MIN_SPREAD,
                     "min_threshold": MIN_THRESHOLD},
        "all_default_fits_pass": bool(defaults) and all(r["error"] is None and r["checks"]["pass"]
                                                        for r in defaults),
        "runs": runs,
        "elapsed_seconds": time.perf_counter() - start,
        "commands": commands,
        "environment": {"torch": torch.__version__, "sklearn": sklearn.__version__,
                        "python": platform.python_version(), "threads_per_fit": 1},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"all default fits pass: {result['all_default_fits_pass']}; wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
