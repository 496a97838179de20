"""The README's command-line block runs as written, on files laid out as it names them."""

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
from _helpers import write_mot

from unsupvad import cli
from unsupvad.datasets import make_synthetic_videos

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(heading: str) -> list[str]:
    """The commands of the first ```bash block after ``heading``, comments dropped."""
    text = README.read_text()
    section = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    return [c for c in commands if c]


def write_user_files(root: Path) -> None:
    """What the README's commands read: tracks/, videos.csv with a split column, gt/test/."""
    X = make_synthetic_videos(9, n_frames=(160, 240), tracks="boxes", features=False, random_state=5)
    (root / "tracks").mkdir()
    (root / "gt" / "test").mkdir(parents=True)
    rows = []
    for i, video in enumerate(X.videos):
        split = "train" if i < 6 else "test"
        write_mot(video, root / "tracks" / f"{video.name}.txt")
        rows.append({"video": video.name, "split": split, "n_frames": video.n_frames,
                     "width": video.frame_size[0], "height": video.frame_size[1], "fps": video.fps})
        if split == "test":
            np.save(root / "gt" / "test" / f"{video.name}.npy", video.labels)
    pd.DataFrame(rows).to_csv(root / "videos.csv", index=False)


def test_the_readme_command_line_block_runs_as_written(tmp_path, monkeypatch, capsys):
    commands = readme_block("## On the command line")
    assert [shlex.split(c)[:2] for c in commands] == [
        ["unsupvad", "demo"], ["unsupvad", "fit"], ["unsupvad", "score"], ["unsupvad", "evaluate"],
        ["unsupvad", "plot"]]
    write_user_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        status = cli.main(shlex.split(command)[1:])
        out, err = capsys.readouterr()
        assert status == 0, f"{command}\n{err}"
    report = json.loads((tmp_path / "demo" / "demo_report.json").read_text())
    assert report["data"]["test_videos"] == 20 and (tmp_path / "demo" / "demo_scores.png").stat().st_size > 0
    assert (tmp_path / "model.uvad").is_file()
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["video"].nunique() == 3
    people = pd.read_csv(tmp_path / "people.csv")
    assert list(people.columns) == ["video", "frame", "track_id", "left", "top", "width", "height", "score"]
    pngs = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert {"training_history.png", "thresholds.png", "training_losses.png"} <= pngs and len(pngs) == 3 + 3
    assert cli.main(shlex.split(commands[3])[1:]) == 0  # evaluate, again, to read what it prints
    assert "micro AUC" in capsys.readouterr().out


def test_the_readme_set_up_commands_install_what_the_tests_and_the_demo_need():
    """The two set-up commands: a venv, torch's CPU wheel, the package (with the test extra), then the job."""
    main_job, tests = readme_block("## Two commands")
    assert main_job.endswith("&& .venv/bin/unsupvad demo")
    assert ".venv/bin/pip install torch==" in main_job and ".venv/bin/pip install -e ." in main_job
    assert '.venv/bin/pip install -e ".[test]"' in tests and tests.endswith(".venv/bin/python -m pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest" in ci


def test_the_readme_video_block_names_commands_and_options_that_exist():
    """Parsed, not run (it needs your extractor and videos): the same commands run on generated footage in
    ``tests/test_examples.py`` (``examples/from_video.py``) and ``tests/test_video_people.py``."""
    commands = readme_block("From video files")
    assert [shlex.split(c)[1] for c in commands] == ["extract", "fit", "score", "overlay"]
    parser = cli.build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert args.command == shlex.split(command)[1]
