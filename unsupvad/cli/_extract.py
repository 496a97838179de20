"""``unsupvad extract``: video files to RTFM feature files, and the video table the next command reads."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..callbacks import counted
from ._workflow import logging_to_stderr

TABLE_NAME = "videos.csv"


def _earlier_rows(table: Path, out_dir: Path) -> dict:
    """Rows of a video table an earlier run left in ``out_dir`` whose feature file is still there, by name."""
    from ..datasets import read_video_table
    from ..video import ExtractedVideo, feature_path

    if not table.exists():
        return {}
    try:
        earlier = read_video_table(table)
    except ValueError as exc:
        raise ValueError(f"{exc}; this table is rewritten by the extraction: move it away or remove it") from None
    rows = {}
    for name, info in earlier.items():
        features = feature_path(Path(name), out_dir)
        if info.frame_size is not None and features.exists():
            rows[name] = ExtractedVideo(name, Path(name), features, info.n_frames, *info.frame_size, info.fps,
                                        (), True)
    return rows


def _print_summary(records, out_dir: Path, table: Path) -> None:
    kept = sum(r.resumed for r in records)
    kept_text = f" ({kept} kept from an earlier run)" if kept else ""
    shapes = sorted({r.shape[1:] for r in records})
    per_snippet = " or ".join(f"(T, {', '.join(map(str, s))})" for s in shapes)
    print(f"extracted {counted(len(records), 'video')}{kept_text}: {sum(r.shape[0] for r in records)} snippets, "
          f"features {per_snippet} float32 in {out_dir}")
    print(f"frame counts: {table} (video,n_frames,width,height,fps)")
    print(f"next: unsupvad fit --features {out_dir} --frames {table} --out model.uvad")


def run_extract(args, *, progress: bool) -> None:
    """Extract the features of ``args.videos`` into ``args.out`` and write ``args.out/videos.csv``."""
    from ..video import I3DRecipe, extract_features, load_extractor, write_video_table
    from ..video._decode import require_av
    from ..video._extractors import TINY_SPEC

    require_av()  # before loading a network, and before any file is written
    recipe = I3DRecipe(mean=args.mean, std=args.std)
    table = args.out / TABLE_NAME
    earlier = _earlier_rows(table, args.out)
    extractor = load_extractor(args.extractor)
    if args.extractor == TINY_SPEC:
        print("note: --extractor tiny is an untrained network: its features are for trial runs only")
    per_video_lines = not progress and not args.quiet  # a bar on a terminal, nothing with --quiet
    lines = logging_to_stderr("unsupvad.video", "extract") if per_video_lines else contextlib.nullcontext()
    with lines:
        records = extract_features(args.videos, args.out, extractor, crops=args.crops, batch_size=args.batch_size,
                                   device=args.device, resume=not args.no_resume, progress=progress, recipe=recipe)
    rows = {**earlier, **{r.name: r for r in records}}
    write_video_table(rows.values(), table)
    _print_summary(records, args.out, table)
