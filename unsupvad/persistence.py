"""Model files: save a fitted unsupvad estimator and load it back, without pickle.

:func:`save_model` writes one zip file holding

- ``unsupvad-model.json``: the format name and version, the unsupvad, torch,
  scikit-learn and Python versions, optional user metadata, and the
  estimator as a tree: its class, ``get_params(deep=False)`` (nested
  estimators as their own ``{class, params, fitted}``) and its simple fitted
  attributes (numbers, strings, lists and dicts of them, such as
  ``thresholds_`` and ``history_``);
- ``weights.pt``: a :func:`torch.save` of plain containers of tensors: every
  network's ``state_dict`` (module, optimizer, criterion), its skorch
  training history and every numpy array attribute (as a tensor).

:func:`load_model` rebuilds the estimator from the JSON tree, instantiating
only classes of :func:`allowed_estimators` (nothing is imported from the file), reads
the weights with ``torch.load(..., weights_only=True)`` mapped to the CPU
(so a model trained on CUDA loads on a machine without a GPU) and puts each
network on the requested device.

Why one zip file rather than a folder: a model is one path to copy, upload
or pass to ``unsupvad score``; it is written to a temporary file in the same
folder, flushed to disk and moved into place with :func:`os.replace`, so an
interrupted or failed save never leaves half a model (an existing file stays
as it was); and the JSON entry stays readable with any zip tool
(``unzip -p model.uvad unsupvad-model.json``).

**Which format to use.** ``joblib.dump`` / ``pickle`` of an estimator also
work (and keep everything, callbacks included), but loading a pickle runs
whatever code the file names: load joblib or pickle files **only if you
trust them**. Use :func:`save_model` / :func:`load_model` for files you
share or receive from others.

A network is restored through its estimator's ``_build_net()`` (the same
constructor ``fit`` uses) from the restored parameters and fitted attributes,
then its ``state_dict`` is loaded: scores of the loaded model equal those of
the saved one on the same device.

**What loading checks.** A model file from someone else runs no code, and
it cannot make loading take much more memory than the file's own contents
would need. Anything wrong raises one :class:`ModelFileError` naming the
file and the problem:

- the path must be a regular file (a folder, FIFO or device is refused
  without being read);
- the zip's directory, read from its end records before it is parsed, must
  list at most ``max_entries`` entries, no two with the same name (zip tools
  and unsupvad could otherwise read different ones) and only
  ``unsupvad-model.json`` and ``weights.pt``, stored or deflated and not
  encrypted;
- from the directory alone, before anything is decompressed, each entry must
  declare at most ``max_config_bytes`` (JSON) or ``max_weights_bytes``
  (weights) and, above ``ratio_check_bytes``, inflate at most
  ``max_compression_ratio`` times; entries are then read in bounded chunks
  that never go past the declared size;
- the JSON must be strict JSON (no ``NaN``, no repeated key in an object) of
  at most ``max_json_values`` values (counted from the text before it is
  parsed) nested at most ``max_depth`` deep, with the known format and a
  format version this unsupvad reads;
- ``weights.pt`` must be a torch zip file whose records are stored
  uncompressed, whose directory and pickled structure (``data.pkl``) are at
  most ``max_structure_bytes``, nested at most ``max_depth`` deep; every
  tensor must be dense and own the memory it spans (no expanded views), all
  of them together at most ``max_weights_bytes``;
- every floating tensor of a network (module, criterion, optimizer state)
  and every optimizer hyperparameter must be finite;
- parameters must be ones the class has and pass its own validation; fitted
  attribute names must be identifiers ending with ``_`` (scikit-learn's
  mark of fitted attributes; ``_seed`` is the one private exception), never
  start with ``__`` and never name anything the class defines (a method, a
  property);
- each network is first built on the ``meta`` device (shapes, no memory),
  through the same constructor, and its keys and shapes compared with the
  saved ones, so that an edited architecture parameter (a huge ``branch_dim``
  or ``n_flows``) is refused before any memory is allocated; the optimizer
  state must then fit the parameters' shapes.

**Limits.** The defaults are the module constants below, gathered in
:class:`Limits`. A file over a limit is refused with a message naming it;
to load a larger file that you trust, pass your own::

    load_model(path, limits=Limits(max_weights_bytes=16 * 2**30))

or, for the whole process (e.g. the command line), replace
:data:`DEFAULT_LIMITS` with such a :class:`Limits`.

=========================  =========================  ==========================================
:class:`Limits` field      default (module constant)  bounds
=========================  =========================  ==========================================
``max_entries``            16 (``MAX_ENTRIES``)       entries in the zip's directory
``max_config_bytes``       64 MiB                     the JSON entry, uncompressed
``max_weights_bytes``      4 GiB                      the weights entry, and all its tensors
``max_structure_bytes``    16 MiB                     ``weights.pt``'s directory and ``data.pkl``
``max_compression_ratio``  200                        uncompressed / compressed size of an entry
``ratio_check_bytes``      1 MiB                      entries smaller than this skip the ratio
``max_json_values``        1,000,000                  values (items, members) in the JSON
``max_depth``              64                         nesting of lists and dicts
=========================  =========================  ==========================================

:func:`save_model` refuses to write a JSON entry over the default limits and
warns when the weights are larger than ``MAX_WEIGHTS_BYTES``.
"""

