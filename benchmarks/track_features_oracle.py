"""Oracle ceiling of the WS models on track features: trained on the TRUE training snippet labels.

Not a result of the unsupervised method and not usable for choosing anything: it
says how far a weakly-supervised model can go on the 16 ``TrackSnippetFeatures``
of the real ShanghaiTech tracks if its pseudo-labels were perfect, which bounds
the WS rows of ``benchmarks/shanghaitech_tracks.py``::

    python benchmarks/track_features_oracle.py [--data DIR] [--seeds 0 1 2]

A training snippet is abnormal when it holds an abnormal frame of ``gt/train``.
Writes ``benchmarks/results/track_features_oracle.json``: micro frame AUC on the
199 test videos (a frame takes its snippet's score) per model and seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from unsupvad import MIL, RTFM, TrackSnippetFeatures
from unsupvad.datasets import load_tracks_benchmark, scene_prefix
from unsupvad.metrics import frame_auc

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "shanghaitech-tracks"
RESULT = HERE / "results" / "track_features_oracle.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = load_tracks_benchmark(args.data, "train", labels=True, scene=scene_prefix)
    test = load_tracks_benchmark(args.data, "test", scene=scene_prefix)
    features = TrackSnippetFeatures(standardize=True).fit(train)
    train_f, test_f = features.transform(train), features.transform(test)
    y = (train.frames_to_snippets(train.frame_labels(), reduce="max") > 0).astype(int)
    runs = []
    for seed in args.seeds:
        for model in (RTFM(max_epochs=5, device="cpu", random_state=seed), MIL(device="cpu", random_state=seed)):
            tic = time.perf_counter()
            model.fit(train_f, y)
            auc = frame_auc(test.frame_labels(), test_f.snippets_to_frames(model.score_snippets(test_f)))
            runs.append({"model": type(model).__name__, "seed": seed, "micro_auc": float(auc),
                         "fit_seconds": time.perf_counter() - tic})
            print(f"{type(model).__name__} seed {seed}: micro frame AUC {auc:.3f}", flush=True)
    summary = {name: {"mean": float(np.mean([r["micro_auc"] for r in runs if r["model"] == name])),
                      "std": float(np.std([r["micro_auc"] for r in runs if r["model"] == name]))}
               for name in ("RTFM", "MIL")}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({"what": "ORACLE: WS trained on true training snippet labels (not unsupervised)",
                                  "positive_share": float(y.mean()), "summary": summary, "runs": runs}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
