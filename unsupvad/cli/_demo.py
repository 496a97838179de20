"""``unsupvad demo``: generated videos, fitted without labels, scored, evaluated and drawn."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..callbacks import counted
from ._output import _json_text, _metrics_line
from ._workflow import _interleaved, build_model, fit_model, score_videos


def run_demo(n_videos: int = 60, seed: int = 0, out: Path | None = None, *, max_modules: int = 3,
             device: str = "auto", progress: bool = False) -> dict:
    """Generate videos, fit without labels on two thirds, score and evaluate the others.

    Returns the report (also written to ``out/demo_report.json``, with the
    plot ``out/demo_scores.png``, when ``out`` is given).
    """
    from .._baselines import speed_frame_scores
    from ..metrics import evaluate

    tic = time.perf_counter()
    train, test = demo_data(n_videos, seed)
    labels = test.frame_labels()
    model = demo_model(seed, max_modules=max_modules, device=device)
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


def demo_data(n_videos: int = 60, seed: int = 0, *, return_events: bool = False):
    """The demo's generated box-track videos, split in order: the first two thirds to fit, the rest to score.

    Returns ``(train, test)``, and the generator's table of planted
    anomalies as a third item when ``return_events``.
    """
    from ..datasets import make_synthetic_videos

    if n_videos < 3:
        raise ValueError(f"the demo needs at least 3 videos (2 to fit, 1 to score), got n_videos={n_videos}")
    X, events = make_synthetic_videos(n_videos=n_videos, tracks="boxes", features=False, random_state=seed,
                                      return_events=True)
    n_train = max(2, n_videos * 2 // 3)
    train, test = X[np.flatnonzero(X.snippet_video < n_train)], X[np.flatnonzero(X.snippet_video >= n_train)]
    return (train, test, events) if return_events else (train, test)


def demo_model(seed: int = 0, *, max_modules: int = 3, device: str = "auto"):
    """The demo's unfitted estimator: TrackSnippetFeatures then InterleavedVAD(STGNF, RTFM), preset 'small'."""
    return build_model(wocc="stgnf", ws="rtfm", track_features=True, preset="small", max_modules=max_modules,
                       seed=seed, device=device)


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

    from ..plotting import VideoScoreDisplay

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
    print(f"fit: {counted(report['n_modules'], 'module')}, {counted(report['n_steps'], 'step')}, "
          f"T_ws per module {report['thresholds']}, "
          f"stopped by {report['termination_condition']}, {report['fit_seconds']:.1f} s")
    for name, label in (("ws", "WS (RTFM)"), ("wocc", "wOCC (STG-NF)"), ("speed_heuristic", "speed baseline")):
        print(_metrics_line(label, report[name]))
    print("(the speed baseline is training-free: the fastest person's speed in each frame)")
    if report.get("plot"):
        print(f"plot: {report['plot']}")
    elif "plot" in report:
        print("plot: skipped, matplotlib is not installed (pip install 'unsupvad[plot]')")
    print(f"done in {report['seconds']:.1f} s")

