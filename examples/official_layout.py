"""The paper's protocol on a folder in the official code's layout: poses + I3D features, two AUCs.

What it shows
    How to run :class:`unsupvad.InterleavedVAD` (STG-NF on the AlphaPose
    poses, RTFM on the I3D snippet features) on data prepared for the paper's
    official code, and how to evaluate it as the paper does:

    * the wOCC (STG-NF) frame AUC with STG-NF's frame protocol (window
      centre, most abnormal person, Gaussian smoothing) against the
      true-length frame masks;
    * the WS (RTFM) frame AUC with RTFM's protocol: every snippet score
      repeated 16 times, against the masks padded (or trimmed) to 16 T frames
      (:func:`unsupvad.metrics.expand_snippets`, :func:`unsupvad.metrics.pad_labels`),
      all test videos concatenated (micro AUC).

    The training split is fitted without any label; the test masks are read
    only for the two AUCs.

    :func:`unsupvad.datasets.load_official_layout` reads, under
    ``<root>/weakly_<dataset>/`` (or ``<root>`` itself):

    * ``pose/{train,test}/<video>_alphapose_tracked_person.json``: AlphaPose
      tracked persons, ``{person_id: {frame: {"keypoints": [x, y, c] * 17,
      "scores": s}}}``, COCO-17 joints, 0-based frame keys (read as OpenPose-18,
      as STG-NF does);
    * features: ``list/*-i3d-{train,test}-10crop.list`` (one ``.npy`` path a
      line), else a ``*_<Split>_ten_crop_i3d/`` or ``features/<split>/``
      folder, of ``<video>_i3d.npy`` arrays ``(T, 10, D)`` (I3D: D = 2048; any
      D is accepted), one row per 16-frame snippet;
    * ``gt/test_frame_mask/<video>.npy``: test frame masks, 1 = abnormal;
    * ``*-num.npy`` (e.g. ``shanghai-num.npy``): a pickled dict video ->
      frame count of the training videos (read without running any code the
      pickle names: only a dict of names and counts is accepted).

Run
    ``python examples/official_layout.py`` first writes a tiny generated
    folder in that layout to a temporary directory (the generator's
    OpenPose-18 skeletons written as COCO-17 AlphaPose JSON, so the neck is
    dropped and read back as the shoulders' mean; 10-crop 64-d imitation
    features; masks; frame counts), then fits and evaluates on it.

    ``python examples/official_layout.py --root data/ [--dataset ShanghaiTech] [--frame-size WxH]
    [--paper] [--device cuda]`` runs on your copy of the official data. The
    layout stores no frame size: STG-NF normalises the poses by
    ``--frame-size`` (default 856x480, as the official code does). ``--paper``
    uses the models' defaults (the paper's sizes: hours on a CPU for
    ShanghaiTech, use a GPU); without it the small, fast settings of this
    example are used.
    ``--out DIR`` (default ``examples_output/official_layout``), ``--videos N``
    (generated videos, default 36), ``--quick`` (a smaller, faster smoke run).

Runtime
    About 75 s on one CPU thread with the generated folder (measured on a
    shared 2-core machine: 73 s; ``--quick`` 15 s). It prints a test micro
    frame AUC of about 0.84 for the wOCC and 0.68 for the WS: the generated
    clip features are a crude imitation of I3D's, and RTFM separates them
    less well than the track features of the other examples.

Output (in ``--out``)
    ``<video>.png`` for the test video with the highest wOCC frame score:
    its wOCC frame scores, ground truth shaded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from unsupvad import RTFM, STGNF, InterleavedVAD
from unsupvad.datasets import coco17_to_openpose18, load_official_layout, make_synthetic_videos
from unsupvad.metrics import expand_snippets, frame_auc, pad_labels
from unsupvad.plotting import VideoScoreDisplay


def openpose18_to_coco17(points: np.ndarray) -> np.ndarray:
    """The inverse of :func:`coco17_to_openpose18` (which appends a neck and reorders): drop the neck."""
    # Track where each COCO joint lands in the OpenPose order by converting the joint numbers themselves.
    landed = coco17_to_openpose18(np.arange(17, dtype=np.float64)[:, None])[:, 0]
    openpose_of_coco = [int(np.flatnonzero(landed == j)[0]) for j in range(17)]
    return points[..., openpose_of_coco, :]


def write_official_layout(root: Path, n_videos: int, seed: int) -> Path:
    """Write generated videos in the official code's ``data/weakly_ShanghaiTech/`` layout."""
    X = make_synthetic_videos(n_videos, n_frames=(160, 240), tracks="keypoints", n_crops=10, n_features=64,
                              random_state=seed)
    base = root / "weakly_ShanghaiTech"
    n_train = 2 * n_videos // 3
    train_counts = {}
    for i, video in enumerate(X.videos):
        split = "train" if i < n_train else "test"
        pose_dir, feature_dir = base / "pose" / split, base / f"SH_{split.title()}_ten_crop_i3d"
        for folder in (pose_dir, feature_dir, base / "list", base / "gt" / "test_frame_mask"):
            folder.mkdir(parents=True, exist_ok=True)
        tracks = video.tracks
        coco = openpose18_to_coco17(tracks.points)  # (rows, 17, 3): x, y, confidence
        people: dict = {}
        for frame, person, joints in zip(tracks.frame, tracks.track_id, coco):
            people.setdefault(str(person), {})[f"{frame:04d}"] = {
                "keypoints": [round(float(v), 2) for v in joints.ravel()],
                "scores": round(float(joints[:, 2].mean()), 3),
            }
        (pose_dir / f"{video.name}_alphapose_tracked_person.json").write_text(json.dumps(people))
        feature_file = feature_dir / f"{video.name}_i3d.npy"
        np.save(feature_file, video.features.astype(np.float32))  # (T, 10, 64)
        with open(base / "list" / f"shanghai-i3d-{split}-10crop.list", "a") as f:
            f.write(f"{feature_file.resolve()}\n")
        if split == "test":
            np.save(base / "gt" / "test_frame_mask" / f"{video.name}.npy", video.labels.astype(np.uint8))
        else:
            train_counts[video.name] = video.n_frames
    np.save(base / "shanghai-num.npy", train_counts, allow_pickle=True)
    return root


