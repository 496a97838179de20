"""Graph layouts for spatio-temporal graph convolutions over tracked objects.

A *layout* names the nodes a sample is made of (skeleton joints, or points
derived from a bounding box), the undirected edges between them and a centre
node. From a layout come hop distances and the adjacency matrices a graph
convolution aggregates with.

Adjacency convention: ``A[k, v, w]`` is the weight with which input node
``v`` contributes to output node ``w`` in partition ``k``, i.e. a graph
convolution computes ``out[..., w] = sum_v x[..., v] * A[k, v, w]``. Columns
are normalised (``A D^-1``, ``D`` the column sums of the reachability
matrix), so each output node averages over its neighbours.

Registered layouts
------------------
``'openpose18'``
    The 18 OpenPose joints with the 17 bones of ST-GCN's ``openpose`` layout
    (hips join the shoulders, not the neck), centre = neck (1). Its diameter
    is 8 hops (left ankle to right ankle), so ``max_hop=8`` with the
    ``'uniform'`` strategy gives ``A = 1/18`` everywhere, as in STG-NF.
``'coco17'``
    The 17 COCO keypoints with the 19 limbs of the COCO keypoint skeleton,
    centre = nose (0).
``'box2'``
    A box as its two stored corners: top-left, bottom-right; one edge.
``'box5'``
    A box as five points: top-left, top-right, bottom-left, bottom-right and
    centre; the four sides plus an edge from the centre to every corner;
    centre = 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets._layouts import COCO17_JOINTS, OPENPOSE18_BONES, OPENPOSE18_JOINTS, coco17_to_openpose18

ADJACENCY_STRATEGIES = ("uniform", "distance", "spatial")

COCO17_LIMBS: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
"""The COCO keypoint skeleton (0-based joint indices)."""


@dataclass(frozen=True)
class GraphLayout:
    """Nodes and edges of one sample graph.

    Parameters
    ----------
    name : str
        Registry key.
    nodes : tuple of str
        Node names, in the order of the last-but-one axis of the points.
    edges : tuple of (int, int)
        Undirected edges, without self-loops (they are always added).
    centre : int
        Centre node, used by the ``'spatial'`` strategy.
    track_kind : {'keypoints', 'boxes'}
        The kind of :class:`~unsupvad.Tracks` the layout is built from.
    """

    name: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    centre: int
    track_kind: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes V."""
        return len(self.nodes)

    def __post_init__(self):
        n = len(self.nodes)
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(f"layout {self.name!r}: invalid edge ({a}, {b}) for {n} nodes")
        if not 0 <= self.centre < n:
            raise ValueError(f"layout {self.name!r}: centre {self.centre} is not a node")


LAYOUTS: dict[str, GraphLayout] = {}


def register_layout(layout: GraphLayout) -> GraphLayout:
    """Add a layout to the registry (replacing one of the same name)."""
    LAYOUTS[layout.name] = layout
    return layout


