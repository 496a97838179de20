"""The paper's variants, and a grid search over R on a labelled validation split.

What it shows
    The settings of the paper's tables as parameters of one estimator, in a
    scikit-learn pipeline (box tracks -> :class:`unsupvad.TrackSnippetFeatures`
    -> :class:`unsupvad.InterleavedVAD` with STG-NF and RTFM):

    * unsupervised (the default): no label at all;
    * weakly supervised (Table 1, right): ``supervision='video'`` and the
      training videos' labels (does the video hold an anomaly?) as ``y``;
    * one-class (Table 1, middle): fitted on the normal training videos only;
    * ablations (Table 4): ``weighted=False`` (hard labels instead of soft
      weights) and ``adaptive_threshold=False`` (T_ws fixed at R N).

    Then ``GridSearchCV`` chooses R (``initial_ratio``) by frame AUC on a
    separate, labelled *validation* split, with ``StratifiedGroupKFold`` so
    that videos stay whole and every fold holds abnormal videos: each candidate is fitted (without labels) on two thirds
    of the validation videos and scored on the rest. The chosen R is then
    fitted on the unlabelled training split. The test videos' labels are read
    only for the printed test AUCs, never to choose anything.

    The settings are small, for speed, and the generated anomalies are people
    running or falling; measured figures live in ``benchmarks/``, not here.

Run
    ``python examples/variants_and_grid_search.py [--out examples_output/variants] [--seed 0]``
    (``--quick``: fewer videos, one module, a smaller grid: a smoke run).

Runtime
    About 80 s on one CPU thread (measured on a shared 2-core machine:
    78 s; ``--quick`` 20 s). Test frame AUCs of about 0.89-0.94 (WS) and
    0.84-0.92 (wOCC). On validation folds this small, the second module's
    T_ws often falls to 1 whatever R, so several R can tie (the first wins).

Output (in ``--out``)
    ``variants.png``: the test frame AUC of every variant, WS and wOCC.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import frame_auc, frame_auc_scorer


def videos(X, first: int, stop: int):
    """The whole videos ``first .. stop - 1`` of ``X`` (a VideoSet indexes snippets)."""
    return X[np.flatnonzero((X.snippet_video >= first) & (X.snippet_video < stop))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples_output/variants"), help="folder for the PNG")
    parser.add_argument("--seed", type=int, default=0, help="seed of the videos and the models (default 0)")
    parser.add_argument("--quick", action="store_true", help="fewer videos, one module, two grid values")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    n_train, n_val, n_test = (8, 6, 6) if args.quick else (24, 12, 12)
    X = make_synthetic_videos(n_train + n_val + n_test, n_frames=(160, 240), tracks="boxes", features=False,
                              anomaly_kinds=("running", "falling"), random_state=args.seed)
    train = videos(X, 0, n_train)  # unlabelled: fit never reads its frame labels
    val = videos(X, n_train, n_train + n_val)  # labelled, for choosing R
    test = videos(X, n_train + n_val, X.n_videos)  # labels read only for the final AUCs

    def make(**kw):
        wocc = STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, flip_augment=False, score_stride=2,
                     snippet_scoring="max")
        ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20 if args.quick else 30)
        vad = InterleavedVAD(wocc, ws, max_modules=1 if args.quick else 2, max_module_steps=3 if args.quick else 4,
                             device="cpu", random_state=args.seed, **kw)
        return make_pipeline(TrackSnippetFeatures(standardize=True), vad)

    def test_aucs(pipe):
        vad, features = pipe[-1], pipe[0].transform(test)
        return {scorer: frame_auc(test.frame_labels(), vad.set_params(scorer=scorer).score_frames(features))
                for scorer in ("ws", "wocc")}

    video_label = np.array([v.labels.any() for v in train.videos], dtype=int)  # per training video
    y_video = video_label[train.snippet_video]  # repeated on each of its snippets
    normal_only = train[np.flatnonzero(y_video == 0)]
    variants = {
        "unsupervised": lambda: make().fit(train),
        "weakly supervised (video labels)": lambda: make(supervision="video").fit(train, y_video),
        "one-class (normal videos only)": lambda: make().fit(normal_only),
        "no soft weights (Table 4)": lambda: make(weighted=False).fit(train),
        "fixed threshold (Table 4)": lambda: make(adaptive_threshold=False).fit(train),
    }
    results = {}
    for name, fit in variants.items():
        pipe = fit()
        results[name] = test_aucs(pipe)
        print(f"{name:>33}: test micro frame AUC  WS {results[name]['ws']:.3f}  wOCC {results[name]['wocc']:.3f}"
              f"  (T_ws {pipe[-1].thresholds_})")

    grid = [0.1, 0.3] if args.quick else [0.05, 0.15, 0.3]
    # Pipeline.score_samples gives the WS snippet scores (the scorer's sign is handled by frame_auc_scorer).
    # Folds of whole videos (groups), each with an abnormal video (stratified by the video label), or its AUC
    # would be undefined. The unsupervised fit ignores y; only the folds and the scorer use the labels.
    val_label = np.array([v.labels.any() for v in val.videos], dtype=int)
    if val_label.sum() < 2:
        raise SystemExit(f"the validation split holds {val_label.sum()} abnormal video(s); it needs 2 or more")
    val_video = val_label[val.snippet_video]
    search = GridSearchCV(make(), {"interleavedvad__initial_ratio": grid}, scoring=frame_auc_scorer,
                          cv=StratifiedGroupKFold(n_splits=min(3, val_label.sum())), refit=False)
    search.fit(val, val_video, groups=val.groups)
    best = search.best_params_["interleavedvad__initial_ratio"]
    means = ", ".join(f"R={r}: {s:.3f}" for r, s in zip(grid, search.cv_results_["mean_test_score"]))
    chosen = test_aucs(make(initial_ratio=best).fit(train))
    print(f"validation frame AUC by R ({means}); chosen R = {best}, fitted on the training split: "
          f"test WS {chosen['ws']:.3f}, wOCC {chosen['wocc']:.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    ax = figure.subplots()
    names = [*results, f"unsupervised, chosen R = {best}"]
    aucs = [*results.values(), chosen]
    y = np.arange(len(names))
    ax.barh(y - 0.2, [a["ws"] for a in aucs], height=0.4, label="WS (RTFM)")
    ax.barh(y + 0.2, [a["wocc"] for a in aucs], height=0.4, label="wOCC (STG-NF)")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.axvline(0.5, color="gray", ls=":", lw=1)  # chance
    ax.set_xlabel("test micro frame AUC")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    figure.savefig(args.out / "variants.png", dpi=100)
    print(f"saved {args.out / 'variants.png'} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
