"""The paper's protocol on real ShanghaiTech person tracks: no label in ``fit``, frame AUC on 199 test videos.

Rows (each fitted on the 238 training videos without any label, scored on
the 199 test videos; micro and macro frame AUC, mean and std over seeds):

1. the training-free speed heuristic (deterministic: one value);
2. IsolationForest on the ``TrackSnippetFeatures`` snippet features;
3. STG-NF AllData: unweighted STGNF (box5 layout) on all training data;
4. InterleavedVAD(STGNF + RTFM) on tracks + ``TrackSnippetFeatures``: wOCC and WS;
5. InterleavedVAD(FeatureAE + RTFM) on the snippet features alone;
6. InterleavedVAD(STGNF + MIL);
7. the Table 4 ablations of row 4: ``weighted=False`` and ``adaptive_threshold=False``.

Labels: the test masks are read only for the final AUCs. The training masks
(``gt/train``) are read only after a model is fitted, for a diagnostic of the
pseudo-labels (snippet AUC of the final training scores, precision of the
top-T_ws set); nothing is selected on any label. Every setting that differs
from the library's defaults to fit the time budget is listed under
``reductions`` in the JSON and in the markdown table, with how it was chosen.

Usage::

    python benchmarks/shanghaitech_tracks.py [--seeds 0 1 2 3 4] [--jobs 2] [--quick] [--out PATH]
                                             [--data DIR] [--device cpu]

Writes ``benchmarks/results/shanghaitech_tracks.json`` and ``.md`` (``--quick``,
a tiny end-to-end smoke configuration: a temporary folder unless ``--out``).
Designed for about 2 hours on 2 CPU cores with ``--jobs 2`` (one torch
thread per job) and 5 seeds; the estimate is printed at the start and saved.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from unsupvad import MIL, RTFM, STGNF, FeatureAE, InterleavedVAD, TrackSnippetFeatures, VideoSet
from unsupvad._baselines import speed_frame_scores
from unsupvad.datasets import load_tracks_benchmark, scene_prefix
from unsupvad.metrics import frame_auc

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "shanghaitech_tracks.json"
ALLDATA_RESULT = HERE / "results" / "stgnf_alldata.json"
QUICK_RESULT = Path(tempfile.gettempdir()) / "shanghaitech_tracks_quick.json"

# Throughputs used for the time estimate: STGNF (box5, seg_len 24, 8 flows) on one CPU thread, measured by
# benchmarks/stgnf_alldata.py; the other per-step costs measured on the 238 training videos with
# TrackSnippetFeatures on one thread of the shared 2-core machine (one epoch + one training-set scoring).
STGNF_TRAIN_WINDOWS_PER_S = 3600.0
STGNF_SCORE_WINDOWS_PER_S = 14000.0
WS_STEP_SECONDS = {"rtfm": 3.6, "mil": 0.3}
FEATURE_AE_STEP_SECONDS = 0.9
TASK_OVERHEAD_SECONDS = 5.0  # loading both splits and computing their snippet features in a job
IFOREST_SECONDS = 10.0

# name: (wOCC, WS, InterleavedVAD settings on top of the common ones, label)
INTERLEAVED = {
    "stgnf_rtfm": ("stgnf", "rtfm", {}, "InterleavedVAD(STGNF box5 + RTFM)"),
    "ae_rtfm": ("feature_ae", "rtfm", {}, "InterleavedVAD(FeatureAE + RTFM), features only"),
    "stgnf_mil": ("stgnf", "mil", {}, "InterleavedVAD(STGNF box5 + MIL)"),
    "stgnf_rtfm_unweighted": ("stgnf", "rtfm", {"weighted": False},
                              "row 4, weighted=False (Table 4: no soft labels)"),
    "stgnf_rtfm_fixed": ("stgnf", "rtfm", {"adaptive_threshold": False},
                         "row 4, adaptive_threshold=False (Table 4: fixed T_ws)"),
}
KINDS = ("iforest", "alldata", *INTERLEAVED)

# (row number, summary key, task kind, scorer, label) in table order
ROWS = [
    ("1", "speed", "speed", None, "Speed heuristic (training-free)"),
    ("2", "iforest", "iforest", None, "IsolationForest on TrackSnippetFeatures"),
    ("3", "alldata", "alldata", None, "STG-NF AllData (unweighted STGNF, box5)"),
    ("4", "stgnf_rtfm_wocc", "stgnf_rtfm", "wocc", "InterleavedVAD(STGNF + RTFM): wOCC"),
    ("4", "stgnf_rtfm_ws", "stgnf_rtfm", "ws", "InterleavedVAD(STGNF + RTFM): WS"),
    ("4'", "stgnf_rtfm_wocc_last", "stgnf_rtfm", "wocc_last", "row 4, last module's models only (paper): wOCC"),
    ("4'", "stgnf_rtfm_ws_last", "stgnf_rtfm", "ws_last", "row 4, last module's models only (paper): WS"),
    ("5", "ae_rtfm_wocc", "ae_rtfm", "wocc", "InterleavedVAD(FeatureAE + RTFM): wOCC"),
    ("5", "ae_rtfm_ws", "ae_rtfm", "ws", "InterleavedVAD(FeatureAE + RTFM): WS"),
    ("6", "stgnf_mil_wocc", "stgnf_mil", "wocc", "InterleavedVAD(STGNF + MIL): wOCC"),
    ("6", "stgnf_mil_ws", "stgnf_mil", "ws", "InterleavedVAD(STGNF + MIL): WS"),
    ("7a", "unweighted_wocc", "stgnf_rtfm_unweighted", "wocc", "row 4, weighted=False: wOCC"),
    ("7a", "unweighted_ws", "stgnf_rtfm_unweighted", "ws", "row 4, weighted=False: WS"),
    ("7b", "fixed_wocc", "stgnf_rtfm_fixed", "wocc", "row 4, adaptive_threshold=False: wOCC"),
    ("7b", "fixed_ws", "stgnf_rtfm_fixed", "ws", "row 4, adaptive_threshold=False: WS"),
]


# ---------------------------------------------------------------------- configuration
# STGNF parameter: its command-line flag (``--stgnf-batch-norm`` sets ``args.stgnf_batch_norm``)
STGNF_FLAGS = {"batch_norm": "--stgnf-batch-norm", "snippet_scoring": "--stgnf-snippet-scoring"}


def _stgnf_overrides(args: argparse.Namespace) -> dict:
    """The STGNF settings the command line changes from the library's defaults (none by default)."""
    defaults = STGNF().get_params()
    wanted = {name: getattr(args, flag[2:].replace("-", "_")) for name, flag in STGNF_FLAGS.items()}
    return {name: value for name, value in wanted.items() if value != defaults[name]}


