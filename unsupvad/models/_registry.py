"""The model registry: every wOCC and WS model by name.

The command line's ``--wocc``/``--ws`` choices, the classes a model file may
name (:mod:`unsupvad.persistence`) and the API reference all come from here,
so a registered model of your own can be interleaved, chosen by name, saved
and loaded like the built-in ones.
"""

from __future__ import annotations

import re

from ._tags import ROLES, model_tags

_MODELS: dict[str, type] = {}


def default_name(cls: type) -> str:
    """``STGNF`` -> ``'stgnf'``, ``FeatureAE`` -> ``'feature_ae'``: the class name in snake case."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()


def register_model(cls: type | None = None, *, name: str | None = None):
    """Register a wOCC or WS model class, by its declared tags; usable as a decorator.

    Parameters
    ----------
    cls : type
        A scikit-learn estimator class, constructible without arguments,
        whose instances declare ``__unsupvad_tags__()`` (e.g. by deriving
        from :class:`~unsupvad.models.WeightedOneClassModel`).
    name : str, optional
        The name it is chosen by (``--wocc NAME``); default: the class name
        in snake case.

    Returns
    -------
    cls
        Unchanged, so that ``@register_model`` decorates a class.

    Raises
    ------
    ValueError
        When another class is registered under ``name``.
    TypeError
        When the class declares no tags.
    """
    def add(klass: type) -> type:
        key = default_name(klass) if name is None else name
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise ValueError(f"a model name is lower-case letters, digits and '_', got {key!r}")
        model_tags(klass)  # refuses a class without tags now, not when it is first used
        if _MODELS.get(key, klass) is not klass:
            raise ValueError(f"another model is registered as {key!r}: {_MODELS[key].__qualname__}")
        _MODELS[key] = klass
        return klass

    return add if cls is None else add(cls)


def list_models(role: str | None = None) -> list[str]:
    """Names of the registered models, in the order they were registered, of one ``role`` ('wocc', 'ws') or all."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES} or None, got {role!r}")
    return [name for name, cls in _MODELS.items() if role is None or model_tags(cls).role == role]


def get_model(name: str) -> type:
    """The class registered as ``name``."""
    if name not in _MODELS:
        raise KeyError(f"no model is registered as {name!r}; the models are {', '.join(_MODELS)}")
    return _MODELS[name]


def registered_classes() -> list[type]:
    """Every registered class, in registration order."""
    return list(_MODELS.values())