def parse_frame_size(text: str) -> tuple[int, int]:
    """``856x480`` -> ``(856, 480)``: the command line's spelling of a frame size."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 856x480, got {text!r}") from None
    return width, height


def make_model(paper: bool, quick: bool, frame_size, device: str, seed: int) -> InterleavedVAD:
    # The layout stores no frame size; STG-NF normalises the poses by it (the official code: 856 x 480 always).
    if paper:
        return InterleavedVAD(STGNF(frame_size=frame_size), RTFM(), device=device, random_state=seed)
    wocc = STGNF(n_flows=4, seg_len=12, batch_size=128, lr=2e-3, score_stride=2, snippet_scoring="max",
                 frame_size=frame_size)
    ws = RTFM(branch_dim=32, head_dims=(32, 16), iterations_per_epoch=20 if quick else 40)
    return InterleavedVAD(wocc, ws, max_modules=1 if quick else 3, max_module_steps=3 if quick else 6,
                          device=device, random_state=seed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder holding weakly_<dataset>/ (default: generated)")
    parser.add_argument("--dataset", default="ShanghaiTech", help="the <dataset> of weakly_<dataset>")
    parser.add_argument("--paper", action="store_true", help="the models' defaults (the paper's sizes)")
    parser.add_argument("--frame-size", type=parse_frame_size, default=(856, 480), metavar="WxH",
                        help="frame size of the videos (default 856x480, ShanghaiTech and the official code)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--out", type=Path, default=Path("examples_output/official_layout"), help="PNG folder")
    parser.add_argument("--videos", type=int, default=36, help="generated videos, two thirds train (default 36)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated folder and the models")
    parser.add_argument("--quick", action="store_true", help="12 generated videos, 1 module: a smoke run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = write_official_layout(Path(tmp), 12 if args.quick else args.videos, args.seed)
            print(f"wrote a generated folder in the official layout: {root / 'weakly_ShanghaiTech'}")
        mmap = args.root is not None  # memory-map your files; read the temporary ones before they go
        train = load_official_layout(root, "train", dataset=args.dataset, mmap=mmap)
        test = load_official_layout(root, "test", dataset=args.dataset, mmap=mmap)
    print(f"train: {train.n_videos} videos, {len(train)} snippets, features {train.videos[0].features.shape[1:]}; "
          f"test: {test.n_videos} videos" + (", with frame masks" if test.has_labels else ", no frame masks"))

    model = make_model(args.paper, args.quick, tuple(args.frame_size), args.device, args.seed).fit(train)  # no label
    print(f"fitted in {time.perf_counter() - start:.0f} s: {model.n_modules_} modules, T_ws per module "
          f"{model.thresholds_} ({model.termination_condition_})")

    wocc_frames = model.set_params(scorer="wocc").score_frames(test)  # STG-NF's frame protocol
    snippet_scores = model.set_params(scorer="ws").score_snippets(test)
    per_video = [snippet_scores[test.snippet_video == v] for v in range(test.n_videos)]
    if test.has_labels:
        labels = test.frame_labels()
        ws_auc = frame_auc(pad_labels(labels, [len(s) for s in per_video]), expand_snippets(per_video))
        print(f"test micro frame AUC: wOCC (STG-NF protocol) {frame_auc(labels, wocc_frames):.3f}, "
              f"WS (RTFM protocol, 16 x T frames) {ws_auc:.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    shown = int(np.argmax([s.max() for s in wocc_frames]))  # picked by the model's scores, not by the labels
    figure = Figure(figsize=(8, 3), layout="constrained")
    VideoScoreDisplay.from_predictions(wocc_frames[shown], test.videos[shown].labels, ax=figure.subplots(),
                                       video_name=test.names[shown],
                                       title=f"{test.names[shown]}: wOCC (STG-NF) frame scores")
    path = args.out / f"{test.names[shown]}.png"
    figure.savefig(path, dpi=100)
    print(f"saved {path} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