def get_layout(name: str | GraphLayout) -> GraphLayout:
    """The registered layout called ``name`` (a GraphLayout is returned as is)."""
    if isinstance(name, GraphLayout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown graph layout {name!r}; registered: {sorted(LAYOUTS)}") from None


register_layout(
    GraphLayout("openpose18", OPENPOSE18_JOINTS, OPENPOSE18_BONES, centre=1, track_kind="keypoints")
)
register_layout(GraphLayout("coco17", COCO17_JOINTS, COCO17_LIMBS, centre=0, track_kind="keypoints"))
register_layout(GraphLayout("box2", ("top_left", "bottom_right"), ((0, 1),), centre=0, track_kind="boxes"))
register_layout(GraphLayout(
    "box5", ("top_left", "top_right", "bottom_left", "bottom_right", "centre"),
    ((0, 1), (1, 3), (3, 2), (2, 0), (4, 0), (4, 1), (4, 2), (4, 3)), centre=4, track_kind="boxes",
))


def hop_distance(n_nodes: int, edges, max_hop: int) -> np.ndarray:
    """Shortest-path length between every pair of nodes, ``inf`` beyond ``max_hop``.

    Returns
    -------
    ndarray of shape (n_nodes, n_nodes)
        Symmetric, 0 on the diagonal.
    """
    if max_hop < 0:
        raise ValueError(f"max_hop must be >= 0, got {max_hop}")
    link = np.eye(n_nodes, dtype=bool)
    for a, b in edges:
        link[a, b] = link[b, a] = True
    hops = np.full((n_nodes, n_nodes), np.inf)
    reach = np.eye(n_nodes, dtype=bool)
    hops[reach] = 0
    for d in range(1, max_hop + 1):
        reach = (reach.astype(np.int64) @ link.astype(np.int64)) > 0
        hops[reach & np.isinf(hops)] = d
    return hops


def normalize_columns(matrix: np.ndarray) -> np.ndarray:
    """``A D^-1`` with ``D`` the column sums; all-zero columns stay zero."""
    sums = matrix.sum(axis=0)
    inv = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return matrix * inv[None, :]


def adjacency(layout: str | GraphLayout, strategy: str = "uniform", max_hop: int = 1) -> np.ndarray:
    """Adjacency matrices of a layout, ``(K, V, V)`` float32.

    Parameters
    ----------
    layout : str or GraphLayout
    strategy : {'uniform', 'distance', 'spatial'}, default='uniform'
        ``'uniform'``: one matrix, 1 for every pair within ``max_hop`` hops
        (self-loops included), column-normalised (K = 1).
        ``'distance'``: the uniform matrix split by hop distance, one matrix
        per distance 0..max_hop (K = max_hop + 1).
        ``'spatial'``: the uniform matrix split by the neighbours' distance to
        the layout's centre: the self-loops; then, for every distance
        ``d = 1..max_hop``, the neighbours at ``d`` hops that are no farther
        from the centre than the output node (centripetal) and those that are
        farther (centrifugal) (K = 1 + 2 max_hop).
    max_hop : int, default=1

    Returns
    -------
    ndarray of shape (K, V, V)
        ``A[k, v, w]``: weight of input node ``v`` for output node ``w``.
    """
    layout = get_layout(layout)
    if strategy not in ADJACENCY_STRATEGIES:
        raise ValueError(f"strategy must be one of {ADJACENCY_STRATEGIES}, got {strategy!r}")
    hops = hop_distance(layout.n_nodes, layout.edges, max_hop)
    base = normalize_columns((hops <= max_hop).astype(np.float64))
    if strategy == "uniform":
        parts = [base]
    elif strategy == "distance":
        parts = [np.where(hops == d, base, 0.0) for d in range(max_hop + 1)]
    else:
        to_centre = hop_distance(layout.n_nodes, layout.edges, layout.n_nodes)[:, layout.centre]
        inward = to_centre[:, None] <= to_centre[None, :]
        parts = [np.where(hops == 0, base, 0.0)]
        for d in range(1, max_hop + 1):
            ring = hops == d
            parts += [np.where(ring & inward, base, 0.0), np.where(ring & ~inward, base, 0.0)]
    return np.stack(parts).astype(np.float32)


def is_uniform(matrices: np.ndarray) -> bool:
    """True when there is one matrix and all its entries are ``1 / V`` (a mean over nodes)."""
    matrices = np.asarray(matrices)
    return matrices.shape[0] == 1 and np.allclose(matrices, 1.0 / matrices.shape[-1], rtol=0, atol=1e-7)


def track_layout(tracks) -> str:
    """The layout name of stored :class:`~unsupvad.Tracks` points.

    Box tracks are ``'box'`` (two corners); keypoint tracks take their
    ``layout`` attribute, or ``'openpose18'`` / ``'coco17'`` from the
    number of joints when it is unset.
    """
    if tracks.kind == "boxes":
        return "box"
    if tracks.layout:
        return tracks.layout
    guess = {len(OPENPOSE18_JOINTS): "openpose18", len(COCO17_JOINTS): "coco17"}
    if tracks.n_points in guess:
        return guess[tracks.n_points]
    raise ValueError(
        f"cannot tell the layout of keypoint tracks with {tracks.n_points} joints; set Tracks.layout"
    )


def default_layout(source: str) -> str:
    """The graph layout used for stored points of layout ``source`` (``'box'`` → ``'box5'``)."""
    if source == "box":
        return "box5"
    if source in LAYOUTS and LAYOUTS[source].track_kind == "keypoints":
        return source
    raise ValueError(f"no graph layout for tracks of layout {source!r}; registered: {sorted(LAYOUTS)}")


def can_convert(source: str, target: str) -> bool:
    """Whether :func:`layout_points` turns points of layout ``source`` into ``target``."""
    if source == target:
        return True
    return (source, target) in {("coco17", "openpose18"), ("box", "box2"), ("box", "box5")}


def _box_to_box5(points: np.ndarray) -> np.ndarray:
    tl, br = points[..., 0, :], points[..., 1, :]
    out = np.empty(points.shape[:-2] + (5, points.shape[-1]), np.result_type(points.dtype, np.float32))
    for node, (x, y) in enumerate([(tl, tl), (br, tl), (tl, br), (br, br)]):
        out[..., node, 0], out[..., node, 1] = x[..., 0], y[..., 1]
    out[..., 4, :2] = (tl[..., :2] + br[..., :2]) / 2
    out[..., :, 2:] = ((tl[..., 2:] + br[..., 2:]) / 2)[..., None, :]
    return out


def layout_points(points: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert stored points ``(..., P, C)`` of layout ``source`` to the nodes of ``target``.

    ``'coco17'`` → ``'openpose18'`` appends the neck (mean of the shoulders)
    and reorders (STG-NF's conversion). Box corners ``(left, top)``,
    ``(right, bottom)`` (layout ``'box'``) become ``'box2'`` unchanged, or
    ``'box5'``: top-left, top-right, bottom-left, bottom-right, centre; every
    derived point keeps the box's confidence (channels beyond x, y are
    averaged over the two corners).
    """
    points = np.asarray(points)
    if source == target or (source, target) == ("box", "box2"):
        return points
    if (source, target) == ("coco17", "openpose18"):
        return coco17_to_openpose18(points)
    if (source, target) == ("box", "box5"):
        return _box_to_box5(points)
    raise ValueError(f"cannot convert points of layout {source!r} to graph layout {target!r}")
