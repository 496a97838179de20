"""Raw video in: video files to features, person tracks and poses, then who was abnormal, where, without a label.

What it shows
    The whole path from footage to per-person anomaly scores, on files a
    camera could have written. Generated people
    (:func:`unsupvad.datasets.make_synthetic_videos`, with planted running
    and falling) are painted as stick figures into lossless video files
    (:func:`unsupvad.video.write_painted_videos`); then, from the pixels
    only:

    1. snippet features in the RTFM layout (:func:`unsupvad.video.extract_features`,
       the I3D recipe with any backbone; ``--quick`` uses the untrained
       :class:`~unsupvad.video.TinyClipNet`, so its features mean nothing),
    2. person boxes (a training-free motion detector), tracked into
       MOTChallenge files by ByteTrack, and AlphaPose-style pose JSON (a crude
       silhouette stand-in for a keypoint model) with
       :func:`unsupvad.video.extract_people`,
    3. the files read back by the library's readers
       (:func:`~unsupvad.datasets.read_rtfm_features`,
       :func:`~unsupvad.datasets.read_mot_tracks`,
       :func:`~unsupvad.datasets.read_alphapose_json`),
    4. :class:`unsupvad.InterleavedVAD` (STG-NF on the tracked boxes, RTFM on
       motion features of the boxes, :class:`unsupvad.TrackSnippetFeatures`)
       fitted on all the videos without any label,
    5. per-person scores (``objects.csv``, the columns of ``unsupvad score
       --objects``) and an overlay of the most abnormal moment: the frame, and
       a short clip around it, with each person's box coloured by score
       (:func:`unsupvad.video.write_overlay`).

    The generated frame labels are read only to print a frame AUC.

Run
    ``python examples/from_video.py`` (``--quick``: fewer, shorter videos and
    one-crop features, a smoke run; ``--extractor SPEC``: your own backbone,
    see ``unsupvad extract --help``; ``--ws-input clip`` fits RTFM on the
    extracted clip features instead of the box motion features; ``--out DIR``,
    default ``examples_output/from_video``; ``--seed S``). Needs the extras
    ``video`` and ``tracking`` (``pip install "unsupvad[video,tracking]"``).
    With ``--ws-input clip --quick`` RTFM reads the untrained network's
    features: measured 0.578 at seed 0, near chance, as it should be.

Runtime
    About 40 s for ``--quick`` on one CPU thread (WS micro frame AUC 0.865 at
    seed 0); the default run, 16 videos of 240-360 frames with 10-crop
    features, 2.6 min, 146 s of it extracting (AUC 0.905). Measured on a
    shared 2-core machine.

Output (in ``--out``)
    ``videos/`` (the painted files), ``features/`` (``<video>_i3d.npy`` and
    ``videos.csv``), ``people/`` (MOT ``.txt`` and pose ``.json`` files),
    ``objects.csv`` (``video,frame,track_id,left,top,width,height,score``,
    frame 0-based, higher = more abnormal), ``overlay.png`` and
    ``overlay.mkv`` (the most abnormal person's moment).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
from sklearn.pipeline import make_pipeline

from unsupvad import RTFM, STGNF, InterleavedVAD, TrackSnippetFeatures
from unsupvad.datasets import (
    attach_labels,
    make_synthetic_videos,
    read_alphapose_json,
    read_rtfm_features,
    read_video_table,
    read_videos,
)
from unsupvad.metrics import evaluate
from unsupvad.video import (
    MotionDetector,
    extract_features,
    extract_people,
    write_overlay,
    write_painted_videos,
    write_video_table,
)

MIN_PERSON_AREA = 30
"""Foreground pixels of the smallest person: the far people of these 256 x 144 frames are about 16 px tall."""
CLIP_FRAMES = 24
"""Frames each side of the most abnormal moment in ``overlay.mkv``."""


def paint_generated_videos(folder: Path, n_videos: int, n_frames, seed: int):
    """Generated people painted into video files; their frame labels kept aside, for the AUC only."""
    X = make_synthetic_videos(n_videos, n_frames=n_frames, frame_size=(256, 144), n_people=(2, 4), features=False,
                              anomaly_kinds=("running", "falling"), random_state=seed)
    paths = write_painted_videos(X.videos, folder)
    return paths, {video.name: video.labels for video in X.videos}


def extract(paths, out: Path, extractor: str, crops: int):
    """Features, then tracks and poses, from the video files; every output read back by the library's readers."""
    features = extract_features(paths, out / "features", extractor, crops=crops)
    table = write_video_table(features, out / "features" / "videos.csv")
    detector = MotionDetector(min_area=MIN_PERSON_AREA)
    people = extract_people(paths, out / "people", detector=detector, tracker="bytetrack", pose="silhouette")
    clip = read_rtfm_features(out / "features")
    poses = read_alphapose_json(out / "people" / "poses")
    print(f"extracted {len(features)} videos: features {sorted({r.shape for r in features})[0][1:]} per snippet "
          f"({clip.n_videos} videos read back), {sum(p.n_tracked for p in people)} tracked boxes in "
          f"{sum(p.n_tracks for p in people)} tracks, poses of {sum(len(v.tracks) for v in poses.videos)} detections")
    return read_videos(out / "people" / "tracks", out / "features", videos=read_video_table(table))


