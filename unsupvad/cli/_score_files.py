"""Score files (``video,frame,score`` CSVs): read, checked frame by frame, evaluated against masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_scores(path: Path) -> dict[str, np.ndarray]:
    """``video -> frame scores`` from a ``video,frame,score`` CSV, checked frame by frame."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"score file not found: {path}")
    try:
        table = pd.read_csv(path, dtype={"video": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a CSV score file ({str(exc).splitlines()[0]})") from exc
    missing = [c for c in ("video", "frame", "score") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; a score file has columns video,frame,score")
    if table.empty:
        raise ValueError(f"{path}: the score file has no row")
    if table["video"].isna().any():
        raise ValueError(f"{path}: line {int(np.flatnonzero(table['video'].isna())[0]) + 2}: empty video name")
    frame = pd.to_numeric(table["frame"], errors="coerce")
    score = pd.to_numeric(table["score"], errors="coerce")
    if frame.isna().any() or (frame != np.round(frame)).any():
        raise ValueError(f"{path}: line {int(np.flatnonzero(frame.isna() | (frame != np.round(frame)))[0]) + 2}: "
                         "frame must be an integer")
    if not np.isfinite(score).all():
        raise ValueError(f"{path}: line {int(np.flatnonzero(~np.isfinite(score))[0]) + 2}: score must be a "
                         "finite number")
    out = {}
    for name, idx in table.groupby("video", sort=False).indices.items():
        frames = frame.to_numpy()[idx].astype(np.int64)
        order = np.argsort(frames, kind="stable")
        if not np.array_equal(frames[order], np.arange(len(frames))):
            raise ValueError(f"{path}: video {name!r}: frames must be 0, 1, ..., n-1 once each "
                             f"(got {len(frames)} rows, frames {frames.min()}..{frames.max()})")
        out[str(name)] = score.to_numpy()[idx][order].astype(np.float64)
    return out


def evaluate_scores(scores_path: Path, gt: Path, *, scored_only: bool = False) -> dict:
    """Metrics of a score file against a folder of frame masks.

    The videos must match exactly, unless ``scored_only``: then the masks of
    videos the file does not score are left out (the report says how many).
    """
    from ..datasets import read_frame_masks
    from ..metrics import evaluate

    scores = read_scores(scores_path)
    masks = read_frame_masks(gt)
    if not masks:
        raise ValueError(f"{gt}: the folder holds no <video>.npy frame mask")
    only_scores = [n for n in scores if n not in masks]
    if only_scores:
        raise ValueError(f"video {only_scores[0]!r} is in {scores_path} but has no frame mask in {gt}")
    only_masks = [n for n in masks if n not in scores]
    if only_masks and not scored_only:
        raise ValueError(f"video {only_masks[0]!r} has a frame mask in {gt} but no scores in {scores_path} "
                         f"({len(only_masks)} such videos); add --scored-only to evaluate the scored videos alone")
    names = sorted(scores)
    for name in names:
        if len(scores[name]) != len(masks[name]):
            hint = (" (scored without the true frame count? 'unsupvad score --frames TABLE' takes it from a video "
                    "table; without one a video ends at its last tracked frame)"
                    if len(scores[name]) < len(masks[name]) else "")
            raise ValueError(f"video {name!r}: {len(scores[name])} scored frames in {scores_path}, but its frame "
                             f"mask has {len(masks[name])}{hint}")
    report = evaluate([masks[n] for n in names], [scores[n] for n in names])
    report["unscored_masks"] = len(only_masks)
    return report


def _matched_masks(masks: dict, names: list[str], scores: list[np.ndarray]) -> list[np.ndarray]:
    for name, s in zip(names, scores):
        if len(masks[name]) != len(s):
            raise ValueError(f"video {name!r}: its frame mask has {len(masks[name])} frames, but the scores "
                             f"have {len(s)}")
    return [masks[name] for name in names]