def make_config(args: argparse.Namespace) -> dict:
    """Every setting of the run. Library defaults unless listed in ``reductions``."""
    quick = bool(args.quick)
    return {
        "data": str(args.data),
        "quick": quick,
        "video_step": 20 if quick else 1,  # every k-th video of each split, in split-file order
        "seeds": list(args.seeds),
        "jobs": int(args.jobs),
        "torch_threads_per_job": 1,
        "device": args.device,
        "features": {"standardize": True},
        "stgnf": {"layout": "box5", "seg_len": 24, "train_stride": 6, "score_stride": 6, "n_flows": 8,
                  **_stgnf_overrides(args)},
        "stgnf_test_score_stride": 1,
        "alldata_epochs": 1 if quick else 8,
        "interleaved": {"max_modules": 2 if quick else 4, "module_steps": "auto",
                        "max_module_steps": 2 if quick else 3},
        "feature_ae": {},
        "rtfm": _ws_options(args),
        "mil": _ws_options(args),
        "iforest": {},
    }


def command_flags(cfg: dict) -> str:
    """The command-line flags that reproduce ``cfg``'s non-default model settings ('' at the defaults)."""
    flags = [f" {flag} {cfg['stgnf'][name]}" for name, flag in STGNF_FLAGS.items() if name in cfg["stgnf"]]
    if "min_agreement" in cfg["rtfm"]:
        flags.append(f" --ws-min-agreement {cfg['rtfm']['min_agreement']}")
    return "".join(flags)


