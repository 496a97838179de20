"""VideoSet: the one container that knows how frames, snippets and objects line up.

The sample seen by scikit-learn is the **snippet**. A VideoSet holds whole
videos plus a selection of their snippets (all of them by default), so that
indexing it like an array (``X[idx]``) keeps every video's full temporal
context while only the selected snippets count as samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._objects import Objects, cut_windows
from ._video import Video, video_error


def _as_positions(key, n: int) -> np.ndarray:
    """Turn an int / slice / boolean mask / integer array key into positions."""
    if isinstance(key, tuple):
        if len(key) == 2 and key[1] is Ellipsis:
            key = key[0]
        else:
            raise IndexError("a VideoSet is indexed along snippets only: X[key] or X[key, ...]")
    if isinstance(key, slice):
        return np.arange(n)[key]
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not -n <= key < n:
            raise IndexError(f"snippet index {key} out of range for {n} snippets")
        return np.array([key % n])
    arr = np.asarray(key)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"boolean mask of shape {arr.shape} does not match {n} snippets")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise IndexError(f"cannot index a VideoSet with {type(key).__name__} of dtype {arr.dtype}")
    if arr.min() < -n or arr.max() >= n:
        raise IndexError(f"snippet index out of range for {n} snippets")
    return arr % n


class VideoSet:
    """A set of videos whose samples are 16-frame snippets.

    Parameters
    ----------
    videos : sequence of Video
        Videos with unique names and one common snippet length and feature
        shape.
    snippets : array-like of int, optional
        Positions of the selected snippets in the concatenation of all the
        videos' snippets (video order, then time). Default: all, in order.
        Normally built by indexing (``X[idx]``), not by hand.

    Notes
    -----
    **Frames and snippets.** Snippet ``i`` of a video covers frames
    ``[16 i, 16 (i + 1))``; the last snippet covers every remaining frame,
    whether it is a partial snippet (T = ceil(n / 16)) or the feature
    extractor dropped the partial tail (T = floor(n / 16)).
    **Snippet scores to frames.** Each frame takes the score of the snippet
    that contains it, so the last, partial snippet's score covers exactly its
    own frames and the result has the video's true frame count (see
    :func:`unsupvad.metrics.expand_snippets` for RTFM's 16 T padded protocol).
    **Objects.** An object covers the frames ``[start_frame, stop_frame)`` of
    its track and *touches* every snippet that overlaps them; the snippet
    *containing* it is the one holding its centre frame.
    **Subsets.** Indexing keeps whole videos (for temporal context: RTFM and
    STG-NF score a video as a sequence) and records which snippets are
    selected, in the requested order; videos with no selected snippet are
    dropped. Scores, labels and features are returned for the selected
    snippets only, in that order.
    """

    def __init__(self, videos: Sequence[Video], snippets=None):
        videos = tuple(videos)
        for v in videos:
            if not isinstance(v, Video):
                raise TypeError(f"VideoSet takes Video objects, got {type(v).__name__}")
        self._check_consistent(videos)
        self._videos = videos
        counts = np.array([v.n_snippets for v in videos], dtype=np.int64)
        self._offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
        total = int(self._offsets[-1])
        if snippets is None:
            self._sel = np.arange(total, dtype=np.int64)
        else:
            sel = np.asarray(snippets, dtype=np.int64).reshape(-1)
            if sel.size and (sel.min() < 0 or sel.max() >= total):
                raise IndexError(f"snippet positions must lie in 0..{total - 1}")
            self._sel = sel
        self._sel.setflags(write=False)
        self._sel_video = np.searchsorted(self._offsets, self._sel, side="right") - 1

    @staticmethod
    def _check_consistent(videos):
        names = [v.name for v in videos]
        seen = set()
        for name in names:
            if name in seen:
                raise video_error(name, "appears twice in the VideoSet (names must be unique)")
            seen.add(name)
        if not videos:
            return
        ref = videos[0]
        for v in videos[1:]:
            if v.snippet_len != ref.snippet_len:
                raise video_error(
                    v.name, f"snippet_len {v.snippet_len} differs from {ref.name!r}'s {ref.snippet_len}"
                )
            if (v.features is None) != (ref.features is None):
                raise video_error(v.name, f"has features={v.features is not None} unlike {ref.name!r}")
            if v.features is not None and v.features.shape[1:] != ref.features.shape[1:]:
                raise video_error(
                    v.name,
                    f"feature shape {v.features.shape[1:]} per snippet differs from "
                    f"{ref.name!r}'s {ref.features.shape[1:]}",
                )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, features, groups=None, snippet_len: int = 16) -> VideoSet:
        """Wrap plain snippet features ``(n_snippets, ...)`` as a VideoSet.

        Consecutive rows with the same ``groups`` value form one video (in
        order of first appearance); without ``groups`` every row is its own
        one-snippet video. Each video gets ``snippet_len * T`` frames.
        """
        features = np.asarray(features)
        if features.ndim < 2:
            raise ValueError(f"features must be at least 2-D (n_snippets, n_features), got {features.shape}")
        n = len(features)
        groups = np.arange(n) if groups is None else np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} entries for {n} snippets")
        uniq, first = np.unique(groups, return_index=True)
        videos = []
        for g in uniq[np.argsort(first)]:
            rows = np.flatnonzero(groups == g)
            if np.any(np.diff(rows) != 1):
                raise ValueError(f"the snippets of group {g!r} are not contiguous")
            feats = features[rows]
            videos.append(Video(name=str(g), n_frames=snippet_len * len(rows), features=feats, snippet_len=snippet_len))
        return cls(videos)

    # ------------------------------------------------------------------ array protocol
    def __len__(self) -> int:
        return len(self._sel)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(n_snippets,) + per-snippet feature shape`` (or ``(n_snippets,)``)."""
        if self._videos and self._videos[0].features is not None:
            return (len(self),) + tuple(self._videos[0].features.shape[1:])
        return (len(self),)

    def __getitem__(self, key) -> VideoSet:
        pos = _as_positions(key, len(self))
        sel = self._sel[pos]
        keep = np.unique(self._sel_video[pos])
        videos = [self._videos[i] for i in keep]
        new_offsets = np.zeros(len(self._videos), np.int64)
        new_offsets[keep] = np.r_[0, np.cumsum([v.n_snippets for v in videos])][:-1]
        vid = self._sel_video[pos]
        return VideoSet(videos, new_offsets[vid] + (sel - self._offsets[vid]))

    def __iter__(self):
        raise TypeError("a VideoSet is not iterable over snippets; iterate over X.videos instead")

    def __repr__(self) -> str:
        parts = [f"{self.n_videos} videos", f"{len(self)} snippets"]
        if not self.is_complete:
            parts.append("subset")
        kinds = [k for k, has in (("features", self.has_features), ("tracks", self.has_tracks),
                                  ("labels", self.has_labels)) if has]
        return f"VideoSet({', '.join(parts + kinds)})"

    # ------------------------------------------------------------------ basic facts
    @property
    def videos(self) -> tuple[Video, ...]:
        """The videos, in order."""
        return self._videos

    @property
    def n_videos(self) -> int:
        return len(self._videos)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self._videos]

    @property
    def scenes(self) -> list[str | None]:
        """The scene (camera) of every video, None where unknown."""
        return [v.scene for v in self._videos]

    def select_videos(self, names) -> VideoSet:
        """The videos called ``names``, in that order, each whole (every one of its snippets).

        With a video table, ``X.select_videos(read_video_table("videos.csv",
        split="train"))`` keeps the videos of one split (see
        :func:`unsupvad.datasets.read_video_table`; to read only them in the
        first place, :func:`unsupvad.datasets.read_videos`).

        Parameters
        ----------
        names : iterable of str
            Video names, each once; every one must be a video of this set.

        Returns
        -------
        VideoSet
        """
        names = [str(name) for name in names]
        if not names:
            raise ValueError("select_videos got no video name")
        position = {name: i for i, name in enumerate(self.names)}
        unknown = [name for name in names if name not in position]
        if unknown:
            raise video_error(unknown[0], f"is not in this VideoSet ({len(unknown)} of the {len(names)} names are "
                                          f"unknown; it holds {self.n_videos} videos, e.g. {self.names[:3]})")
        seen = set()
        repeated = next((name for name in names if name in seen or seen.add(name)), None)
        if repeated is not None:
            raise video_error(repeated, "is named twice in select_videos")
        return VideoSet([self._videos[position[name]] for name in names])

    def with_scenes(self, scenes) -> VideoSet:
        """The same VideoSet (selection kept) with every video's ``scene`` set.

        Parameters
        ----------
        scenes : callable or mapping
            ``scenes(name)`` or ``scenes[name]`` gives the scene of the video
            called ``name`` (a string, or None for unknown). A mapping must
            name every video. ShanghaiTech's names are ``<scene>_<clip>``:
            ``X.with_scenes(lambda name: name.split("_")[0])``.

        Returns
        -------
        VideoSet
        """
        lookup = self._lookup(scenes, "scenes", "scene", "with_scenes")
        videos = []
        for video in self._videos:
            scene = lookup(video.name)
            videos.append(video.replace(scene=None if scene is None else str(scene)))
        return VideoSet(videos, self._sel)

    def with_video_files(self, files) -> VideoSet:
        """The same VideoSet (selection kept) with every video's ``video_file`` set.

        Parameters
        ----------
        files : callable or mapping
            ``files(name)`` or ``files[name]`` gives the video file of the
            video called ``name`` (a path, or None for none), e.g.
            ``lambda name: folder / f"{name}.mp4"``. A mapping must name
            every video. Existence is checked when a model reads the frames.

        Returns
        -------
        VideoSet
        """
        lookup = self._lookup(files, "files", "video file", "with_video_files")
        return VideoSet([video.replace(video_file=lookup(video.name)) for video in self._videos], self._sel)

    def _lookup(self, values, argument: str, what: str, method: str):
        """``values`` (a callable or a mapping naming every video) as a function of the video name."""
        if callable(values):
            return values
        if hasattr(values, "__getitem__"):
            missing = [name for name in self.names if name not in values]
            if missing:
                raise video_error(missing[0], f"has no {what} in the mapping given to {method}")
            return values.__getitem__
        raise TypeError(f"{argument} must be a callable or a mapping, got {type(values).__name__}")

    @property
    def n_frames(self) -> np.ndarray:
        """Frame count of every video."""
        return np.array([v.n_frames for v in self._videos], dtype=np.int64)

    @property
    def snippet_len(self) -> int:
        return self._videos[0].snippet_len if self._videos else 16

    @property
    def is_complete(self) -> bool:
        """True when every snippet of every video is selected exactly once, in order."""
        total = int(self._offsets[-1])
        return len(self._sel) == total and bool(np.all(self._sel == np.arange(total)))

    @property
    def has_features(self) -> bool:
        return bool(self._videos) and all(v.features is not None for v in self._videos)

    @property
    def has_tracks(self) -> bool:
        return bool(self._videos) and all(v.tracks is not None for v in self._videos)

    @property
    def has_labels(self) -> bool:
        return bool(self._videos) and all(v.labels is not None for v in self._videos)

    @property
    def snippet_video(self) -> np.ndarray:
        """Video index (into :attr:`videos`) of every selected snippet."""
        return self._sel_video.copy()

    @property
    def snippet_index(self) -> np.ndarray:
        """Index of every selected snippet within its own video."""
        return self._sel - self._offsets[self._sel_video]

    @property
    def groups(self) -> np.ndarray:
        """Video name of every selected snippet (for ``GroupKFold`` and friends)."""
        return np.array(self.names, dtype=object)[self._sel_video]

    def video_positions(self, video: int) -> np.ndarray:
        """Sample positions of the selected snippets of one video, in time order."""
        pos = np.flatnonzero(self._sel_video == video)
        return pos[np.argsort(self._sel[pos], kind="stable")]

    # ------------------------------------------------------------------ features and labels
    def features(self, dtype=np.float32) -> np.ndarray:
        """Features of the selected snippets, ``(n_snippets, ...)``, read into memory."""
        if not self.has_features:
            raise ValueError("this VideoSet has no snippet features")
        out = np.empty(self.shape, dtype=dtype)
        for v, video in enumerate(self._videos):
            pos = np.flatnonzero(self._sel_video == v)
            out[pos] = video.features[self.snippet_index[pos]]
        return out

    def frame_labels(self) -> list[np.ndarray]:
        """Frame labels (1 = abnormal) of every video, for evaluation."""
        if not self.has_labels:
            missing = next(v.name for v in self._videos if v.labels is None) if self._videos else "-"
            raise video_error(missing, "has no frame labels")
        return [v.labels for v in self._videos]

    def snippet_labels(self) -> np.ndarray:
        """1 for every selected snippet holding at least one abnormal frame, else 0."""
        return (self.frames_to_snippets(self.frame_labels(), reduce="max") > 0).astype(np.int64)

    # ------------------------------------------------------------------ frames <-> snippets
    def frame_to_snippet(self, video: int, frames) -> np.ndarray:
        """Index within the video of the snippet holding each frame."""
        return self._videos[video].frame_to_snippet(frames)

    def snippet_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """First frame and one-past-last frame of every selected snippet."""
        starts = np.empty(len(self), np.int64)
        stops = np.empty(len(self), np.int64)
        local = self.snippet_index
        for v, video in enumerate(self._videos):
            pos = np.flatnonzero(self._sel_video == v)
            a, b = video.snippet_bounds()
            starts[pos], stops[pos] = a[local[pos]], b[local[pos]]
        return starts, stops

    def snippets_to_frames(self, scores, fill_value=np.nan) -> list[np.ndarray]:
        """Spread per-snippet values over frames: one array of ``n_frames`` per video.

        Every frame takes the value of the snippet that contains it (see the
        class notes). Frames whose snippet is not selected get
        ``fill_value``.
        """
        scores = self._per_snippet(scores, "scores")
        out = []
        local = self.snippet_index
        for v, video in enumerate(self._videos):
            pos = np.flatnonzero(self._sel_video == v)
            per_snippet = np.full(video.n_snippets, fill_value, dtype=np.float64)
            per_snippet[local[pos]] = scores[pos]
            out.append(per_snippet[video.frame_to_snippet(np.arange(video.n_frames))])
        return out

    def frames_to_snippets(self, frame_values: Sequence[np.ndarray], reduce: str = "mean") -> np.ndarray:
        """Reduce per-frame values to the selected snippets (``'mean'`` or ``'max'`` over its frames)."""
        if len(frame_values) != self.n_videos:
            raise ValueError(f"got frame values for {len(frame_values)} videos, expected {self.n_videos}")
        if reduce not in ("mean", "max"):
            raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
        out = np.empty(len(self), np.float64)
        local = self.snippet_index
        for v, (video, values) in enumerate(zip(self._videos, frame_values)):
            values = np.asarray(values, dtype=np.float64)
            if values.shape != (video.n_frames,):
                got = values.shape[0] if values.ndim else 0
                raise video_error(video.name, f"{got} frame values for {video.n_frames} frames")
            starts, _ = video.snippet_bounds()
            ufunc = np.add if reduce == "mean" else np.maximum
            per = ufunc.reduceat(values, starts)
            if reduce == "mean":
                per = per / np.diff(np.r_[starts, video.n_frames])
            pos = np.flatnonzero(self._sel_video == v)
            out[pos] = per[local[pos]]
        return out

    # ------------------------------------------------------------------ objects
    def objects(self, seg_len: int = 24, stride: int = 6, max_missing: int = 2) -> Objects:
        """Windows of ``seg_len`` detections cut from every track (see :func:`unsupvad.track_windows`)."""
        if not self.has_tracks:
            missing = next((v.name for v in self._videos if v.tracks is None), "-")
            raise video_error(missing, "has no person tracks")
        return cut_windows(self._videos, seg_len, stride, max_missing)

    def snippet_objects(self) -> Objects:
        """Every selected snippet as an object of its own (for feature-based wOCC models).

        Object ``i`` is sample ``i``: it covers its snippet's frames, has
        ``track_id = -1`` and no track rows, and its centre frame is the
        snippet's first frame, so every object mapping sends it to itself.
        """
        starts, stops = self.snippet_frames()
        n = len(self)
        return Objects(
            video=self.snippet_video, track_id=np.full(n, -1, np.int64), rows=np.zeros((n, 0), np.int64),
            start_frame=starts, stop_frame=stops, centre_frame=starts.copy(),
            seg_len=self.snippet_len, stride=self.snippet_len, max_missing=0,
        )

    def object_points(self, objects: Objects) -> np.ndarray:
        """The ``(x, y, confidence)`` points of every object, ``(n_objects, seg_len, n_points, 3)``."""
        self._check_objects(objects)
        n_points = self._videos[0].tracks.n_points if self._videos else 0
        out = np.empty((len(objects), objects.seg_len, n_points, 3), np.float32)
        for v in np.unique(objects.video):
            sel = objects.video == v
            out[sel] = self._videos[v].tracks.points[objects.rows[sel]]
        return out

    def _check_objects(self, objects: Objects) -> None:
        if len(objects) and objects.video.max() >= self.n_videos:
            raise ValueError("these objects were cut from another VideoSet")
        for v in np.unique(objects.video):
            if objects.stop_frame[objects.video == v].max() > self._videos[v].n_frames:
                raise video_error(self._videos[v].name, "objects were cut from another VideoSet")

    def _full_to_position(self) -> np.ndarray:
        """Map from full snippet index to sample position (-1 where not selected)."""
        inverse = np.full(int(self._offsets[-1]), -1, np.int64)
        inverse[self._sel] = np.arange(len(self._sel))
        return inverse

    def _snippet_of_frame(self, objects: Objects, frames: np.ndarray) -> np.ndarray:
        """Full snippet index of a frame of each object's video."""
        video = objects.video
        snip_len = self.snippet_len
        counts = np.diff(self._offsets)[video]
        return self._offsets[video] + np.minimum(frames // snip_len, counts - 1)

    def object_snippet(self, objects: Objects) -> np.ndarray:
        """Sample position of the snippet containing each object's centre frame (-1 if not selected)."""
        self._check_objects(objects)
        return self._full_to_position()[self._snippet_of_frame(objects, objects.centre_frame)]

    def object_snippets(self, objects: Objects) -> tuple[np.ndarray, np.ndarray]:
        """Snippets each object touches, as CSR ``(indptr, positions)``.

        ``positions[indptr[i]:indptr[i + 1]]`` are the sample positions of the
        selected snippets overlapping frames ``[start_frame, stop_frame)`` of
        object ``i``, in time order.
        """
        self._check_objects(objects)
        first = self._snippet_of_frame(objects, objects.start_frame)
        last = self._snippet_of_frame(objects, objects.stop_frame - 1)
        lengths = last - first + 1
        full = np.repeat(first - np.r_[0, np.cumsum(lengths)[:-1]], lengths) + np.arange(lengths.sum())
        pos = self._full_to_position()[full]
        keep = pos >= 0
        counts = np.add.reduceat(keep.astype(np.int64), np.r_[0, np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
        return np.r_[0, np.cumsum(counts)].astype(np.int64), pos[keep]

    def objects_to_snippets(self, objects: Objects, scores, reduce: str = "mean",
                            rule: str = "touch", fill_value=np.nan) -> np.ndarray:
        """Per-snippet score from the scores of the objects in the snippet.

        Parameters
        ----------
        objects : Objects
        scores : array-like of shape (n_objects,)
        reduce : {'mean', 'max'}, default='mean'
            How the scores of a snippet's objects combine (the paper: mean).
        rule : {'touch', 'centre'}, default='touch'
            ``'touch'``: an object is in every snippet it overlaps;
            ``'centre'``: only in the snippet holding its centre frame.
        fill_value : float, default=nan
            Value of snippets without any object.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(objects),):
            raise ValueError(f"got {scores.shape} scores for {len(objects)} objects")
        if reduce not in ("mean", "max"):
            raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
        if rule == "touch":
            indptr, pos = self.object_snippets(objects)
            obj_scores = np.repeat(scores, np.diff(indptr))
        elif rule == "centre":
            pos = self.object_snippet(objects)
            keep = pos >= 0
            pos, obj_scores = pos[keep], scores[keep]
        else:
            raise ValueError(f"rule must be 'touch' or 'centre', got {rule!r}")
        out = np.full(len(self), fill_value, np.float64)
        if reduce == "mean":
            total = np.bincount(pos, weights=obj_scores, minlength=len(self))
            count = np.bincount(pos, minlength=len(self))
            has = count > 0
            out[has] = total[has] / count[has]
        else:
            best = np.full(len(self), -np.inf)
            np.maximum.at(best, pos, obj_scores)
            has = np.bincount(pos, minlength=len(self)) > 0
            out[has] = best[has]
        return out

    def snippets_to_objects(self, objects: Objects, snippet_scores, rule: str = "centre") -> np.ndarray:
        """Per-object score from per-snippet scores (the paper's Eq. 6).

        ``rule='centre'``: the score of the snippet containing the object
        (its centre frame); ``rule='max'``: the largest score among the
        snippets it touches (the official code). Objects whose snippets are
        not selected get NaN.
        """
        snippet_scores = self._per_snippet(snippet_scores, "snippet_scores")
        if rule == "centre":
            pos = self.object_snippet(objects)
            return np.where(pos >= 0, snippet_scores[np.maximum(pos, 0)], np.nan)
        if rule == "max":
            indptr, pos = self.object_snippets(objects)
            out = np.full(len(objects), np.nan)
            counts = np.diff(indptr)
            has = counts > 0
            if pos.size:
                out[has] = np.maximum.reduceat(snippet_scores[pos], indptr[:-1][has])
            return out
        raise ValueError(f"rule must be 'centre' or 'max', got {rule!r}")

    def objects_to_frames(self, objects: Objects, scores, reduce: str = "max",
                          placement: str = "centre", fill_value=np.nan) -> list[np.ndarray]:
        """Per-frame score from per-object scores: one array of ``n_frames`` per video.

        ``placement='centre'`` writes each object's score at its centre frame
        (STG-NF); ``'span'`` at every frame it covers. Several objects on one
        frame combine with ``reduce`` (``'max'``: the most abnormal person,
        for anomaly scores; ``'min'``; ``'mean'``). Frames without any object
        get ``fill_value``.
        """
        self._check_objects(objects)
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(objects),):
            raise ValueError(f"got {scores.shape} scores for {len(objects)} objects")
        if placement == "centre":
            video, frame, vals = objects.video, objects.centre_frame, scores
        elif placement == "span":
            lengths = objects.stop_frame - objects.start_frame
            video = np.repeat(objects.video, lengths)
            run_starts = np.r_[0, np.cumsum(lengths)[:-1]]
            frame = np.repeat(objects.start_frame - run_starts, lengths) + np.arange(lengths.sum())
            vals = np.repeat(scores, lengths)
        else:
            raise ValueError(f"placement must be 'centre' or 'span', got {placement!r}")
        if reduce not in ("max", "min", "mean"):
            raise ValueError(f"reduce must be 'max', 'min' or 'mean', got {reduce!r}")
        frame_offsets = np.r_[0, np.cumsum(self.n_frames)]
        flat = frame_offsets[video] + frame
        total = int(frame_offsets[-1])
        count = np.bincount(flat, minlength=total)
        if reduce == "mean":
            acc = np.bincount(flat, weights=vals, minlength=total)
            acc = np.divide(acc, count, out=np.zeros(total), where=count > 0)
        else:
            acc = np.full(total, -np.inf if reduce == "max" else np.inf)
            (np.maximum if reduce == "max" else np.minimum).at(acc, flat, vals)
        acc[count == 0] = fill_value
        return [acc[a:b] for a, b in zip(frame_offsets[:-1], frame_offsets[1:])]

    # ------------------------------------------------------------------ helpers
    def _per_snippet(self, values, what: str) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(self),):
            raise ValueError(f"{what} must have shape ({len(self)},) (one per snippet), got {values.shape}")
        return values

