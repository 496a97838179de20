"""Many fits past one machine: seeds and a grid search on a Dask cluster, through joblib, identical results.

What it shows
    Fits are independent, so an existing engine can run them: scikit-learn and
    joblib hand their parallel loops to Dask with
    ``joblib.parallel_config(backend="dask")``, inside a ``distributed.Client``
    connected to a cluster (``--scheduler tcp://host:8786``) or, by default,
    to a local one started here. Two loops run there:

    * the unsupervised fit with several seeds (``joblib.Parallel``), no label
      at all: the spread of the held-out AUC over seeds is what
      ``ensemble='modules'`` is there to cut;
    * ``GridSearchCV`` over R (``initial_ratio``) on a labelled *validation*
      split, videos kept whole by ``StratifiedGroupKFold`` (every fold holds
      abnormal videos; the labels only choose R, the fits never read them).

    Each loop runs again on the default backend, in this process, and the
    scores are compared: they are identical. Workers run one torch thread
    each, like this process (``OMP_NUM_THREADS=1``): float32 results depend
    on the thread count, so equal threads are what make a cluster's results
    equal to a laptop's.

Run
    ``python examples/many_fits_dask.py [--scheduler ADDRESS] [--workers 2] [--quick]``
    (needs ``pip install "unsupvad[distributed]"``).

Runtime
    About 2 min on a shared 2-core machine with the local cluster, every
    loop run twice (``--quick``: fewer videos, seeds, candidates and folds,
    about 45 s).
"""

from __future__ import annotations

import argparse
import contextlib

import joblib
import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from unsupvad import RTFM, FeatureAE, InterleavedVAD
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import frame_auc, frame_auc_scorer

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def model(seed: int = 0) -> InterleavedVAD:
    return InterleavedVAD(FeatureAE(max_epochs=1), RTFM(max_epochs=1), max_modules=2, max_module_steps=2,
                          random_state=seed, device="cpu")


def held_out_auc(seed: int, train, test) -> float:
    """One unsupervised fit (labels removed first) and its held-out micro frame AUC."""
    unlabelled = train.__class__([v.replace(labels=None) for v in train.videos])
    fitted = model(seed).fit(unlabelled)
    return float(frame_auc(test.frame_labels(), fitted.score_frames(test)))


def seeds_and_search(train, test, validation, seeds, grid, n_splits: int, n_jobs: int):
    aucs = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(held_out_auc)(s, train, test) for s in seeds)
    abnormal = np.array([bool(v.labels.any()) for v in validation.videos])
    if abnormal.sum() < 2:
        raise SystemExit(f"the validation split holds {abnormal.sum()} abnormal video(s); the search needs 2")
    folds = StratifiedGroupKFold(n_splits=int(min(n_splits, abnormal.sum())))
    search = GridSearchCV(model(), {"initial_ratio": grid}, scoring=frame_auc_scorer, cv=folds, refit=False,
                          n_jobs=n_jobs).fit(validation, abnormal[validation.snippet_video], groups=validation.groups)
    return np.array(aucs), search.cv_results_["mean_test_score"]


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=ONE_THREAD) as cluster, Client(cluster) as client:
        yield client


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the local cluster (default 2)")
    parser.add_argument("--quick", action="store_true", help="fewer videos, seeds and candidates (a smoke run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    n = 24 if args.quick else 48
    X = make_synthetic_videos(n, tracks=None, n_features=16, random_state=0)
    split = [np.flatnonzero((X.snippet_video >= a) & (X.snippet_video < b)) for a, b in
             ((0, n // 2), (n // 2, 3 * n // 4), (3 * n // 4, n))]
    train, validation, test = (X[idx] for idx in split)
    seeds = [0, 1] if args.quick else [0, 1, 2, 3]
    grid = [0.1, 0.2] if args.quick else [0.05, 0.1, 0.15, 0.2]
    n_splits = 2 if args.quick else 3

    with dask_client(args.scheduler, args.workers) as client, joblib.parallel_config(backend="dask"):
        print(f"Dask: {len(client.scheduler_info()['workers'])} workers at {client.scheduler.address}")
        on_dask = seeds_and_search(train, test, validation, seeds, grid, n_splits, n_jobs=-1)
    here = seeds_and_search(train, test, validation, seeds, grid, n_splits, n_jobs=1)
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(on_dask, here))
    aucs, search = on_dask
    print(f"held-out micro frame AUC over {len(seeds)} seeds: {aucs.mean():.3f} +- {aucs.std():.3f}")
    print("validation frame AUC per R: " + ", ".join(f"{r}: {s:.3f}" for r, s in zip(grid, search)))
    print(f"identical to the default backend: {same}")
    return {"seed_aucs": aucs, "search": search, "identical": same}


if __name__ == "__main__":
    main()
