"""The README's main job: ``unsupvad demo``, run as a user would (a subprocess)."""

import json
import subprocess
import sys


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "unsupvad", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_demo_reports_metrics(tmp_path):
    result = _run("demo", "--videos", "9", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "micro AUC" in result.stdout
    report = json.loads((tmp_path / "demo_report.json").read_text())
    assert 0.5 < report["speed_heuristic"]["micro_auc"] <= 1.0
    assert report["data"]["test_videos"] == 3


def test_bad_argument_gives_one_line_and_nonzero_exit():
    result = _run("demo", "--videos", "0")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "n_videos" in result.stderr
