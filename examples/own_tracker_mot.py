"""Your own tracker's output: MOTChallenge track files in, frame anomaly scores and plots out, no label.

What it shows
    The path from any multi-object tracker (ByteTrack, DeepSORT, OC-SORT, ...)
    to frame anomaly scores. One MOTChallenge text file per video is read with
    :func:`unsupvad.datasets.read_mot_tracks`; a scikit-learn pipeline computes
    motion features per 16-frame snippet from the boxes
    (:class:`unsupvad.TrackSnippetFeatures`; MOT files carry no appearance
    features) and fits :class:`unsupvad.InterleavedVAD` (STG-NF on the box
    tracks, RTFM on the snippet features) on *all* the videos without any
    label, as an unsupervised detector is meant to be used; then it scores
    the same videos frame by frame. Frame masks, if given, are read only to
    print an AUC and to shade the plots.

Run
    ``python examples/own_tracker_mot.py`` writes a few generated videos as
    MOTChallenge files into a temporary folder first (with their frame table
    and frame masks), so it runs end to end on real files.

    ``python examples/own_tracker_mot.py --tracks DIR [--frames CSV] [--frame-size WxH] [--gt DIR]``
    runs on your own files:

    * ``--tracks DIR``: one ``<video>.txt`` per video, one row per detection,
      ``frame,id,left,top,width,height[,conf,x,y,z]`` (commas or spaces;
      frames 1-based as in MOTChallenge: row frame f is frame index f - 1;
      boxes in pixels; conf defaults to 1);
    * the frame size is needed (both models normalise by it): the
      ``width,height`` columns of ``--frames``, or ``--frame-size WxH`` (as the CLI) for
      all videos;
    * ``--frames CSV`` (optional): ``video,n_frames[,width,height][,fps]``,
      one row per video (the ``videos.csv`` of the shanghaitech-tracks layout
      fits). Without it a video's frame count is its last tracked frame, which
      undercounts a video whose last frames show nobody;
    * ``--gt DIR`` (optional): ``<video>.npy`` frame masks (1 = abnormal, one
      value per frame) for a frame AUC.

    ``--out DIR`` (default ``examples_output/own_tracker_mot``), ``--scorer
    ws|wocc`` (default ws), ``--videos N`` (generated videos, default 30),
    ``--quick`` (a smaller, faster smoke run).

    The command line does the same with a saved model:
    ``unsupvad fit --tracks DIR --frames CSV --out model.uvad`` then
    ``unsupvad score model.uvad DIR --frames CSV --out scores.csv --plot plots/``.

Runtime
    About 35 s on one CPU thread for the 30 generated videos (measured on a
    shared 2-core machine: 32 s, micro frame AUC 0.96; ``--quick`` 12 s). The fit grows with the
    number of tracked people and snippets.

Output (in ``--out``)
    ``scores.csv``: ``video,frame,score``, one row per frame, frame 0-based
    (MOT frame f is frame f - 1), higher score = more abnormal (the format
    ``unsupvad evaluate`` reads); ``plots/<video>.png``: one plot of frame
    scores per video, ground truth shaded when ``--gt`` is given.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import make_pipeline

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures, VideoSet
from unsupvad.datasets import attach_labels, make_synthetic_videos, read_frame_masks, read_mot_tracks
from unsupvad.metrics import evaluate
from unsupvad.plotting import save_video_plots


def write_generated_videos(folder: Path, n_videos: int, seed: int) -> tuple[Path, Path, Path]:
    """Write generated videos as a tracker would: MOT files, a frame table and (for the AUC) frame masks."""
    X = make_synthetic_videos(n_videos, n_frames=(160, 240), tracks="boxes", features=False,
                              anomaly_kinds=("running", "falling"), random_state=seed)
    tracks, gt = folder / "tracks", folder / "gt"
    tracks.mkdir(parents=True)
    gt.mkdir()
    rows = []
    for video in X.videos:
        t = video.tracks
        order = np.lexsort((t.track_id, t.frame))  # MOTChallenge files go frame by frame
        boxes, conf = t.boxes[order], t.points[order, 0, 2]
        table = np.column_stack([t.frame[order] + 1, t.track_id[order], boxes, conf])  # frames 1-based
        with open(tracks / f"{video.name}.txt", "w") as f:
            for frame, track, left, top, width, height, c in table:
                f.write(f"{int(frame)},{int(track)},{left:.2f},{top:.2f},{width:.2f},{height:.2f},{c:.3f},-1,-1,-1\n")
        np.save(gt / f"{video.name}.npy", video.labels)
        rows.append({"video": video.name, "n_frames": video.n_frames, "width": video.frame_size[0],
                     "height": video.frame_size[1], "fps": video.fps})
    frames = folder / "videos.csv"
    pd.DataFrame(rows).to_csv(frames, index=False)
    return tracks, frames, gt


def parse_frame_size(text: str) -> tuple[int, int]:
    """``856x480`` -> ``(856, 480)``: the command line's spelling of a frame size."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 856x480, got {text!r}") from None
    return width, height