def _ws_options(args: argparse.Namespace) -> dict:
    """RTFM's and MIL's non-default settings from the command line (none at the library defaults)."""
    return {} if args.ws_min_agreement is None else {"min_agreement": args.ws_min_agreement}


REDUCTIONS = [
    {
        "what": "STGNF score_stride for the diagnostic scoring of the training set after the fit",
        "default": 1, "used": 6,
        "why": "compute: 69,854 windows at stride 6 (= train_stride) against 412,945 at stride 1. Inside the loop "
               "nothing changes: InterleavedVAD's default wocc_scoring='training' reads the wOCC's scores of its "
               "own stride-6 training windows, which equal its stride-6 scores. Snippet scores stay the max of "
               "the windows touching the snippet (snippet_scoring='max', the library default, unless config.stgnf "
               "sets it). Test scoring uses stride 1 "
               "(STG-NF's frame protocol): every kept wOCC's score_stride is set to 1 before scoring the test "
               "videos.",
    },
    {
        "what": "InterleavedVAD max_modules",
        "default": 6, "used": 4,
        "why": "compute bound; the stopping rule (Q = 0.1, unchanged) may still end the repetition earlier. "
               "The paper reports 17 steps on ShanghaiTech at about 5 per module, i.e. 3-4 modules. The "
               "fixed-threshold ablation always runs all 4 (its rule never fires).",
    },
    {
        "what": "InterleavedVAD max_module_steps (module_steps='auto', the paper's convergence test, is kept)",
        "default": 10, "used": 3,
        "why": "compute bound on the steps of one module: a module still ends earlier when the soft labels "
               "settle (convergence_tol 0.02, unchanged). At most 4 x 3 = 12 steps per fit; the paper reports "
               "17 steps on ShanghaiTech, the official code 6 per module.",
    },
    {
        "what": "TrackSnippetFeatures standardize",
        "default": False, "used": True,
        "why": "the features mix counts and speeds on very different scales; z-scored with the mean and std of "
               "the training snippets only (the training data's own statistics). IsolationForest is "
               "unaffected (trees are invariant to per-feature scaling).",
    },
]

UNCHANGED = (
    "STGNF: seg_len 24, 8 flows, max_missing 2, Adam lr 5e-4, wd 5e-4, batch 256, flip augmentation, "
    "snippet_scoring 'max' (the library default, unless config.stgnf says otherwise), smoothing sigmas 1..6; "
    "STG-NF AllData: 8 epochs (STG-NF's). RTFM and MIL: library "
    "defaults (bags of 16, 32+32 bags per iteration, iterations_per_epoch 'auto' = one pass over the larger "
    "pseudo-label pool, at least min_iterations 10 in a fresh network's first epoch, about 20 iterations here; "
    "RTFM k 3, margin 100, "
    "input_scaling 'standard', batch_norm 'precise'; MIL input_scaling 'rms'). InterleavedVAD: R 0.15, Q 0.1, "
    "Beta(1, 5) start, weight_rule 'centre', weight_floor 1e-3, first_change 'paper', ensemble 'modules' (rows "
    "4' score the same fits with the last module's models only, as in the paper). IsolationForest: scikit-learn "
    "defaults (100 trees, 256 samples each)."
)


def stgnf_template(cfg: dict, **params) -> STGNF:
    return STGNF(**cfg["stgnf"], device=cfg["device"], **params)


def model_template(name: str, cfg: dict):
    if name == "stgnf":
        return stgnf_template(cfg)
    if name == "feature_ae":
        return FeatureAE(**cfg["feature_ae"], device=cfg["device"])
    if name == "rtfm":
        return RTFM(**cfg["rtfm"], device=cfg["device"])
    if name == "mil":
        return MIL(**cfg["mil"], device=cfg["device"])
    raise ValueError(name)


# ---------------------------------------------------------------------- data
def _every(X: VideoSet, step: int) -> VideoSet:
    """Every ``step``-th video of ``X`` in its order (all for 1): the quick subset, chosen without labels."""
    return X if step == 1 else VideoSet(X.videos[::step])


