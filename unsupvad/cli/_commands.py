"""One function per command, from parsed arguments to files and printed lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._atomic import replaced_atomically
from ..callbacks import counted
from ._demo import _print_demo, run_demo
from ._output import _json_text, _metrics_line
from ._score_files import _matched_masks, evaluate_scores
from ._workflow import (
    _interleaved,
    _reads,
    _require_frame_sizes,
    _scoring_parts,
    _track_format,
    build_model,
    default_wocc,
    detection_table,
    fit_model,
    frame_score_table,
    read_videos,
    score_videos,
)


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
    from ..models import get_model, model_tags
    from ..models._tags import require_video_files
    from ..persistence import save_model

    check_output_path(args.out, "--out")
    _set_threads(args.threads)
    X = read_videos(args.tracks, args.features, args.format, args.frames, args.split, args.frame_size)
    wocc = args.wocc or default_wocc(has_tracks=args.tracks is not None)
    tags = model_tags(get_model(wocc))
    if tags.reads == "tracks" and args.tracks is None:
        raise ValueError(f"--wocc {wocc} reads person tracks: give --tracks")
    track_features = args.features is None
    if args.tracks is not None and (tags.needs_frame_size or track_features):
        _require_frame_sizes(X)
    if tags.needs_frames:
        require_video_files(X.videos, get_model(wocc).__name__)
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
    print(f"fitted in {seconds:.1f} s: {counted(ivad.n_modules_, 'module')}, {counted(ivad.n_steps_, 'step')}, "
          f"T_ws per module {ivad.thresholds_}, stopped by {ivad.termination_condition_}")
    print(f"saved {args.out}")


def _load(path: Path, device: str = "cpu"):
    from ..persistence import load_model, read_model_info

    return load_model(path, device=device), read_model_info(path).get("metadata", {}).get("cli", {})


def _cmd_score(args) -> None:
    check_output_path(args.out, "--out")
    if args.objects is not None:
        check_output_path(args.objects, "--objects")
    if args.plot is not None:
        from ..plotting import _require_matplotlib

        check_output_path(args.plot, "--plot", folder=True)
        _require_matplotlib()  # before any scoring, not after the CSV is written
    _set_threads(args.threads)
    model, info = _load(args.model, args.device)
    _scoring_parts(model, args.scorer)  # checks --scorer and switches the scoring model first
    tracks, features, fmt = _score_inputs(args, model, info)
    X = read_videos(tracks, features, fmt, args.frames, args.split, args.frame_size)
    if tracks is not None:
        _require_frame_sizes(X)
    frame_scores = score_videos(model, X, args.scorer)
    _write_csv(args.out, frame_score_table(X, frame_scores))
    print(f"scored {X.n_videos} videos ({sum(len(s) for s in frame_scores)} frames): {args.out}")
    if args.objects is not None:
        table = detection_table(model, X)
        _write_csv(args.objects, table)
        print(f"scored {len(table)} detections of {table['track_id'].groupby(table['video']).nunique().sum()} "
              f"tracks (who is abnormal): {args.objects}")
    if args.plot is not None:
        _save_score_plots(args, model, X, frame_scores)


def _score_inputs(args, model, info: dict):
    """``(tracks, features, format)``: the positional INPUT is what the model reads first."""
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
    return tracks, features, fmt


def _write_csv(path: Path, table) -> None:
    with replaced_atomically(path, "w", newline="") as f:  # an interrupted write leaves the file as it was
        table.to_csv(f, index=False)


def _save_score_plots(args, model, X, frame_scores) -> None:
    from ..plotting import save_video_plots, scorer_label

    labels = None
    if args.gt is not None:
        from ..datasets import read_frame_masks

        labels = _matched_masks(read_frame_masks(args.gt, X.names), X.names, frame_scores)
    paths = save_video_plots(frame_scores, args.plot, names=X.names, labels=labels,
                             fps=[v.fps for v in X.videos], scorer=scorer_label(model))
    print(f"saved {len(paths)} plots in {args.plot}")


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
    from ..plotting import TrainingHistoryDisplay, _require_matplotlib, plot_thresholds, plot_training_losses

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


def _cmd_extract(args) -> None:
    from ._extract import run_extract

    check_output_path(args.out, "--out", folder=True)
    _set_threads(args.threads)
    run_extract(args, progress=_progress_wanted() and not args.quiet)


def _cmd_overlay(args) -> None:
    from ._overlay import run_overlay

    check_output_path(args.out, "--out")
    run_overlay(args)


COMMANDS = {"demo": _cmd_demo, "extract": _cmd_extract, "fit": _cmd_fit, "score": _cmd_score,
            "evaluate": _cmd_evaluate, "plot": _cmd_plot, "overlay": _cmd_overlay}

