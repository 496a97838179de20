"""Reading a zip that may be hostile: the model file itself and the zip inside its ``weights.pt``.

The file must be a regular file; the zip's directory is bounded from its end
records before :mod:`zipfile` parses it and may not name an entry twice; an
entry is checked from what the directory declares (method, encryption, size,
compression ratio) before anything is decompressed, then read in bounded
chunks that never go past its declared size.
"""

from __future__ import annotations

import collections
import contextlib
import os
import stat
import struct
import zipfile
from pathlib import Path

from ._model_file_limits import Limits, ModelFileError, over_limit

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_MAX_DIRECTORY_RECORD = 46 + 3 * 0xFFFF  # a central directory record: fixed part, name, extra field, comment
_CHUNK = 16 * 2**20  # bytes read from an entry at a time


@contextlib.contextmanager
def regular_file(path: Path):
    """The file at ``path`` opened for binary reading, after checking that it is a regular file (no FIFO wait)."""
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a model file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the file ({exc})") from exc
    f = os.fdopen(fd, "rb")
    with f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
            raise ModelFileError(f"{path}: is {kind}, not a model file (not a regular file)")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        yield f


def _directory_extent(f, size: int) -> tuple[int, int]:
    """Entries and bytes of the central directory of the zip ``f`` (``size`` bytes), from its end records.

    Read as :mod:`zipfile` reads them, before it parses the directory; where
    a zip64 end record is present the larger of both values is returned.
    """
    tail_size = min(size, _END.size + (1 << 16))
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = len(tail) - _END.size
    if at < 0 or tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        raise zipfile.BadZipFile("File is not a zip file")
    fields = _END.unpack_from(tail, at)
    entries, directory = fields[4], fields[5]
    end = size - tail_size + at
    if end >= _END64_LOCATOR.size + _END64.size:
        f.seek(end - _END64_LOCATOR.size - _END64.size)
        record, locator = f.read(_END64.size), f.read(_END64_LOCATOR.size)
        if locator[:4] == b"PK\x06\x07" and record[:4] == b"PK\x06\x06":
            zip64 = _END64.unpack(record)
            entries, directory = max(entries, zip64[7]), max(directory, zip64[8])
    return entries, directory


def open_zip(f, size: int, limits: Limits, what: str, *, weights_file: bool = False) -> zipfile.ZipFile:
    """The zip ``f`` opened once its directory is known to be small; duplicate names refused.

    The model file may list at most ``max_entries`` entries; the zip inside
    ``weights.pt`` (``weights_file``) a directory of ``max_structure_bytes``.
    """
    entries, directory = _directory_extent(f, size)
    if weights_file:
        over_limit(limits, "max_structure_bytes", directory, f"the zip directory of {what} has")
    else:
        over_limit(limits, "max_entries", entries, f"the zip directory of {what} lists", " entries")
        if directory > limits.max_entries * _MAX_DIRECTORY_RECORD:
            raise ModelFileError(f"{what}: its zip directory of {directory:,} bytes is larger than "
                                 f"max_entries={limits.max_entries:,} entries can be (tampered?)")
    f.seek(0)
    archive = zipfile.ZipFile(f)
    names = collections.Counter(info.filename for info in archive.infolist())
    if not weights_file:
        over_limit(limits, "max_entries", names.total(), f"the zip directory of {what} holds", " entries")
    twice = sorted(name for name, n in names.items() if n > 1)
    if twice:
        archive.close()
        raise ModelFileError(f"{what} holds two entries named {twice[0]!r} (tampered? zip tools and unsupvad "
                             "could read different ones)")
    return archive


def check_entry(info: zipfile.ZipInfo, field: str, limits: Limits) -> None:
    """Refuse an entry from what the directory declares, before anything is decompressed."""
    what = f"entry {info.filename!r}"
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{what} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{what} uses compression method {info.compress_type} (only stored or deflated)")
    over_limit(limits, field, info.file_size, f"{what} inflates to")
    if info.file_size >= limits.ratio_check_bytes:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            raise ModelFileError(
                f"{what} would inflate {ratio:,.0f} times ({info.compress_size:,} to {info.file_size:,} bytes), "
                f"over the limit max_compression_ratio={limits.max_compression_ratio:,} (a zip bomb? load a file "
                "you trust with limits=Limits(max_compression_ratio=...))"
            )


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, read in bounded chunks and never past its declared (already checked) size."""
    chunks, total = [], 0
    with archive.open(info) as f:
        while total < info.file_size:
            chunk = f.read(min(_CHUNK, info.file_size - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total != info.file_size or f.read(1):
            raise ModelFileError(f"entry {info.filename!r} does not hold the {info.file_size:,} bytes it declares")
    return b"".join(chunks)