def load_splits(cfg: dict) -> tuple[VideoSet, VideoSet]:
    """Training videos without labels, test videos with their masks, both with snippet features.

    The feature standardisation is learned on the training snippets only.
    """
    train = _every(load_tracks_benchmark(cfg["data"], split="train", scene=scene_prefix),  # no labels attached
                   cfg["video_step"])
    test = _every(load_tracks_benchmark(cfg["data"], split="test", scene=scene_prefix), cfg["video_step"])
    features = TrackSnippetFeatures(**cfg["features"]).fit(train)
    return features.transform(train), features.transform(test)


def train_snippet_labels(cfg: dict, train: VideoSet) -> np.ndarray:
    """DIAGNOSTIC ONLY, called after a fit: 1 for training snippets holding an abnormal frame (gt/train)."""
    root = Path(cfg["data"]) / "gt" / "train"
    masks = [np.load(root / f"{name}.npy") for name in train.names]
    return (train.frames_to_snippets(masks, reduce="max") > 0).astype(np.int64)


# ---------------------------------------------------------------------- metrics
def test_metrics(test: VideoSet, frames: list[np.ndarray]) -> dict:
    labels = test.frame_labels()
    try:
        macro = float(frame_auc(labels, frames, average="macro"))
    except ValueError:
        macro = float("nan")
    return {"micro_auc": float(frame_auc(labels, frames, average="micro")), "macro_auc": macro}


def pseudo_label_quality(scores: np.ndarray, labels: np.ndarray, n_top: int) -> dict:
    """Training-snippet AUC of ``scores`` and precision / recall of their top ``n_top`` snippets (diagnostic)."""
    scores = np.asarray(scores, dtype=np.float64)
    top = np.argsort(-scores, kind="stable")[:n_top]
    n_abnormal = int(labels.sum())
    auc = float(roc_auc_score(labels, scores)) if 0 < n_abnormal < len(labels) else float("nan")
    return {
        "train_snippet_auc": auc,
        "top_n": int(n_top),
        "top_precision": float(labels[top].mean()),
        "top_recall": float(labels[top].sum() / n_abnormal) if n_abnormal else float("nan"),
    }


def first_threshold(n_snippets: int) -> int:
    """T_ws of the first module, ceil(R N), with InterleavedVAD's default R."""
    return math.ceil(InterleavedVAD(None, None).initial_ratio * n_snippets)


# ---------------------------------------------------------------------- tasks
def run_task(kind: str, seed: int, cfg: dict) -> dict:
    """One fitted model (one seed): fit on the unlabelled training split, diagnostics, test AUCs."""
    torch.set_num_threads(cfg["torch_threads_per_job"])
    tic = time.perf_counter()
    train, test = load_splits(cfg)
    out = {"kind": kind, "seed": seed, "load_seconds": time.perf_counter() - tic}
    if kind == "iforest":
        out.update(_run_iforest(train, test, seed, cfg))
    elif kind == "alldata":
        out.update(_run_alldata(train, test, seed, cfg))
    else:
        out.update(_run_interleaved(kind, train, test, seed, cfg))
    out["task_seconds"] = time.perf_counter() - tic
    return out


def _run_iforest(train: VideoSet, test: VideoSet, seed: int, cfg: dict) -> dict:
    model = IsolationForest(**cfg["iforest"], random_state=seed)
    tic, cpu = time.perf_counter(), time.process_time()
    model.fit(train.features())
    fit_seconds, fit_cpu = time.perf_counter() - tic, time.process_time() - cpu
    labels = train_snippet_labels(cfg, train)  # after the fit: diagnostic only
    diag = pseudo_label_quality(-model.score_samples(train.features()), labels,
                                first_threshold(len(train)))
    tic = time.perf_counter()
    frames = test.snippets_to_frames(-model.score_samples(test.features()))  # a frame gets its snippet's score
    return {"fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu, "score_seconds": time.perf_counter() - tic,
            "scores": {"test": test_metrics(test, frames), "diagnostic": diag}}