from __future__ import annotations

import io
import json
import keyword
import math
import os
import platform
import warnings
import zipfile
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.history import History

from ._atomic import replaced_atomically
from ._interleaved import InterleavedVAD
from ._model_file_json import CONFIG_ENTRY, FORMAT, FORMAT_VERSION, check_header, parse_config
from ._model_file_limits import (  # noqa: F401  (the MAX_* defaults are documented here)
    MAX_COMPRESSION_RATIO,
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_JSON_VALUES,
    MAX_STRUCTURE_BYTES,
    MAX_WEIGHTS_BYTES,
    RATIO_CHECK_BYTES,
    Limits,
    ModelFileError,
    as_model_file_error,
)
from ._model_file_networks import check_against_saved, load_optimizer
from ._model_file_weights import WEIGHTS_ENTRY, load_weights
from ._model_file_zip import check_entry, open_zip, read_entry, regular_file
from .features import TrackSnippetFeatures
from .models import MIL, RTFM, STGNF, FeatureAE, Jigsaw
from .models._base import resolve_device
from .models._registry import registered_classes

BUILT_IN_ESTIMATORS: dict[str, type] = {
    f"unsupvad.{cls.__name__}": cls
    for cls in (InterleavedVAD, STGNF, RTFM, MIL, FeatureAE, Jigsaw, TrackSnippetFeatures)
}
BUILT_IN_ESTIMATORS["sklearn.pipeline.Pipeline"] = Pipeline
"""The library's own classes a model file may name: ``'unsupvad.STGNF'`` etc. and scikit-learn's ``Pipeline``."""


