"""Real data: ShanghaiTech person tracks, a small unsupervised fit, frame AUC on the 199 test videos.

What it shows
    The method on real tracker output: the ``shanghaitech-tracks`` folder
    (DeepSORT box tracks of ShanghaiTech Campus in MOTChallenge format, the
    paper's weakly-supervised split) read with
    :func:`unsupvad.datasets.load_tracks_benchmark`. A pipeline
    (:class:`unsupvad.TrackSnippetFeatures` -> :class:`unsupvad.InterleavedVAD`
    with STG-NF on the boxes and RTFM on the snippet motion features) is
    fitted on the 238 training videos **without any label** (the training
    masks are never read), then the 199 test videos are scored. It prints the
    micro frame AUC of the WS and the wOCC models next to a training-free
    reference, the speed of the fastest person in each frame
    (``unsupvad._baselines.speed_frame_scores``, micro AUC 0.729), and saves
    one test video's scores with its ground truth.

    To fit in two minutes on a CPU, STG-NF trains on windows taken every 24
    detections and scores every 6th window (``train_stride=24,
    score_stride=6``) with 4 flow steps, RTFM is small, and the
    interleaving stops after 2 modules of at most 3 steps. Expect an AUC
    near the speed heuristic's, not the paper's figures: the full protocol
    (library defaults, several seeds, ablations, the baselines) is
    ``benchmarks/shanghaitech_tracks.py``, which writes
    ``benchmarks/results/shanghaitech_tracks.json``.

Run
    ``python examples/shanghaitech_tracks.py [--root DIR] [--out examples_output/shanghaitech_tracks] [--video NAME]``
    where ``DIR`` holds ``videos.csv``, ``splits/``, ``tracks/`` and
    ``gt/test/`` (default: ``../shared/data/shanghaitech-tracks`` next to
    the repository). Without the folder it says where it is expected and
    exits with status 0. ``--quick``: every 10th video of each split, one
    module (a smoke run).

Runtime
    About a minute on one CPU thread (measured on a shared 2-core machine:
    61 s; ``--quick`` 10 s). Measured: micro frame AUC WS 0.725, wOCC 0.675,
    speed heuristic 0.729 (settings fixed beforehand for the time budget,
    not tuned on the test labels).

Output (in ``--out``)
    ``<video>.png``: the WS and wOCC frame scores of one test video, ground
    truth shaded: ``--video NAME`` (e.g. ``--video 01_0015``, a video with
    an anomaly), else the test video with the highest WS frame score (chosen
    by the scores, never by the labels; it may well be a normal video).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.pipeline import make_pipeline

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad._baselines import speed_frame_scores
from unsupvad.datasets import load_tracks_benchmark
from unsupvad.metrics import frame_auc
from unsupvad.plotting import VideoScoreDisplay

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "shanghaitech-tracks"


def every(X, step: int):
    """Every ``step``-th video of ``X``, whole."""
    return X if step == 1 else X[np.flatnonzero(X.snippet_video % step == 0)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"data folder (default {DEFAULT_ROOT})")
    parser.add_argument("--out", type=Path, default=Path("examples_output/shanghaitech_tracks"), help="PNG folder")
    parser.add_argument("--video", help="test video to plot (default: the one with the highest WS frame score)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models (default 0)")
    parser.add_argument("--quick", action="store_true", help="every 10th video, one module: a smoke run")
    args = parser.parse_args(argv)
    if not (args.root / "videos.csv").is_file():
        print(f"the shanghaitech-tracks folder was not found at {args.root} (it needs videos.csv, splits/, "
              "tracks/ and gt/test/); pass --root DIR. Nothing to do.")
        return
    torch.set_num_threads(1)
    start = time.perf_counter()

    step = 10 if args.quick else 1
    train = every(load_tracks_benchmark(args.root, "train"), step)  # no labels are attached to it
    test = every(load_tracks_benchmark(args.root, "test"), step)  # frame masks, read for the AUCs only
    print(f"loaded {train.n_videos} training and {test.n_videos} test videos "
          f"({sum(len(v.tracks) for v in train.videos)} + {sum(len(v.tracks) for v in test.videos)} track rows) "
          f"in {time.perf_counter() - start:.0f} s")

    wocc = STGNF(layout="box5", seg_len=24, train_stride=24, score_stride=6, n_flows=4, random_state=args.seed)
    ws = RTFM(branch_dim=64, head_dims=(32, 16), iterations_per_epoch=20 if args.quick else 50)
    vad = InterleavedVAD(wocc, ws, max_modules=1 if args.quick else 2, max_module_steps=2 if args.quick else 3,
                         device="cpu", random_state=args.seed)
    pipe = make_pipeline(TrackSnippetFeatures(standardize=True), vad)
    fit_start = time.perf_counter()
    pipe.fit(train)  # no label
    print(f"fitted in {time.perf_counter() - fit_start:.0f} s: {vad.n_modules_} modules, {vad.n_steps_} steps, "
          f"T_ws per module {vad.thresholds_} of {len(train)} snippets ({vad.termination_condition_})")

    features = pipe[0].transform(test)
    labels = test.frame_labels()
    frames = {"WS (RTFM)": vad.set_params(scorer="ws").score_frames(features),
              "wOCC (STG-NF)": vad.set_params(scorer="wocc").score_frames(features),
              "speed heuristic (no training)": speed_frame_scores(test)}
    print(f"micro frame AUC on {test.n_videos} test videos:")
    for name, scores in frames.items():
        print(f"  {name:>30}: {frame_auc(labels, scores):.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    if args.video is None:
        shown = int(np.argmax([s.max() for s in frames["WS (RTFM)"]]))  # chosen by the scores, not the labels
    elif args.video in test.names:
        shown = test.names.index(args.video)
    else:
        raise SystemExit(f"--video {args.video}: no such test video (among the {test.n_videos} loaded)")
    figure = Figure(figsize=(8, 5), layout="constrained")
    for ax, name in zip(figure.subplots(2, 1, sharex=True), ("WS (RTFM)", "wOCC (STG-NF)")):
        VideoScoreDisplay.from_predictions(frames[name][shown], labels[shown], fps=test.videos[shown].fps, ax=ax,
                                           title=f"test video {test.names[shown]}: {name}")
    path = args.out / f"{test.names[shown]}.png"
    figure.savefig(path, dpi=100)
    print(f"saved {path} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