def _run_alldata(train: VideoSet, test: VideoSet, seed: int, cfg: dict) -> dict:
    model = stgnf_template(cfg, max_epochs=cfg["alldata_epochs"], random_state=seed)
    n_windows = len(model.training_objects(train))
    tic, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    fit_seconds, fit_cpu = time.perf_counter() - tic, time.process_time() - cpu
    labels = train_snippet_labels(cfg, train)  # after the fit: diagnostic only
    diag = pseudo_label_quality(model.score_snippets(train), labels, first_threshold(len(train)))
    model.set_params(score_stride=cfg["stgnf_test_score_stride"])
    tic = time.perf_counter()
    frames = model.score_frames(test)
    return {"fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu, "score_seconds": time.perf_counter() - tic,
            "n_train_windows": n_windows, "n_test_windows": len(model.scoring_objects(test)),
            "epochs": model.n_epochs_, "final_train_loss": float(model.net_.history[-1, "train_loss"]),
            "scores": {"test": test_metrics(test, frames), "diagnostic": diag}}


def _run_interleaved(kind: str, train: VideoSet, test: VideoSet, seed: int, cfg: dict) -> dict:
    wocc_name, ws_name, extra, _ = INTERLEAVED[kind]
    model = InterleavedVAD(model_template(wocc_name, cfg), model_template(ws_name, cfg),
                           **cfg["interleaved"], **extra, device=cfg["device"], random_state=seed)
    tic, cpu = time.perf_counter(), time.process_time()
    model.fit(train)  # no y, and train carries no labels
    fit_seconds, fit_cpu = time.perf_counter() - tic, time.process_time() - cpu

    labels = train_snippet_labels(cfg, train)  # after the fit: diagnostic only
    last_threshold = model.thresholds_[-1]
    combinations = [(scorer, ensemble) for ensemble in ("modules", "last") for scorer in ("wocc", "ws")]
    diagnostics = {(scorer, ensemble): pseudo_label_quality(
        model.set_params(scorer=scorer, ensemble=ensemble).score_snippets(train), labels, last_threshold)
        for scorer, ensemble in combinations}
    for models in model.module_models_:
        if isinstance(models["wocc"], STGNF):
            models["wocc"].set_params(score_stride=cfg["stgnf_test_score_stride"])
    scores, score_seconds = {}, {}
    for scorer, ensemble in combinations:  # the default, and the paper's models of the last module (same fit)
        key = scorer if ensemble == "modules" else f"{scorer}_last"
        tic = time.perf_counter()
        frames = model.set_params(scorer=scorer, ensemble=ensemble).score_frames(test)
        score_seconds[key] = time.perf_counter() - tic
        scores[key] = {"test": test_metrics(test, frames), "diagnostic": diagnostics[scorer, ensemble]}
    last = [r for r in model.history_ if r["module"] == model.n_modules_]
    return {
        "fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu, "score_seconds": score_seconds, "scores": scores,
        "thresholds": [int(t) for t in model.thresholds_], "n_modules": model.n_modules_,
        "n_steps": model.n_steps_, "termination": model.termination_condition_,
        "consensus_size": model.consensus_size_, "steps_per_module": _steps_per_module(model.history_),
        "wocc_epochs_last_module": len(last), "history": model.history_,
    }


def _steps_per_module(history: list[dict]) -> list[int]:
    modules = [r["module"] for r in history]
    return [modules.count(m) for m in sorted(set(modules))]


# ---------------------------------------------------------------------- time estimate
def estimate(cfg: dict, n_train_windows: int, n_train_score_windows: int, n_test_windows: int) -> dict:
    """Upper bound of the run time from measured throughputs (every fit running its maximum number of steps)."""
    loop = cfg["interleaved"]
    steps = loop["max_modules"] * (loop["max_module_steps"] if loop["module_steps"] == "auto"
                                   else loop["module_steps"])
    epoch = 2 * n_train_windows / STGNF_TRAIN_WINDOWS_PER_S  # flip augmentation doubles the windows
    train_score = n_train_score_windows / STGNF_SCORE_WINDOWS_PER_S
    test_score = n_test_windows / STGNF_SCORE_WINDOWS_PER_S
    per_task = {"iforest": IFOREST_SECONDS, "alldata": cfg["alldata_epochs"] * epoch + train_score + test_score}
    for kind, (wocc, ws, _, _) in INTERLEAVED.items():
        if wocc == "stgnf":
            per_task[kind] = steps * (epoch + train_score + WS_STEP_SECONDS[ws]) + train_score + test_score
        else:
            per_task[kind] = steps * (FEATURE_AE_STEP_SECONDS + WS_STEP_SECONDS[ws])
    per_task = {k: v + TASK_OVERHEAD_SECONDS for k, v in per_task.items()}
    core_seconds = len(cfg["seeds"]) * sum(per_task.values())
    longest = max(per_task.values())
    wall = max(core_seconds / cfg["jobs"], longest)
    return {"max_steps_per_fit": steps, "stgnf_epoch_seconds": epoch, "per_task_seconds": per_task,
            "core_seconds": core_seconds, "wall_seconds_upper_bound": wall,
            "assumes": "every fit runs max_modules x max_module_steps steps; tasks balanced over the jobs; "
                       f"STGNF {STGNF_TRAIN_WINDOWS_PER_S:.0f} training / {STGNF_SCORE_WINDOWS_PER_S:.0f} scoring "
                       "windows per second on one thread"}


