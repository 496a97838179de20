"""Plots of frame scores and of the interleaved training, checked on their artists and images."""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

import unsupvad.plotting as plotting  # noqa: E402
from unsupvad.datasets import make_synthetic_videos  # noqa: E402
from unsupvad.plotting import (  # noqa: E402
    TrainingHistoryDisplay,
    VideoScoreDisplay,
    plot_roc,
    plot_thresholds,
    plot_training_losses,
    plot_video_scores,
    save_video_plots,
    scorer_label,
)

# module -> (T_ws, number of steps)
MODULES = {1: (120, 3), 2: (70, 2), 3: (64, 2)}


def make_history(with_val=True, with_losses=True):
    """A history as InterleavedVAD writes it: one dict per step."""
    history = []
    for module, (threshold, n_steps) in MODULES.items():
        for step in range(1, n_steps + 1):
            record = {"module": module, "step": step, "threshold": threshold, "n_positive": threshold,
                      "weight_change": 0.1 / step, "wocc_seconds": 0.5, "ws_seconds": 0.2}
            if with_losses:
                record["wocc_loss"] = 10.0 * module - step
                record["ws_loss"] = 0.7 / (module + step)
            if with_val:
                record["val_ws_auc"] = 0.6 + 0.1 * module + 0.01 * step
            history.append(record)
    return history


class FittedStub:
    """What plotting reads from a fitted InterleavedVAD."""

    def __init__(self, history, thresholds, termination_condition="converged"):
        self.history_ = history
        self.thresholds_ = thresholds
        self.termination_condition_ = termination_condition

    def fit(self, X, y=None):
        return self


class ScoresFromLabels:
    """A 'fitted' estimator whose frame scores are the labels plus noise."""

    def score_frames(self, X):
        rng = np.random.default_rng(0)
        return [v.labels + 0.3 * rng.random(v.n_frames) for v in X.videos]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def videos():
    with warnings.catch_warnings():
        # such short videos cannot all hold an event: the generator says so, which is fine here
        warnings.simplefilter("ignore", UserWarning)
        return make_synthetic_videos(3, n_frames=(64, 96), tracks=None, random_state=0)


def assert_real_image(path: Path, min_bytes=5_000):
    assert path.is_file() and path.stat().st_size > min_bytes
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert np.ptp(pixels[..., :3]) > 0.5  # drawn, not a blank canvas


def vertical_lines(ax):
    return [line for line in ax.lines if np.ptp(np.asarray(line.get_xdata(), dtype=float)) == 0
            and len(line.get_xdata()) == 2]


# ---------------------------------------------------------------------- architecture
# unsupvad.plotting and the private modules that hold its code
PLOTTING_MODULES = ("plotting", "_plot_history", "_plot_matplotlib", "_plot_people", "_plot_video")


def test_every_plotting_module_is_checked():
    package = Path(plotting.__file__).parent
    assert sorted(path.stem for path in package.glob("_plot*.py")) == sorted(PLOTTING_MODULES[1:])


