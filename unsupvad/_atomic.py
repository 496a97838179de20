"""Files replaced in one move: an interrupted or failed write leaves the previous file as it was."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replaced_atomically(path: Path, mode: str = "wb", **open_kwargs):
    """Yield a temporary file next to ``path``; when the block ends, flush it to disk and move it onto ``path``.

    Missing folders are created. If the block raises (Ctrl-C included), the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
