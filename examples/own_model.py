"""Write your own models: a small wOCC and a small WS, registered, checked, interleaved, saved and loaded.

Run: ``python examples/own_model.py [--quick]``. Runtime: about 5 s on one CPU core (``--quick``: fewer
videos and modules, about 4 s).

* ``GaussianWOCC``: a diagonal Gaussian over snippet features, trained by
  the weighted negative log-likelihood of Eq. 2, ``sum_i w_i nll_i / #{w_i > 0}``,
  on :class:`unsupvad.models.WeightedOneClassModel`, which gives it ``fit``,
  ``partial_fit``, seeding, the ``sample_weight`` checks and ``offset_``;
* ``LogisticWS``: a logistic regression over snippet features trained on the
  pseudo-labels, written from scratch on skorch.

Both are registered (:func:`unsupvad.models.register_model`), pass the
contract checkers of :mod:`unsupvad.testing`, train each other inside
:class:`unsupvad.InterleavedVAD` without labels, and go through a model file.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from skorch import NeuralNet, NeuralNetBinaryClassifier
from torch import nn

from unsupvad import InterleavedVAD, load_model, save_model
from unsupvad.datasets import make_synthetic_videos
from unsupvad.metrics import frame_auc
from unsupvad.models import ModelTags, WeightedOneClassModel, list_models, register_model
from unsupvad.testing import check_wocc, check_ws


def snippet_features(X) -> np.ndarray:
    feats = X.features()
    return np.asarray(feats.mean(axis=1) if feats.ndim == 3 else feats, dtype=np.float32)


# ---------------------------------------------------------------------- a wOCC
class DiagonalGaussian(nn.Module):
    def __init__(self, n_features: int):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(n_features))
        self.log_var = nn.Parameter(torch.zeros(n_features))

    def forward(self, x, sample_weight=None):  # one NLL per row
        return 0.5 * (((x - self.mean) ** 2) / self.log_var.exp() + self.log_var).sum(dim=1)


class WeightedNLLNet(NeuralNet):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        weight = X["sample_weight"].to(y_pred.device)
        return (weight * y_pred).sum() / (weight > 0).sum().clamp_min(1)


@register_model
class GaussianWOCC(WeightedOneClassModel, BaseEstimator):
    def __init__(self, lr=0.05, max_epochs=5, contamination="auto", random_state=None, device="auto"):
        self.lr, self.max_epochs, self.contamination = lr, max_epochs, contamination
        self.random_state, self.device = random_state, device

    def training_objects(self, X):
        return X.snippet_objects()

    def _input(self, X):
        return X

    def _setup(self, X):
        self.n_features_in_ = snippet_features(X).shape[1]

    def _build_net(self):
        return WeightedNLLNet(DiagonalGaussian, module__n_features=self.n_features_in_, criterion=nn.Identity,
                              optimizer=torch.optim.Adam, lr=self.lr, batch_size=128, max_epochs=1,
                              train_split=None, iterator_train__shuffle=True, device=str(self.device_), verbose=0)

    def _training_data(self, X, sample_weight):
        weight = self._checked_weight(sample_weight, len(X)).cpu().numpy()
        return {"x": snippet_features(X), "sample_weight": weight}

    def _training_scores(self, X):
        return self.score_snippets(X)

    def score_snippets(self, X):
        with torch.no_grad():
            nll = self.net_.module_(torch.as_tensor(snippet_features(X), device=self.device_))
        return nll.cpu().numpy().astype(np.float64)


# ---------------------------------------------------------------------- a WS
@register_model
class LogisticWS(BaseEstimator):
    def __init__(self, lr=0.05, max_epochs=5, random_state=None, device="cpu"):
        self.lr, self.max_epochs, self.random_state, self.device = lr, max_epochs, random_state, device

    def __unsupvad_tags__(self):
        return ModelTags(role="ws", reads="features")

    def fit(self, X, y, sample_weight=None, snippet_scores=None):
        if y is None:
            raise ValueError("LogisticWS trains on snippet labels: give y")
        self.__dict__.pop("net_", None)
        for _ in range(self.max_epochs):
            self.partial_fit(X, y)
        return self

    def partial_fit(self, X, y, sample_weight=None, snippet_scores=None):
        if not hasattr(self, "net_"):
            self.n_features_in_, self.n_epochs_ = snippet_features(X).shape[1], 0
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self.net_ = self._build_net()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self._seed)
                self.net_.initialize()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed + 1 + self.n_epochs_)
            self.net_.partial_fit(snippet_features(X), np.asarray(y, dtype=np.float32), epochs=1)
        self.n_epochs_ += 1
        return self

    def _build_net(self):
        return NeuralNetBinaryClassifier(nn.Linear, module__in_features=self.n_features_in_, module__out_features=1,
                                         optimizer=torch.optim.Adam, lr=self.lr, batch_size=64, max_epochs=1,
                                         train_split=None, iterator_train__shuffle=True, device=self.device,
                                         verbose=0)

    def score_snippets(self, X):
        return self.net_.predict_proba(snippet_features(X))[:, 1].astype(np.float64)


# ---------------------------------------------------------------------- use them
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer videos and modules (a smoke run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    check_wocc(GaussianWOCC(max_epochs=2))
    check_ws(LogisticWS(max_epochs=2))
    print("registered:", list_models("wocc"), list_models("ws"), "- both pass unsupvad.testing")

    X = make_synthetic_videos(24 if args.quick else 48, tracks=None, n_features=32, random_state=0)
    train = X[np.flatnonzero(X.snippet_video < X.n_videos * 2 // 3)]
    test = X[np.flatnonzero(X.snippet_video >= X.n_videos * 2 // 3)]
    model = InterleavedVAD(GaussianWOCC(), LogisticWS(), max_modules=2 if args.quick else 4, random_state=0,
                           device="cpu").fit(train.__class__([v.replace(labels=None) for v in train.videos]))
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_model(save_model(model, Path(folder) / "own.uvad"))
    result = {}
    for scorer in ("ws", "wocc"):
        frames = loaded.set_params(scorer=scorer).score_frames(test)
        result[scorer] = frame_auc(test.frame_labels(), frames)
    print(f"fitted without labels: {model.n_modules_} modules, T_ws per module {model.thresholds_}")
    print(f"held-out micro frame AUC (from the saved and loaded model): WS {result['ws']:.3f}  "
          f"wOCC {result['wocc']:.3f}")
    return result


if __name__ == "__main__":
    main()
