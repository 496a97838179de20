"""What a model declares about itself (its role and its input), read instead of its type or name."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("wocc", "ws")
INPUTS = ("tracks", "features")


@dataclass(frozen=True)
class ModelTags:
    """A component model's declared capabilities, returned by its ``__unsupvad_tags__()``.

    In the spirit of scikit-learn's ``__sklearn_tags__``: the library asks a
    model what it is instead of checking its class.

    Attributes
    ----------
    role : {'wocc', 'ws'}
        Weighted one-class model (trained with ``sample_weight``) or
        weakly-supervised model (trained on pseudo-labels).
    reads : {'tracks', 'features'}
        What the model reads of a :class:`~unsupvad.VideoSet`: person or box
        tracks, or snippet features.
    needs_frame_size : bool, default=False
        Whether the videos need a frame size (e.g. STG-NF normalises
        coordinates by it).
    needs_frames : bool, default=False
        Whether the model reads the videos' frames from their
        ``video_file`` (e.g. :class:`~unsupvad.Jigsaw`): every video needs
        one, checked before fitting with an error naming the video.
    positive_bag_size : int, default=1
        A WS's snippets per positive bag: :class:`~unsupvad.InterleavedVAD`
        never lets T_ws fall below it.
    uses_wocc_scores : bool, default=False
        Whether a WS's ``partial_fit`` wants ``snippet_scores``, the wOCC
        scores that made its pseudo-labels (e.g. RTFM's stratified bags).
    """

    role: str
    reads: str
    needs_frame_size: bool = False
    needs_frames: bool = False
    positive_bag_size: int = 1
    uses_wocc_scores: bool = False

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.reads not in INPUTS:
            raise ValueError(f"reads must be one of {INPUTS}, got {self.reads!r}")


def model_tags(model, default: ModelTags | None = None) -> ModelTags:
    """The tags of a model instance or class (a class is asked through a default instance).

    ``default`` is returned for a model that declares none (else a TypeError).
    """
    instance = model() if isinstance(model, type) else model
    method = getattr(instance, "__unsupvad_tags__", None)
    if method is None and default is not None:
        return default
    if method is None:
        raise TypeError(f"{type(instance).__name__} declares no __unsupvad_tags__ (its role and input): derive it "
                        "from unsupvad.models.WeightedOneClassModel or BagTrainingMixin, or define the method")
    tags = method()
    if not isinstance(tags, ModelTags):
        raise TypeError(f"{type(instance).__name__}.__unsupvad_tags__() must return a ModelTags, got "
                        f"{type(tags).__name__}")
    return tags


def require_video_files(videos, what: str) -> None:
    """Check that every video has a ``video_file`` that is a file; else an error naming the first that has not.

    Parameters
    ----------
    videos : iterable of Video
        E.g. ``X.videos``.
    what : str
        The model that reads the frames, for the message ("Jigsaw reads
        frames: video 'a' has no video_file").

    Raises
    ------
    ValueError
        When a video has no ``video_file``.
    FileNotFoundError
        When its ``video_file`` is not a file.
    """
    for video in videos:
        if video.video_file is None:
            raise ValueError(f"{what} reads frames: video {video.name!r} has no video_file (give a video table "
                             "with a video_file column, or X.with_video_files(...))")
        if not video.video_file.is_file():
            raise FileNotFoundError(f"{what} reads frames: the video_file of video {video.name!r} is not a file: "
                                    f"{video.video_file}")
