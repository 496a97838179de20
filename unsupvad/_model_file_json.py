"""The JSON entry of a model file: its name, its strict and bounded parsing, and its header.

Strict JSON (no ``NaN``, no key twice in an object) of at most
``max_config_bytes``, ``max_json_values`` values counted from the text before
it is parsed, nested at most ``max_depth`` deep; the header must name this
format in a version this unsupvad reads.
"""

from __future__ import annotations

import json

from ._model_file_limits import Limits, ModelFileError, over_limit
from ._strict_json import unique_keys

FORMAT = "unsupvad-model"
FORMAT_VERSION = 1
CONFIG_ENTRY = "unsupvad-model.json"


def _refuse_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def parse_config(raw: bytes, limits: Limits) -> dict:
    """Parse the JSON entry: size, value count (from the text) and depth bounded, strict JSON, an object."""
    what = f"its {CONFIG_ENTRY}"
    over_limit(limits, "max_config_bytes", len(raw), f"{what} has")
    # every value but the first follows a comma or opens a container: an upper bound, counted before parsing
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    over_limit(limits, "max_json_values", values, f"{what} holds up to", " values")
    try:
        config = json.loads(raw, object_pairs_hook=unique_keys, parse_constant=_refuse_constant)
    except RecursionError:
        raise ModelFileError(f"{what} is nested deeper than the limit max_depth={limits.max_depth}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"not an unsupvad model file ({what} is not valid JSON: {exc})") from exc
    _check_nesting(config, limits, what)
    if not isinstance(config, dict):
        raise ModelFileError(f"not an unsupvad model file ({what} is a {type(config).__name__}, not an object)")
    return config


def _check_nesting(tree, limits: Limits, what: str) -> None:
    """Refuse lists, dicts and tuples nested deeper than ``limits.max_depth`` (walked without recursion)."""
    stack = [(tree, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, (list, tuple)):
            continue
        if depth > limits.max_depth:
            raise ModelFileError(f"{what} is nested deeper than the limit max_depth={limits.max_depth}")
        stack.extend((v, depth + 1) for v in value)


def check_header(config: dict) -> None:
    hint = "not an unsupvad model file"
    found = config.get("format")
    if found != FORMAT:
        raise ModelFileError(f"{hint} (format {found!r} instead of {FORMAT!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{hint} (bad format_version {version!r})")
    if version > FORMAT_VERSION:
        versions = config.get("versions")
        by = versions.get("unsupvad") if isinstance(versions, dict) else None
        raise ModelFileError(
            f"model file format {version} was written by a newer unsupvad ({by}); this one reads format "
            f"{FORMAT_VERSION}: upgrade"
        )
    if not isinstance(config.get("estimator"), dict):
        raise ModelFileError(f"corrupted model file (no estimator in its {CONFIG_ENTRY})")
