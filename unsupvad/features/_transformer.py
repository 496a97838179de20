"""The :class:`TrackSnippetFeatures` transformer: snippet features from person tracks."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._video import video_error
from .._videoset import VideoSet
from ._basic import BASIC_FEATURE_NAMES, basic_features
from ._rows import TrackRows
from ._scene import SCENE_FEATURE_NAMES, fit_scene_stats, scene_features
from ._shape import SHAPE_FEATURE_NAMES, shape_features

_OUTPUT_CONTAINERS = ("default", "pandas", "polars")


class TrackSnippetFeatures(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Motion features of the people in every snippet, from their tracks, aware of each camera's normal motion.

    A transformer that maps a :class:`~unsupvad.VideoSet` with person tracks
    to one feature vector per snippet: 31 features and their temporal context
    (62) with ``feature_set='full'`` (the default), the 16 basic ones with
    ``'basic'``. With
    ``output='videoset'`` (the default) it returns the same VideoSet (same
    videos, frame counts, tracks, labels and snippet selection) with each
    video's ``features`` replaced by a ``(T_v, n_features)`` float32 array,
    ready for a snippet-feature model or :class:`~unsupvad.InterleavedVAD`
    later in a pipeline.

    :meth:`fit` learns, from the training videos' tracks and without any
    label, where and how people normally move in every scene (camera): for
    each cell of a ``grid x grid`` partition of the image, robust statistics
    of speed, walking direction, box size and shape and of how often anybody
    is there. The scene features then say how unusual the snippet's people
    are *there*: a cyclist is fast for a footpath, a car is large for where it
    stands, somebody walks against a one-way flow or appears where nobody
    enters.

    Parameters
    ----------
    feature_set : {'full', 'basic'}, default='full'
        ``'full'``: the 16 basic features, the 10 scene features and the 5
        trajectory-shape and interaction features (see the notes), each
        followed by its temporal ``context``; needs :meth:`fit`.
        ``'basic'``: the 16 basic features only (the features of unsupvad
        0.1), stateless unless ``standardize``.
    standardize : bool, default=False
        Z-score every feature with the mean and standard deviation of the
        snippets passed to :meth:`fit` (the training data only).
    grid : int, default=8
        Cells per side of the image grid of the scene statistics. A cell with
        few training rows leans on its scene's statistics (a weighted mean
        with 50 pseudo-rows), a scene with few rows on the global ones.
    context : int, default=2
        With ``feature_set='full'``, every feature is followed by its mean
        over the ``context`` snippets on each side within the video (fewer at
        the video's ends): whether the unusual motion persists. An event
        lasts seconds, and a weakly-supervised model trained on bags of
        unrelated snippets cannot learn that from the snippet alone. 0 for
        none (the output then has half the features).
    output : {'videoset', 'array'}, default='videoset'
        ``'videoset'``: a VideoSet whose features are the new ones (every
        snippet of every video gets a row; the selection of ``X`` is kept).
        ``'array'``: the ``(n_snippets, 16)`` float32 array of the selected
        snippets, in ``X``'s sample order (a pandas or polars DataFrame under
        ``set_output``). A plain array loses the videos: models that need
        temporal context (MIL, RTFM, InterleavedVAD) should get the VideoSet.
    quantile : float, default=0.9
        The quantile ``q`` of the ``speed_quantile`` feature, in (0, 1].
    stationary_speed : float, default=0.005
        A person whose *net* speed in a snippet (``v_p``, see the notes) is
        below this, in box heights per frame, is *stationary*; the others are
        *moving*. The net speed averages the velocity vectors, so the jitter
        of a standing person's box cancels out instead of adding up. 0.005 is
        about 0.12 body heights per second at 24 fps, a quarter of the
        median net speed of the people in ShanghaiTech's training tracks
        (about 0.02).
    frame_height : float, optional
        Frame height in pixels used for ``height_mean`` in videos whose
        ``frame_size`` is unknown. Default: such a video is an error. A
        video's own ``frame_size`` always takes precedence.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature mean over the training snippets (only with
        ``standardize=True``).
    scale_ : ndarray of shape (n_features,)
        Per-feature standard deviation over the training snippets, 1 where
        it is 0 (only with ``standardize=True``).
    scenes_ : list of str or None
        The scenes seen in :meth:`fit` (``feature_set='full'``); None stands
        for the videos without a scene, which are modelled as one more
        scene.
    scene_stats_ : ndarray of shape (1 + n_scenes, grid * grid, 10)
        The fitted statistics: row 0 the global, location-free ones (used for
        videos of a scene not seen in :meth:`fit`), then one per scene of
        ``scenes_``.

    See Also
    --------
    unsupvad.FeatureAE : a wOCC over snippet features.
    unsupvad.InterleavedVAD : consumes the returned VideoSet.

    Notes
    -----
    **Rows, boxes and speeds.** Every track row ``r`` (one person at one
    frame ``f_r``) has a box ``(left, top, w_r, h_r)`` in pixels: the
    detection box, or for keypoints the bounding box of the joints with a
    positive confidence (:attr:`unsupvad.Tracks.boxes`). Its centre is
    ``c_r = (left + w_r / 2, top + h_r / 2)``. For a row that has a previous
    row ``r - 1`` in the same track, with frame gap ``g_r = f_r - f_{r-1}``
    (1 for consecutive frames, more across missed detections), and a box of
    positive height:

    - normalised velocity ``u_r = (c_r - c_{r-1}) / (h_r g_r)``, in box
      heights per frame (divided by the current box's height, like the
      training-free speed baseline, and here also by the gap); speed
      ``s_r = |u_r|``;
    - acceleration ``a_r = |u_r - u_{r-1}| / g_r``, in box heights per frame
      squared (the change of velocity vector, so turning counts too), when
      ``u_{r-1}`` is defined as well;
    - aspect-ratio change ``d_r = |w_r / h_r - w_{r-1} / h_{r-1}| / g_r``, per
      frame (unitless ratio), when both heights are positive.

    A track's first row has none of these. Rows whose box has no height (a
    skeleton with a single confident joint) count as people but enter no
    speed, acceleration, size or aspect statistic.

    **Snippets and people.** A row belongs to the snippet holding its frame,
    as the VideoSet defines it (:meth:`unsupvad.Video.frame_to_snippet`;
    the last snippet may be partial or hold a dropped tail). The *people* of
    a snippet are the tracks with at least one row in it; a person's value in
    the snippet is the mean of its defined row values there (``s_p``,
    ``a_p``, ``d_p``, ``h_p / H`` with ``H`` the frame height); its mean
    velocity is ``m_p = mean_r u_r`` and its net speed ``v_p = |m_p|``
    (box heights per frame; at most ``s_p``). Statistics
    "over the people" then run over the people whose value is defined. Every
    feature is 0 when there is nobody (or nobody with a defined value) in the
    snippet, so all values are finite.

    **Basic features** (``feature_names_out``, in this order):

    ``people_mean``
        Mean over the snippet's frames of the number of rows in the frame
        (people per frame; frames with nobody count 0).
    ``people_max``
        Largest number of people in one frame of the snippet.
    ``n_tracks``
        Number of distinct tracks with a row in the snippet (people).
    ``births``
        Number of tracks whose first row lies in the snippet, not counting
        tracks that start at frame 0 (already in view when the video
        starts).
    ``deaths``
        Number of tracks whose last row lies in the snippet, not counting
        tracks still present on the video's last frame.
    ``speed_mean``, ``speed_max``
        Mean and maximum over the people of ``s_p`` (box heights per frame).
    ``speed_quantile``
        The ``quantile`` q of ``s_p`` over the people (linear interpolation,
        as :func:`numpy.quantile`).
    ``speed_deviation_max``
        ``max_p |s_p - median_p' s_p'|``: how far the most atypical person's
        speed lies from the snippet's median speed (box heights per frame).
    ``stationary_fraction``
        Share of the people (with a defined speed) whose net speed
        ``v_p < stationary_speed``, in [0, 1].
    ``accel_mean``, ``accel_max``
        Mean and maximum over the people of ``a_p`` (box heights per frame
        squared).
    ``height_mean``
        Mean over the people of ``h_p / H``: apparent size as a fraction of
        the frame height.
    ``aspect_change_mean``, ``aspect_change_max``
        Mean and maximum over the people of ``d_p`` (per frame); large when
        a box changes shape, e.g. a person falling.
    ``direction_spread``
        Circular variance ``1 - |sum_p e_p| / n`` of the headings of the
        ``n`` moving people (``v_p >= stationary_speed`` and ``v_p > 0``),
        where ``e_p = m_p / v_p`` is the unit vector along the person's mean
        velocity: in [0, 1], 0 when everybody moves the same way (or one
        person or nobody moves), 1 for two people moving in opposite
        directions.

    Speeds are per frame: videos at different frame rates are not brought to
    a common time scale. Counts (``n_tracks``, ``births``, ``deaths``) are not
    divided by the snippet length, so a short, partial last snippet has
    smaller counts.

    **Scene features** (``feature_set='full'``). Each row falls in the cell of
    its box centre, in its video's scene. For every (scene, cell) :meth:`fit`
    keeps the median and the robust spread (interquartile range / 1.349) of
    the rows' log speed ``log(s_r + 0.001)``, log relative height
    ``log(h_r / H)`` and log aspect ratio ``log(w_r / h_r)``, the mean unit
    heading of the moving rows (``s_r >= stationary_speed``; its length is
    how concentrated the flow is), and the number of rows. Per row then:
    ``z = (log speed - median) / spread`` and likewise for height and aspect;
    ``flow = c (1 - cos θ) / 2`` for a moving row at angle θ to the cell's
    mean heading of length ``c``; ``place = -log(G² (n_cell + 1) /
    (n_scene + G²))`` (0 where the cell is as busy as average, positive
    where people are rarely seen). Per person the mean over its rows in the
    snippet, then over the snippet's people:

    ``fast_here``, ``slow_here``
        Largest ``z`` of the speed, and of its opposite (0 at least).
    ``against_flow``
        Largest ``flow``, in [0, 1]: 1 for walking straight against a
        one-way flow.
    ``size_unusual``, ``shape_unusual``
        Largest ``|z|`` of the log height and of the log aspect ratio.
    ``place_unusual``
        Largest ``place`` (0 at least; 0 for an unseen scene).
    ``entry_unusual``
        Largest ``place`` among the rows where a track starts after the
        video's first frame: somebody appearing where nobody usually enters.
    ``track_fast_here``, ``track_size_unusual``, ``track_shape_unusual``
        The same ``z`` of speed, ``|z|`` of height and of aspect, but each
        person's mean over its *whole track*, not only its rows in the
        snippet: a cyclist, a car or a skateboarder is unusual for as long as
        it is in view, even in the snippets where a per-frame view is noisy.

    **Shape and interaction features** (``feature_set='full'``). A row's
    smoothed velocity is the displacement between the rows two steps before
    and after it in its track, per box height and frame (so a standing
    person's jitter is not turning).

    ``turning_max``
        Largest, over the people, mean change of heading between consecutive
        rows (radians per frame), for rows moving faster than
        ``stationary_speed``.
    ``wiggle_max``
        Largest ``1 - net displacement / path length`` of a person over its
        rows in the snippet (people travelling at least a fifth of a box height).
    ``reversals_max``
        Largest number of heading changes of more than 90 degrees of a person.
    ``nearest_person_min``
        Smallest, over the people, mean distance to the nearest other person
        in the same frame (between box centres, in the two boxes' mean
        height; 10 when alone).
    ``closing_speed_max``
        Largest rate at which another person gets closer (box heights per
        frame, between sightings of the pair at most 5 frames apart).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from unsupvad import FeatureAE
    >>> from unsupvad.datasets import make_synthetic_videos
    >>> from unsupvad.features import TrackSnippetFeatures
    >>> X = make_synthetic_videos(4, tracks="boxes", features=False, random_state=0)
    >>> Z = TrackSnippetFeatures().fit_transform(X)
    >>> Z.shape == (len(X), 62)
    True
    >>> pipe = make_pipeline(TrackSnippetFeatures(standardize=True),
    ...                      FeatureAE(hidden=(8,), max_epochs=1, device="cpu"))
    >>> pipe.fit(X).score_samples(X).shape == (len(X),)
    True
    """

    _parameter_constraints = {
        "feature_set": [StrOptions({"full", "basic"})],
        "standardize": ["boolean"],
        "grid": [Interval(Integral, 1, None, closed="left")],
        "context": [Interval(Integral, 0, None, closed="left")],
        "output": [StrOptions({"videoset", "array"})],
        "quantile": [Interval(Real, 0, 1, closed="right")],
        "stationary_speed": [Interval(Real, 0, None, closed="left")],
        "frame_height": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, feature_set="full", standardize=False, grid=8, context=2, output="videoset",
                 quantile=0.9, stationary_speed=0.005, frame_height=None):
        self.feature_set = feature_set
        self.standardize = standardize
        self.grid = grid
        self.context = context
        self.output = output
        self.quantile = quantile
        self.stationary_speed = stationary_speed
        self.frame_height = frame_height

    # ------------------------------------------------------------------ scikit-learn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the standardisation statistics (``standardize=True``), else check ``X`` only.

        Parameters
        ----------
        X : VideoSet
            Training videos with person tracks; only the selected snippets
            enter the statistics.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """:meth:`fit` then :meth:`transform`, computing the features once."""
        X = self._check_input(X)
        rows = TrackRows(X.videos, self.frame_height)
        if self.feature_set == "full":
            self._learn_scenes(X, rows)
        per_video = self._video_features(X, rows)
        if self.standardize:
            self._learn_scaling(self._selected(X, per_video))
        return self._finish(X, per_video)

    def transform(self, X):
        """Features of every snippet.

        Parameters
        ----------
        X : VideoSet
            Videos with person tracks.

        Returns
        -------
        VideoSet or ndarray of shape (n_snippets, n_features)
            See ``output``: the VideoSet with ``features`` replaced, or the
            features of its selected snippets (float32).

        Raises
        ------
        TypeError
            When ``X`` is not a VideoSet.
        ValueError
            When a video has no tracks, or no frame size and no
            ``frame_height`` is set, or ``X`` has no snippet.
        NotFittedError
            With ``feature_set='full'`` or ``standardize=True`` before :meth:`fit`.
        """
        self._validate_params()
        check_is_fitted(self)
        X = self._check_input(X)
        return self._finish(X, self._video_features(X, TrackRows(X.videos, self.frame_height)))

    def get_feature_names_out(self, input_features=None):
        """Names of the output features (``input_features`` is ignored: the input is a VideoSet)."""
        return np.asarray(self._feature_names(), dtype=object)

    def _feature_names(self) -> tuple[str, ...]:
        if self.feature_set == "basic":
            return BASIC_FEATURE_NAMES
        names = BASIC_FEATURE_NAMES + SCENE_FEATURE_NAMES + SHAPE_FEATURE_NAMES
        return names + tuple(f"{name}_context" for name in names) if self.context else names

    def set_output(self, *, transform=None):
        """Container of ``transform``'s array output: ``'default'``, ``'pandas'`` or ``'polars'``.

        Applies to ``output='array'`` only; a VideoSet is returned as is, so
        that a whole pipeline can be set to pandas output without breaking
        the models that read the VideoSet. The DataFrame's index is
        ``(video, snippet)``: the video name and the snippet's index in it.

        Parameters
        ----------
        transform : {'default', 'pandas', 'polars'} or None
            None leaves the setting unchanged.

        Returns
        -------
        self
        """
        if transform is None:
            return self
        if transform not in _OUTPUT_CONTAINERS:
            raise ValueError(f"transform must be one of {_OUTPUT_CONTAINERS} or None, got {transform!r}")
        self._sklearn_output_config = {"transform": transform}
        return self

    def __sklearn_is_fitted__(self) -> bool:
        if self.standardize and not hasattr(self, "mean_"):
            return False
        return self.feature_set == "basic" or hasattr(self, "scene_stats_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = bool(self.standardize) or self.feature_set == "full"
        tags.input_tags.two_d_array = False  # a VideoSet with tracks, not a feature matrix
        tags.transformer_tags.preserves_dtype = []  # always float32
        return tags

    # ------------------------------------------------------------------ plumbing
    def _check_input(self, X) -> VideoSet:
        if not isinstance(X, VideoSet):
            raise TypeError(f"TrackSnippetFeatures needs a VideoSet with person tracks, got {type(X).__name__}")
        if len(X) == 0:
            raise ValueError("TrackSnippetFeatures got an empty VideoSet (0 snippets)")
        for video in X.videos:
            if video.tracks is None:
                raise video_error(video.name, "has no person tracks, which TrackSnippetFeatures needs")
            if video.frame_size is None and self.frame_height is None:
                raise video_error(
                    video.name,
                    "has no frame_size, needed for height_mean (box height / frame height): give the reader "
                    "frame_size or set TrackSnippetFeatures(frame_height=...)",
                )
        return X

    def _video_features(self, X: VideoSet, rows: TrackRows) -> list[np.ndarray]:
        """Unscaled float64 features of every snippet of every video."""
        stationary = float(self.stationary_speed)
        parts = [basic_features(X.videos, rows, float(self.quantile), stationary)]
        if self.feature_set == "full":
            model = self._scene_model_of_rows(X, rows)
            parts.append(scene_features(rows, model, self.scene_stats_, int(self.grid), stationary))
            parts.append(shape_features(rows, stationary))
        feats = np.concatenate(parts, axis=1)
        counts = [v.n_snippets for v in X.videos]
        per_video = np.split(feats, np.cumsum(counts)[:-1])
        if self.feature_set == "full" and self.context:
            per_video = [np.concatenate([f, _neighbourhood_mean(f, int(self.context))], axis=1) for f in per_video]
        return per_video

    def _learn_scenes(self, X: VideoSet, rows: TrackRows) -> None:
        """Fit the per-scene, per-cell statistics of normal motion from the rows of the selected snippets.

        No label is read: only tracks, frame sizes and scenes.
        """
        scenes = sorted({v.scene for v in X.videos}, key=lambda s: (s is None, s or ""))
        index = {scene: i for i, scene in enumerate(scenes)}
        scene_of_row = np.array([index[v.scene] for v in X.videos], np.int64)[rows.video] if len(rows) else \
            np.zeros(0, np.int64)
        offsets = np.r_[0, np.cumsum([v.n_snippets for v in X.videos])]
        selected = np.zeros(int(offsets[-1]), bool)
        selected[offsets[X.snippet_video] + X.snippet_index] = True
        self.scenes_ = scenes
        self.scene_stats_ = fit_scene_stats(rows, scene_of_row, len(scenes), int(self.grid),
                                            float(self.stationary_speed), use=selected[rows.snippet])

    def _scene_model_of_rows(self, X: VideoSet, rows: TrackRows) -> np.ndarray:
        """Index into ``scene_stats_`` of every row: its scene's, or 0 (global) for a scene not seen in fit."""
        index = {scene: i + 1 for i, scene in enumerate(self.scenes_)}
        per_video = np.array([index.get(v.scene, 0) for v in X.videos], np.int64)
        return per_video[rows.video] if len(rows) else np.zeros(0, np.int64)

    @staticmethod
    def _selected(X: VideoSet, per_video: list[np.ndarray]) -> np.ndarray:
        """Rows of the selected snippets, in sample order."""
        offsets = np.r_[0, np.cumsum([len(f) for f in per_video])]
        return np.concatenate(per_video)[offsets[X.snippet_video] + X.snippet_index]

    def _learn_scaling(self, feats: np.ndarray) -> None:
        self.mean_ = feats.mean(axis=0)
        std = feats.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)

    def _scaled(self, feats: np.ndarray) -> np.ndarray:
        if self.standardize:
            feats = (feats - self.mean_) / self.scale_
        return feats.astype(np.float32)

    def _finish(self, X: VideoSet, per_video: list[np.ndarray]):
        if self.output == "array":
            return self._wrap(X, self._scaled(self._selected(X, per_video)))
        videos = [v.replace(features=self._scaled(f)) for v, f in zip(X.videos, per_video)]
        offsets = np.r_[0, np.cumsum([v.n_snippets for v in videos])]
        return VideoSet(videos, snippets=offsets[X.snippet_video] + X.snippet_index)

    def _wrap(self, X: VideoSet, feats: np.ndarray):
        container = getattr(self, "_sklearn_output_config", {}).get("transform", get_config()["transform_output"])
        if container == "default":
            return feats
        columns = list(self._feature_names())
        if container == "pandas":
            index = pd.MultiIndex.from_arrays([X.groups.astype(str), X.snippet_index], names=["video", "snippet"])
            return pd.DataFrame(feats, index=index, columns=columns)
        try:
            import polars as pl
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("set_output(transform='polars') needs polars installed") from exc
        return pl.DataFrame(feats, schema=columns, orient="row")


def _neighbourhood_mean(features: np.ndarray, k: int) -> np.ndarray:
    """Mean of every row's ``k`` neighbours on each side and itself, within the array (fewer at the ends)."""
    padded = np.cumsum(np.vstack([np.zeros((1, features.shape[1])), features]), axis=0)
    index = np.arange(len(features))
    lo, hi = np.maximum(index - k, 0), np.minimum(index + k + 1, len(features))
    return (padded[hi] - padded[lo]) / (hi - lo)[:, None]
