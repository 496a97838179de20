"""The paper's variants and a grid search over R with a labelled validation split.

Run: ``python examples/variants_and_grid_search.py`` (about two minutes on a CPU). The settings are
tiny, for speed; measured figures live in ``benchmarks/``, not here.

* unsupervised (default): no label at all;
* weakly supervised (Table 1, right): ``supervision='video'`` and video labels as ``y``;
* one-class (Table 1, middle): fit on normal videos only;
* ablations (Table 4): ``weighted=False`` and ``adaptive_threshold=False``.

The grid search picks ``initial_ratio`` (R) by frame AUC on *validation* videos
(GroupKFold keeps videos whole); it never touches the test videos.
"""

import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from unsupvad import MIL, FeatureAE, InterleavedVAD
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import frame_auc, frame_auc_scorer

X = make_synthetic_videos(30, tracks=None, random_state=1)  # snippet features only
train = X[np.flatnonzero(X.snippet_video < 20)]
test = X[np.flatnonzero(X.snippet_video >= 20)]


def make(**kw):
    return InterleavedVAD(FeatureAE(hidden=(32, 16), max_epochs=1), MIL(iterations_per_epoch=10),
                          max_modules=3, random_state=0, **kw)


def test_auc(model):
    return frame_auc(test.frame_labels(), model.score_frames(test))


video_labels = np.array([train.videos[v].labels.any() for v in train.snippet_video], dtype=int)
normal_only = train[np.flatnonzero(video_labels == 0)]
variants = {
    "unsupervised": make().fit(train),
    "weakly supervised (video labels)": make(supervision="video").fit(train, video_labels),
    "one-class (normal videos only)": make().fit(normal_only),
    "no soft weights": make(weighted=False).fit(train),
    "fixed threshold": make(adaptive_threshold=False).fit(train),
}
for name, model in variants.items():
    print(f"{name:>34}: test micro frame AUC {test_auc(model):.3f}  (T_ws {model.thresholds_})")

search = GridSearchCV(make(), {"initial_ratio": [0.1, 0.15, 0.3]}, cv=GroupKFold(n_splits=3),
                      scoring=frame_auc_scorer)
search.fit(train, groups=train.groups)
print(f"best R on validation folds: {search.best_params_['initial_ratio']} "
      f"(validation AUC {search.best_score_:.3f}); test AUC of the refit model {test_auc(search.best_estimator_):.3f}")
