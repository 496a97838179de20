"""``unsupvad overlay``: who was abnormal, where, drawn on the footage from a ``score --objects`` table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _video_rows(objects: Path, name: str) -> pd.DataFrame:
    table = pd.read_csv(objects, dtype={"video": str})
    if "video" not in table.columns:
        raise ValueError(f"{objects}: no 'video' column; give the table 'unsupvad score --objects' writes")
    rows = table[table["video"] == name]
    if rows.empty:
        names = sorted(table["video"].unique())
        known = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise ValueError(f"{objects} has no detection of video {name!r} (its videos: {known}); pass --video NAME "
                         "when the file is named otherwise")
    return rows


def _most_abnormal_frame(rows: pd.DataFrame, objects: Path, name: str) -> int:
    scores = rows["score"].to_numpy(np.float64) if "score" in rows.columns else np.zeros(0)
    if not np.isfinite(scores).any():
        raise ValueError(f"{objects}: no detection of video {name!r} has a score; pass --frame N")
    return int(rows["frame"].to_numpy()[np.nanargmax(scores)])


def run_overlay(args) -> None:
    """Draw the scored boxes of one video of ``args.objects`` on ``args.video_file`` and write ``args.out``."""
    from ..video import write_overlay
    from ..video._decode import require_av
    from ..video._overlay import IMAGE_SUFFIXES

    require_av()
    name = args.video or Path(args.video_file).stem
    rows = _video_rows(args.objects, name)
    frame = args.frame
    is_image = args.out.suffix.lower() in IMAGE_SUFFIXES
    if is_image and frame is None:
        frame = _most_abnormal_frame(rows, args.objects, name)
    write_overlay(args.video_file, rows, args.out, frame=frame, start=args.start, stop=args.stop,
                  line_width=args.line_width)
    last = "the end" if args.stop is None else args.stop - 1
    shown = f"frame {frame}" if frame is not None else f"frames {args.start or 0}..{last}"
    print(f"drew {len(rows)} scored detections of {name} ({shown}; blue = its lowest score, red = its highest, "
          f"black = no score): {args.out}")
