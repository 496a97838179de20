"""InterleavedVAD: the paper's unsupervised method as a scikit-learn meta-estimator.

Two models train each other with no label (Nie et al., ECCV 2024):

- a weighted one-class model (wOCC) trains on objects with weights 1 − w;
- its snippet scores give the weakly-supervised model (WS) rank labels (Eq. 3);
- the WS snippet scores become the next objects' w (Eq. 6).

One wOCC epoch plus one WS epoch is a *step*; steps repeat until the
pseudo-labels settle (a *module*); modules restart both models from scratch
with a threshold T_ws that shrinks by adaptive thresholding (Eq. 8) until the
stopping criterion.
"""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin, OutlierMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _health, _rules
from ._videoset import VideoSet
from .callbacks import PrintSteps, ProgressLog, notify
from .models._base import (
    SnippetScoresMixin,
    TrainingLabelsMixin,
    as_videoset,
    offset_at,
    resolve_device,
    unfitted_if_interrupted,
)
from .models._tags import ModelTags, model_tags

_UNTAGGED_WS = ModelTags(role="ws", reads="features")  # what a WS without __unsupvad_tags__ is taken for
_WOCC_METHODS = ["partial_fit", "training_objects", "score_snippets"]
_WS_METHODS = ["partial_fit", "score_snippets"]