def allowed_estimators() -> dict[str, type]:
    """The only classes a model file may name: :data:`BUILT_IN_ESTIMATORS` and every registered model.

    A model of your own registered with
    :func:`unsupvad.models.register_model` is named ``'<module>.<class>'``;
    it loads in a process that has registered it too (import your module
    before :func:`load_model`). Nothing is ever imported from a file.
    """
    allowed = dict(BUILT_IN_ESTIMATORS)
    built_in = set(allowed.values())
    for cls in registered_classes():
        if cls not in built_in:
            allowed[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return allowed


DEFAULT_LIMITS = Limits()
"""The limits :func:`load_model`, :func:`read_model_info` (and :func:`save_model`) apply unless given others.

Replace it, ``unsupvad.persistence.DEFAULT_LIMITS = Limits(...)``, to change
them for the whole process (e.g. before ``unsupvad.cli.main``); changing the
``MAX_*`` constants has no effect once the module is imported.
"""

_DROPPED_PARAMS = ("callbacks",)  # training-time observers (may hold data); saved as None
_TAGS = ("__tuple__", "__float__", "__array__", "__device__", "__estimator__")
_RESERVED_KEYS = (*_TAGS, "__net__")
_PRIVATE_STATE = frozenset({"_seed"})  # the one private attribute estimators keep across fits (their seed)


def _class_key(obj) -> str:
    allowed = allowed_estimators()
    for key, cls in allowed.items():
        if type(obj) is cls:
            return key
    raise TypeError(
        f"cannot save a {type(obj).__module__}.{type(obj).__qualname__}: model files hold only "
        f"{', '.join(sorted(allowed))} (register a model of your own with unsupvad.models.register_model)"
    )


def _fitted_name_problem(cls: type, name) -> str | None:
    """Why ``name`` cannot be a fitted attribute of a ``cls`` in a model file, or None when it can."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "is not a valid attribute name"
    if name.startswith("__"):
        return "is a special (dunder) name"
    if not name.endswith("_") and name not in _PRIVATE_STATE:
        return "does not end with '_' (scikit-learn's mark of a fitted attribute)"
    if any(name in vars(klass) for klass in cls.__mro__):
        return f"would replace {cls.__name__}.{name} (a method, property or class attribute)"
    if name in cls._get_param_names():
        return f"is a parameter of {cls.__name__}"
    return None


# ---------------------------------------------------------------------- saving
class _Writer:
    """Walks an estimator tree, splitting it into a JSON tree and a dict of tensors."""

    def __init__(self):
        self.weights: dict[str, object] = {"arrays": {}, "nets": {}}

    def estimator(self, est, where: str) -> dict:
        key = _class_key(est)
        params = est.get_params(deep=False)
        for name in _DROPPED_PARAMS:
            if params.get(name):
                warnings.warn(f"{where}: the {name} parameter is not saved in a model file (set to None)",
                              UserWarning, stacklevel=4)
                params[name] = None
        spec = {"class": key, "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()}}
        fitted = {}
        # __getstate__ leaves out what the class does not pickle either (e.g. STGNF's window cache)
        for name, value in est.__getstate__().items():
            if name in params or name == "_sklearn_version":
                continue
            problem = _fitted_name_problem(type(est), name)
            if problem:
                raise TypeError(f"cannot save {where}.{name}: the attribute name {problem}, so it would not load")
            if isinstance(value, NeuralNet):
                self.weights["nets"][f"{where}.{name}"] = _net_state(value)
                fitted[name] = {"__net__": f"{where}.{name}"}
            else:
                fitted[name] = self.value(value, f"{where}.{name}")
        spec["fitted"] = fitted
        return spec

    def value(self, value, where: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return self.mapping(value, where)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"cannot save {where}: an array of Python objects")
            self.weights["arrays"][where] = torch.from_numpy(np.array(value, copy=True))
            return {"__array__": where}
        if isinstance(value, torch.Tensor):
            self.weights["arrays"][where] = value.detach().cpu().clone()
            return {"__array__": where, "tensor": True}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, BaseEstimator):
            return {"__estimator__": self.estimator(value, where)}
        raise TypeError(f"cannot save {where}: values of type {type(value).__name__} are not supported")

    def mapping(self, value: dict, where: str) -> dict:
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"cannot save {where}: a dict with keys that are not strings")
        reserved = [k for k in _RESERVED_KEYS if k in value]
        if reserved:
            raise TypeError(f"cannot save {where}: a dict with the key {reserved[0]!r}, reserved by the format")
        return {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}


def _net_state(net: NeuralNet) -> dict:
    """The state dicts (on whatever device: loading maps them to the CPU) and the history of a skorch net."""
    return {
        "module": net.module_.state_dict(),
        "criterion": net.criterion_.state_dict(),
        "optimizer": net.optimizer_.state_dict(),
        # plain lists, dicts and floats only (numpy scalars become floats)
        "history": json.loads(json.dumps(net.history.to_list(), default=float)),
    }


def save_model(model, path, *, metadata: dict | None = None) -> Path:
    """Save a fitted unsupvad estimator in the safe model-file format.

    Parameters
    ----------
    model : estimator
        A fitted :class:`~unsupvad.InterleavedVAD`, :class:`~unsupvad.STGNF`,
        :class:`~unsupvad.RTFM`, :class:`~unsupvad.MIL`,
        :class:`~unsupvad.FeatureAE`, :class:`~unsupvad.Jigsaw`,
        :class:`~unsupvad.TrackSnippetFeatures`, or a scikit-learn ``Pipeline`` of them. ``callbacks`` (training-time
        observers) are not saved.
    path : str or path-like
        The file to write (any name; ``.uvad`` is the convention), replaced
        if it exists. Written to a temporary file in the same folder, flushed
        to disk, then moved into place: a failed save leaves an existing file
        as it was and no temporary file behind.
    metadata : dict, optional
        JSON-serialisable information stored along (e.g. how the inputs were
        read); returned by :func:`read_model_info`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    NotFittedError
        When the model is not fitted.
    TypeError
        When the model, or a value it holds, is not supported by the format.
    ValueError
        When the JSON part would be over the default :class:`Limits`
        (e.g. huge metadata): such a file would not load.

    Warns
    -----
    UserWarning
        When the weights are over ``MAX_WEIGHTS_BYTES``: loading the file
        then needs ``limits=Limits(max_weights_bytes=...)``.

    Notes
    -----
    This format never runs code on load. ``joblib.dump`` keeps working too,
    but joblib and pickle files must only be loaded if you trust them.
    """
    check_is_fitted(model)
    text, weights = _serialised(model, metadata)
    try:
        parse_config(text, DEFAULT_LIMITS)
    except ModelFileError as exc:
        raise ValueError(f"cannot save {path}: the file would not load ({exc})") from None
    if weights.nbytes > MAX_WEIGHTS_BYTES:
        warnings.warn(f"{path}: the weights ({weights.nbytes:,} bytes) are over MAX_WEIGHTS_BYTES: load the file "
                      "with limits=Limits(max_weights_bytes=...)", UserWarning, stacklevel=2)
    return _write_atomically(Path(path), text, weights)


def _serialised(model, metadata) -> tuple[bytes, memoryview]:
    """The JSON entry and the torch.save bytes of the weights entry of ``model``."""
    writer = _Writer()
    tree = writer.estimator(model, "model")
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {"unsupvad": _unsupvad_version(), "torch": torch.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "metadata": _metadata(metadata),
        "estimator": tree,
    }
    buffer = io.BytesIO()
    torch.save(writer.weights, buffer)
    return json.dumps(config, indent=1, allow_nan=False).encode(), buffer.getbuffer()


def _metadata(metadata) -> object:
    """The JSON form of ``metadata``: plain values only, as :func:`read_model_info` reads no weights."""
    writer = _Writer()
    value = writer.value(metadata or {}, "metadata")
    if writer.weights["arrays"] or writer.weights["nets"]:
        raise TypeError("cannot save metadata holding arrays, tensors or fitted networks (read_model_info reads "
                        "no weights): give lists instead")
    return value


def _write_atomically(path: Path, text: bytes, weights) -> Path:
    """Write the zip to a temporary file next to ``path``, flush it to disk and move it onto ``path``."""
    with replaced_atomically(path) as f, zipfile.ZipFile(f, "w") as archive:
        archive.writestr(CONFIG_ENTRY, text, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(WEIGHTS_ENTRY, weights, compress_type=zipfile.ZIP_STORED)
    return path


def _unsupvad_version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------- reading the file
def _read_archive(path, limits: Limits, *, weights: bool) -> tuple[Path, dict, bytes | None]:
    """The checked JSON config and (when ``weights``) the raw weights entry of the model file at ``path``."""
    path = Path(path)
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a unsupvad.persistence.Limits, got {type(limits).__name__}")
    with regular_file(path) as f, as_model_file_error(path), open_zip(f, os.fstat(f.fileno()).st_size, limits,
                                                                      "the file") as archive:
        by_name = {info.filename: info for info in archive.infolist()}
        if CONFIG_ENTRY not in by_name:
            raise ModelFileError(f"not an unsupvad model file (no {CONFIG_ENTRY} inside)")
        check_entry(by_name[CONFIG_ENTRY], "max_config_bytes", limits)
        config = parse_config(read_entry(archive, by_name[CONFIG_ENTRY]), limits)
        check_header(config)
        unexpected = sorted(by_name.keys() - {CONFIG_ENTRY, WEIGHTS_ENTRY})
        if unexpected:
            raise ModelFileError(f"tampered or foreign model file (unexpected entry {unexpected[0]!r})")
        if WEIGHTS_ENTRY not in by_name:
            raise ModelFileError(f"corrupted model file (no {WEIGHTS_ENTRY} inside)")
        check_entry(by_name[WEIGHTS_ENTRY], "max_weights_bytes", limits)
        raw = read_entry(archive, by_name[WEIGHTS_ENTRY]) if weights else None
    return path, config, raw


def read_model_info(path, *, limits: Limits | None = None) -> dict:
    """The JSON part of a model file (format, versions, metadata, estimator tree), without loading weights.

    Parameters
    ----------
    path : str or path-like
    limits : Limits, optional
        Bounds the file must respect; default :data:`DEFAULT_LIMITS`.

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError, ModelFileError
    """
    path, config, _ = _read_archive(path, limits or DEFAULT_LIMITS, weights=False)
    config = dict(config)
    with as_model_file_error(path):
        config["metadata"] = _Reader({"arrays": {}, "nets": {}}, torch.device("cpu")).value(config.get("metadata", {}))
    return config


# ---------------------------------------------------------------------- estimators
class _Reader:
    def __init__(self, weights: dict, device: torch.device):
        self.weights = weights
        self.device = device

    def value(self, value):
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        tag = next((t for t in _TAGS if t in value), None)
        if tag == "__tuple__":
            return tuple(self.value(v) for v in value[tag])
        if tag == "__float__":
            if not isinstance(value[tag], str):
                raise ModelFileError(f"bad __float__ value {value[tag]!r}")
            return float(value[tag])
        if tag == "__array__":
            tensor = self.weights["arrays"].get(value[tag]) if isinstance(value[tag], str) else None
            if not isinstance(tensor, torch.Tensor):
                raise ModelFileError(f"no saved array {value[tag]!r} in the weights")
            return tensor if value.get("tensor") else tensor.numpy()
        if tag == "__device__":
            return self.device
        if tag == "__estimator__":
            return self.estimator(value[tag])
        return {k: self.value(v) for k, v in value.items()}

    def estimator(self, spec):
        if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict) \
                or not isinstance(spec.get("fitted", {}), dict):
            raise ModelFileError("an estimator entry is not {class, params, fitted}")
        key, allowed = spec.get("class"), allowed_estimators()
        if not isinstance(key, str) or key not in allowed:
            raise ModelFileError(f"names class {key!r}, which is not an unsupvad estimator nor a registered "
                                 f"model (allowed: {', '.join(sorted(allowed))})")
        est = self.parameters(allowed[key], key, spec["params"])
        nets = {}
        for name, value in spec.get("fitted", {}).items():
            problem = _fitted_name_problem(type(est), name)
            if problem:
                raise ModelFileError(f"{key}: the fitted attribute {name!r} {problem}")
            if isinstance(value, dict) and "__net__" in value:
                nets[name] = value["__net__"]
            else:
                setattr(est, name, self.value(value))
        for name, where in nets.items():
            if not isinstance(where, str) or where not in self.weights["nets"]:
                raise ModelFileError(f"{key}.{name}: no saved network {where!r} in the weights")
            setattr(est, name, self.net(est, self.weights["nets"][where], where))
        return est

    def parameters(self, cls: type, key: str, saved: dict):
        """A ``cls`` with the saved parameters, checked by the class's own validation."""
        unknown = sorted(saved.keys() - set(cls._get_param_names()))
        if unknown:
            raise ModelFileError(f"{key} has no parameter {unknown[0]!r}")
        params = {k: self.value(v) for k, v in saved.items()}
        if isinstance(params.get("device"), str) and params["device"] != "auto":
            params["device"] = str(self.device)  # refitting then works on this machine
        est = cls(**params)
        try:
            if hasattr(cls, "_parameter_constraints"):
                est._validate_params()
            if isinstance(est, Pipeline):
                est._validate_steps()
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"invalid parameters for {key}: {str(exc).splitlines()[0]}") from exc
        return est

    def net(self, est, state, where: str) -> NeuralNet:
        if not hasattr(est, "_build_net"):
            raise ModelFileError(f"{type(est).__name__} cannot rebuild its network")
        if not isinstance(state, dict) or not isinstance(state.get("history"), list):
            raise ModelFileError(f"the network {where}: bad saved state")
        net = est._build_net()
        check_against_saved(net, state, f"the network {where}")
        with torch.random.fork_rng(devices=[]):  # initialisation must not move the caller's random stream
            net.initialize()
        net.module_.load_state_dict(state["module"])
        net.criterion_.load_state_dict(state["criterion"])
        load_optimizer(net.optimizer_, state["optimizer"], f"the network {where}")
        net.history = History(state["history"])
        return net


