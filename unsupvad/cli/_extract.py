"""``unsupvad extract``: video files to RTFM feature files and/or person tracks and poses, and the video table."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..callbacks import counted
from ._workflow import logging_to_stderr

TABLE_NAME = "videos.csv"


def _earlier_rows(table: Path, out_dir: Path) -> dict:
    """Rows of a video table an earlier run left in ``out_dir`` whose feature or track file is still there, by name."""
    from ..datasets import read_video_table
    from ..video import ExtractedVideo, feature_path, track_path

    if not table.exists():
        return {}
    try:
        earlier = read_video_table(table)
    except ValueError as exc:
        raise ValueError(f"{exc}; this table is rewritten by the extraction: move it away or remove it") from None
    rows = {}
    for name, info in earlier.items():
        features = feature_path(Path(name), out_dir)
        written = features.exists() or track_path(Path(name), out_dir).exists()
        if info.frame_size is not None and written:
            video = getattr(info, "video_file", None) or Path(name)  # the table's video file, when it names one
            rows[name] = ExtractedVideo(name, video, features, info.n_frames, *info.frame_size, info.fps, (), True)
    return rows


def _kept_text(records) -> str:
    kept = sum(r.resumed for r in records)
    return f" ({kept} kept from an earlier run)" if kept else ""


def _print_features(records, out_dir: Path) -> None:
    shapes = sorted({r.shape[1:] for r in records})
    per_snippet = " or ".join(f"(T, {', '.join(map(str, s))})" for s in shapes)
    print(f"extracted {counted(len(records), 'video')}{_kept_text(records)}: {sum(r.shape[0] for r in records)} "
          f"snippets, features {per_snippet} float32 in {out_dir}")


def _print_people(records) -> None:
    tracks = records[0].tracks.parent
    print(f"tracked {counted(len(records), 'video')}{_kept_text(records)}: "
          f"{sum(r.n_detections for r in records)} detections, {sum(r.n_tracked for r in records)} tracked in "
          f"{counted(sum(r.n_tracks for r in records), 'track')}, MOTChallenge files in {tracks}")
    if records[0].poses is not None:
        print(f"poses: {records[0].poses.parent} (AlphaPose tracked-person JSON, COCO-17)")


def _next_command(args, people_records) -> str:
    inputs = []
    if people_records:
        folder = people_records[0].poses or people_records[0].tracks
        inputs.append(f"--tracks {folder.parent}")
    if not args.no_features:
        inputs.append(f"--features {args.out}")
    return f"next: unsupvad fit {' '.join(inputs)} --frames {args.out / TABLE_NAME} --out model.uvad"


def _check_what_to_write(args) -> bool:
    """Whether people are wanted (``--pose`` implies ``--poses``, which implies tracks); refuse what cannot run."""
    args.poses = args.poses or args.pose is not None
    people = args.tracks or args.poses
    if not people and (args.detector or args.tracker):
        raise ValueError(f"--{'detector' if args.detector else 'tracker'} is for person tracks: add --tracks or "
                         "--poses")
    if args.no_features and not people:
        raise ValueError("--no-features leaves nothing to write: add --tracks or --poses")
    if not args.no_features and args.extractor is None:
        raise ValueError("--extractor is required to write features (or give --no-features with --tracks or "
                         "--poses)")
    return people


def _load_people_steps(args):
    """The detector, tracker factory and pose estimator, loaded before any video is read."""
    from ..video import load_detector, load_pose, load_tracker

    detector_spec, pose_spec = args.detector or "motion", args.pose or "silhouette"
    detector = load_detector(detector_spec)
    tracker = load_tracker(args.tracker or "bytetrack")
    pose = load_pose(pose_spec, detector) if args.poses else None
    if detector_spec == "motion":
        print("note: --detector motion is background subtraction for a static camera: anything that moves is a box")
    if args.poses and pose_spec == "silhouette":
        print("note: --pose silhouette places joints on the motion mask, a stand-in for trial runs, not a pose model")
    return detector, tracker, pose


def _extract_features(args, progress: bool):
    from ..video import I3DRecipe, extract_features, load_extractor
    from ..video._extractors import TINY_SPEC

    recipe = I3DRecipe(mean=args.mean, std=args.std)
    extractor = load_extractor(args.extractor)
    if args.extractor == TINY_SPEC:
        print("note: --extractor tiny is an untrained network: its features are for trial runs only")
    return extract_features(args.videos, args.out, extractor, crops=args.crops, batch_size=args.batch_size,
                            device=args.device, resume=not args.no_resume, progress=progress, recipe=recipe)


def run_extract(args, *, progress: bool) -> None:
    """Write the features and/or person tracks of ``args.videos`` into ``args.out``, and ``args.out/videos.csv``."""
    from ..video import extract_people, write_video_table
    from ..video._decode import require_av

    require_av()  # before loading a network, and before any file is written
    people = _check_what_to_write(args)
    table = args.out / TABLE_NAME
    earlier = _earlier_rows(table, args.out)
    steps = _load_people_steps(args) if people else None
    per_video_lines = not progress and not args.quiet  # a bar on a terminal, nothing with --quiet
    lines = logging_to_stderr("unsupvad.video", "extract") if per_video_lines else contextlib.nullcontext()
    feature_records, people_records = [], []
    with lines:
        if not args.no_features:
            feature_records = _extract_features(args, progress)
        if people:
            detector, tracker, pose = steps
            people_records = extract_people(args.videos, args.out, detector=detector, tracker=tracker, pose=pose,
                                            resume=not args.no_resume, progress=progress)
    rows = {**earlier, **{r.name: r for r in people_records}, **{r.name: r for r in feature_records}}
    write_video_table(rows.values(), table)
    if feature_records:
        _print_features(feature_records, args.out)
    if people_records:
        _print_people(people_records)
    print(f"frame counts: {table} (video,n_frames,width,height,fps,video_file)")
    print(_next_command(args, people_records))