class InterleavedVAD(MetaEstimatorMixin, TrainingLabelsMixin, SnippetScoresMixin, OutlierMixin, BaseEstimator):
    """Unsupervised video anomaly detection by interleaving a wOCC and a WS model.

    Parameters
    ----------
    wocc : estimator, default=None
        The weighted one-class model, e.g. :class:`~unsupvad.STGNF` or
        :class:`~unsupvad.FeatureAE`. It must offer ``training_objects(X)``,
        ``partial_fit(X, sample_weight=...)`` (one epoch, continuing) and
        ``score_snippets(X)`` (higher = more abnormal). None: ``STGNF()``,
        the paper's wOCC (it reads person tracks).
    ws : estimator, default=None
        The weakly-supervised model, e.g. :class:`~unsupvad.RTFM` or
        :class:`~unsupvad.MIL`, with ``partial_fit(X, y)`` on 0/1 snippet
        labels and ``score_snippets(X)`` in [0, 1]. None: ``RTFM()``, the
        paper's WS.
    initial_ratio : float, default=0.15
        R: the first threshold is ``T_ws = ceil(R N)`` and every wOCC's top
        set A_j holds its top ``ceil(R N)`` snippets.
    stop_ratio : float, default=0.1
        Q: stop when the drop of T_ws between modules is below Q times the
        first drop.
    max_modules : int, default=6
        Upper bound on the number of modules.
    module_steps : 'auto' or int, default='auto'
        'auto' (the paper): steps repeat until the soft labels settle, i.e.
        the mean absolute change of the objects' w between two steps is at
        most ``convergence_tol``, within ``max_module_steps``. An int fixes
        the number of steps (the official code: 6).
    convergence_tol : float, default=0.02
        Tolerance of ``module_steps='auto'``.
    max_module_steps : int, default=10
        Cap on the steps of one module with ``module_steps='auto'``.
    init : {'beta', 'uniform'}, default='beta'
        First soft labels: ``w ~ Beta(beta)`` per object (the paper), or
        ``w = 0`` for all objects (plain OCC on all data).
    beta : tuple of float, default=(1, 5)
        Parameters of the Beta start.
    weight_rule : {'centre', 'max'}, default='centre'
        Eq. 6: an object's w is the WS score of the snippet containing it
        (its centre frame), or (the official code) the largest WS score of
        the snippets it touches.
    weight_floor : float, default=1e-3
        Guard of Eq. 6: an object's training weight ``1 - w`` is at least
        this, so a WS score of exactly 1 (a float32 sigmoid saturates near
        logit 17) leaves the object in training with a tiny weight instead
        of silently removing it, and a WS that scores every snippet 1 cannot
        leave the wOCC with nothing to train on. 0 is the paper's exact
        ``w = x̂``. Objects of unselected snippets still get ``w = 1``.
    weighted : bool, default=True
        False is the ablation of Table 4 without soft labels: w is the hard
        0/1 label of the object's snippet under the current T_ws, so the OCC
        trains on the normal-labelled objects only.
    adaptive_threshold : bool, default=True
        False is the ablation with T_ws fixed at ``ceil(R N)`` in every
        module (the stopping rule then never fires before ``max_modules``).
        T_ws never goes below the WS's positive bag size (the
        ``positive_bag_size`` of its declared tags,
        :class:`~unsupvad.models.ModelTags`: RTFM's ``bag_size``, 16; 1 for
        MIL's default, in ``mode='video'`` or for a WS without tags): when
        the consensus of Eq. 8 is smaller, positive
        bags could not be formed without repeating snippets, and the
        repetition ends (``termination_condition_ = 'min_threshold'``).
    first_change : {'paper', 'official'}, default='paper'
        Which threshold drop is the stopping rule's reference, see
        :func:`unsupvad._rules.should_stop`.
    supervision : {'none', 'video'}, default='none'
        'none' is the unsupervised method: ``y`` is ignored, as for every
        scikit-learn outlier detector (so a ``y`` handed on by
        ``cross_val_score`` or ``GridSearchCV`` can never leak into
        training). 'video' is the paper's weakly-supervised variant
        (Table 1, right): ``y`` holds video labels and snippets of normal
        videos are fixed as normal.
    scorer : {'ws', 'wocc'}, default='ws'
        Which fitted model scores new videos (the paper reports both).
    wocc_scoring : {'training', 'rescore'}, default='training'
        The wOCC scores that Eq. 3 and Eq. 8 read after every wOCC step.
        ``'training'``: its own scores of its training snippets from the end
        of its epoch (``decision_scores_``; STG-NF: its stride-6 training
        windows; FeatureAE: exactly ``score_snippets``). ``'rescore'``:
        ``score_snippets(X)`` again (STG-NF at ``score_stride`` 1, the
        official code's pass over six times the windows). A wOCC without
        ``decision_scores_`` is rescored. New videos score alike with
        either (:doc:`/deviations`).
    ensemble : {'modules', 'last'}, default='modules'
        Which models score new videos. ``'last'`` (the paper): the models of
        the last module. ``'modules'``: the final models of every module
        after the first (of the first alone when there is only one),
        averaged: the WS's scores (probabilities) as they are, the wOCC's
        after standardising each with the mean and standard deviation of
        its own training-snippet scores. Each module trains both models from
        scratch, so its final models are a restart of the method at a
        refined threshold; their mean cuts the seed-to-seed spread of one fit
        at no training cost (scoring costs one pass per module). The first
        module is left out because it runs at the deliberately rough
        ``T_ws = ceil(R N)`` that the later ones refine. Labels are never
        involved.
    contamination : 'auto' or float, default='auto'
        Sets ``offset_`` for :meth:`predict`. 'auto' uses the method's own
        estimate of the abnormal share: the last threshold T_ws over N, on
        the training scores. A float in (0, 0.5] is the share of training
        snippets flagged abnormal.
    device : str, default='auto'
        Device of the whole alternation; passed to both models.
    random_state : int, RandomState or None
        Seeds the Beta start and every cloned model.
    verbose : int, default=0
        Print every step's whole record when > 0
        (:class:`~unsupvad.callbacks.PrintSteps`). Progress always goes to
        the ``logging`` module, one INFO line per step on the
        ``"unsupvad.fit"`` logger (:class:`~unsupvad.callbacks.ProgressLog`),
        shown once a handler is set, e.g. ``logging.basicConfig(level="INFO")``.
    callbacks : list, optional
        :class:`~unsupvad.callbacks.Callback` objects (or any object with
        some of its methods): told when the fit and every module begin and
        end, and after every step with that step's models, they may add
        entries to the step's ``record`` (e.g. a labelled validation AUC,
        see :class:`~unsupvad.FrameAUCMonitor`) but never change training.

    Attributes
    ----------
    wocc_, ws_ : estimators
        The models of the last module.
    module_models_ : list of dict
        ``{'wocc': ..., 'ws': ...}``, the final models of every module, in
        order (the last one holds ``wocc_`` and ``ws_``; ``ensemble='modules'``
        scores with all but the first).
    wocc_standardization_ : list of (float, float)
        Per module, the mean and standard deviation of its final wOCC's
        training-snippet scores (how ``ensemble='modules'`` puts the wOCCs on
        one scale).
    thresholds_ : list of int
        T_ws used by each module.
    n_modules_, n_steps_ : int
        Modules run and total steps.
    termination_condition_ : {'converged', 'min_threshold', 'max_modules'}
        Why the repetition stopped: the stopping criterion, a consensus
        smaller than the positive bag size, or the module cap.
    consensus_size_ : int
        Size of the intersection of every wOCC's top set after the last
        module (Eq. 8).
    history_ : list of dict
        One record per step: module, step, T_ws, positives, losses,
        durations, weight and label changes, monitor metrics, and the loop's
        health (all label-free): ``ws_saturated`` (share of training
        snippets the WS scores within 1e-3 of 1), ``ws_spread`` (standard
        deviation of its training scores), ``ws_agreement`` (AUC of its
        scores against the pseudo-labels of the step), ``wocc_weight_ess``
        (effective sample share, Kish, of the wOCC's training weights
        ``1 - w`` in the step) and ``ws_degenerate``. A degenerate step (no
        spread, agreement below 0.5, or saturation more than 0.2 above the
        share labelled positive) raises a :class:`DegenerateLoopWarning`
        naming its module and step, and its WS scores do not become soft
        labels: the next wOCC step keeps the previous ``w``. A degenerate
        step never counts as a converged module.
    offset_ : float
        ``decision_function = score_samples - offset_``, for the current
        ``scorer`` (read from ``offsets_``).
    offsets_ : dict
        The offset of each scorer, ``{'ws': ..., 'wocc': ...}``, both set
        on the training snippets with the same ``contamination``.
    training_scores_ : dict
        ``{'ws': ..., 'wocc': ...}``: the anomaly scores of the training
        snippets by the scoring models (combined as ``ensemble`` says), the
        scores ``offsets_`` are set on.
    decision_scores_ : ndarray of shape (n_snippets,)
        PyOD's name for ``training_scores_[scorer]`` (higher = more
        abnormal), equal to ``anomaly_score`` of the training set.
    threshold_ : float
        PyOD's threshold on ``decision_scores_``: ``-offset_``.
    labels_ : ndarray of shape (n_snippets,)
        PyOD's training labels: 1 for the training snippets whose score
        exceeds ``threshold_`` (those ``predict`` calls abnormal), else 0.
    device_ : torch.device
    """

    _parameter_constraints = {
        "wocc": [HasMethods(_WOCC_METHODS), None],
        "ws": [HasMethods(_WS_METHODS), None],
        "initial_ratio": [Interval(Real, 0, 1, closed="right")],
        "stop_ratio": [Interval(Real, 0, None, closed="left")],
        "max_modules": [Interval(Integral, 1, None, closed="left")],
        "module_steps": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "convergence_tol": [Interval(Real, 0, None, closed="left")],
        "max_module_steps": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"beta", "uniform"})],
        "beta": [tuple, list],
        "weight_rule": [StrOptions({"centre", "max"})],
        "weight_floor": [Interval(Real, 0, 1, closed="left")],
        "weighted": ["boolean"],
        "adaptive_threshold": ["boolean"],
        "first_change": [StrOptions({"paper", "official"})],
        "supervision": [StrOptions({"none", "video"})],
        "scorer": [StrOptions({"ws", "wocc"})],
        "wocc_scoring": [StrOptions({"training", "rescore"})],
        "ensemble": [StrOptions({"modules", "last"})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
    }

    def __init__(self, wocc=None, ws=None, *, initial_ratio=0.15, stop_ratio=0.1, max_modules=6, module_steps="auto",
                 convergence_tol=0.02, max_module_steps=10, init="beta", beta=(1, 5), weight_rule="centre",
                 weight_floor=1e-3, weighted=True, adaptive_threshold=True, first_change="paper", supervision="none",
                 scorer="ws", wocc_scoring="training", ensemble="modules", contamination="auto", device="auto",
                 random_state=None, verbose=0, callbacks=None):
        self.wocc = wocc
        self.ws = ws
        self.initial_ratio = initial_ratio
        self.stop_ratio = stop_ratio
        self.max_modules = max_modules
        self.module_steps = module_steps
        self.convergence_tol = convergence_tol
        self.max_module_steps = max_module_steps
        self.init = init
        self.beta = beta
        self.weight_rule = weight_rule
        self.weight_floor = weight_floor
        self.weighted = weighted
        self.adaptive_threshold = adaptive_threshold
        self.first_change = first_change
        self.supervision = supervision
        self.scorer = scorer
        self.wocc_scoring = wocc_scoring
        self.ensemble = ensemble
        self.contamination = contamination
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ fit
    @unfitted_if_interrupted
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train with no label, or with video labels when ``supervision='video'``.

        Parameters
        ----------
        X : VideoSet or array-like of shape (n_snippets, n_features)
            Training videos with what both models read (tracks and/or
            features); a plain array is one one-snippet video per row.
            Frame labels, if present, are never read.
        y : array-like of shape (n_snippets,), optional
            Ignored unless ``supervision='video'``; then the video label
            (1 = the video holds an anomaly) repeated on each of its
            snippets.

        Returns
        -------
        self
        """
        X = self._as_videoset(X, reset=True)
        if len(X) < 2:
            raise ValueError(f"InterleavedVAD needs at least 2 snippets, got {len(X)} sample")
        self.device_ = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        candidates = self._candidate_snippets(X, y)
        objects = clone(self._wocc_template()).training_objects(X)
        if len(objects) == 0:
            raise ValueError("the wOCC found no training objects in X (no track long enough?)")
        object_snippet = self._object_snippet_index(X, objects)
        n_candidates = int(candidates.sum())
        min_threshold = self._min_threshold(n_candidates)
        threshold = max(_rules.initial_threshold(n_candidates, self.initial_ratio), min_threshold)

        w = self._initial_weights(len(objects), np.random.default_rng(rng.randint(2**31 - 1)))
        self.thresholds_, self.history_ = [], []
        callbacks = self._fit_callbacks()
        notify(callbacks, "on_fit_begin", self, X)
        self.module_models_, self.wocc_standardization_, module_scores = [], [], []
        consensus = None
        self.termination_condition_ = "max_modules"
        for module in range(1, self.max_modules + 1):
            self.thresholds_.append(threshold)
            notify(callbacks, "on_module_begin", self, module, threshold)
            wocc, ws, w, top_sets, training_scores = self._run_module(X, objects, object_snippet, candidates, w,
                                                                      threshold, module, rng, callbacks)
            for top in top_sets:
                consensus = top.clone() if consensus is None else consensus & top
            self._keep_module(wocc, ws, training_scores)
            notify(callbacks, "on_module_end", self, module, wocc=wocc, ws=ws)
            module_scores.append(training_scores)
            self.n_modules_ = module
            if self.adaptive_threshold:
                agreed = int(consensus.sum().item())
                if agreed < min_threshold:
                    self.termination_condition_ = "min_threshold"
                    break
                threshold = agreed
            if _rules.should_stop(self.thresholds_ + [threshold], self.stop_ratio, self.first_change):
                self.termination_condition_ = "converged"
                break
        self.n_steps_ = len(self.history_)
        self.consensus_size_ = int(consensus.sum().item())
        self._set_offset(self._combined_training_scores(module_scores), len(X))
        notify(callbacks, "on_fit_end", self)
        return self

    def _fit_callbacks(self) -> list:
        """The user's callbacks, then the progress log, then the printer when ``verbose``."""
        return [*(self.callbacks or ()), ProgressLog(), *([PrintSteps()] if self.verbose else [])]

    def _keep_module(self, wocc, ws, training_scores: dict) -> None:
        """Keep a finished module's final models (without the data they cached) and its wOCC's scale."""
        for model in (wocc, ws):
            cache = getattr(model, "_videoset_cache", None)
            if cache is not None:
                cache().clear()
        self.module_models_.append({"wocc": wocc, "ws": ws})
        scores = training_scores["wocc"]
        self.wocc_standardization_.append((float(scores.mean()), float(max(scores.std(), 1e-12))))

    def _ensemble_modules(self) -> list[int]:
        """Indices of the modules whose final models score: the last, or every one after the first."""
        n = len(self.module_models_)
        return [n - 1] if self.ensemble == "last" or n == 1 else list(range(1, n))

    def _combined_training_scores(self, module_scores: list[dict]) -> dict:
        """The training-snippet scores of the scoring models, combined as ``ensemble`` says."""
        if self.ensemble == "last":
            return module_scores[-1]
        kept = self._ensemble_modules()
        return {
            "ws": np.mean([module_scores[i]["ws"] for i in kept], axis=0),
            "wocc": np.mean([(module_scores[i]["wocc"] - self.wocc_standardization_[i][0])
                             / self.wocc_standardization_[i][1] for i in kept], axis=0),
        }

    def _wocc_template(self):
        """``wocc``, or the paper's STGNF when None."""
        from .models import STGNF

        return STGNF() if self.wocc is None else self.wocc

    def _ws_template(self):
        """``ws``, or the paper's RTFM when None."""
        from .models import RTFM

        return RTFM() if self.ws is None else self.ws

    def _min_threshold(self, n_candidates: int) -> int:
        """The smallest T_ws: the WS's positive bag size (1 without one), below the number of candidates."""
        bag = model_tags(self._ws_template(), default=_UNTAGGED_WS).positive_bag_size
        return max(1, min(int(bag), n_candidates - 1))

    def _as_videoset(self, X, reset: bool) -> VideoSet:
        """A VideoSet as is; a plain feature array checked like any scikit-learn input."""
        if not isinstance(X, VideoSet):
            X = validate_data(self, X, reset=reset, dtype=np.float32, allow_nd=True)
        return as_videoset(X, what="InterleavedVAD")

    def _candidate_snippets(self, X: VideoSet, y) -> torch.Tensor:
        """Snippets that may be pseudo-labelled abnormal: all, or those of abnormal videos."""
        if self.supervision == "none":
            return torch.ones(len(X), dtype=torch.bool, device=self.device_)
        if y is None:
            raise ValueError("supervision='video' needs y, the video label of every snippet")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must hold one video label per snippet, shape ({len(X)},), got {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must be 0 (normal video) or 1 (abnormal video)")
        for v, name in enumerate(X.names):
            labels = y[X.snippet_video == v]
            if labels.min() != labels.max():
                raise ValueError(f"video {name!r}: y must be constant within a video (video-level labels)")
        if not y.any():
            raise ValueError("y marks no video as abnormal: nothing to pseudo-label")
        return torch.as_tensor(y == 1, device=self.device_)

    def _object_snippet_index(self, X: VideoSet, objects):
        """Per object, the snippet(s) whose WS score becomes its w (Eq. 6)."""
        if self.weight_rule == "centre":
            return torch.as_tensor(X.object_snippet(objects), device=self.device_)
        indptr, positions = X.object_snippets(objects)
        return (torch.as_tensor(indptr, device=self.device_), torch.as_tensor(positions, device=self.device_))

    def _initial_weights(self, n_objects: int, rng: np.random.Generator) -> torch.Tensor:
        if self.init == "uniform":
            return torch.zeros(n_objects, device=self.device_)
        w = _rules.beta_weights(n_objects, tuple(self.beta), rng, self.device_)
        return w if self.weighted else (w >= 0.5).float()

    def _sub_estimator(self, template, rng):
        est = clone(template)
        params = est.get_params(deep=False)
        if "device" in params:
            est.set_params(device=str(self.device_))
        if "random_state" in params:
            est.set_params(random_state=rng.randint(2**31 - 1))
        return est

    def _max_steps(self) -> int:
        return self.max_module_steps if self.module_steps == "auto" else int(self.module_steps)

    def _run_module(self, X, objects, object_snippet, candidates, w, threshold, module, rng, callbacks):
        """One module: fresh models, steps until the soft labels settle.

        Returns the last models, the last soft labels, every step's top set A_j
        and the last models' training-snippet scores.
        """
        wocc = self._sub_estimator(self._wocc_template(), rng)
        ws = self._sub_estimator(self._ws_template(), rng)
        top_sets, previous_labels = [], None
        for step in range(1, self._max_steps() + 1):
            record = {"module": module, "step": step, "threshold": threshold}
            tic = time.perf_counter()
            training_weight = 1.0 - w
            wocc.partial_fit(X, sample_weight=training_weight.cpu().numpy())
            wocc_raw = self._wocc_training_scores(wocc, X)
            wocc_scores = torch.as_tensor(wocc_raw, dtype=torch.float32, device=self.device_)
            record["wocc_seconds"] = time.perf_counter() - tic
            top_sets.append(self._top_set(wocc_scores, candidates))
            labels = self._pseudo_labels(wocc_scores, candidates, threshold)
            tic = time.perf_counter()
            ws.partial_fit(X, labels.cpu().numpy(), **self._ws_extras(ws, wocc_scores))
            ws_raw = np.asarray(ws.score_snippets(X), dtype=np.float64)
            ws_scores = torch.as_tensor(ws_raw, dtype=torch.float32, device=self.device_)
            record["ws_seconds"] = time.perf_counter() - tic
            degenerate = _health.check_step(record, ws_scores, labels, training_weight)
            new_w = w if degenerate else self._next_weights(ws_scores, object_snippet, threshold)
            record.update(_health.step_statistics(wocc, ws, labels, previous_labels, w, new_w))
            w, previous_labels = new_w, labels
            notify(callbacks, "on_step_end", self, record, wocc=wocc, ws=ws)
            self.history_.append(record)
            if (self.module_steps == "auto" and step > 1 and not degenerate
                    and record["weight_change"] <= self.convergence_tol):
                break
        return wocc, ws, w, top_sets, {"wocc": wocc_raw, "ws": ws_raw}

    def _wocc_training_scores(self, wocc, X) -> np.ndarray:
        """The wOCC's scores of the training snippets after its step, as ``wocc_scoring`` says."""
        own = getattr(wocc, "decision_scores_", None) if self.wocc_scoring == "training" else None
        if own is None:
            return np.asarray(wocc.score_snippets(X), dtype=np.float64)
        own = np.asarray(own, dtype=np.float64)
        if own.shape != (len(X),):
            raise ValueError(f"{type(wocc).__name__}.decision_scores_ has shape {own.shape}, but the training set "
                             f"has {len(X)} snippets: use wocc_scoring='rescore' for this wOCC")
        return own

    @staticmethod
    def _ws_extras(ws, wocc_scores: torch.Tensor) -> dict:
        """A WS that ranks by the wOCC scores (the official recipe's stratified bags) gets them."""
        if model_tags(ws, default=_UNTAGGED_WS).uses_wocc_scores:
            return {"snippet_scores": wocc_scores.cpu().numpy()}
        return {}

    def _top_set(self, wocc_scores: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """A_j: the top R% of the candidate snippets under one wOCC, as a mask over all snippets."""
        n_top = _rules.initial_threshold(int(candidates.sum()), self.initial_ratio)
        return _rules.rank_labels(_rules.only_candidates(wocc_scores, candidates), n_top).bool()

    def _pseudo_labels(self, wocc_scores: torch.Tensor, candidates: torch.Tensor, threshold: int) -> torch.Tensor:
        """Eq. 3 among the candidate snippets; the others are normal."""
        return _rules.rank_labels(_rules.only_candidates(wocc_scores, candidates), threshold) & candidates.long()

    def _next_weights(self, ws_scores, object_snippet, threshold):
        if self.weighted:
            soft = ws_scores.clamp(0.0, 1.0 - self.weight_floor)
            return _rules.object_weights(soft, object_snippet)
        hard = _rules.rank_labels(ws_scores, threshold).float()
        return _rules.object_weights(hard, object_snippet)

    def _set_offset(self, training_scores: dict, n_snippets: int) -> None:
        """An offset per scorer, so that switching ``scorer`` after fit keeps ``predict`` consistent.

        ``training_scores`` are the last models' anomaly scores of the
        training snippets, as computed in their last step.
        """
        share = self.thresholds_[-1] / n_snippets if self.contamination == "auto" else self.contamination
        share = min(max(share, 0.0), 1.0)
        self.offsets_ = {name: offset_at(scores, share) for name, scores in training_scores.items()}
        self.training_scores_ = {name: np.asarray(scores, dtype=np.float64) for name, scores in training_scores.items()}

    @property
    def decision_scores_(self) -> np.ndarray:
        """Anomaly scores of the training snippets by the current ``scorer`` (PyOD's name), in ``X``'s order."""
        check_is_fitted(self, "training_scores_")
        return self.training_scores_[self.scorer]

    @property
    def wocc_(self):
        """The wOCC of the last module."""
        check_is_fitted(self, "module_models_")
        return self.module_models_[-1]["wocc"]

    @property
    def ws_(self):
        """The WS of the last module."""
        check_is_fitted(self, "module_models_")
        return self.module_models_[-1]["ws"]

    @property
    def offset_(self) -> float:
        """``decision_function = score_samples - offset_``, for the current ``scorer``."""
        return self.offsets_[self.scorer]

    # ------------------------------------------------------------------ scoring
    def _scoring_models(self, scorer: str | None = None) -> list[tuple[object, float, float]]:
        """``(model, shift, scale)`` of every model that scores: ``(score - shift) / scale``, then the mean."""
        check_is_fitted(self, "offsets_")
        kept = self._ensemble_modules()
        if (scorer or self.scorer) == "ws":
            return [(self.module_models_[i]["ws"], 0.0, 1.0) for i in kept]
        if self.ensemble == "last":
            return [(self.wocc_, 0.0, 1.0)]
        return [(self.module_models_[i]["wocc"], *self.wocc_standardization_[i]) for i in kept]

    def score_snippets(self, X) -> np.ndarray:
        """Anomaly score of every snippet (higher = more abnormal), from ``scorer`` and ``ensemble``.

        ``anomaly_score`` is the same; ``score_samples``, ``decision_function``
        and ``predict`` follow scikit-learn's sign (higher = more normal).
        """
        X = self._as_videoset(X, reset=False)
        parts = [(np.asarray(model.score_snippets(X), dtype=np.float64) - shift) / scale
                 for model, shift, scale in self._scoring_models()]
        return np.mean(parts, axis=0)

    def score_frames(self, X) -> list[np.ndarray]:
        """Frame anomaly scores per video (higher = more abnormal), each model's own protocol.

        ``scorer='wocc'`` follows the wOCC's frame protocol (STG-NF: window
        centre, most abnormal person, Gaussian smoothing); ``'ws'`` gives each
        frame the score of its snippet over the video's true frame count.
        With ``ensemble='modules'`` the frame scores of the modules' models
        (all but the first) are averaged as in :meth:`score_snippets`.
        """
        from .metrics import frame_scores

        X = self._as_videoset(X, reset=False)
        per_model = []
        for model, shift, scale in self._scoring_models():
            per_model.append([(f - shift) / scale for f in frame_scores(model, X)])
        return [np.mean([frames[v] for frames in per_model], axis=0) for v in range(X.n_videos)]

    def score_detections(self, X) -> list[np.ndarray]:
        """Who is abnormal: per video, one score per detection (row of its tracks), higher = more abnormal.

        The WS scores snippets, not people: person-level scores come from the
        wOCC's windows (:meth:`unsupvad.STGNF.score_detections`), whatever
        ``scorer`` is, combined over the modules as :meth:`score_snippets`
        combines the wOCCs. NaN for a detection no window holds.
        """
        X = self._as_videoset(X, reset=False)
        per_model = []
        for model, shift, scale in self._scoring_models("wocc"):
            if not hasattr(model, "score_detections"):
                raise TypeError(f"person-level scores need a wOCC that scores detections (e.g. STGNF over tracks); "
                                f"this model's wOCC is a {type(model).__name__}")
            per_model.append([(d - shift) / scale for d in model.score_detections(X)])
        return [np.mean([scores[v] for scores in per_model], axis=0) for v in range(X.n_videos)]
