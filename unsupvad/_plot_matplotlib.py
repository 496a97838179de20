"""matplotlib for :mod:`unsupvad.plotting`, imported lazily, and the helpers its plots share.

matplotlib is an optional dependency: it is imported only when a plot is
drawn, and its absence is an ImportError that says how to install it.
"""

from __future__ import annotations

_INSTALL_HINT = 'plotting needs matplotlib, an optional dependency: pip install "unsupvad[plot]"'


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError telling how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _axes_or_new(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
