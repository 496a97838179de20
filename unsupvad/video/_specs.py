"""Import specs, ``'package.module:callable'``: how every pluggable step of ``unsupvad.video`` names user code."""

from __future__ import annotations

import importlib


def is_import_spec(spec) -> bool:
    """Whether ``spec`` reads as ``'package.module:callable'`` (dotted names of identifiers on both sides)."""
    if not isinstance(spec, str):
        return False
    module_name, colon, attribute = spec.partition(":")
    names = module_name.split(".") + attribute.split(".")
    return bool(colon) and all(name.isidentifier() for name in names)


def resolve_import_spec(spec: str, what: str):
    """The callable an import spec names: the module imported, the (dotted) attribute looked up, not called.

    Parameters
    ----------
    spec : str
        ``'package.module:callable'``; the callable may be a dotted name
        inside the module (``'pkg.mod:Class.build'``).
    what : str
        What the spec stands for (``'extractor'``, ``'detector'``...), the
        first word of every error message.

    Raises
    ------
    ValueError
        When the module cannot be imported, lacks the attribute or the
        attribute is not callable.
    """
    module_name, _, attribute = spec.partition(":")
    try:
        target = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any failure of it is a bad spec, not a bug here
        raise ValueError(f"{what} {spec!r}: cannot import module {module_name!r} ({type(exc).__name__}: "
                         f"{exc})") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{what} {spec!r}: module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{what} {spec!r}: {attribute!r} is not callable")
    return target


def build_from_import_spec(spec: str, what: str, expected: str = "a callable"):
    """Resolve an import spec and call it without arguments; the result must be callable.

    ``expected`` names what the result should have been in the error
    (``'an nn.Module or a callable'`` for an extractor).

    Raises
    ------
    ValueError
        As :func:`resolve_import_spec`, and when the call fails or returns
        something that is not callable.
    """
    target = resolve_import_spec(spec, what)
    attribute = spec.partition(":")[2]
    try:
        built = target()
    except Exception as exc:
        raise ValueError(f"{what} {spec!r}: {attribute}() failed ({type(exc).__name__}: {exc})") from exc
    if not callable(built):
        raise ValueError(f"{what} {spec!r}: {attribute}() returned a {type(built).__name__}, not {expected}")
    return built
