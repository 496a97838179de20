"""The ``unsupvad`` command: demo, fit, score, evaluate and plot, a thin shell over the Python API.

Every command reads files with :mod:`unsupvad.datasets`, fits and scores with
:class:`~unsupvad.InterleavedVAD`, evaluates with :mod:`unsupvad.metrics`,
draws with :mod:`unsupvad.plotting` and stores models with
:mod:`unsupvad.persistence` (the safe model-file format). An error prints one
line, ``unsupvad: error: ...``, and exits with status 2 (1 for an internal
error; ``--traceback`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from ._atomic import replaced_atomically

MODEL_SUFFIX = ".uvad"
TRACK_FORMATS = ("mot", "alphapose")
FEATURE_FORMATS = ("rtfm",)

INPUT_HELP = """\
inputs of fit and score (one file per video; the video name is the file name):
  --tracks PATH      person tracks, a file or a folder of them:
                     mot:       MOTChallenge text, <video>.txt, one row per detection:
                                frame,id,left,top,width,height[,conf,x,y,z] (commas or spaces;
                                frames are 1-based: row frame f is frame index f-1; boxes in pixels)
                     alphapose: AlphaPose tracked-person JSON as written for STG-NF,
                                <video>_alphapose_tracked_person.json (or <video>.json):
                                {person_id: {frame: {"keypoints": [x, y, c] * 17, "scores": s}}},
                                frame keys 0-based; COCO-17 keypoints read as OpenPose-18
  --features PATH    RTFM snippet features: a folder of <video>_i3d.npy (or <video>.npy), a .list/.txt
                     file of .npy paths, or one .npy; each of shape (T, 2048) or (T, 10, 2048) (any D),
                     one row per 16-frame snippet (format rtfm)
  --frames CSV       one row per video: video,n_frames[,width,height][,fps][,split] (the
                     shanghaitech-tracks videos.csv fits). Without it a video's frame count is its
                     last tracked frame + 1, or 16 T with features only
  --split NAME       keep only the videos of this split of the --frames table
  --frame-size WxH   frame size in pixels for videos without width,height in --frames
                     (the pose/box model and the track features normalise by it)
"""

OUTPUT_HELP = """\
scores: a long CSV with one row per frame, columns video,frame,score: frame is the 0-based frame
index (MOT frame f is frame f-1) and score is the frame's anomaly score, higher = more abnormal
(only the order within a score file matters; scores of different models are not comparable).
frame masks (--gt): a folder of <video>.npy, each a 1-D array of 0 (normal) / 1 (abnormal) per
frame (unsupvad.datasets.read_frame_masks).
"""

MODEL_HELP = f"""\
model files ({MODEL_SUFFIX} by convention) are zip files with a JSON config and torch weights, read
back with torch.load(weights_only=True): loading one runs no code from the file, so files from
others are safe to load (unsupvad.persistence.load_model in Python). A model trained on a GPU
loads on a machine without one.
"""


# ---------------------------------------------------------------------- argument parsing
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, like every other error."""

    def error(self, message):
        self.exit(2, f"unsupvad: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)


def _wrap(*paragraphs: str) -> str:
    """Descriptions as paragraphs filled to the help width (the epilogs are laid out by hand)."""
    return "\n\n".join(textwrap.fill(p, 100) for p in paragraphs)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _module_steps(text: str):
    return "auto" if text == "auto" else _positive_int(text)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value}")
    return value


def _frame_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace(",", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 856x480, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text!r}")
    return width, height


def _add_inputs(parser, *, positional: bool) -> None:
    group = parser.add_argument_group("inputs (formats below)")
    if positional:
        group.add_argument("input", nargs="?", type=Path, metavar="INPUT",
                           help="the videos to score: tracks if the model reads tracks, else features")
    group.add_argument("--tracks", type=Path, metavar="PATH", help="person tracks (file or folder)")
    group.add_argument("--features", type=Path, metavar="PATH", help="RTFM snippet features (folder, list or .npy)")
    group.add_argument("--format", choices=("auto", *TRACK_FORMATS, *FEATURE_FORMATS), default="auto",
                       help="format of the tracks (mot, alphapose) or features (rtfm); default: from the "
                            "file names (.txt: mot, .json: alphapose, .npy/.list: rtfm)")
    group.add_argument("--frames", type=Path, metavar="CSV", help="per-video frame counts, sizes, fps, split")
    group.add_argument("--split", metavar="NAME", help="only the videos of this split of --frames")
    group.add_argument("--frame-size", type=_frame_size, metavar="WxH", help="frame size for videos without one")