# ---------------------------------------------------------------------- summary and output
def _mean_std(values: list[float]) -> dict:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}


def summarise(runs: list[dict], speed: dict) -> dict:
    summary = {"speed": {"micro_auc": speed["micro_auc"], "macro_auc": speed["macro_auc"],
                         "deterministic": True}}
    for _, key, kind, scorer, label in ROWS[1:]:
        mine = sorted((r for r in runs if r["kind"] == kind), key=lambda r: r["seed"])
        scores = [r["scores"][scorer] if scorer else r["scores"] for r in mine]
        entry = {"label": label, "seeds": [r["seed"] for r in mine]}
        for name in ("micro_auc", "macro_auc"):
            entry[name] = _mean_std([s["test"][name] for s in scores])
        for name in ("train_snippet_auc", "top_precision"):
            entry[f"diagnostic_{name}"] = _mean_std([s["diagnostic"][name] for s in scores])
        entry["fit_seconds"] = _mean_std([r["fit_seconds"] for r in mine])
        entry["fit_cpu_seconds"] = _mean_std([r["fit_cpu_seconds"] for r in mine])
        if kind in INTERLEAVED:
            entry["n_steps"] = _mean_std([r["n_steps"] for r in mine])
            entry["thresholds"] = {str(r["seed"]): r["thresholds"] for r in mine}
            entry["termination"] = {str(r["seed"]): r["termination"] for r in mine}
        summary[key] = entry
    return summary


