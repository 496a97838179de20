"""Quickstart: fit InterleavedVAD on generated videos without any label, then score new videos.

Run: ``python examples/quickstart.py`` (about a minute on a laptop CPU).
"""

import numpy as np

from unsupvad import RTFM, STGNF, InterleavedVAD
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import evaluate

X = make_synthetic_videos(24, random_state=0)  # pose tracks + snippet features + frame labels
train = X[np.flatnonzero(X.snippet_video < 16)]  # the labels of these videos are never read by fit
test = X[np.flatnonzero(X.snippet_video >= 16)]

# Small, fast settings for a CPU demo; the defaults are the paper's.
wocc = STGNF(n_flows=4, seg_len=12, batch_size=64, lr=2e-3, score_stride=2, snippet_scoring="max")
ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20)
model = InterleavedVAD(wocc, ws, max_modules=3, random_state=0).fit(train)

print(f"modules: {model.n_modules_}, steps: {model.n_steps_}, T_ws per module: {model.thresholds_}, "
      f"stopped by: {model.termination_condition_}")
for scorer in ("ws", "wocc"):
    frames = model.set_params(scorer=scorer).score_frames(test)  # one array per video, higher = more abnormal
    report = evaluate(test.frame_labels(), frames)
    print(f"{scorer:>4}: micro frame AUC {report['micro_auc']:.3f}, AP {report['ap']:.3f}")
