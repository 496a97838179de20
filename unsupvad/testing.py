"""Contract checkers for component models: run them on a model of your own before you interleave it.

:func:`check_wocc` and :func:`check_ws` fit the model a few times on small
generated videos (or on the ``X`` you give) and raise an ``AssertionError``
naming the first broken rule. They check what :class:`~unsupvad.InterleavedVAD`
relies on: the declared tags, ``partial_fit`` continuing, reproducible and
order-faithful scores, clone, pickle and model-file round trips, and for a
wOCC the ``sample_weight`` rules (one weight per training object, in that
order; refused when wrong; an object of weight 0 gives no gradient). Every
registered built-in model passes them in the test suite.

>>> from unsupvad.models import FeatureAE
>>> from unsupvad.testing import check_wocc
>>> check_wocc(FeatureAE(max_epochs=1))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

from .models._tags import model_tags

__all__ = ["check_wocc", "check_ws"]


# ---------------------------------------------------------------------- entry points
def check_wocc(estimator, X=None) -> None:
    """Check that ``estimator`` keeps the contract of a weighted one-class model.

    Parameters
    ----------
    estimator : estimator
        An unfitted wOCC (not modified: the checks work on clones).
    X : VideoSet, optional
        Training videos; default: 6 generated videos with keypoint tracks
        and 16-d features.

    Raises
    ------
    AssertionError
        Naming the first rule the model breaks.
    """
    X = _data(X)
    _check_role(estimator, "wocc")
    _check_clone(estimator)
    n = len(estimator.training_objects(X))
    assert n > 0, "training_objects(X) is empty on the check data"
    weight = np.random.default_rng(0).uniform(0.2, 1.0, n)
    _check_weight_refusals(estimator, X, n)
    _check_weights_are_used(estimator, X, weight)
    _check_zero_weight_gives_no_gradient(estimator, X, n)
    _check_fitted_model(estimator, X, {"sample_weight": weight})


def check_ws(estimator, X=None) -> None:
    """Check that ``estimator`` keeps the contract of a weakly-supervised model.

    Parameters
    ----------
    estimator : estimator
        An unfitted WS (not modified: the checks work on clones).
    X : VideoSet, optional
        Training videos with features; default: 6 generated videos with
        16-d features.

    Raises
    ------
    AssertionError
        Naming the first rule the model breaks.
    """
    X = _data(X)
    _check_role(estimator, "ws")
    _check_clone(estimator)
    assert model_tags(estimator).positive_bag_size >= 1, "positive_bag_size must be at least 1"
    labels = _pseudo_labels(len(X))
    try:
        clone(estimator).fit(X, None)
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError("fit(X, y=None) must be refused: a WS trains on pseudo-labels")
    _check_fitted_model(estimator, X, {"y": labels})


# ---------------------------------------------------------------------- pieces
def _data(X):
    if X is not None:
        return X
    from .datasets import make_synthetic_videos

    return make_synthetic_videos(6, n_frames=(160, 240), tracks="keypoints", n_features=16, random_state=0)


def _pseudo_labels(n: int) -> np.ndarray:
    labels = np.zeros(n, dtype=np.int64)
    labels[np.random.default_rng(0).permutation(n)[: max(1, int(0.3 * n))]] = 1
    return labels


def _seeded(estimator):
    est = clone(estimator)
    if "random_state" in est.get_params(deep=False) and est.get_params(deep=False)["random_state"] is None:
        est.set_params(random_state=0)
    return est


def _y_and_kwargs(fit_args: dict):
    """``fit_args`` as the positional ``y`` (None for a wOCC) and the keyword arguments of fit/partial_fit."""
    return fit_args.get("y"), {k: v for k, v in fit_args.items() if k != "y"}


def _fit(estimator, X, fit_args: dict):
    y, kwargs = _y_and_kwargs(fit_args)
    return _seeded(estimator).fit(X, y, **kwargs)


def _scores(model, X) -> np.ndarray:
    return np.asarray(model.score_snippets(X), dtype=np.float64)


def _check_role(estimator, role: str) -> None:
    tags = model_tags(estimator)
    assert tags.role == role, f"{type(estimator).__name__} declares role {tags.role!r}, checked as a {role}"


def _check_clone(estimator) -> None:
    twin = clone(estimator)
    assert repr(twin.get_params(deep=False)) == repr(estimator.get_params(deep=False)), \
        "clone changes the parameters: __init__ must store every argument unchanged"
    fitted = [name for name in vars(twin) if name.endswith("_") and not name.startswith("_")]
    assert not fitted, f"__init__ sets fitted attributes {fitted}"


def _check_weight_refusals(estimator, X, n: int) -> None:
    for bad, why in ((np.ones(n + 1), "one weight too many"), (-np.ones(n), "negative weights"),
                     (np.zeros(n), "all weights 0")):
        try:
            _fit(estimator, X, {"sample_weight": bad})
        except ValueError:
            continue
        raise AssertionError(f"fit accepted sample_weight with {why}: it must raise a ValueError")


def _check_weights_are_used(estimator, X, weight: np.ndarray) -> None:
    plain = _scores(_fit(estimator, X, {}), X)
    ones = _scores(_fit(estimator, X, {"sample_weight": np.ones(len(weight))}), X)
    np.testing.assert_allclose(ones, plain, rtol=1e-6, atol=1e-9,
                               err_msg="sample_weight of all 1 must train as no sample_weight")
    zeroed = weight.copy()
    zeroed[: len(weight) // 2] = 0.0
    assert not np.allclose(_scores(_fit(estimator, X, {"sample_weight": zeroed}), X), plain), \
        "scores do not change when half the objects are weighted 0: sample_weight is ignored"


def _check_zero_weight_gives_no_gradient(estimator, X, n: int) -> None:
    """For a skorch-backed wOCC whose batches are ``{"x", "sample_weight"}`` (the WeightedOneClassModel way)."""
    from skorch.dataset import unpack_data

    model = _fit(estimator, X, {})
    if not (hasattr(model, "net_") and hasattr(model, "_training_data")):
        return  # no inspectable training batches: the rule cannot be checked from outside
    weight = np.ones(n)
    weight[::2] = 0.0
    net = copy.deepcopy(model.net_)
    batch, _ = unpack_data(next(iter(net.get_iterator(net.get_dataset(model._training_data(X, weight)),
                                                      training=True))))
    inputs = torch.as_tensor(batch["x"]).detach().clone().requires_grad_(True)
    batch = {**batch, "x": inputs}
    net.module_.train()
    net.get_loss(net.infer(batch), None, X=batch, training=True).backward()
    zero = torch.as_tensor(batch["sample_weight"]) == 0
    grad = inputs.grad.reshape(len(inputs), -1).abs().sum(dim=1)
    assert zero.any() and not zero.all(), "the check's batch should mix zero and positive weights"
    assert float(grad[zero].max()) == 0.0, "an object of weight 0 changes the gradient of the loss"
    assert float(grad[~zero].min()) > 0.0, "an object of positive weight gives no gradient"


def _check_fitted_model(estimator, X, fit_args: dict) -> None:
    model = _fit(estimator, X, fit_args)
    scores = _scores(model, X)
    assert scores.shape == (len(X),) and np.isfinite(scores).all(), \
        f"score_snippets must give {len(X)} finite scores, got shape {scores.shape}"
    np.testing.assert_array_equal(_scores(_fit(estimator, X, fit_args), X), scores,
                                  err_msg="two fits with the same random_state score differently")
    _check_partial_fit_continues(estimator, X, fit_args)
    _check_snippet_order(model, X, scores)
    _check_frames(model, X)
    _check_round_trips(model, X, scores)


def _check_partial_fit_continues(estimator, X, fit_args: dict) -> None:
    if "max_epochs" not in estimator.get_params(deep=False):
        return
    stepwise = _seeded(estimator)
    y, kwargs = _y_and_kwargs(fit_args)
    for _ in range(2):
        stepwise.partial_fit(X, y, **kwargs)
    whole = _seeded(estimator).set_params(max_epochs=2).fit(X, y, **kwargs)
    np.testing.assert_allclose(_scores(stepwise, X), _scores(whole, X), rtol=1e-5, atol=1e-7,
                               err_msg="two partial_fit calls must train as fit(max_epochs=2)")


def _check_snippet_order(model, X, scores: np.ndarray) -> None:
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_allclose(_scores(model, X[order]), scores[order], rtol=1e-5, atol=1e-7,
                               err_msg="scores of X[idx] must be the scores of X, taken at idx")


def _check_frames(model, X) -> None:
    from .metrics import frame_scores

    frames = frame_scores(model, X)
    assert [len(f) for f in frames] == [int(n) for n in X.n_frames], \
        "frame scores must hold one score per frame of every video, in the videos' order"


def _check_round_trips(model, X, scores: np.ndarray) -> None:
    np.testing.assert_array_equal(_scores(pickle.loads(pickle.dumps(model)), X), scores,
                                  err_msg="a pickled and unpickled model scores differently")
    from .persistence import load_model, save_model

    with tempfile.TemporaryDirectory() as folder:
        path = save_model(model, Path(folder) / "model.uvad")
        np.testing.assert_allclose(_scores(load_model(path), X), scores, rtol=1e-6, atol=1e-9,
                                   err_msg="a model saved with save_model and loaded back scores differently")