def fit(X, ws_input: str, quick: bool, seed: int):
    """InterleavedVAD on the tracked boxes, without a label; RTFM on box motion features or on the clip features."""
    wocc = STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, flip_augment=False, score_stride=2,
                 snippet_scoring="max")
    ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20 if quick else 50)
    vad = InterleavedVAD(wocc, ws, max_modules=1 if quick else 3, max_module_steps=3 if quick else 6,
                         device="cpu", random_state=seed)
    model = vad if ws_input == "clip" else make_pipeline(TrackSnippetFeatures(standardize=True), vad)
    model.fit(X)  # no label
    return vad, X if ws_input == "clip" else model[0].transform(X)


def person_table(vad, X) -> pd.DataFrame:
    """One row per tracked box, as ``unsupvad score --objects`` writes it: frame 0-based, higher = more abnormal."""
    rows = []
    for video, scores in zip(X.videos, vad.score_detections(X)):
        boxes = video.tracks.boxes
        rows.append(pd.DataFrame({"video": video.name, "frame": video.tracks.frame, "track_id": video.tracks.track_id,
                                  "left": boxes[:, 0], "top": boxes[:, 1], "width": boxes[:, 2],
                                  "height": boxes[:, 3], "score": scores}))
    return pd.concat(rows, ignore_index=True)


def write_overlays(people: pd.DataFrame, video_files: dict, out: Path) -> pd.Series:
    """The most abnormal detection's frame as an image, and a short clip around it, boxes coloured by score."""
    top = people.loc[people["score"].idxmax()]
    one_video = people[people["video"] == top["video"]]
    path, frame = video_files[top["video"]], int(top["frame"])
    write_overlay(path, one_video, out / "overlay.png", frame=frame)
    n_frames = int(one_video["frame"].max()) + 1
    write_overlay(path, one_video, out / "overlay.mkv", start=max(frame - CLIP_FRAMES, 0),
                  stop=min(frame + CLIP_FRAMES, n_frames))
    return top


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples_output/from_video"), help="output folder")
    parser.add_argument("--extractor", default="tiny", help="feature extractor spec (default: the untrained tiny one)")
    parser.add_argument("--ws-input", choices=("tracks", "clip"), default="tracks",
                        help="RTFM's input: motion features of the tracked boxes (default) or the clip features")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated videos and the models")
    parser.add_argument("--quick", action="store_true", help="6 short videos, one-crop features, 1 module")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    n_videos, n_frames = (6, (160, 200)) if args.quick else (16, (240, 360))
    paths, labels = paint_generated_videos(args.out / "videos", n_videos, n_frames, args.seed)
    print(f"painted {len(paths)} generated videos into {args.out / 'videos'}")
    X = extract(paths, args.out, args.extractor, crops=1 if args.quick else 10)
    extracted = time.perf_counter()
    print(f"extraction took {extracted - start:.0f} s")
    vad, Xt = fit(X, args.ws_input, args.quick, args.seed)
    print(f"fitted without labels in {time.perf_counter() - extracted:.0f} s: {vad.n_modules_} module(s), "
          f"T_ws {vad.thresholds_}")

    report = evaluate(attach_labels(Xt, labels).frame_labels(), vad.score_frames(Xt))
    print(f"WS frame scores against the generated labels: micro frame AUC {report['micro_auc']:.3f}")
    people = person_table(vad, Xt)
    people.to_csv(args.out / "objects.csv", index=False)
    top = write_overlays(people, dict(zip(X.names, paths)), args.out)
    print(f"most abnormal: video {top['video']}, frame {int(top['frame'])}, track {int(top['track_id'])} "
          f"(score {top['score']:.3f}); wrote {args.out / 'objects.csv'}, {args.out / 'overlay.png'} and "
          f"{args.out / 'overlay.mkv'} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
