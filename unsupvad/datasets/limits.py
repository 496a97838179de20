"""Sanity bounds of the dataset readers.

No real dataset comes near these limits, but a typo (``n_frames`` of
4820000000, a MOT row at frame 2e9) or a wrong path (a video file, a device)
does: without them a reader would allocate until ``MemoryError`` or read
forever. A reader that hits a limit raises a ``ValueError`` naming the file,
the limit and how to raise it.

The readers look the values up when they run, so a longer video or a bigger
file only needs, before reading::

    import unsupvad.datasets.limits
    unsupvad.datasets.limits.MAX_FRAMES = 50_000_000
"""

MAX_FRAMES = 10_000_000
"""Most frames a video may have: about 4.6 days at 25 fps (ShanghaiTech's longest video has 4,171)."""

MAX_FILE_BYTES = 1 << 30
"""Largest file (bytes) read whole into memory: track and pose files, tables, lists, frame-count files.

Feature and mask ``.npy`` files are not bounded by it (features are
memory-mapped; masks are bounded by :data:`MAX_FRAMES`).
"""


def how_to_raise(name: str) -> str:
    """The sentence telling the user which attribute to raise, with its current value."""
    return f"if this is right, raise unsupvad.datasets.limits.{name} (now {globals()[name]:,})"