def _add_runtime(parser, *, threads_default=None) -> None:
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the networks run (default auto: CUDA when available)")
    parser.add_argument("--threads", type=_positive_int, default=threads_default, metavar="N",
                        help="CPU threads for torch" + (" (default 1: the models are tiny)" if threads_default
                                                         else " (default: torch's choice)"))


def _version() -> str:
    from . import __version__

    return __version__


def _check_device(device: str) -> None:
    """Refuse ``--device cuda`` on a machine without CUDA before any work, in command-line terms."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was given, but this machine has no usable CUDA GPU (or torch was built "
                         "without CUDA); use --device cpu, or --device auto to take a GPU when there is one")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unsupvad", formatter_class=_Formatter,
        description=_wrap("Unsupervised video anomaly detection: a one-class model of person tracks and a "
                          "weakly-supervised model of snippet features train each other without any label "
                          "(InterleavedVAD)."),
        epilog=INPUT_HELP + "\n" + OUTPUT_HELP + "\n" + MODEL_HELP
        + "\nexample:\n  unsupvad demo --out demo/\n"
          "  unsupvad fit --tracks train/ --frames videos.csv --out model.uvad\n"
          "  unsupvad score model.uvad test/ --frames videos.csv --out scores.csv --plot plots/\n"
          "  unsupvad evaluate scores.csv --gt gt/test/\n",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--version", action="version", version=f"unsupvad {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", formatter_class=_Formatter, help="generated videos: fit without labels, score, evaluate",
        description=_wrap("Generate surveillance-like videos with planted anomalies (nothing is downloaded), fit "
                          "InterleavedVAD on two thirds of them without labels (STG-NF on the box tracks, RTFM on "
                          "the tracks' snippet motion features, small settings), score the held-out third and "
                          "report micro/macro frame AUC, AP and EER of the WS and the wOCC models and of the "
                          "training-free speed baseline, with T_ws per module and the fit time."),
        epilog=_wrap("outputs with --out DIR: DIR/demo_report.json (the printed report) and DIR/demo_scores.png "
                     "(frame scores of every held-out video, WS and wOCC, with each video's frame AUC; ground truth "
                     "shaded; needs matplotlib)."))
    demo.add_argument("--videos", type=_positive_int, default=60, metavar="N",
                      help="number of generated videos, at least 3 (default 60: 40 to fit, 20 to score)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the data and the models (default 0)")
    demo.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for the report and the plot")
    demo.add_argument("--max-modules", type=_positive_int, default=3, metavar="N",
                      help="upper bound on the modules (default 3)")
    _add_runtime(demo, threads_default=1)

    fit = sub.add_parser(
        "fit", formatter_class=_Formatter, help="fit a model on your videos without labels and save it",
        description=_wrap("Fit InterleavedVAD on videos without any label and save it as a model file.",
                          "Models: --wocc stgnf (STG-NF) reads the tracks, --wocc feature_ae the features; the WS "
                          "model (--ws rtfm or mil) reads the features. With --tracks alone the WS reads motion "
                          "features computed from the tracks (unsupvad.TrackSnippetFeatures, standardised on the "
                          "training videos, saved in the model); with --features alone the wOCC is feature_ae; "
                          "with both, STG-NF reads the tracks and the WS the feature files (same video names)."),
        epilog=INPUT_HELP + "\n" + MODEL_HELP)
    _add_inputs(fit, positional=False)
    fit.add_argument("--out", type=Path, required=True, metavar="MODEL", help=f"model file to write ({MODEL_SUFFIX})")
    fit.add_argument("--wocc", choices=("stgnf", "feature_ae"), help="one-class model (default: stgnf with "
                     "--tracks, feature_ae with --features alone)")
    fit.add_argument("--ws", choices=("rtfm", "mil"), default="rtfm", help="weakly-supervised model (default rtfm)")
    fit.add_argument("--preset", choices=("paper", "small"), default="paper",
                     help="paper (default): the models' defaults, the paper's sizes (about 6 min for 11,000 "
                          "snippets and 12 steps on one CPU core); small: the demo's fast settings (its 40 videos "
                          "fit in about 20 s)")
    fit.add_argument("--initial-ratio", type=_ratio, default=0.15, metavar="R",
                     help="R, the first share of snippets pseudo-labelled abnormal (default 0.15)")
    fit.add_argument("--max-modules", type=_positive_int, default=6, metavar="N", help="most modules (default 6)")
    fit.add_argument("--module-steps", type=_module_steps, default="auto", metavar="auto|N",
                     help="steps per module: auto (until the soft labels settle) or a number (default auto)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fit.add_argument("--verbose", action="store_true", help="every step's full record instead of the progress")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress (by default: a bar on a terminal, one line per step on stderr otherwise)")
    _add_runtime(fit)

    score = sub.add_parser(
        "score", formatter_class=_Formatter, help="frame anomaly scores of videos, as a CSV",
        description=_wrap("Score videos with a saved model: one row per frame, video,frame,score, frame 0-based, "
                          "higher score = more abnormal. Give the same kind of input the model was fitted on."),
        epilog=INPUT_HELP + "\n" + OUTPUT_HELP)
    score.add_argument("model", type=Path, metavar="MODEL", help="model file written by 'unsupvad fit'")
    _add_inputs(score, positional=True)
    score.add_argument("--out", type=Path, required=True, metavar="CSV", help="score file to write")
    score.add_argument("--scorer", choices=("ws", "wocc"), help="which fitted model scores (default: the "
                       "model's own, ws)")
    score.add_argument("--plot", type=Path, metavar="DIR", help="also save one PNG of scores per video here")
    score.add_argument("--gt", type=Path, metavar="DIR", help="frame masks to shade in the plots (not used for "
                       "scoring)")
    _add_runtime(score)

    evaluate = sub.add_parser(
        "evaluate", formatter_class=_Formatter, help="frame AUC, AP and EER of a score file",
        description=_wrap("Evaluate a score file against frame masks: micro (all frames together) and macro "
                          "(mean over videos with both classes) frame AUC, micro AP and EER. Every video of the "
                          "scores needs a mask of the same length, and every mask a video (unless --scored-only)."),
        epilog=OUTPUT_HELP)
    evaluate.add_argument("scores", type=Path, metavar="SCORES", help="CSV written by 'unsupvad score'")
    evaluate.add_argument("--gt", type=Path, required=True, metavar="DIR", help="folder of <video>.npy masks")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the metrics as JSON")
    evaluate.add_argument("--scored-only", action="store_true",
                          help="evaluate the videos the file scores, leaving out masks of other videos")

    plot = sub.add_parser(
        "plot", formatter_class=_Formatter, help="training history plots of a saved model",
        description=_wrap("Draw a fitted model's training: T_ws per module (a star where the stopping rule fired) "
                          "and the wOCC and WS losses of every step. Writes training_history.png, thresholds.png "
                          "and training_losses.png (needs matplotlib)."))
    plot.add_argument("model", type=Path, metavar="MODEL", help="model file written by 'unsupvad fit'")
    plot.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the images")
    return parser


# ---------------------------------------------------------------------- reading videos
def _track_format(path: Path, fmt: str) -> str:
    """The tracks' format: ``--format`` when it names one, else guessed from the file suffixes."""
    from .datasets._folders import guess_track_format

    if fmt in FEATURE_FORMATS:
        raise ValueError(f"--format {fmt} reads --features, not --tracks")
    if fmt == "auto" and not path.exists():
        raise FileNotFoundError(f"track file or folder not found: {path}")
    return guess_track_format(path, fmt)