def load_model(path, *, device="cpu", limits: Limits | None = None):
    """Load a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
    device : {'cpu', 'cuda', 'auto'} or str, default='cpu'
        Where the networks go. A model trained on CUDA loads on the CPU.
        Estimator ``device`` parameters other than ``'auto'`` are set to
        this device, so that refitting the loaded model works here too.
    limits : Limits, optional
        Bounds the file must respect (sizes, compression ratio, JSON values,
        nesting); default :data:`DEFAULT_LIMITS`. Raise them only for files
        you trust, e.g. ``Limits(max_weights_bytes=16 * 2**30)``.

    Returns
    -------
    estimator
        The fitted estimator, scoring as the saved one did.

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ModelFileError
        (a ValueError) For any file that is not a readable model file:
        not a regular file or not a zip, a foreign, corrupted or tampered
        archive (duplicate or unexpected entries), a newer format, a file
        over a limit, a class outside :func:`allowed_estimators`, invalid
        parameters or fitted attribute names, weights holding anything but
        tensors and plain containers, non-finite network weights, or
        weights that do not fit the network. See the module docstring.

    Notes
    -----
    Only the classes of :func:`allowed_estimators` are ever instantiated and the
    weights are read with ``torch.load(weights_only=True)``: loading a file
    from someone else runs none of its code. (``joblib.load`` does: use it
    only for files you trust.)
    """
    limits = limits or DEFAULT_LIMITS
    path, config, raw = _read_archive(path, limits, weights=True)
    target = resolve_device(device)
    with as_model_file_error(path):
        weights = load_weights(raw, limits)
        del raw
        return _Reader(weights, target).estimator(config["estimator"])
