"""Hand-made motion features per snippet, computed from person tracks.

:class:`TrackSnippetFeatures` turns the person tracks of a :class:`~unsupvad.VideoSet`
(boxes, or keypoints reduced to their bounding box) into one small feature
vector per snippet, so that the snippet-feature models (``FeatureAE``, ``MIL``,
``RTFM``) and :class:`~unsupvad.InterleavedVAD` can run on tracks alone.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._video import video_error
from ._videoset import VideoSet

FEATURE_NAMES = (
    "people_mean",
    "people_max",
    "n_tracks",
    "births",
    "deaths",
    "speed_mean",
    "speed_max",
    "speed_quantile",
    "speed_deviation_max",
    "stationary_fraction",
    "accel_mean",
    "accel_max",
    "height_mean",
    "aspect_change_mean",
    "aspect_change_max",
    "direction_spread",
)
_OUTPUT_CONTAINERS = ("default", "pandas", "polars")


class TrackSnippetFeatures(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Motion features of the people in every snippet, from their tracks.

    A stateless transformer (optionally with a standardisation learned in
    :meth:`fit`) that maps a :class:`~unsupvad.VideoSet` with person tracks
    to one vector of 16 features per snippet. With ``output='videoset'`` (the
    default) it returns the same VideoSet (same videos, frame counts, tracks,
    labels and snippet selection) with each video's ``features`` replaced by
    a ``(T_v, 16)`` float32 array, ready for a snippet-feature model or
    :class:`~unsupvad.InterleavedVAD` later in a pipeline.

    Parameters
    ----------
    standardize : bool, default=False
        Z-score every feature with the mean and standard deviation of the
        snippets passed to :meth:`fit` (the training data only). Without it
        :meth:`fit` learns nothing and :meth:`transform` needs no fit.
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
    mean_ : ndarray of shape (16,)
        Per-feature mean over the training snippets (only with
        ``standardize=True``).
    scale_ : ndarray of shape (16,)
        Per-feature standard deviation over the training snippets, 1 where
        it is 0 (only with ``standardize=True``).

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

    **Features** (``feature_names_out``, in this order):

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

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from unsupvad import FeatureAE
    >>> from unsupvad.datasets import make_synthetic_videos
    >>> from unsupvad.features import TrackSnippetFeatures
    >>> X = make_synthetic_videos(4, tracks="boxes", features=False, random_state=0)
    >>> Z = TrackSnippetFeatures().fit_transform(X)
    >>> Z.shape == (len(X), 16)
    True
    >>> pipe = make_pipeline(TrackSnippetFeatures(standardize=True),
    ...                      FeatureAE(hidden=(8,), max_epochs=1, device="cpu"))
    >>> pipe.fit(X).score_samples(X).shape == (len(X),)
    True
    """

    _parameter_constraints = {
        "standardize": ["boolean"],
        "output": [StrOptions({"videoset", "array"})],
        "quantile": [Interval(Real, 0, 1, closed="right")],
        "stationary_speed": [Interval(Real, 0, None, closed="left")],
        "frame_height": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, *, standardize=False, output="videoset", quantile=0.9, stationary_speed=0.005,
                 frame_height=None):
        self.standardize = standardize
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
        X = self._check_input(X)
        if self.standardize:
            self._learn_scaling(self._selected(X, self._video_features(X)))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """:meth:`fit` then :meth:`transform`, computing the features once."""
        X = self._check_input(X)
        per_video = self._video_features(X)
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
        VideoSet or ndarray of shape (n_snippets, 16)
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
            With ``standardize=True`` before :meth:`fit`.
        """
        self._validate_params()
        if self.standardize:
            check_is_fitted(self, ("mean_", "scale_"))
        X = self._check_input(X)
        return self._finish(X, self._video_features(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the 16 output features (``input_features`` is ignored: the input is a VideoSet)."""
        return np.asarray(FEATURE_NAMES, dtype=object)

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
        return not self.standardize or hasattr(self, "mean_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = bool(self.standardize)
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

    def _video_features(self, X: VideoSet) -> list[np.ndarray]:
        """Unscaled float64 features of every snippet of every video."""
        feats = _snippet_track_features(X.videos, quantile=float(self.quantile),
                                       stationary_speed=float(self.stationary_speed),
                                       frame_height=self.frame_height)
        counts = [v.n_snippets for v in X.videos]
        return np.split(feats, np.cumsum(counts)[:-1])

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
        columns = list(FEATURE_NAMES)
        if container == "pandas":
            index = pd.MultiIndex.from_arrays([X.groups.astype(str), X.snippet_index], names=["video", "snippet"])
            return pd.DataFrame(feats, index=index, columns=columns)
        try:
            import polars as pl
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("set_output(transform='polars') needs polars installed") from exc
        return pl.DataFrame(feats, schema=columns, orient="row")


# ---------------------------------------------------------------------- the computation
def _grouped_quantile(values: np.ndarray, groups: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """``np.quantile(values[groups == g], q)`` (linear) for every group g; 0 for empty groups."""
    out = np.zeros(n_groups)
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    v = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    pos = starts[has] + q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, starts[has] + counts[has] - 1)
    out[has] = v[lo] + (pos - lo) * (v[hi] - v[lo])
    return out


class _PerPerson:
    """Means of row values over the runs of rows of one track in one snippet (a person)."""

    def __init__(self, starts: np.ndarray, snippet: np.ndarray, n_snippets: int):
        self.starts = starts
        self.snippet = snippet
        self.n_snippets = n_snippets

    def mean(self, values: np.ndarray, defined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-person mean of the defined row values, and whether the person has any."""
        if not len(self.starts):
            return np.zeros(0), np.zeros(0, bool)
        total = np.add.reduceat(np.where(defined, values, 0.0), self.starts)
        count = np.add.reduceat(defined.astype(np.int64), self.starts)
        has = count > 0
        return np.divide(total, count, out=np.zeros(len(total)), where=has), has

    def snippet_mean(self, values: np.ndarray, defined: np.ndarray) -> np.ndarray:
        count = np.bincount(self.snippet[defined], minlength=self.n_snippets)
        total = np.bincount(self.snippet[defined], weights=values[defined], minlength=self.n_snippets)
        return np.divide(total, count, out=np.zeros(self.n_snippets), where=count > 0)

    def snippet_max(self, values: np.ndarray, defined: np.ndarray) -> np.ndarray:
        """Largest defined value per snippet (values are non-negative; 0 when none)."""
        out = np.zeros(self.n_snippets)
        np.maximum.at(out, self.snippet[defined], values[defined])
        return out


def _concat_rows(videos, frame_height):
    """Track rows of all videos, concatenated, with their global snippet and frame context."""
    parts = {k: [] for k in ("video", "track", "frame", "boxes", "snippet", "height", "last_frame")}
    snippet_offset = 0
    for v, video in enumerate(videos):
        tracks = video.tracks
        n = len(tracks)
        frame_h = float(video.frame_size[1]) if video.frame_size is not None else float(frame_height)
        parts["video"].append(np.full(n, v, np.int64))
        parts["track"].append(tracks.track_id)
        parts["frame"].append(tracks.frame)
        parts["boxes"].append(tracks.boxes.astype(np.float64).reshape(n, 4))
        parts["snippet"].append(video.frame_to_snippet(tracks.frame) + snippet_offset)
        parts["height"].append(np.full(n, frame_h))
        parts["last_frame"].append(np.full(n, video.n_frames - 1, np.int64))
        snippet_offset += video.n_snippets
    return {k: np.concatenate(p) if p else np.zeros(0) for k, p in parts.items()}


def _people_counts(videos) -> tuple[np.ndarray, np.ndarray]:
    """Mean and max over each snippet's frames of the number of rows per frame."""
    n_frames = np.array([v.n_frames for v in videos], np.int64)
    frame_offsets = np.r_[0, np.cumsum(n_frames)]
    rows = [frame_offsets[v] + video.tracks.frame for v, video in enumerate(videos)]
    per_frame = np.bincount(np.concatenate(rows), minlength=int(frame_offsets[-1])).astype(np.float64)
    starts = np.concatenate([frame_offsets[v] + video.snippet_bounds()[0] for v, video in enumerate(videos)])
    lengths = np.diff(np.r_[starts, frame_offsets[-1]])
    return np.add.reduceat(per_frame, starts) / lengths, np.maximum.reduceat(per_frame, starts)


def _snippet_track_features(videos, quantile: float = 0.9, stationary_speed: float = 0.005,
                           frame_height: float | None = None) -> np.ndarray:
    """The :class:`TrackSnippetFeatures` of every snippet of every video, ``(sum T_v, 16)`` float64.

    Rows follow the videos' order, then time. Every video must have tracks,
    and a frame size unless ``frame_height`` is given (see the class).
    """
    videos = list(videos)
    n_snippets = int(sum(v.n_snippets for v in videos))
    rows = _concat_rows(videos, frame_height)
    n = len(rows["frame"])
    track, video, frame, snippet = rows["track"], rows["video"], rows["frame"], rows["snippet"]
    new_track = np.ones(n, bool)
    new_track[1:] = (video[1:] != video[:-1]) | (track[1:] != track[:-1])
    has_prev = ~new_track
    last_of_track = np.r_[new_track[1:], True] if n else np.zeros(0, bool)

    left, top, w, h = (rows["boxes"][:, i] for i in range(4)) if n else (np.zeros(0),) * 4
    cx, cy = left + w / 2, top + h / 2
    ok_h = h > 0
    gap = np.ones(n)
    gap[1:] = np.maximum(frame[1:] - frame[:-1], 1)

    def prev(a, fill=0):
        out = np.empty_like(a)
        out[1:] = a[:-1]
        out[:1] = fill
        return out

    safe_h = np.where(ok_h, h, 1.0)
    vel_def = has_prev & ok_h
    ux = np.where(vel_def, (cx - prev(cx)) / (safe_h * gap), 0.0)
    uy = np.where(vel_def, (cy - prev(cy)) / (safe_h * gap), 0.0)
    speed = np.hypot(ux, uy)
    acc_def = vel_def & prev(vel_def, False)
    accel = np.where(acc_def, np.hypot(ux - prev(ux), uy - prev(uy)) / gap, 0.0)
    aspect = w / safe_h
    asp_def = has_prev & ok_h & prev(ok_h, False)
    aspect_change = np.where(asp_def, np.abs(aspect - prev(aspect)) / gap, 0.0)
    rel_height = h / rows["height"] if n else np.zeros(0)

    # people: runs of rows of one track within one snippet (rows are sorted by video, track, frame)
    new_person = new_track.copy()
    new_person[1:] |= snippet[1:] != snippet[:-1]
    starts = np.flatnonzero(new_person)
    people = _PerPerson(starts, snippet[starts].astype(np.int64), n_snippets)
    s_p, s_def = people.mean(speed, vel_def)
    a_p, a_def = people.mean(accel, acc_def)
    d_p, d_def = people.mean(aspect_change, asp_def)
    h_p, h_def = people.mean(rel_height, ok_h)
    mux, _ = people.mean(ux, vel_def)
    muy, _ = people.mean(uy, vel_def)

    out = np.zeros((n_snippets, len(FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    if videos:
        out[:, col["people_mean"]], out[:, col["people_max"]] = _people_counts(videos)
    out[:, col["n_tracks"]] = np.bincount(people.snippet, minlength=n_snippets)
    born = new_track & (frame > 0)
    died = last_of_track & (frame < rows["last_frame"])
    out[:, col["births"]] = np.bincount(snippet[born].astype(np.int64), minlength=n_snippets)
    out[:, col["deaths"]] = np.bincount(snippet[died].astype(np.int64), minlength=n_snippets)

    out[:, col["speed_mean"]] = people.snippet_mean(s_p, s_def)
    out[:, col["speed_max"]] = people.snippet_max(s_p, s_def)
    s_snip = people.snippet[s_def]
    out[:, col["speed_quantile"]] = _grouped_quantile(s_p[s_def], s_snip, n_snippets, quantile)
    median = _grouped_quantile(s_p[s_def], s_snip, n_snippets, 0.5)
    deviation = np.zeros(len(s_p))
    deviation[s_def] = np.abs(s_p[s_def] - median[s_snip])
    out[:, col["speed_deviation_max"]] = people.snippet_max(deviation, s_def)
    net_speed = np.hypot(mux, muy)
    out[:, col["stationary_fraction"]] = people.snippet_mean((net_speed < stationary_speed).astype(np.float64), s_def)

    out[:, col["accel_mean"]] = people.snippet_mean(a_p, a_def)
    out[:, col["accel_max"]] = people.snippet_max(a_p, a_def)
    out[:, col["height_mean"]] = people.snippet_mean(h_p, h_def)
    out[:, col["aspect_change_mean"]] = people.snippet_mean(d_p, d_def)
    out[:, col["aspect_change_max"]] = people.snippet_max(d_p, d_def)

    moving = s_def & (net_speed >= stationary_speed) & (net_speed > 0)
    safe_norm = np.where(moving, net_speed, 1.0)
    n_moving = np.bincount(people.snippet[moving], minlength=n_snippets)
    sum_x = np.bincount(people.snippet[moving], weights=(mux / safe_norm)[moving], minlength=n_snippets)
    sum_y = np.bincount(people.snippet[moving], weights=(muy / safe_norm)[moving], minlength=n_snippets)
    resultant = np.divide(np.hypot(sum_x, sum_y), n_moving, out=np.ones(n_snippets), where=n_moving > 0)
    out[:, col["direction_spread"]] = np.clip(1.0 - resultant, 0.0, 1.0)
    return out