def read_videos(tracks=None, features=None, fmt="auto", frames=None, split=None, frame_size=None):
    """The VideoSet of the CLI inputs (see ``unsupvad fit --help``): :func:`unsupvad.datasets.read_videos`."""
    from . import datasets

    if tracks is None and features is None:
        raise ValueError("give the videos: --tracks PATH and/or --features PATH")
    if tracks is None and fmt in TRACK_FORMATS:
        raise ValueError(f"--format {fmt} reads --tracks, not --features")
    if frames is None and split is not None:
        raise ValueError("--split needs a --frames table with a split column")
    table = None if frames is None else datasets.read_video_table(frames, split)
    track_format = _track_format(tracks, fmt) if tracks is not None else "auto"
    return datasets.read_videos(tracks, features, videos=table, track_format=track_format, frame_size=frame_size)


def _require_frame_sizes(X) -> None:
    missing = [v.name for v in X.videos if v.frame_size is None]
    if missing:
        raise ValueError(f"video {missing[0]!r} has no frame size: give a --frames table with width,height "
                         "columns, or --frame-size WIDTHxHEIGHT")


# ---------------------------------------------------------------------- models
def _model_templates(preset: str) -> dict:
    """Fresh component models: the paper's defaults, or the demo's small, fast settings."""
    from .models import MIL, RTFM, STGNF, FeatureAE

    if preset == "small":
        return {
            "stgnf": STGNF(n_flows=4, seg_len=12, batch_size=256, lr=2e-3, flip_augment=False, score_stride=4,
                           snippet_scoring="max"),
            "feature_ae": FeatureAE(hidden=(32, 16), batch_size=64),
            "rtfm": RTFM(),
            "mil": MIL(),
        }
    return {"stgnf": STGNF(), "feature_ae": FeatureAE(), "rtfm": RTFM(), "mil": MIL()}