def read_videos(tracks: Path, frames: Path | None, frame_size) -> VideoSet:
    """The videos of a folder of MOT files, with frame counts, sizes and fps from the frame table."""
    n_frames = size = fps = None
    if frames is not None:
        table = pd.read_csv(frames, dtype={"video": str}).set_index("video")
        n_frames = table["n_frames"].astype(int).to_dict()
        if {"width", "height"} <= set(table.columns):
            size = {v: (int(w), int(h)) for v, w, h in zip(table.index, table["width"], table["height"])}
        if "fps" in table.columns:
            fps = table["fps"].astype(float).to_dict()
    if frame_size is not None:
        size = tuple(frame_size)  # one size for every video
    if size is None:
        raise SystemExit("the frame size is needed: pass --frame-size WxH, or width,height columns in --frames")
    return read_mot_tracks(tracks, n_frames=n_frames, frame_size=size, fps=fps)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=Path, help="folder of <video>.txt MOTChallenge files (default: generated)")
    parser.add_argument("--frames", type=Path, help="CSV video,n_frames[,width,height][,fps]")
    parser.add_argument("--frame-size", type=parse_frame_size, metavar="WxH",
                        help="frame size of every video, e.g. 856x480")
    parser.add_argument("--gt", type=Path, help="folder of <video>.npy frame masks, for an AUC only")
    parser.add_argument("--scorer", choices=("ws", "wocc"), default="ws", help="model that scores (default ws)")
    parser.add_argument("--out", type=Path, default=Path("examples_output/own_tracker_mot"), help="output folder")
    parser.add_argument("--videos", type=int, default=30, help="number of generated videos (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated videos and the models")
    parser.add_argument("--quick", action="store_true", help="10 generated videos, 1 module: a smoke run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        if args.tracks is None:
            args.tracks, args.frames, args.gt = write_generated_videos(
                Path(tmp), 10 if args.quick else args.videos, args.seed)
            print(f"wrote {len(list(args.tracks.glob('*.txt')))} generated videos as MOT files to {args.tracks}")
        X = read_videos(args.tracks, args.frames, args.frame_size)
        masks = read_frame_masks(args.gt, X.names) if args.gt is not None else None  # read, not used to fit
    print(f"read {X.n_videos} videos, {sum(len(v.tracks) for v in X.videos)} detections, "
          f"{sum(len(v.tracks.track_ids) for v in X.videos)} tracks")

    wocc = STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, flip_augment=False, score_stride=2,
                 snippet_scoring="max")
    ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20 if args.quick else 50)
    vad = InterleavedVAD(wocc, ws, max_modules=1 if args.quick else 3, max_module_steps=3 if args.quick else 6,
                         scorer=args.scorer, device="cpu", random_state=args.seed)
    pipe = make_pipeline(TrackSnippetFeatures(standardize=True), vad)
    pipe.fit(X)  # no label
    print(f"fitted in {time.perf_counter() - start:.0f} s: {vad.n_modules_} modules, T_ws per module "
          f"{vad.thresholds_}")
    frame_scores = vad.score_frames(pipe[0].transform(X))  # one array per video, higher = more abnormal

    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.concat([pd.DataFrame({"video": name, "frame": np.arange(len(s)), "score": s})
                       for name, s in zip(X.names, frame_scores)])
    table.to_csv(args.out / "scores.csv", index=False)
    labels = None
    if masks is not None:
        labels = attach_labels(X, masks).frame_labels()
        report = evaluate(labels, frame_scores)
        print(f"{args.scorer} frame scores against the frame masks: micro frame AUC {report['micro_auc']:.3f}, "
              f"macro {report['macro_auc']:.3f}, AP {report['ap']:.3f}")
    paths = save_video_plots(frame_scores, args.out / "plots", names=X.names, labels=labels,
                             fps=[v.fps for v in X.videos])
    print(f"saved {args.out / 'scores.csv'} and {len(paths)} plots in {args.out / 'plots'} "
          f"({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
