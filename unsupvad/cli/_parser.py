"""The command line's arguments, their types and their help texts."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..datasets._folders import TRACK_FORMATS

MODEL_SUFFIX = ".uvad"
FEATURE_FORMATS = ("rtfm",)


INPUT_HELP = """\
inputs of fit and score (one file per video; the video name is the file name):
  --tracks PATH      person tracks, a file or a folder of them:
                     mot:       MOTChallenge text, <video>.txt, one row per detection:
                                frame,id,left,top,width,height[,conf,x,y,z] (commas or spaces;
                                frames are 1-based: row frame f is frame index f-1; boxes in pixels)
                     alphapose: AlphaPose tracked-person JSON as written for STG-NF,
                                <video>_alphapose_tracked_person.json (or <video>.json):
                                {person_id: {frame: {"keypoints": [x, y, c] * 17, "scores": s}}},
                                frame keys 0-based; COCO-17 keypoints read as OpenPose-18
  --features PATH    RTFM snippet features: a folder of <video>_i3d.npy (or <video>.npy), a .list/.txt
                     file of .npy paths, or one .npy; each of shape (T, 2048) or (T, 10, 2048) (any D),
                     one row per 16-frame snippet (format rtfm)
  --frames CSV       one row per video: video,n_frames[,width,height][,fps][,split][,scene], any
                     column order (the shanghaitech-tracks videos.csv fits); exactly its videos
                     are read. Without it every file is read and a video's frame count is its
                     last tracked frame + 1, or 16 T with features only
  --split NAME       keep only the videos of this split of the --frames table
  --frame-size WxH   frame size in pixels for videos without width,height in --frames
                     (the pose/box model and the track features normalise by it)