def build_model(*, wocc: str, ws: str, track_features: bool, preset: str = "paper", initial_ratio: float = 0.15,
                max_modules: int = 6, module_steps="auto", seed: int = 0, device: str = "auto",
                verbose: bool = False):
    """The estimator ``unsupvad fit`` trains: InterleavedVAD, after TrackSnippetFeatures when asked.

    The pipeline is ``make_pipeline``'s, so its steps are named as in Python
    (``tracksnippetfeatures``, ``interleavedvad``).
    """
    from sklearn.pipeline import make_pipeline

    from ._interleaved import InterleavedVAD
    from .features import TrackSnippetFeatures

    templates = _model_templates(preset)
    model = InterleavedVAD(
        templates[wocc], templates[ws], initial_ratio=initial_ratio, max_modules=max_modules,
        module_steps=module_steps, max_module_steps=5 if preset == "small" else 10, device=device,
        random_state=seed, verbose=int(verbose),
    )
    if track_features:
        return make_pipeline(TrackSnippetFeatures(standardize=True), model)
    return model


class _StepProgress:
    """InterleavedVAD callback: a tqdm bar over steps (it only reads the step's record)."""

    def __init__(self, enabled: bool):
        from tqdm.auto import tqdm

        # no total: a module ends when its soft labels settle, the fit when T_ws does
        self.bar = tqdm(desc="fit", unit="step", disable=not enabled, leave=True, file=sys.stderr)

    def on_step_end(self, estimator, record, **models):
        self.bar.set_postfix(module=record["module"], step=record["step"], T_ws=record["threshold"], refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()


@contextlib.contextmanager
def _logging_to_stderr():
    """The ``unsupvad`` logger's INFO lines (the fit's progress) on stderr, with a time stamp, meanwhile."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s fit: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger("unsupvad")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _interleaved(model):
    """The InterleavedVAD of a fitted CLI model (the last step of a pipeline)."""
    return model[-1] if hasattr(model, "steps") else model


def fit_model(model, X, *, progress: bool = False, log: bool = False):
    """Fit without labels (they are removed from X first); returns seconds.

    ``progress``: a progress bar (a terminal); else ``log``: the fit's
    ``logging`` lines, one per step, on stderr (a log file). Neither with the
    model's own ``verbose`` lines.
    """
    from ._videoset import VideoSet

    X = VideoSet([v.replace(labels=None) for v in X.videos])  # fit never reads labels; now it cannot
    ivad = _interleaved(model)
    bar = _StepProgress(progress and not ivad.verbose)
    logs = _logging_to_stderr() if log and not progress and not ivad.verbose else contextlib.nullcontext()
    ivad.set_params(callbacks=[bar])
    tic = time.perf_counter()
    try:
        with logs:
            model.fit(X)
    finally:
        bar.close()
        ivad.set_params(callbacks=None)
    return time.perf_counter() - tic


def _scoring_parts(model, scorer: str | None):
    """``(transform or None, estimator with score_frames)``; ``scorer`` switches InterleavedVAD's model."""
    transform = None
    if hasattr(model, "steps"):
        transform, model = model[:-1], model[-1]
    if scorer is not None:
        if "scorer" not in model.get_params(deep=False):
            raise ValueError(f"--scorer needs an InterleavedVAD model, this is a {type(model).__name__}")
        model.set_params(scorer=scorer)
    return transform, model


def _reads(model) -> str:
    """What the scoring path of a model reads first: 'tracks' or 'features'."""
    from .models import STGNF

    transform, est = _scoring_parts(model, None)
    if transform is not None:
        return "tracks"
    if hasattr(est, "wocc_"):
        est = est.wocc_ if est.scorer == "wocc" else est.ws_
    return "tracks" if isinstance(est, STGNF) else "features"


def score_videos(model, X, scorer: str | None = None) -> list[np.ndarray]:
    """Frame scores (higher = more abnormal) of every video of X."""
    from .metrics import frame_scores

    _scoring_parts(model, scorer)  # switches InterleavedVAD's scoring model
    return frame_scores(model, X)


# ---------------------------------------------------------------------- demo
def _metrics_line(name: str, m: dict) -> str:
    return (f"{name:>16}: micro AUC {m['micro_auc']:.3f}  macro AUC {m['macro_auc']:.3f}  "
            f"AP {m['ap']:.3f}  EER {m['eer']:.3f}")


def run_demo(n_videos: int = 60, seed: int = 0, out: Path | None = None, *, max_modules: int = 3,
             device: str = "auto", progress: bool = False) -> dict:
    """Generate videos, fit without labels on two thirds, score and evaluate the others.

    Returns the report (also written to ``out/demo_report.json``, with the
    plot ``out/demo_scores.png``, when ``out`` is given).
    """
    from ._baselines import speed_frame_scores
    from .datasets import make_synthetic_videos
    from .metrics import evaluate

    if n_videos < 3:
        raise ValueError(f"the demo needs at least 3 videos (2 to fit, 1 to score), got n_videos={n_videos}")
    tic = time.perf_counter()
    X = make_synthetic_videos(n_videos=n_videos, tracks="boxes", features=False, random_state=seed)
    n_train = max(2, n_videos * 2 // 3)
    train, test = X[np.flatnonzero(X.snippet_video < n_train)], X[np.flatnonzero(X.snippet_video >= n_train)]
    labels = test.frame_labels()
    model = build_model(wocc="stgnf", ws="rtfm", track_features=True, preset="small", max_modules=max_modules,
                        seed=seed, device=device)
    fit_seconds = fit_model(model, train, progress=progress)
    ivad = _interleaved(model)
    scores = {name: score_videos(model, test, name) for name in ("ws", "wocc")}
    scores["speed_heuristic"] = speed_frame_scores(test)
    report = {
        "data": {"train_videos": train.n_videos, "test_videos": test.n_videos,
                 "test_frames": int(sum(len(lab) for lab in labels)),
                 "abnormal_frames": int(sum(lab.sum() for lab in labels))},
        "model": "InterleavedVAD(STGNF on box tracks, RTFM on TrackSnippetFeatures), preset 'small'",
        "ws": evaluate(labels, scores["ws"]),
        "wocc": evaluate(labels, scores["wocc"]),
        "speed_heuristic": evaluate(labels, scores["speed_heuristic"]),
        "thresholds": list(ivad.thresholds_),
        "n_modules": ivad.n_modules_, "n_steps": ivad.n_steps_,
        "termination_condition": ivad.termination_condition_,
        "fit_seconds": fit_seconds,
    }
    report["seconds"] = time.perf_counter() - tic
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "demo_report.json").write_text(_json_text(report))
        report["plot"] = _demo_plot(test, scores, out / "demo_scores.png")
    return report


def _demo_plot(test, scores: dict, path: Path) -> str | None:
    """Save :func:`_demo_figure` to ``path``; None when matplotlib is missing."""
    try:
        figure = _demo_figure(test, scores)
    except ImportError:
        return None
    figure.savefig(path, dpi=80)
    return str(path)


def _demo_figure(test, scores: dict):
    """Frame scores of every held-out video (abnormal ones first), WS and wOCC side by side, one legend."""
    from matplotlib.figure import Figure

    from .plotting import VideoScoreDisplay

    labels = test.frame_labels()
    order = sorted(range(test.n_videos), key=lambda v: (not labels[v].any(), v))
    figure = Figure(figsize=(12, 0.6 + 2.0 * len(order)), layout="constrained")
    # one y scale per column: a normal video's tiny WS scores must not look like a peak
    axes = figure.subplots(len(order), 2, squeeze=False, sharey="col")
    for row, v in enumerate(order):
        video = test.videos[v]
        for col, (name, scorer) in enumerate((("ws", "WS (RTFM)"), ("wocc", "wOCC (STGNF)"))):
            VideoScoreDisplay(scores[name][v], labels[v], fps=video.fps, video_name=video.name,
                              scorer=scorer).plot(ax=axes[row, col], legend=False)
    handles, names = _legend_entries(axes)
    figure.legend(handles, names, loc="outside upper center", ncols=len(names), fontsize="small")
    return figure


def _legend_entries(axes) -> tuple[list, list]:
    """One handle per distinct label over all the axes (a normal-only video has no shaded span)."""
    entries = {}
    for ax in axes.flat:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(name, handle)
    return list(entries.values()), list(entries)


def _print_demo(report: dict) -> None:
    data = report["data"]
    print(f"generated data: {data['train_videos']} training videos (fitted without labels), "
          f"{data['test_videos']} held-out videos, {data['test_frames']} frames ({data['abnormal_frames']} abnormal)")
    print(f"model: {report['model']}")
    print(f"fit: {report['n_modules']} modules, {report['n_steps']} steps, T_ws per module {report['thresholds']}, "
          f"stopped by {report['termination_condition']}, {report['fit_seconds']:.1f} s")
    for name, label in (("ws", "WS (RTFM)"), ("wocc", "wOCC (STG-NF)"), ("speed_heuristic", "speed baseline")):
        print(_metrics_line(label, report[name]))
    print("(the speed baseline is training-free: the fastest person's speed in each frame)")
    if report.get("plot"):
        print(f"plot: {report['plot']}")
    elif "plot" in report:
        print("plot: skipped, matplotlib is not installed (pip install 'unsupvad[plot]')")
    print(f"done in {report['seconds']:.1f} s")


def _json_text(report: dict) -> str:
    """Strict JSON: NaN (e.g. a macro AUC with no video holding both classes) becomes null."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(clean(report), indent=2, allow_nan=False)


# ---------------------------------------------------------------------- commands
def _set_threads(n: int | None) -> None:
    if n is not None:
        import torch

        torch.set_num_threads(n)


def _progress_wanted() -> bool:
    return sys.stderr.isatty()


def _cmd_demo(args) -> None:
    if args.out is not None:
        check_output_path(args.out, "--out", folder=True)
    _set_threads(args.threads)
    _print_demo(run_demo(args.videos, args.seed, args.out, max_modules=args.max_modules, device=args.device,
                         progress=_progress_wanted()))


def check_output_path(path: Path, option: str, *, folder: bool = False) -> None:
    """Refuse, before any work, an output that could not be written once the work is done.

    ``path`` is a file to write (or, with ``folder``, a folder to fill): it
    must not be the other kind, and its nearest existing parent must be a
    writable folder (missing folders are created when writing).
    """
    if path.exists() and path.is_dir() != folder:
        raise ValueError(f"{option} {path} is {'a file' if folder else 'a folder'}; give "
                         f"{'a folder' if folder else 'a file name'}")
    parent = path if folder and path.exists() else path.parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: no permission to write in {existing}")


def _cmd_fit(args) -> None:
    from .persistence import save_model

    check_output_path(args.out, "--out")
    _set_threads(args.threads)
    X = read_videos(args.tracks, args.features, args.format, args.frames, args.split, args.frame_size)
    wocc = args.wocc or ("stgnf" if args.tracks is not None else "feature_ae")
    if wocc == "stgnf" and args.tracks is None:
        raise ValueError("--wocc stgnf reads person tracks: give --tracks")
    track_features = args.features is None
    if args.tracks is not None and (wocc == "stgnf" or track_features):
        _require_frame_sizes(X)
    model = build_model(wocc=wocc, ws=args.ws, track_features=track_features, preset=args.preset,
                        initial_ratio=args.initial_ratio, max_modules=args.max_modules,
                        module_steps=args.module_steps, seed=args.seed, device=args.device, verbose=args.verbose)
    print(f"fitting on {X.n_videos} videos ({len(X)} snippets, {int(X.n_frames.sum())} frames), no labels")
    seconds = fit_model(model, X, progress=_progress_wanted() and not args.quiet, log=not args.quiet)
    ivad = _interleaved(model)
    metadata = {"cli": {
        "tracks_format": None if args.tracks is None else _track_format(args.tracks, args.format),
        "features": "files" if args.features is not None else "TrackSnippetFeatures",
        "training_videos": X.names, "fit_seconds": seconds,
    }}
    save_model(model, args.out, metadata=metadata)
    print(f"fitted in {seconds:.1f} s: {ivad.n_modules_} modules, {ivad.n_steps_} steps, "
          f"T_ws per module {ivad.thresholds_}, stopped by {ivad.termination_condition_}")
    print(f"saved {args.out}")


def _load(path: Path, device: str = "cpu"):
    from .persistence import load_model, read_model_info

    return load_model(path, device=device), read_model_info(path).get("metadata", {}).get("cli", {})


def _cmd_score(args) -> None:
    import pandas as pd

    check_output_path(args.out, "--out")
    if args.plot is not None:
        check_output_path(args.plot, "--plot", folder=True)
    _set_threads(args.threads)
    model, info = _load(args.model, args.device)
    _scoring_parts(model, args.scorer)  # checks --scorer and switches the scoring model first
    tracks, features = args.tracks, args.features
    if args.input is not None:
        if _reads(model) == "tracks":
            if tracks is not None:
                raise ValueError("INPUT and --tracks both give the tracks: give one")
            tracks = args.input
        else:
            if features is not None:
                raise ValueError("INPUT and --features both give the features: give one")
            features = args.input
    fmt = args.format
    if fmt == "auto" and tracks is not None and info.get("tracks_format"):
        fmt = info["tracks_format"]
    X = read_videos(tracks, features, fmt, args.frames, args.split, args.frame_size)
    if tracks is not None:
        _require_frame_sizes(X)
    frame_scores = score_videos(model, X, args.scorer)
    table = pd.DataFrame({
        "video": np.repeat(X.names, [len(s) for s in frame_scores]),
        "frame": np.concatenate([np.arange(len(s)) for s in frame_scores]),
        "score": np.concatenate(frame_scores),
    })
    with replaced_atomically(args.out, "w", newline="") as f:  # an interrupted write leaves --out as it was
        table.to_csv(f, index=False)
    print(f"scored {X.n_videos} videos ({len(table)} frames): {args.out}")
    if args.plot is not None:
        from .plotting import save_video_plots, scorer_label

        labels = None
        if args.gt is not None:
            from .datasets import read_frame_masks

            labels = _matched_masks(read_frame_masks(args.gt, X.names), X.names, frame_scores)
        paths = save_video_plots(frame_scores, args.plot, names=X.names, labels=labels,
                                 fps=[v.fps for v in X.videos], scorer=scorer_label(model))
        print(f"saved {len(paths)} plots in {args.plot}")


def _matched_masks(masks: dict, names: list[str], scores: list[np.ndarray]) -> list[np.ndarray]:
    for name, s in zip(names, scores):
        if len(masks[name]) != len(s):
            raise ValueError(f"video {name!r}: its frame mask has {len(masks[name])} frames, but the scores "
                             f"have {len(s)}")
    return [masks[name] for name in names]


def read_scores(path: Path) -> dict[str, np.ndarray]:
    """``video -> frame scores`` from a ``video,frame,score`` CSV, checked frame by frame."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"score file not found: {path}")
    try:
        table = pd.read_csv(path, dtype={"video": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a CSV score file ({str(exc).splitlines()[0]})") from exc
    missing = [c for c in ("video", "frame", "score") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; a score file has columns video,frame,score")
    if table.empty:
        raise ValueError(f"{path}: the score file has no row")
    if table["video"].isna().any():
        raise ValueError(f"{path}: line {int(np.flatnonzero(table['video'].isna())[0]) + 2}: empty video name")
    frame = pd.to_numeric(table["frame"], errors="coerce")
    score = pd.to_numeric(table["score"], errors="coerce")
    if frame.isna().any() or (frame != np.round(frame)).any():
        raise ValueError(f"{path}: line {int(np.flatnonzero(frame.isna() | (frame != np.round(frame)))[0]) + 2}: "
                         "frame must be an integer")
    if not np.isfinite(score).all():
        raise ValueError(f"{path}: line {int(np.flatnonzero(~np.isfinite(score))[0]) + 2}: score must be a "
                         "finite number")
    out = {}
    for name, idx in table.groupby("video", sort=False).indices.items():
        frames = frame.to_numpy()[idx].astype(np.int64)
        order = np.argsort(frames, kind="stable")
        if not np.array_equal(frames[order], np.arange(len(frames))):
            raise ValueError(f"{path}: video {name!r}: frames must be 0, 1, ..., n-1 once each "
                             f"(got {len(frames)} rows, frames {frames.min()}..{frames.max()})")
        out[str(name)] = score.to_numpy()[idx][order].astype(np.float64)
    return out


def evaluate_scores(scores_path: Path, gt: Path, *, scored_only: bool = False) -> dict:
    """Metrics of a score file against a folder of frame masks.

    The videos must match exactly, unless ``scored_only``: then the masks of
    videos the file does not score are left out (the report says how many).
    """
    from .datasets import read_frame_masks
    from .metrics import evaluate

    scores = read_scores(scores_path)
    masks = read_frame_masks(gt)
    if not masks:
        raise ValueError(f"{gt}: the folder holds no <video>.npy frame mask")
    only_scores = [n for n in scores if n not in masks]
    if only_scores:
        raise ValueError(f"video {only_scores[0]!r} is in {scores_path} but has no frame mask in {gt}")
    only_masks = [n for n in masks if n not in scores]
    if only_masks and not scored_only:
        raise ValueError(f"video {only_masks[0]!r} has a frame mask in {gt} but no scores in {scores_path} "
                         f"({len(only_masks)} such videos); add --scored-only to evaluate the scored videos alone")
    names = sorted(scores)
    for name in names:
        if len(scores[name]) != len(masks[name]):
            raise ValueError(f"video {name!r}: {len(scores[name])} scored frames in {scores_path}, but its frame "
                             f"mask has {len(masks[name])}")
    report = evaluate([masks[n] for n in names], [scores[n] for n in names])
    report["unscored_masks"] = len(only_masks)
    return report


def _cmd_evaluate(args) -> None:
    report = evaluate_scores(args.scores, args.gt, scored_only=args.scored_only)
    left_out = f"; {report['unscored_masks']} masked videos not scored, left out" if report["unscored_masks"] else ""
    print(f"{report['n_videos']} videos, {report['n_frames']} frames ({report['n_abnormal']} abnormal){left_out}")
    print(_metrics_line("frame metrics", report).strip())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(_json_text(report))
        print(f"saved {args.json}")


def _cmd_plot(args) -> None:
    from .plotting import TrainingHistoryDisplay, _require_matplotlib, plot_thresholds, plot_training_losses

    _require_matplotlib()
    check_output_path(args.out, "--out", folder=True)
    from matplotlib.figure import Figure

    model, _ = _load(args.model)
    est = _interleaved(model)
    if not hasattr(est, "history_"):
        raise ValueError(f"{args.model}: a {type(est).__name__} has no interleaved training history to plot "
                         "(models written by 'unsupvad fit' have one)")
    args.out.mkdir(parents=True, exist_ok=True)
    saved = []
    figure = Figure(figsize=(7, 8.4), layout="constrained")
    TrainingHistoryDisplay.from_estimator(est, figure=figure)
    figure.savefig(args.out / "training_history.png", dpi=90)
    saved.append("training_history.png")
    for name, draw in (("thresholds.png", plot_thresholds), ("training_losses.png", plot_training_losses)):
        figure = Figure(figsize=(8, 3), layout="constrained")
        draw(est, ax=figure.subplots())
        figure.savefig(args.out / name, dpi=90)
        saved.append(name)
    print(f"saved {', '.join(saved)} in {args.out}")


_COMMANDS = {"demo": _cmd_demo, "fit": _cmd_fit, "score": _cmd_score, "evaluate": _cmd_evaluate, "plot": _cmd_plot}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing {text}"
    return text


def main(argv=None) -> int:
    """Run the ``unsupvad`` command line; returns the exit status."""
    from .persistence import ModelFileError

    args = build_parser().parse_args(argv)
    try:
        _check_device(getattr(args, "device", "auto"))
        _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("unsupvad: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ModelFileError, ImportError) as exc:
        if args.traceback:
            raise
        print(f"unsupvad: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.traceback:
            raise
        print(f"unsupvad: error: internal error, {type(exc).__name__}: {_one_line(exc)} (rerun with --traceback "
              "for details)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
