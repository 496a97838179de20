"""Quickstart: find anomalies in videos from person tracks alone, without any label.

What it shows
    The whole method in a few lines. Generated surveillance videos (nothing to
    download) carry one box track per person, as any tracker writes them. A
    scikit-learn pipeline turns the tracks into 16 motion features per 16-frame
    snippet (:class:`unsupvad.TrackSnippetFeatures`) and fits
    :class:`unsupvad.InterleavedVAD`: STG-NF (the one-class model, on the box
    tracks) and RTFM (the weakly-supervised model, on the snippet features)
    train each other, and no label is read. The fitted models then score
    held-out videos, frame by frame (higher = more abnormal); the labels of the
    held-out videos are read only for the printed frame AUCs and the shading of
    the plot.

    The planted anomalies are people running or falling. Smaller settings
    than the paper's (``STGNF()`` and ``RTFM()`` with no argument) keep it fast
    on a CPU.

Run
    ``python examples/quickstart.py [--videos 60] [--out examples_output/quickstart] [--seed 0]``
    (``--quick``: a smaller, faster smoke run).

Runtime
    About 35 s on one CPU thread (measured on a shared 2-core machine: 33 s;
    ``--quick`` 10 s). It prints a held-out micro frame AUC of about 0.95
    (WS) and 0.94 (wOCC).

Output (in ``--out``)
    ``scores.png``: frame scores of the held-out video the model finds most
    abnormal (its highest frame score), ground-truth anomalies shaded;
    ``training.png``: T_ws per module and the losses of every step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure  # a bare Figure: no window, no pyplot state
from sklearn.pipeline import make_pipeline

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import evaluate
from unsupvad.plotting import TrainingHistoryDisplay, VideoScoreDisplay


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=60, help="generated videos; two thirds train (default 60)")
    parser.add_argument("--out", type=Path, default=Path("examples_output/quickstart"), help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the videos and the models (default 0)")
    parser.add_argument("--quick", action="store_true", help="18 videos, shorter steps: a smoke run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    n_videos = 18 if args.quick else args.videos
    # Box tracks only, like a tracker's output; frame labels come along but fit never reads them.
    X = make_synthetic_videos(n_videos, n_frames=(160, 240), tracks="boxes", features=False,
                              anomaly_kinds=("running", "falling"), random_state=args.seed)
    n_train = 2 * n_videos // 3
    train = X[np.flatnonzero(X.snippet_video < n_train)]  # a VideoSet indexes snippets; keep whole videos
    test = X[np.flatnonzero(X.snippet_video >= n_train)]

    wocc = STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, flip_augment=False, score_stride=2,
                 snippet_scoring="max")
    ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20 if args.quick else 50)
    vad = InterleavedVAD(wocc, ws, max_modules=2 if args.quick else 3, max_module_steps=3 if args.quick else 6,
                         device="cpu", random_state=args.seed)
    pipe = make_pipeline(TrackSnippetFeatures(standardize=True), vad)
    pipe.fit(train)  # no y, no label: unsupervised
    print(f"fitted on {train.n_videos} videos in {time.perf_counter() - start:.0f} s: {vad.n_modules_} modules, "
          f"{vad.n_steps_} steps, T_ws per module {vad.thresholds_} ({vad.termination_condition_})")

    test_features = pipe[0].transform(test)  # the same VideoSet with the snippet features filled in
    labels = test.frame_labels()  # read for evaluation only
    frames = {}
    for scorer in ("ws", "wocc"):
        frames[scorer] = vad.set_params(scorer=scorer).score_frames(test_features)  # one array per video
        report = evaluate(labels, frames[scorer])
        print(f"{scorer:>4} on {test.n_videos} held-out videos: micro frame AUC {report['micro_auc']:.3f}, "
              f"AP {report['ap']:.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    vad.set_params(scorer="ws")
    shown = int(np.argmax([s.max() for s in frames["ws"]]))  # picked by the model's scores, not by the labels
    figure = Figure(figsize=(8, 3), layout="constrained")
    VideoScoreDisplay.from_estimator(vad, test_features, shown, ax=figure.subplots(),
                                     title=f"{test.names[shown]}: WS frame scores (held out)")
    figure.savefig(args.out / "scores.png", dpi=100)
    figure = Figure(figsize=(7, 5.6), layout="constrained")
    TrainingHistoryDisplay.from_estimator(vad, figure=figure)
    figure.savefig(args.out / "training.png", dpi=100)
    print(f"saved {args.out / 'scores.png'} and {args.out / 'training.png'} "
          f"({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
