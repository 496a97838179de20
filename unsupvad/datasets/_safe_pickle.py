"""A pickle reader that runs no code: just enough to read a dict of frame counts saved by ``np.save``.

The official data folders hold ``*-num.npy``: ``np.save(path, {video: n_frames})``,
which pickles a 0-d object array. ``np.load(..., allow_pickle=True)`` would
run whatever callable the pickle names. Here the pickle may name only the
few globals such a file needs, and each is replaced by a stand-in of
this module that builds plain Python values (the array is never built):

- ``numpy.core.multiarray._reconstruct`` and ``numpy.ndarray``: the 0-d
  object array, kept as its one element;
- ``numpy.dtype``: integer, float and object dtypes only, without fields;
- ``numpy.core.multiarray.scalar``: an integer or float NumPy scalar, read
  from its bytes as a Python number;
- ``_codecs.encode(text, 'latin1')``: how protocol 2 (older NumPy) writes bytes.

Any other global (``os.system``, ``builtins.eval``...) is refused before
it is looked up, so nothing the file names ever runs. Plain pickles of
dicts, lists, strings and numbers need no global and load as they are.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys

_INT_SIZES = {f"{kind}{size}": (size, kind == "i") for kind in "iu" for size in (1, 2, 4, 8)}
_FLOAT_CODES = {"f4": "f", "f8": "d"}
_OBJECT = "O8"


def _refuse(problem: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(problem)


class _Guard:
    """A stand-in the pickle may call; it cannot be altered by the pickle (no ``__dict__``, no state)."""

    __slots__ = ("_build", "_label")

    def __init__(self, build, label: str):
        self._build = build
        self._label = label

    def __call__(self, *args):
        return self._build(*args)

    def __setstate__(self, state):
        raise _refuse(f"the pickle tries to change {self._label}")


class _Dtype:
    """A NumPy dtype as the pickle describes it: its code and byte order, nothing else."""

    __slots__ = ("code", "byteorder")

    def __init__(self, code, align=False, copy=True):
        if code not in _INT_SIZES and code not in _FLOAT_CODES and code != _OBJECT:
            raise _refuse(f"dtype {code!r} refused: only integer, float and object dtypes are read")
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state):
        # (version, byte order, subarray, names, fields, ...): fields or subarrays are refused
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")
                and state[2:5] == (None, None, None)):
            raise _refuse("a dtype with fields or subarrays is refused")
        self.byteorder = state[1]


class _Array:
    """The 0-d object array ``np.save`` pickles around the dict: only its one element is kept."""

    __slots__ = ("value",)

    def __setstate__(self, state):
        # (version, shape, dtype, is_fortran, [element])
        ok = (isinstance(state, tuple) and len(state) == 5 and state[1] == ()
              and isinstance(state[2], _Dtype) and state[2].code == _OBJECT
              and isinstance(state[4], list) and len(state[4]) == 1)
        if not ok:
            raise _refuse("only a 0-d object array (what np.save writes for a dict) is read")
        self.value = state[4][0]


class _NdarrayMarker:
    """What ``numpy.ndarray`` names in the pickle: a token ``_reconstruct`` checks for, nothing more."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _refuse("the pickle tries to change numpy.ndarray")


_NDARRAY = _NdarrayMarker()


def _reconstruct(cls, shape, code):
    if cls is not _NDARRAY or shape != (0,) or code not in (b"b", "b"):
        raise _refuse("unexpected arguments to numpy's array reconstructor")
    return _Array()


def _scalar(dtype, data):
    if not isinstance(dtype, _Dtype) or dtype.code == _OBJECT or not isinstance(data, bytes):
        raise _refuse("only integer and float NumPy scalars are read")
    big = dtype.byteorder == ">" or (dtype.byteorder in "=|" and sys.byteorder == "big")
    if dtype.code in _FLOAT_CODES:
        return struct.unpack((">" if big else "<") + _FLOAT_CODES[dtype.code], data)[0]
    size, signed = _INT_SIZES[dtype.code]
    if len(data) != size:
        raise _refuse(f"a {dtype.code} scalar needs {size} bytes, got {len(data)}")
    return int.from_bytes(data, "big" if big else "little", signed=signed)


def _latin1(text, encoding):
    # protocol 2 (old np.save) writes bytes as _codecs.encode(text, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse("only latin-1 text to bytes is decoded")
    return text.encode("latin1")


_RECONSTRUCT = _Guard(_reconstruct, "numpy's array reconstructor")
_SCALAR = _Guard(_scalar, "numpy's scalar constructor")
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "dtype"): _Guard(_Dtype, "numpy.dtype"),
    ("numpy", "ndarray"): _NDARRAY,
    ("_codecs", "encode"): _Guard(_latin1, "the latin-1 decoder"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise _refuse(f"the pickle names {module}.{name}, which is refused (it could run code)")
        return found


def load_restricted_pickle(data: bytes):
    """Unpickle ``data`` without running code; a 0-d object array becomes its element.

    Raises
    ------
    pickle.UnpicklingError
        When the pickle names anything but the stand-ins above. A damaged
        pickle may raise other exceptions (EOFError, TypeError, ...): none
        of them means code ran.
    """
    value = _RestrictedUnpickler(io.BytesIO(data)).load()
    return value.value if isinstance(value, _Array) else value
