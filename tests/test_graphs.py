"""Graph layouts, hop distances and adjacency strategies."""

import numpy as np
import pytest

from unsupvad._video import Tracks
from unsupvad.datasets._layouts import coco17_to_openpose18
from unsupvad.models._graphs import (
    ADJACENCY_STRATEGIES,
    LAYOUTS,
    GraphLayout,
    adjacency,
    can_convert,
    default_layout,
    get_layout,
    hop_distance,
    is_uniform,
    layout_points,
    normalize_columns,
    register_layout,
    track_layout,
)


def test_openpose18_uniform_max_hop_8_is_one_eighteenth_everywhere():
    A = adjacency("openpose18", "uniform", max_hop=8)
    assert A.shape == (1, 18, 18)
    np.testing.assert_allclose(A, 1 / 18, rtol=0, atol=1e-8)
    assert is_uniform(A)
    assert not is_uniform(adjacency("openpose18", "uniform", max_hop=7))


def test_openpose18_graph_matches_stgnf():
    layout = get_layout("openpose18")
    assert layout.n_nodes == 18 and len(layout.edges) == 17 and layout.centre == 1
    hops = hop_distance(18, layout.edges, max_hop=50)
    assert hops.max() == 8
    assert {tuple(p) for p in np.argwhere(hops == 8)} == {(10, 13), (13, 10)}
    assert hops[11, 5] == 1 and hops[8, 2] == 1 and hops[8, 1] == 2  # hips join the shoulders


def test_hop_distance_basics():
    edges = ((0, 1), (1, 2), (2, 3))
    hops = hop_distance(4, edges, max_hop=2)
    np.testing.assert_array_equal(np.diag(hops), 0)
    np.testing.assert_array_equal(hops, hops.T)
    assert hops[0, 1] == 1 and hops[0, 2] == 2 and np.isinf(hops[0, 3])
    with pytest.raises(ValueError):
        hop_distance(4, edges, max_hop=-1)


def test_max_hop_zero_is_self_loops_only():
    for name in LAYOUTS:
        A = adjacency(name, "uniform", max_hop=0)
        np.testing.assert_allclose(A[0], np.eye(get_layout(name).n_nodes))


@pytest.mark.parametrize("name", ["openpose18", "coco17", "box2", "box5"])
@pytest.mark.parametrize("strategy", ADJACENCY_STRATEGIES)
def test_partitions_add_up_to_the_column_normalised_uniform_matrix(name, strategy):
    A = adjacency(name, strategy, max_hop=2)
    expected_k = {"uniform": 1, "distance": 3, "spatial": 5}[strategy]
    assert A.dtype == np.float32 and A.shape[0] == expected_k
    np.testing.assert_allclose(A.sum(axis=0), adjacency(name, "uniform", max_hop=2)[0], atol=1e-6)
    np.testing.assert_allclose(A.sum(axis=(0, 1)), 1.0, atol=1e-6)
    assert (A >= 0).all()


def test_distance_partitions_split_by_hop():
    A = adjacency("openpose18", "distance", max_hop=2)
    hops = hop_distance(18, get_layout("openpose18").edges, 2)
    for d in range(3):
        assert ((A[d] > 0) == (hops == d)).all()


def test_spatial_partitions_follow_distance_to_centre():
    layout = get_layout("openpose18")
    A = adjacency(layout, "spatial", max_hop=1)
    to_neck = hop_distance(18, layout.edges, 18)[:, 1]
    np.testing.assert_allclose(np.diag(A[0]) > 0, True)
    inward, outward = A[1] > 0, A[2] > 0
    for v, w in np.argwhere(inward):
        assert to_neck[v] <= to_neck[w]
    for v, w in np.argwhere(outward):
        assert to_neck[v] > to_neck[w]


def test_normalize_columns_keeps_empty_columns_zero():
    m = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(normalize_columns(m), [[0.5, 0.0], [0.5, 0.0]])


def test_box5_points_from_corners():
    corners = np.array([[[10.0, 20.0, 0.9], [30.0, 60.0, 0.7]]])
    pts = layout_points(corners, "box", "box5")
    np.testing.assert_allclose(pts[0, :, :2], [[10, 20], [30, 20], [10, 60], [30, 60], [20, 40]])
    np.testing.assert_allclose(pts[0, :, 2], 0.8)
    np.testing.assert_array_equal(layout_points(corners, "box", "box2"), corners)


def test_coco17_to_openpose18_conversion():
    pts = np.random.default_rng(0).normal(size=(3, 17, 3))
    np.testing.assert_allclose(layout_points(pts, "coco17", "openpose18"), coco17_to_openpose18(pts))
    assert can_convert("coco17", "openpose18") and not can_convert("openpose18", "coco17")
    with pytest.raises(ValueError, match="cannot convert"):
        layout_points(pts, "openpose18", "box5")


def test_track_layout_and_defaults():
    boxes = Tracks.from_boxes([0, 1], [1, 1], [[0, 0, 5, 10], [1, 0, 5, 10]])
    assert track_layout(boxes) == "box" and default_layout("box") == "box5"
    pts = np.ones((2, 18, 3), np.float32)
    assert track_layout(Tracks([0, 1], [1, 1], pts)) == "openpose18"
    coco = Tracks([0, 1], [1, 1], np.ones((2, 17, 3), np.float32), layout="coco17")
    assert track_layout(coco) == "coco17" and default_layout("coco17") == "coco17"
    with pytest.raises(ValueError):
        track_layout(Tracks([0], [1], np.ones((1, 5, 3), np.float32)))
    with pytest.raises(ValueError):
        default_layout("unknown")


def test_registry():
    with pytest.raises(ValueError, match="unknown graph layout"):
        get_layout("nope")
    layout = GraphLayout("test_chain3", ("a", "b", "c"), ((0, 1), (1, 2)), centre=1, track_kind="keypoints")
    try:
        assert register_layout(layout) is get_layout("test_chain3")
        A = adjacency("test_chain3", "uniform", max_hop=1)
        np.testing.assert_allclose(A[0], [[0.5, 1 / 3, 0], [0.5, 1 / 3, 0.5], [0, 1 / 3, 0.5]])
    finally:
        LAYOUTS.pop("test_chain3")
    with pytest.raises(ValueError, match="invalid edge"):
        GraphLayout("bad", ("a", "b"), ((0, 2),), centre=0, track_kind="keypoints")
    with pytest.raises(ValueError, match="strategy"):
        adjacency("box5", "nearest")