@pytest.mark.parametrize("name", PLOTTING_MODULES)
def test_imports_only_the_allowed_layers(name):
    module = importlib.import_module(f"unsupvad.{name}")
    tree = ast.parse(Path(module.__file__).read_text())
    allowed = {"__future__", "re", "collections", "numbers", "pathlib", "numpy", "pandas", "sklearn",
               "matplotlib"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {alias.name.split(".")[0] for alias in node.names} <= allowed
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.level == 1 and node.module in {"metrics", "_frame_values", *PLOTTING_MODULES}, (
                    "plotting may only import unsupvad.metrics, the checks of frame values and its own modules"
                )
                assert not any(alias.name.startswith("_") for alias in node.names if node.module == "metrics"), (
                    "plotting uses only the public names of unsupvad.metrics"
                )
            else:
                assert node.module.split(".")[0] in allowed, node.module


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "unsupvad\[plot\]"'):
        plot_video_scores([0.1, 0.2, 0.3])
    with pytest.raises(ImportError, match="unsupvad"):
        plot_thresholds(make_history())


# ---------------------------------------------------------------------- one video
def test_video_scores_line_spans_and_threshold():
    scores = np.linspace(0.0, 1.0, 50)
    labels = np.zeros(50, dtype=int)
    labels[5:9] = 1
    labels[20] = 1
    labels[45:] = 1
    ax = plot_video_scores(scores, labels, threshold=0.4, title="clip")
    (score_line,) = [line for line in ax.lines if line.get_label() == "anomaly score"]
    np.testing.assert_array_equal(score_line.get_ydata(), scores)
    np.testing.assert_array_equal(score_line.get_xdata(), np.arange(50))
    assert len(ax.patches) == 3
    assert ax.get_title() == "clip"
    (threshold_line,) = [line for line in ax.lines if line.get_label() == "threshold"]
    np.testing.assert_array_equal(threshold_line.get_ydata(), [0.4, 0.4])
    assert ax.get_xlabel() == "frame"


def test_default_title_names_video_scorer_and_its_auc():
    labels = np.r_[np.zeros(6, dtype=int), np.ones(4, dtype=int)]
    scores = np.r_[0.1, 0.5, 0.2, 0.3, 0.1, 0.2, 0.4, 0.9, 0.8, 0.7]
    display = VideoScoreDisplay.from_predictions(scores, labels, video_name="01_0025", scorer="WS (RTFM)")
    assert display.auc_ == pytest.approx(roc_auc_score(labels, scores))
    assert display.ax_.get_title() == f"01_0025 · WS (RTFM) · frame AUC {display.auc_:.3f}"
    normal = VideoScoreDisplay.from_predictions(scores, np.zeros(10, dtype=int), video_name="v", scorer="wOCC (STGNF)")
    assert normal.auc_ is None
    assert normal.ax_.get_title() == "v · wOCC (STGNF) · no abnormal frame"
    assert VideoScoreDisplay(scores).default_title() is None
    assert plot_video_scores(scores, labels).get_title() == f"frame AUC {display.auc_:.3f}"
    assert plot_video_scores(scores, labels, title="").get_title() == ""


def _pixel_box(artist, renderer):
    box = artist.get_window_extent(renderer)
    return box.x0, box.y0, box.x1, box.y1


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_legend_and_title_cover_neither_the_curve_nor_each_other():
    labels = np.r_[np.zeros(300, dtype=int), np.ones(100, dtype=int)]
    display = VideoScoreDisplay.from_predictions(np.linspace(0, 1, 400), labels, video_name="a long video name_0001",
                                                 scorer="wOCC (STGNF)", threshold=0.5)
    figure = display.figure_
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes_box = _pixel_box(display.ax_, renderer)
    legend_box = _pixel_box(display.ax_.get_legend(), renderer)
    title_box = _pixel_box(display.ax_.title, renderer)
    figure_box = (0, 0, *figure.canvas.get_width_height())
    assert not _overlap(legend_box, axes_box)
    assert not _overlap(legend_box, title_box)
    for box in (legend_box, title_box):  # nothing cut off at the figure's edge
        assert figure_box[0] <= box[0] and box[2] <= figure_box[2] and box[3] <= figure_box[3]


def test_legend_can_be_left_to_the_figure():
    ax = plot_video_scores([0.1, 0.4, 0.2], [0, 1, 0], legend=False)
    assert ax.get_legend() is None


def test_scorer_label_names_the_scoring_model():
    class Interleaved:
        scorer = "ws"
        ws_, wocc_ = ScoresFromLabels(), object()

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    assert scorer_label(Interleaved()) == "WS (ScoresFromLabels)"
    wocc = Interleaved()
    wocc.scorer = "wocc"
    assert scorer_label(wocc) == "wOCC (object)"
    assert scorer_label(make_pipeline(FunctionTransformer(), Interleaved())) == "WS (ScoresFromLabels)"
    assert scorer_label(ScoresFromLabels()) == "ScoresFromLabels"


def test_spans_cover_exactly_their_frames_in_seconds():
    labels = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    display = VideoScoreDisplay.from_predictions(np.ones(10), labels, fps=2.0)
    extents = [(span.get_x(), span.get_x() + span.get_width()) for span in display.spans_]
    np.testing.assert_allclose(extents, [(0.25, 1.25), (2.25, 2.75)])
    np.testing.assert_allclose(display.line_.get_xdata(), np.arange(10) / 2.0)
    assert display.ax_.get_xlabel() == "time (s)"
    assert display.figure_ is display.ax_.figure
    assert display.threshold_line_ is None


def test_without_labels_nothing_is_shaded():
    fig, ax = plt.subplots()
    assert plot_video_scores([0.2, 0.9, 0.1], ax=ax) is ax
    assert len(ax.patches) == 0


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        ([], None, "empty"),
        ([0.1, np.nan, 0.3], None, "NaN"),
        ([0.1, 0.2, 0.3], [0, 1], "3 frames but labels has 2"),
        ([0.1, 0.2, 0.3], [0, 2, 0], "0 .normal. or 1"),
        (np.ones((2, 3)), None, "1-D"),
    ],
)
def test_bad_video_inputs(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        plot_video_scores(scores, labels)


@pytest.mark.parametrize("fps", [0, -24, float("nan"), "24"])
def test_bad_fps(fps):
    with pytest.raises(ValueError, match="fps must be a positive number"):
        plot_video_scores([0.1, 0.2], fps=fps)


def test_bad_threshold():
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        plot_video_scores([0.1, 0.2], threshold=np.inf)


def test_from_estimator_on_synthetic_videos(videos):
    index = next(i for i, video in enumerate(videos.videos) if video.labels.any())
    name, labels = videos.names[index], videos.videos[index].labels
    display = VideoScoreDisplay.from_estimator(ScoresFromLabels(), videos, name, threshold=0.5)
    expected = ScoresFromLabels().score_frames(videos)[index]
    np.testing.assert_allclose(display.line_.get_ydata(), expected)
    n_intervals = int(np.sum(np.diff(np.r_[0, labels.astype(int), 0]) == 1))
    assert len(display.spans_) == n_intervals >= 1
    assert display.ax_.get_title() == f"{name} · ScoresFromLabels · frame AUC 1.000"
    fps = videos.videos[index].fps
    if fps:  # the video's own frame rate is the default
        assert display.line_.get_xdata()[-1] == pytest.approx((len(expected) - 1) / fps)
    by_index = VideoScoreDisplay.from_estimator(ScoresFromLabels(), videos, index)
    np.testing.assert_array_equal(by_index.line_.get_ydata(), display.line_.get_ydata())


def test_from_estimator_bad_video(videos):
    with pytest.raises(ValueError, match="no video named 'nope'"):
        VideoScoreDisplay.from_estimator(ScoresFromLabels(), videos, "nope")
    with pytest.raises(ValueError, match="out of range"):
        VideoScoreDisplay.from_estimator(ScoresFromLabels(), videos, 3)
    with pytest.raises(TypeError, match="score_frames"):
        VideoScoreDisplay.from_estimator(object(), videos, 0)


def test_from_estimator_counts_the_videos(videos):
    class TooFew:
        def score_frames(self, X):
            return [np.zeros(v.n_frames) for v in X.videos[:-1]]

    with pytest.raises(ValueError, match="scored 2 videos, X holds 3"):
        VideoScoreDisplay.from_estimator(TooFew(), videos, 0)


# ---------------------------------------------------------------------- save_video_plots
def test_save_video_plots_writes_one_image_per_video(tmp_path, videos):
    scores = ScoresFromLabels().score_frames(videos)
    open_before = plt.get_fignums()
    out = tmp_path / "plots" / "nested"
    paths = save_video_plots(scores, out, names=videos.names, labels=videos.frame_labels(), fps=24)
    assert paths == [out / f"{name}.png" for name in videos.names]
    for path in paths:
        assert_real_image(path)
    assert plt.get_fignums() == open_before  # nothing left open


def test_save_video_plots_default_names_and_unlabelled(tmp_path):
    rng = np.random.default_rng(1)
    paths = save_video_plots([rng.random(40), rng.random(30)], tmp_path, labels=[np.r_[np.zeros(30), np.ones(10)],
                                                                                None])
    assert [p.name for p in paths] == ["video_000.png", "video_001.png"]
    for path in paths:
        assert_real_image(path)
    (single,) = save_video_plots(rng.random(20), tmp_path / "one", labels=np.r_[np.zeros(10), np.ones(10)])
    assert single.name == "video_000.png"


def test_save_video_plots_errors(tmp_path):
    with pytest.raises(ValueError, match="names has 1 entries for 2 videos"):
        save_video_plots([np.ones(5), np.ones(5)], tmp_path, names=["a"])
    with pytest.raises(ValueError, match="would be saved as 'a_b.png'"):
        save_video_plots([np.ones(5), np.ones(5)], tmp_path, names=["a/b", "a b"])
    with pytest.raises(ValueError, match="labels has 1 entries for 2 videos"):
        save_video_plots([np.ones(5), np.ones(5)], tmp_path, labels=[np.zeros(5)])
    with pytest.raises(ValueError, match="NaN"):
        save_video_plots([np.ones(5), np.r_[1.0, np.nan]], tmp_path / "never")
    assert not (tmp_path / "never").exists()  # inputs are checked before anything is written


# ---------------------------------------------------------------------- ROC
def test_roc_concatenates_videos_and_shows_auc():
    rng = np.random.default_rng(0)
    labels = [np.r_[np.zeros(30), np.ones(10)], np.zeros(25), np.r_[np.ones(5), np.zeros(20)]]
    scores = [lab + rng.normal(0, 0.8, len(lab)) for lab in labels]
    expected = roc_auc_score(np.concatenate(labels), np.concatenate(scores))
    assert 0.6 < expected < 0.99
    ax = plot_roc(labels, scores, name="RTFM")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == f"RTFM (AUC = {expected:.3f})"
    curve = ax.lines[0]
    assert curve.get_xdata()[0] == 0 and curve.get_xdata()[-1] == 1
    single = plot_roc(labels[0], scores[0])
    assert single.get_legend().get_texts()[0].get_text().startswith("AUC = ")


@pytest.mark.parametrize(
    "labels, scores, match",
    [
        ([np.zeros(3)], [np.ones(4)], "3 frame labels but 4 frame scores"),
        ([np.zeros(4)], [np.ones(4)], "all 4 frames are normal"),
        ([np.array([0, 1])], [np.array([0.1, np.nan])], "NaN"),
        ([np.array([0, 1])], [np.array([0.1, 0.2]), np.array([0.3])], "has 1 videos but .* has 2"),
        (np.array([]), np.array([]), "no frame"),
    ],
)
def test_roc_bad_inputs(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        plot_roc(labels, scores)


# ---------------------------------------------------------------------- thresholds (Fig. 4)
def test_thresholds_from_estimator_with_star_and_validation_panel():
    history = make_history()
    estimator = FittedStub(history, [120, 70, 64], "converged")
    axes = plot_thresholds(estimator)
    assert isinstance(axes, np.ndarray) and len(axes) == 2
    threshold_ax, metric_ax = axes
    curve = threshold_ax.lines[0]
    np.testing.assert_array_equal(curve.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(curve.get_ydata(), [120, 70, 64])
    (star,) = [line for line in threshold_ax.lines if line.get_marker() == "*"]
    np.testing.assert_array_equal(star.get_xdata(), [3])
    np.testing.assert_array_equal(star.get_ydata(), [64])
    (metric,) = metric_ax.lines
    assert metric.get_label() == "val_ws_auc"
    means = pd.DataFrame(history).groupby("module")["val_ws_auc"].mean().to_numpy()
    np.testing.assert_allclose(metric.get_ydata(), means)
    assert threshold_ax.figure is metric_ax.figure


def test_thresholds_prefers_thresholds_attribute_and_no_star_when_not_converged():
    estimator = FittedStub(make_history(with_val=False), [500, 300, 200], "max_modules")
    ax = plot_thresholds(estimator)
    assert not isinstance(ax, np.ndarray)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [500, 300, 200])
    assert not [line for line in ax.lines if line.get_marker() == "*"]


def test_thresholds_from_a_plain_history_and_a_twin_axis():
    fig, ax = plt.subplots()
    threshold_ax, metric_ax = plot_thresholds(make_history(), ax=ax)
    assert threshold_ax is ax and metric_ax is not ax
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [120, 70, 64])
    assert metric_ax.lines[0].get_label() == "val_ws_auc"
    assert len(fig.axes) == 2
    _, (top, bottom) = plt.subplots(2, 1)
    assert list(plot_thresholds(pd.DataFrame(make_history()), ax=[top, bottom])) == [top, bottom]


def test_thresholds_without_the_needed_keys():
    history = [{k: v for k, v in record.items() if k != "threshold"} for record in make_history()]
    with pytest.raises(ValueError, match="no 'threshold'.*its keys are"):
        plot_thresholds(history)
    with pytest.raises(ValueError, match="empty"):
        plot_thresholds([])
    with pytest.raises(ValueError, match="entry 1 is a list"):
        plot_thresholds([{"module": 1, "threshold": 3}, [1, 3]])
    with pytest.raises(NotFittedError, match="not fitted"):
        plot_thresholds(type("Unfitted", (), {"fit": lambda self: self})())
    with pytest.raises(ValueError, match="finite"):
        plot_thresholds(FittedStub(None, [10, np.nan]))


# ---------------------------------------------------------------------- losses (Fig. 6)
def test_training_losses_per_step_with_module_boundaries():
    history = make_history()
    ax = plot_training_losses(FittedStub(history, [120, 70, 64]))
    (wocc,) = [line for line in ax.lines if line.get_label() == "wocc_loss"]
    n_steps = sum(n for _, n in MODULES.values())
    np.testing.assert_array_equal(wocc.get_xdata(), np.arange(1, n_steps + 1))
    np.testing.assert_allclose(wocc.get_ydata(), [r["wocc_loss"] for r in history])
    boundaries = vertical_lines(ax)
    assert len(boundaries) == len(MODULES) - 1
    np.testing.assert_allclose(sorted(line.get_xdata()[0] for line in boundaries), [3.5, 5.5])
    twins = [other for other in ax.figure.axes if other is not ax]
    (ws,) = [line for twin in twins for line in twin.lines if line.get_label() == "ws_loss"]
    np.testing.assert_allclose(ws.get_ydata(), [r["ws_loss"] for r in history])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["wocc_loss", "ws_loss"]


def test_training_losses_with_one_loss_uses_one_axis():
    history = [{k: v for k, v in r.items() if k != "ws_loss"} for r in make_history()]
    fig, ax = plt.subplots()
    plot_training_losses(history, ax=ax)
    assert len(fig.axes) == 1


def test_training_losses_errors():
    with pytest.raises(ValueError, match="neither 'wocc_loss' nor 'ws_loss'"):
        plot_training_losses(make_history(with_losses=False))
    no_module = [{k: v for k, v in r.items() if k != "module"} for r in make_history()]
    with pytest.raises(ValueError, match="no 'module'"):
        plot_training_losses(no_module)
    with pytest.raises(ValueError, match="no history_"):
        plot_training_losses(FittedStub(None, [3, 2]))
    bad = make_history()
    bad[2]["wocc_loss"] = "oops"
    with pytest.raises(ValueError, match="'wocc_loss' must hold numbers"):
        plot_training_losses(bad)


# ---------------------------------------------------------------------- TrainingHistoryDisplay
def test_training_history_display_draws_all_panels(tmp_path):
    display = TrainingHistoryDisplay.from_estimator(FittedStub(make_history(), [120, 70, 64]))
    assert len(display.axes_) == 3
    assert display.threshold_ax_ is display.axes_[0]
    assert display.metric_ax_ is display.axes_[1] and display.loss_ax_ is display.axes_[2]
    np.testing.assert_array_equal(display.threshold_ax_.lines[0].get_ydata(), [120, 70, 64])
    assert any(line.get_marker() == "*" for line in display.threshold_ax_.lines)
    assert len(vertical_lines(display.loss_ax_)) == len(MODULES) - 1
    path = tmp_path / "history.png"
    display.figure_.savefig(path)
    assert_real_image(path)


def test_training_history_display_skips_missing_panels():
    display = TrainingHistoryDisplay(make_history(with_val=False, with_losses=False)).plot()
    assert len(display.axes_) == 1
    assert display.metric_ax_ is None and display.loss_ax_ is None
    assert not any(line.get_marker() == "*" for line in display.threshold_ax_.lines)
    np.testing.assert_array_equal(display.threshold_ax_.lines[0].get_ydata(), [120, 70, 64])


# ---------------------------------------------------------------------- people
def _boxes_video():
    frames = np.r_[np.arange(5), np.arange(5)]
    ids = np.r_[np.zeros(5, int), np.ones(5, int)]
    boxes = np.c_[np.r_[np.arange(5) * 10.0, 50 - np.arange(5) * 10.0], np.full(10, 20.0), np.full(10, 5.0),
                  np.full(10, 10.0)]
    from unsupvad import Tracks, Video

    return Video("v", 8, tracks=Tracks.from_boxes(frames, ids, boxes), frame_size=(100, 60))


def test_plot_detections_paths_and_one_frame():
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    video = _boxes_video()
    scores = np.r_[np.linspace(0, 1, 5), np.full(4, 2.0), np.nan]
    ax = plotting.plot_detections(video, scores)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines.get_segments()) == 8  # 4 steps per track of 5 detections
    assert ax.get_xlim() == (0, 100) and ax.get_ylim() == (60, 0)  # image axes, y down
    assert ax.get_title() == "v"
    boxes = plotting.plot_detections(video, scores, frame=4)
    rects = [p for p in boxes.patches if isinstance(p, Rectangle)]
    assert len(rects) == 2 and sorted(r.get_x() for r in rects) == [10.0, 40.0]
    assert boxes.get_title() == "v · frame 4"
    assert sorted(t.get_text() for t in boxes.texts) == ["0", "1"]


def test_plot_detections_bad_inputs():
    video = _boxes_video()
    with pytest.raises(ValueError, match="one score per detection"):
        plotting.plot_detections(video, np.zeros(3))
    with pytest.raises(ValueError, match="outside video 'v'"):
        plotting.plot_detections(video, np.zeros(10), frame=8)