def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _pm(entry: dict, digits: int = 3) -> str:
    if entry.get("mean") is None:
        return "-"
    if entry["n"] == 1:
        return f"{entry['mean']:.{digits}f}"
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def markdown(result: dict) -> str:
    summary, cfg = result["summary"], result["config"]
    seeds = cfg["seeds"]
    lines = [
        "# ShanghaiTech person tracks: the paper's protocol, no label in `fit`",
        "",
        f"`python benchmarks/shanghaitech_tracks.py{' --quick' if cfg['quick'] else ''}{command_flags(cfg)}` "
        f"(seeds {', '.join(map(str, seeds))}, {cfg['jobs']} jobs x 1 torch thread, device {cfg['device']}). "
        f"Fitted on the {result['data']['n_train_videos']} training videos without labels, scored on the "
        f"{result['data']['n_test_videos']} test videos ({result['data']['n_test_frames']:,} frames, "
        f"{result['data']['n_abnormal_test_frames']:,} abnormal). Micro and macro frame AUC, mean ± std over "
        "seeds (population std). wOCC rows use the STG-NF frame protocol (stride-1 windows, window score at its "
        "centre frame, most abnormal person, Gaussian sigma 1..6) for STGNF, the snippet score for FeatureAE; WS "
        "rows give each frame its snippet's score. Fit seconds: one fit on one CPU thread (the wOCC and WS rows "
        "of one InterleavedVAD share a fit).",
        "",
        "| # | Method | micro AUC | macro AUC | fit s | steps | train snippet AUC † | top-T precision † |",
        "|---|---|---|---|---|---|---|---|",
        f"| 1 | Speed heuristic (training-free) | {summary['speed']['micro_auc']:.3f} | "
        f"{summary['speed']['macro_auc']:.3f} | 0 | - | - | - |",
    ]
    for number, key, _kind, _scorer, label in ROWS[1:]:
        e = summary[key]
        steps = _pm(e["n_steps"], 1) if "n_steps" in e else "-"
        lines.append(f"| {number} | {label} | {_pm(e['micro_auc'])} | {_pm(e['macro_auc'])} | "
                     f"{_pm(e['fit_seconds'], 0)} | {steps} | {_pm(e['diagnostic_train_snippet_auc'])} | "
                     f"{_pm(e['diagnostic_top_precision'])} |")
    base = result["data"]["train_abnormal_snippet_share"]
    lines += [
        "",
        "† Diagnostic only, measured after the fit with the training masks (`gt/train`), never used by `fit` or "
        "to choose anything: AUC of the model's final scores of the training snippets against their labels "
        "(a snippet is abnormal when it holds an abnormal frame), and the share of abnormal snippets among its "
        "top T snippets (T = the last module's T_ws for InterleavedVAD: for the wOCC this is exactly the last "
        f"pseudo-label set; T = ceil(0.15 N) for rows 2-3). Share of abnormal training snippets: {base:.3f}.",
        "",
        "## InterleavedVAD fits",
        "",
        "| Fit | seed | T_ws per module | steps per module | steps | stop | consensus | fit s (CPU s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in sorted(result["runs"], key=lambda r: (list(INTERLEAVED).index(r["kind"])
                                                     if r["kind"] in INTERLEAVED else -1, r["seed"])):
        if run["kind"] not in INTERLEAVED:
            continue
        lines.append(f"| {INTERLEAVED[run['kind']][3]} | {run['seed']} | {run['thresholds']} | "
                     f"{run['steps_per_module']} | {run['n_steps']} | {run['termination']} | "
                     f"{run['consensus_size']} | {run['fit_seconds']:.0f} ({run.get('fit_cpu_seconds', 0):.0f}) |")
    lines += ["", "## Settings changed from the library defaults", "",
              "| Setting | default | used | why (chosen without test labels) |", "|---|---|---|---|"]
    for r in result["reductions"]:
        lines.append(f"| {r['what']} | `{r['default']}` | `{r['used']}` | {r['why']} |")
    lines += ["", f"Unchanged: {result['unchanged']}", ""]
    reference = result.get("reference_alldata_stride6")
    if reference:
        lines += [f"For reference, STG-NF AllData at the default train_stride 6 ({reference['source']}, seed "
                  f"{reference['seed']}, one run): micro {reference['micro_auc']:.3f}, macro "
                  f"{reference['macro_auc']:.3f}, fit {reference['fit_seconds']:.0f} s.", ""]
    if cfg["quick"]:
        lines += ["**Quick smoke configuration** (every 20th video, tiny schedules): not a result.", ""]
    lines += [f"Total wall time {result['elapsed_seconds'] / 60:.1f} min "
              f"(estimated upper bound {result['estimate']['wall_seconds_upper_bound'] / 60:.1f} min).", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shanghaitech-tracks folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="random_state of every model (0 1 2 3 4)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes, one torch thread each")
    parser.add_argument("--quick", action="store_true", help="tiny smoke configuration (every 20th video, 1 seed)")
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (the markdown table goes next to it)")
    parser.add_argument("--stgnf-batch-norm", choices=("running", "precise"), default=STGNF().batch_norm,
                        help="STGNF(batch_norm=...) in every row (the library default: running)")
    parser.add_argument("--stgnf-snippet-scoring", choices=("mean", "max", "frames"), default=STGNF().snippet_scoring,
                        help="STGNF(snippet_scoring=...) in every row: how the wOCC's window scores become the "
                             "snippet scores the loop ranks (the library default: max; the paper: mean)")
    parser.add_argument("--ws-min-agreement", type=float, default=None,
                        help="RTFM/MIL(min_agreement=...) (the library default: None, one epoch per step)")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    if args.out is None:
        args.out = QUICK_RESULT if args.quick else RESULT
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = make_config(args)
    torch.set_num_threads(cfg["torch_threads_per_job"])
    start = time.perf_counter()

    train, test = load_splits(cfg)
    template = stgnf_template(cfg)
    n_train_windows = len(template.training_objects(train))
    n_test_windows = len(test.objects(template.seg_len, cfg["stgnf_test_score_stride"], template.max_missing))
    guess = estimate(cfg, n_train_windows, len(template.scoring_objects(train)), n_test_windows)
    print(f"{train.n_videos} training / {test.n_videos} test videos; {len(train)} training snippets, "
          f"{n_train_windows} STGNF training windows; {len(cfg['seeds'])} seeds x {len(KINDS)} fits on "
          f"{cfg['jobs']} jobs; estimated at most {guess['wall_seconds_upper_bound'] / 60:.1f} min", flush=True)

    speed_frames = speed_frame_scores(test)
    speed = test_metrics(test, speed_frames)
    print(f"speed heuristic: micro {speed['micro_auc']:.4f}  macro {speed['macro_auc']:.4f}", flush=True)
    labels = test.frame_labels()
    data = {"n_train_videos": train.n_videos, "n_test_videos": test.n_videos,
            "n_train_snippets": len(train), "n_test_snippets": len(test),
            "n_test_frames": int(test.n_frames.sum()),
            "n_abnormal_test_frames": int(sum(int(y.sum()) for y in labels)),
            "n_stgnf_train_windows": n_train_windows, "n_stgnf_test_windows": n_test_windows}
    del test, speed_frames, labels

    # longest first, so that the jobs finish together
    tasks = sorted(((k, s) for s in cfg["seeds"] for k in KINDS), key=lambda t: -guess["per_task_seconds"][t[0]])
    runs = []
    jobs = Parallel(n_jobs=cfg["jobs"], return_as="generator_unordered")(
        delayed(run_task)(kind, seed, cfg) for kind, seed in tasks)
    for run in jobs:
        runs.append(run)
        shown = run["scores"] if run["kind"] in ("iforest", "alldata") else run["scores"]["ws"]
        extra = "" if run["kind"] not in INTERLEAVED else (
            f"  wOCC micro {run['scores']['wocc']['test']['micro_auc']:.4f}  T_ws {run['thresholds']}  "
            f"{run['n_steps']} steps ({run['termination']})")
        print(f"[{len(runs)}/{len(tasks)}] {run['kind']} seed {run['seed']}: "
              f"{'WS ' if run['kind'] in INTERLEAVED else ''}micro {shown['test']['micro_auc']:.4f}{extra}  "
              f"fit {run['fit_seconds']:.0f} s  ({(time.perf_counter() - start) / 60:.1f} min)", flush=True)

    data["train_abnormal_snippet_share"] = float(train_snippet_labels(cfg, train).mean())  # after the fits
    reference = None
    if not cfg["quick"] and ALLDATA_RESULT.exists():
        stored = json.loads(ALLDATA_RESULT.read_text())
        reference = {"source": "benchmarks/results/stgnf_alldata.json", "seed": stored["config"]["random_state"],
                     **{k: stored[k] for k in ("micro_auc", "macro_auc", "fit_seconds")}}
    result = {
        "benchmark": "InterleavedVAD and baselines on ShanghaiTech person tracks (weakly-supervised split)",
        "metric": "frame ROC AUC over the test videos' true frame counts (micro: all frames at once; macro: mean "
                  "over the test videos holding both classes)",
        "labels": "fit sees no label; test masks only for the final AUCs; gt/train read after each fit for the "
                  "diagnostic pseudo-label quality only",
        "config": cfg, "reductions": REDUCTIONS, "unchanged": UNCHANGED, "data": data, "estimate": guess,
        "speed_heuristic": speed, "summary": summarise(runs, speed), "reference_alldata_stride6": reference,
        "runs": sorted(runs, key=lambda r: (KINDS.index(r["kind"]), r["seed"])),
        "elapsed_seconds": time.perf_counter() - start,
        "environment": {"torch": torch.__version__, "sklearn": sklearn.__version__,
                        "python": platform.python_version(), "cpu_count": os.cpu_count(),
                        "machine": platform.machine()},
    }
    result = _clean(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return result


if __name__ == "__main__":
    main()