"""


OUTPUT_HELP = """\
scores: a long CSV with one row per frame, columns video,frame,score: frame is the 0-based frame
index (MOT frame f is frame f-1) and score is the frame's anomaly score, higher = more abnormal
(only the order within a score file matters; scores of different models are not comparable).
people (--objects): one row per detection, columns video,frame,track_id,left,top,width,height,score:
frame 0-based as above, the detection's box in pixels (a pose's keypoint box) and the score of the
one-class model's windows that hold it (higher = more abnormal; empty for a track too short to score).
frame masks (--gt): a folder of <video>.npy, each a 1-D array of 0 (normal) / 1 (abnormal) per
frame (unsupvad.datasets.read_frame_masks).
"""


MODEL_HELP = f"""\
model files ({MODEL_SUFFIX} by convention) are zip files with a JSON config and torch weights, read
back with torch.load(weights_only=True): loading one runs no code from the file, so files from
others are safe to load (unsupvad.persistence.load_model in Python). A model trained on a GPU
loads on a machine without one.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, like every other error."""

    def error(self, message):
        self.exit(2, f"unsupvad: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)


def _wrap(*paragraphs: str) -> str:
    """Descriptions as paragraphs filled to the help width (the epilogs are laid out by hand)."""
    return "\n\n".join(textwrap.fill(p, 100) for p in paragraphs)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _module_steps(text: str):
    return "auto" if text == "auto" else _positive_int(text)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value}")
    return value


def _frame_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace(",", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 856x480, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text!r}")
    return width, height


def _add_inputs(parser, *, positional: bool) -> None:
    group = parser.add_argument_group("inputs (formats below)")
    if positional:
        group.add_argument("input", nargs="?", type=Path, metavar="INPUT",
                           help="the videos to score: tracks if the model reads tracks, else features")
    group.add_argument("--tracks", type=Path, metavar="PATH", help="person tracks (file or folder)")
    group.add_argument("--features", type=Path, metavar="PATH", help="RTFM snippet features (folder, list or .npy)")
    group.add_argument("--format", choices=("auto", *TRACK_FORMATS, *FEATURE_FORMATS), default="auto",
                       help="format of the tracks (mot, alphapose) or features (rtfm); default: from the "
                            "file names (.txt: mot, .json: alphapose, .npy/.list: rtfm)")
    group.add_argument("--frames", type=Path, metavar="CSV", help="per-video frame counts, sizes, fps, split")
    group.add_argument("--split", metavar="NAME", help="only the videos of this split of --frames")
    group.add_argument("--frame-size", type=_frame_size, metavar="WxH", help="frame size for videos without one")


def _add_runtime(parser, *, threads_default=None) -> None:
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the networks run (default auto: CUDA when available)")
    parser.add_argument("--threads", type=_positive_int, default=threads_default, metavar="N",
                        help="CPU threads for torch" + (" (default 1: the models are tiny)" if threads_default
                                                         else " (default: torch's choice)"))


def _version() -> str:
    from .. import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unsupvad", formatter_class=_Formatter,
        description=_wrap("Unsupervised video anomaly detection: a one-class model of person tracks and a "
                          "weakly-supervised model of snippet features train each other without any label "
                          "(InterleavedVAD)."),
        epilog=INPUT_HELP + "\n" + OUTPUT_HELP + "\n" + MODEL_HELP
        + "\nexample:\n  unsupvad demo --out demo/\n"
          "  unsupvad extract videos/ --out features/ --extractor i3d_r50.pt   # needs unsupvad[video]\n"
          "  unsupvad fit --tracks train/ --frames videos.csv --out model.uvad\n"
          "  unsupvad score model.uvad test/ --frames videos.csv --out scores.csv --plot plots/\n"
          "  unsupvad evaluate scores.csv --gt gt/test/\n",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--version", action="version", version=f"unsupvad {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (_add_demo, _add_extract, _add_fit, _add_score, _add_evaluate, _add_plot, _add_overlay):
        add_command(sub)
    return parser


def _add_demo(sub) -> None:
    demo = sub.add_parser(
        "demo", formatter_class=_Formatter, help="generated videos: fit without labels, score, evaluate",
        description=_wrap("Generate surveillance-like videos with planted anomalies (nothing is downloaded), fit "
                          "InterleavedVAD on two thirds of them without labels (STG-NF on the box tracks, RTFM on "
                          "the tracks' snippet motion features, small settings), score the held-out third and "
                          "report micro/macro frame AUC, AP and EER of the WS and the wOCC models and of the "
                          "training-free speed baseline, with T_ws per module and the fit time."),
        epilog=_wrap("outputs with --out DIR: DIR/demo_report.json (the printed report) and DIR/demo_scores.png "
                     "(frame scores of every held-out video, WS and wOCC, with each video's frame AUC; ground truth "
                     "shaded; needs matplotlib)."))
    demo.add_argument("--videos", type=_positive_int, default=60, metavar="N",
                      help="number of generated videos, at least 3 (default 60: 40 to fit, 20 to score)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the data and the models (default 0)")
    demo.add_argument("--out", type=Path, default=None, metavar="DIR", help="folder for the report and the plot")
    demo.add_argument("--max-modules", type=_positive_int, default=3, metavar="N",
                      help="upper bound on the modules (default 3)")
    _add_runtime(demo, threads_default=1)


def _rgb_triple(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B, e.g. 0.45,0.45,0.45, got {text!r}")
    return values


EXTRACT_HELP = """\
the recipe (I3D, Kinetics): 16 consecutive frames per snippet (snippet i = frames 16i..16i+15; the
last, partial snippet repeats its last frame), shorter side resized to 256 (bilinear), 10 crops of
224x224 (top-left, top-right, bottom-left, bottom-right, centre, then the same five mirrored) or
the centre crop (--crops 1), RGB in [0, 1] normalised by --mean and --std (default 0.45 and 0.225,
the usual Kinetics I3D-ResNet50 constants: use your checkpoint's).
extractor (--extractor): a TorchScript file (torch.jit.save), or package.module:callable (called
without arguments, returns an nn.Module or a callable), mapping clips (batch, 3, 16, 224, 224) to
features (batch, D); nothing is downloaded, and both run code from where they point: use only
what you trust. tiny: an untrained 32-feature network, for trial runs only (meaningless features).
outputs: DIR/<video>_i3d.npy, (T, 10, D) or (T, D) float32 with T = ceil(n_frames / 16), and
DIR/videos.csv (video,n_frames,width,height,fps,video_file; rows of earlier runs into DIR are kept).

person tracks and poses (--tracks, --poses; --no-features: only them):
  detector (--detector): motion (default): background subtraction for a static camera, training
    free, no notion of a person (anything that moves is a box); or package.module:callable (called
    without arguments) returning detector(frames (B, H, W, 3) uint8 RGB) -> B arrays (N, 5)
    [left, top, right, bottom, score] in pixels.
  tracker (--tracker): bytetrack (default) or sort, from Roboflow's trackers package
    (pip install "unsupvad[tracking]", about 200 MB with OpenCV), or package.module:callable, a
    factory called once per video as factory(fps=...) whose update(boxes (N, 4), scores (N,))
    returns ids (N,), -1 for untracked (not written). With bytetrack and sort a track starts one
    frame after its first box.
  pose (--pose, implies --poses): silhouette (default): joints at fixed fractions of the motion
    mask's height, a crude stand-in for trial runs, not a pose model; or package.module:callable
    returning pose(frame (H, W, 3), boxes (N, 4)) -> (N, 17, 3) [x, y, confidence], COCO-17 order.
  outputs: DIR/tracks/<video>.txt, MOTChallenge frame,id,left,top,width,height,conf,-1,-1,-1 with
    1-based frames; DIR/poses/<video>_alphapose_tracked_person.json, 0-based frame keys; and
    DIR/people_manifest.json (what resume checks). Videos are decoded once more for them.

example:
  unsupvad extract videos/ --out features/ --extractor i3d_r50.pt --device cuda
  unsupvad fit --features features/ --frames features/videos.csv --out model.uvad
  unsupvad extract videos/ --out people/ --no-features --poses     # needs unsupvad[tracking]
  unsupvad fit --tracks people/poses --frames people/videos.csv --out model.uvad
"""


def _add_extract(sub) -> None:
    extract = sub.add_parser(
        "extract", formatter_class=_Formatter,
        help="snippet features, person tracks and poses of video files (needs unsupvad[video])",
        description=_wrap("Decode video files (PyAV: pip install \"unsupvad[video]\") and write one RTFM "
                          "feature file per video, one row per 16-frame snippet, with the I3D recipe below and "
                          "your feature extractor; then fit on them with --features DIR --frames DIR/videos.csv.",
                          "With --tracks or --poses it also detects and tracks people and writes MOTChallenge "
                          "tracks and AlphaPose-style poses, the inputs of fit --tracks; --no-features writes "
                          "only those.",
                          "A finished video is skipped when run again (its file is complete and of the right "
                          "shape); files are written whole or not at all, so an interrupted run resumes."),
        epilog=EXTRACT_HELP)
    extract.add_argument("videos", nargs="+", type=Path, metavar="VIDEO_OR_FOLDER",
                         help="video files, or folders of them (.mp4, .avi, .mkv, .mov, ...; not searched deeper)")
    extract.add_argument("--out", type=Path, required=True, metavar="DIR",
                         help="folder for the feature files, tracks/, poses/ and videos.csv")
    extract.add_argument("--extractor", metavar="SPEC|tiny",
                         help="TorchScript file, package.module:callable, or tiny (untrained, for trials); "
                              "required unless --no-features")
    extract.add_argument("--crops", type=int, choices=(10, 1), default=10,
                         help="10 (default): corners, centre and mirror images, (T, 10, D); 1: centre, (T, D)")
    extract.add_argument("--batch-size", type=_positive_int, default=20, metavar="N",
                         help="clips per call of the extractor (default 20); memory grows with it")
    extract.add_argument("--mean", type=_rgb_triple, default=(0.45, 0.45, 0.45), metavar="R,G,B",
                         help="per-channel mean of RGB in [0, 1] (default 0.45,0.45,0.45)")
    extract.add_argument("--std", type=_rgb_triple, default=(0.225, 0.225, 0.225), metavar="R,G,B",
                         help="per-channel standard deviation (default 0.225,0.225,0.225)")
    _add_people_options(extract)
    extract.add_argument("--no-resume", action="store_true", help="extract every video again, even finished ones")
    extract.add_argument("--quiet", action="store_true",
                         help="no progress (by default: a bar on a terminal, one line per video on stderr otherwise)")
    _add_runtime(extract)


def _add_people_options(extract) -> None:
    people = extract.add_argument_group("person tracks and poses (below)")
    people.add_argument("--tracks", action="store_true",
                        help="also write person tracks, DIR/tracks/<video>.txt (MOTChallenge)")
    people.add_argument("--poses", action="store_true",
                        help="also write poses, DIR/poses/<video>_alphapose_tracked_person.json (and the tracks)")
    people.add_argument("--no-features", action="store_true",
                        help="write no feature file, only the tracks (and poses) and DIR/videos.csv")
    people.add_argument("--detector", metavar="motion|SPEC",
                        help="person detector for --tracks or --poses: motion (default, static camera, training "
                             "free) or package.module:callable")
    people.add_argument("--tracker", metavar="bytetrack|sort|SPEC",
                        help="tracker for --tracks or --poses: bytetrack (default) or sort (unsupvad[tracking]), "
                             "or package.module:callable")
    people.add_argument("--pose", metavar="silhouette|SPEC",
                        help="pose estimator, implies --poses: silhouette (default, a crude stand-in, not a pose "
                             "model) or package.module:callable")


def _add_fit(sub) -> None:
    from ..models import list_models

    fit = sub.add_parser(
        "fit", formatter_class=_Formatter, help="fit a model on your videos without labels and save it",
        description=_wrap("Fit InterleavedVAD on videos without any label and save it as a model file.",
                          "Models: --wocc stgnf (STG-NF) reads the tracks, --wocc feature_ae the features; the WS "
                          "model (--ws rtfm or mil) reads the features. With --tracks alone the WS reads motion "
                          "features computed from the tracks (unsupvad.TrackSnippetFeatures, standardised on the "
                          "training videos, saved in the model); with --features alone the wOCC is feature_ae; "
                          "with both, STG-NF reads the tracks and the WS the feature files (same video names)."),
        epilog=INPUT_HELP + "\n" + MODEL_HELP)
    _add_inputs(fit, positional=False)
    fit.add_argument("--out", type=Path, required=True, metavar="MODEL", help=f"model file to write ({MODEL_SUFFIX})")
    fit.add_argument("--wocc", choices=list_models("wocc"), help="one-class model, any registered one (default: "
                     "stgnf with --tracks, feature_ae with --features alone)")
    fit.add_argument("--ws", choices=list_models("ws"), default="rtfm",
                     help="weakly-supervised model, any registered one (default rtfm)")
    fit.add_argument("--preset", choices=("paper", "small"), default="paper",
                     help="paper (default): the models' defaults, the paper's sizes; on 2 CPU cores 16 videos "
                          "(930 snippets) fit in about 40 s, the 238 ShanghaiTech training videos (11,000 "
                          "snippets) in about 8 min; small: the demo's fast settings, about 20 s and 2 min "
                          "(benchmarks/cli_fit_cost.py). The progress lines bound the time left")
    fit.add_argument("--initial-ratio", type=_ratio, default=0.15, metavar="R",
                     help="R, the first share of snippets pseudo-labelled abnormal (default 0.15)")
    fit.add_argument("--max-modules", type=_positive_int, default=6, metavar="N", help="most modules (default 6)")
    fit.add_argument("--module-steps", type=_module_steps, default="auto", metavar="auto|N",
                     help="steps per module: auto (until the soft labels settle) or a number (default auto)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fit.add_argument("--verbose", action="store_true", help="every step's full record instead of the progress")
    fit.add_argument("--quiet", action="store_true",
                     help="no progress (by default: a bar on a terminal, one line per step on stderr otherwise)")
    _add_runtime(fit)


def _add_score(sub) -> None:
    score = sub.add_parser(
        "score", formatter_class=_Formatter, help="frame anomaly scores of videos, as a CSV",
        description=_wrap("Score videos with a saved model: one row per frame, video,frame,score, frame 0-based, "
                          "higher score = more abnormal. Give the same kind of input the model was fitted on."),
        epilog=INPUT_HELP + "\n" + OUTPUT_HELP)
    score.add_argument("model", type=Path, metavar="MODEL", help="model file written by 'unsupvad fit'")
    _add_inputs(score, positional=True)
    score.add_argument("--out", type=Path, required=True, metavar="CSV", help="score file to write")
    score.add_argument("--scorer", choices=("ws", "wocc"), help="which fitted model scores (default: the "
                       "model's own, ws)")
    score.add_argument("--objects", type=Path, metavar="CSV", help="also write who is abnormal: one row per "
                       "detection (track and frame) with its box and score (format below)")
    score.add_argument("--plot", type=Path, metavar="DIR", help="also save one PNG of scores per video here")
    score.add_argument("--gt", type=Path, metavar="DIR", help="frame masks to shade in the plots (not used for "
                       "scoring)")
    _add_runtime(score)


def _add_evaluate(sub) -> None:
    evaluate = sub.add_parser(
        "evaluate", formatter_class=_Formatter, help="frame AUC, AP and EER of a score file",
        description=_wrap("Evaluate a score file against frame masks: micro (all frames together) and macro "
                          "(mean over videos with both classes) frame AUC, micro AP and EER. Every video of the "
                          "scores needs a mask of the same length, and every mask a video (unless --scored-only)."),
        epilog=OUTPUT_HELP)
    evaluate.add_argument("scores", type=Path, metavar="SCORES", help="CSV written by 'unsupvad score'")
    evaluate.add_argument("--gt", type=Path, required=True, metavar="DIR", help="folder of <video>.npy masks")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the metrics as JSON")
    evaluate.add_argument("--scored-only", action="store_true",
                          help="evaluate the videos the file scores, leaving out masks of other videos")


def _add_plot(sub) -> None:
    plot = sub.add_parser(
        "plot", formatter_class=_Formatter, help="training history plots of a saved model",
        description=_wrap("Draw a fitted model's training: T_ws per module (a star where the stopping rule fired) "
                          "and the wOCC and WS losses of every step. Writes training_history.png, thresholds.png "
                          "and training_losses.png (needs matplotlib)."))
    plot.add_argument("model", type=Path, metavar="MODEL", help="model file written by 'unsupvad fit'")
    plot.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the images")



def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole frame index, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"frame indices are 0-based, got {value}")
    return value


def _add_overlay(sub) -> None:
    overlay = sub.add_parser(
        "overlay", formatter_class=_Formatter, help="who was abnormal, where: scored boxes on a video's frames",
        description=_wrap("Draw the people of one video, as 'unsupvad score --objects' scored them, on the video "
                          "file's frames: each box coloured by its score on one ramp for the whole video (blue = "
                          "its lowest, grey half way, red = its highest, black = no score). A .png output is one "
                          "frame (default: the frame of the video's most abnormal detection); any other suffix "
                          "(.mp4, .mkv) a short video of --start..--stop. Needs unsupvad[video]."),
        epilog="example:\n"
               "  unsupvad score model.uvad tracks/ --frames videos.csv --out scores.csv --objects people.csv\n"
               "  unsupvad overlay videos/01_0014.avi --objects people.csv --out 01_0014.png\n"
               "  unsupvad overlay videos/01_0014.avi --objects people.csv --out 01_0014.mp4 --start 100 --stop 300\n")
    overlay.add_argument("video_file", type=Path, metavar="VIDEO_FILE", help="the video the detections are of")
    overlay.add_argument("--objects", type=Path, required=True, metavar="CSV",
                         help="the table of 'unsupvad score --objects' (frame 0-based)")
    overlay.add_argument("--out", type=Path, required=True, metavar="FILE", help=".png (one frame) or a video file")
    overlay.add_argument("--video", metavar="NAME", help="the video's name in the table (default: the file name "
                         "without suffix)")
    overlay.add_argument("--frame", type=_non_negative_int, metavar="N", help="the 0-based frame of a .png")
    overlay.add_argument("--start", type=_non_negative_int, metavar="N", help="first frame of a video (default 0)")
    overlay.add_argument("--stop", type=_non_negative_int, metavar="N",
                         help="one past the last frame of a video (default: the end)")
    overlay.add_argument("--line-width", type=_positive_int, default=2, metavar="PX", help="box outline (default 2)")
