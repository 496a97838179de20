"""Peak memory of ``unsupvad.video.extract_features`` on long videos: bounded by a chunk, not by the video.

For each length (default 1 and 10 minutes at 25 fps, 320x240), a generated
video (a moving square on noise, encoded frame by frame with MPEG-4, so the
generator itself never holds the video) is written to a temporary folder; a
fresh subprocess then extracts its features with the I3D recipe (shorter
side 256, 10 crops of 224) and the untrained ``TinyClipNet`` (the network's
size does not matter here: the question is what decoding and preprocessing
keep in memory), and reports its peak resident set size (``ru_maxrss``) and
the time. A video ten times as long should need about the same memory.

    python benchmarks/extract_memory.py [--minutes 1 10] [--crops 10] [--threads 2]

Writes ``benchmarks/results/extract_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "extract_memory.json"
FPS, WIDTH, HEIGHT = 25, 320, 240


def write_long_video(path: Path, n_frames: int, seed: int = 0) -> None:
    """A moving white square on grey noise, encoded one frame at a time (never the whole video in memory)."""
    import av

    rng = np.random.default_rng(seed)
    noise = rng.integers(60, 120, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(n_frames):
            frame = noise.copy()
            x, y = (5 * i) % (WIDTH - 40), (3 * i) % (HEIGHT - 40)
            frame[y: y + 40, x: x + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def worker(video: Path, out: Path, crops: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from unsupvad.video import TinyClipNet, extract_features

    tic = time.perf_counter()
    records = extract_features([video], out, TinyClipNet(), crops=crops, resume=False)
    return {"n_frames": records[0].n_frames, "feature_shape": list(records[0].shape),
            "seconds": time.perf_counter() - tic,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--crops", type=int, choices=[1, 10], default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--worker", nargs=2, type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(*args.worker, args.crops, args.threads)))
        return {}

    root = Path(tempfile.mkdtemp(prefix="unsupvad_extract_memory_"))
    runs, tic = [], time.perf_counter()
    try:
        for minutes in args.minutes:
            video = root / f"generated_{minutes:g}min.avi"
            write_long_video(video, int(round(minutes * 60 * FPS)))
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            done = subprocess.run([sys.executable, __file__, "--worker", str(video), str(root / "features"),
                                   "--crops", str(args.crops), "--threads", str(args.threads)],
                                  env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"extraction of {video.name} failed:\n{done.stderr[-3000:]}")
            runs.append({"minutes": minutes, "file_bytes": video.stat().st_size,
                         **json.loads(done.stdout.strip().splitlines()[-1])})
            print(json.dumps(runs[-1]), flush=True)
            video.unlink()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "benchmark": "extract_features peak memory against the video length (I3D recipe, TinyClipNet)",
        "video": {"fps": FPS, "width": WIDTH, "height": HEIGHT, "codec": "mpeg4"},
        "runs": runs,
        "peak_rss_ratio_longest_to_shortest": runs[-1]["peak_rss_bytes"] / runs[0]["peak_rss_bytes"],
        "elapsed_seconds": round(time.perf_counter() - tic, 1),
        "command": "python benchmarks/extract_memory.py --minutes " + " ".join(f"{m:g}" for m in args.minutes)
                   + f" --crops {args.crops} --threads {args.threads}",
        "environment": {"python": platform.python_version(), "threads": args.threads},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    return result


if __name__ == "__main__":
    main()
