"""The limits a model file must respect to be loaded, and the one error raised by a file that does not load.

Defined here and re-exported by :mod:`unsupvad.persistence`, their documented
home (where :data:`~unsupvad.persistence.DEFAULT_LIMITS` is, looked up there
at each call): the checks of the other ``_model_file_*`` modules need them
without importing the estimators.
"""

from __future__ import annotations

import contextlib
import dataclasses
import zipfile
import zlib
from pathlib import Path

MAX_ENTRIES = 16
"""Default :attr:`Limits.max_entries`: entries in a model file's zip directory (the format has two)."""
MAX_CONFIG_BYTES = 64 * 2**20
"""Default :attr:`Limits.max_config_bytes`: uncompressed size of ``unsupvad-model.json`` (models need kilobytes)."""
MAX_WEIGHTS_BYTES = 4 * 2**30
"""Default :attr:`Limits.max_weights_bytes`: uncompressed size of ``weights.pt`` and of all its tensors together."""
MAX_STRUCTURE_BYTES = 16 * 2**20
"""Default :attr:`Limits.max_structure_bytes`: ``weights.pt``'s zip directory and its pickled ``data.pkl``."""
MAX_COMPRESSION_RATIO = 200
"""Default :attr:`Limits.max_compression_ratio`: uncompressed over compressed size of an entry (JSON: about 4)."""
RATIO_CHECK_BYTES = 2**20
"""Default :attr:`Limits.ratio_check_bytes`: entries that inflate to less are not ratio-checked."""
MAX_JSON_VALUES = 1_000_000
"""Default :attr:`Limits.max_json_values`: values (list items, object members) in ``unsupvad-model.json``."""
MAX_DEPTH = 64
"""Default :attr:`Limits.max_depth`: nesting of lists and dicts in the JSON and in the weights (models: about 12)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds a model file must respect to be loaded (see :mod:`unsupvad.persistence`).

    Every field defaults to the module constant of the same name in capitals
    (``MAX_WEIGHTS_BYTES`` etc.); pass only those to change, e.g.
    ``load_model(path, limits=Limits(max_weights_bytes=16 * 2**30))`` for a
    larger model that you trust.

    Parameters
    ----------
    max_entries : int
        Entries in the zip directory.
    max_config_bytes : int
        Uncompressed size of ``unsupvad-model.json``.
    max_weights_bytes : int
        Uncompressed size of ``weights.pt``, and the bytes of all its tensors.
    max_structure_bytes : int
        Size of ``weights.pt``'s own zip directory and of its pickled
        structure ``data.pkl`` (what torch's unpickler turns into objects).
    max_compression_ratio : float
        Uncompressed over compressed size of an entry.
    ratio_check_bytes : int
        Entries whose uncompressed size is below this skip the ratio check.
    max_json_values : int
        Values in the JSON, counted from its text before it is parsed.
    max_depth : int
        Nesting of lists and dicts in the JSON and in the weights.
    """

    max_entries: int = MAX_ENTRIES
    max_config_bytes: int = MAX_CONFIG_BYTES
    max_weights_bytes: int = MAX_WEIGHTS_BYTES
    max_structure_bytes: int = MAX_STRUCTURE_BYTES
    max_compression_ratio: float = MAX_COMPRESSION_RATIO
    ratio_check_bytes: int = RATIO_CHECK_BYTES
    max_json_values: int = MAX_JSON_VALUES
    max_depth: int = MAX_DEPTH


class ModelFileError(ValueError):
    """A file that is not a readable unsupvad model file (foreign, corrupted, tampered, over a limit, or newer)."""


# documented, pickled and shown in tracebacks as unsupvad.persistence.Limits and .ModelFileError
Limits.__module__ = ModelFileError.__module__ = "unsupvad.persistence"


def over_limit(limits: Limits, field: str, found, what: str, unit: str = " bytes") -> None:
    """Refuse when ``found`` is over ``limits.<field>``: "``what`` ``found`` ``unit``: over the limit ..."."""
    allowed = getattr(limits, field)
    if found > allowed:
        raise ModelFileError(
            f"{what} {found:,}{unit}: over the limit {field}={allowed:,} (load a file you trust with "
            f"limits=Limits({field}=...))"
        )


@contextlib.contextmanager
def as_model_file_error(path: Path):
    """Turn whatever a bad file raises into one ModelFileError that names ``path``."""
    hint = "not an unsupvad model file"
    try:
        yield
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ModelFileError(
            f"{path}: {hint} or a corrupted one ({type(exc).__name__}: {exc}); a joblib/pickle file loads with "
            "joblib.load, only if you trust it"
        ) from exc
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the file ({exc})") from exc
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelFileError(f"{path}: corrupted or inconsistent model file ({type(exc).__name__}: {detail})") \
            from exc
