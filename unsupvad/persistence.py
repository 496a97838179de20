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
only classes of :data:`ESTIMATORS` (nothing is imported from the file), reads
the weights with ``torch.load(..., weights_only=True)`` mapped to the CPU
(so a model trained on CUDA loads on a machine without a GPU) and puts each
network on the requested device.

Why one zip file rather than a folder: a model is one path to copy, upload
or pass to ``unsupvad score``; it is written to a temporary file and moved
into place, so an interrupted save never leaves half a model; and the JSON
entry stays readable with any zip tool (``unzip -p model.uvad
unsupvad-model.json``).

**Which format to use.** ``joblib.dump`` / ``pickle`` of an estimator also
work (and keep everything, callbacks included), but loading a pickle runs
whatever code the file names: load joblib or pickle files **only if you
trust them**. Use :func:`save_model` / :func:`load_model` for files you
share or receive from others.

A network is restored through its estimator's ``_build_net()`` (the same
constructor ``fit`` uses) from the restored parameters and fitted attributes,
then its ``state_dict`` is loaded: scores of the loaded model equal those of
the saved one on the same device.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import tempfile
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

from ._interleaved import InterleavedVAD
from .features import TrackSnippetFeatures
from .models import MIL, RTFM, STGNF, FeatureAE
from .models._base import resolve_device

FORMAT = "unsupvad-model"
FORMAT_VERSION = 1
CONFIG_ENTRY = "unsupvad-model.json"
WEIGHTS_ENTRY = "weights.pt"

ESTIMATORS: dict[str, type] = {
    f"unsupvad.{cls.__name__}": cls
    for cls in (InterleavedVAD, STGNF, RTFM, MIL, FeatureAE, TrackSnippetFeatures)
}
ESTIMATORS["sklearn.pipeline.Pipeline"] = Pipeline
"""The only classes a model file may name: ``'unsupvad.STGNF'`` etc. and scikit-learn's ``Pipeline``."""

_DROPPED_PARAMS = ("callbacks",)  # training-time observers (may hold data); saved as None
_TAGS = ("__tuple__", "__float__", "__array__", "__device__", "__estimator__")


class ModelFileError(ValueError):
    """A file that is not a readable unsupvad model file (foreign, corrupted, or of a newer format)."""


def _class_key(obj) -> str:
    for key, cls in ESTIMATORS.items():
        if type(obj) is cls:
            return key
    raise TypeError(
        f"cannot save a {type(obj).__module__}.{type(obj).__qualname__}: model files hold only "
        f"{', '.join(sorted(ESTIMATORS))}"
    )


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
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"cannot save {where}: a dict with keys that are not strings")
            return {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
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
        :class:`~unsupvad.FeatureAE`, :class:`~unsupvad.TrackSnippetFeatures`,
        or a scikit-learn ``Pipeline`` of them. ``callbacks`` (training-time
        observers) are not saved.
    path : str or path-like
        The file to write (any name; ``.uvad`` is the convention), replaced
        if it exists. Written to a temporary file first, then moved.
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

    Notes
    -----
    This format never runs code on load. ``joblib.dump`` keeps working too,
    but joblib and pickle files must only be loaded if you trust them.
    """
    check_is_fitted(model)
    writer = _Writer()
    tree = writer.estimator(model, "model")
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {"unsupvad": _unsupvad_version(), "torch": torch.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "metadata": writer.value(metadata or {}, "metadata"),
        "estimator": tree,
    }
    text = json.dumps(config, indent=1, allow_nan=False)
    buffer = io.BytesIO()
    torch.save(writer.weights, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            archive.writestr(CONFIG_ENTRY, text, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(WEIGHTS_ENTRY, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _unsupvad_version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------- loading
def _read_archive(path) -> tuple[Path, dict, bytes]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a model file")
    hint = "not an unsupvad model file"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if CONFIG_ENTRY not in names:
                raise ModelFileError(f"{path}: {hint} (no {CONFIG_ENTRY} inside)")
            text = archive.read(CONFIG_ENTRY)
            weights = archive.read(WEIGHTS_ENTRY) if WEIGHTS_ENTRY in names else None
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{path}: {hint} or a corrupted one ({exc}); a joblib/pickle file loads with joblib.load, "
            "only if you trust it"
        ) from exc
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the file ({exc})") from exc
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {hint} (its {CONFIG_ENTRY} is not valid JSON: {exc})") from exc
    found = config.get("format") if isinstance(config, dict) else None
    if found != FORMAT:
        raise ModelFileError(f"{path}: {hint} (format {found!r} instead of {FORMAT!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: {hint} (bad format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file format {version} was written by a newer unsupvad "
            f"({config.get('versions', {}).get('unsupvad')}); this one reads format {FORMAT_VERSION}: upgrade"
        )
    if weights is None:
        raise ModelFileError(f"{path}: corrupted model file (no {WEIGHTS_ENTRY} inside)")
    return path, config, weights


def read_model_info(path) -> dict:
    """The JSON part of a model file (format, versions, metadata, estimator tree), without loading weights.

    Raises
    ------
    FileNotFoundError, ModelFileError
    """
    config = dict(_read_archive(path)[1])
    config["metadata"] = _Reader({"arrays": {}, "nets": {}}, torch.device("cpu")).value(config.get("metadata", {}))
    return config


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
            return float(value[tag])
        if tag == "__array__":
            tensor = self.weights["arrays"][value[tag]]
            return tensor if value.get("tensor") else tensor.numpy()
        if tag == "__device__":
            return self.device
        if tag == "__estimator__":
            return self.estimator(value[tag])
        return {k: self.value(v) for k, v in value.items()}

    def estimator(self, spec: dict):
        key = spec["class"]
        if key not in ESTIMATORS:
            raise ModelFileError(f"names class {key!r}, which is not an unsupvad estimator "
                                 f"(allowed: {', '.join(sorted(ESTIMATORS))})")
        cls = ESTIMATORS[key]
        params = {k: self.value(v) for k, v in spec["params"].items()}
        if isinstance(params.get("device"), str) and params["device"] != "auto":
            params["device"] = str(self.device)  # refitting then works on this machine
        est = cls(**params)
        nets = {}
        for name, value in spec.get("fitted", {}).items():
            if isinstance(value, dict) and "__net__" in value:
                nets[name] = value["__net__"]
            else:
                setattr(est, name, self.value(value))
        for name, where in nets.items():
            setattr(est, name, self.net(est, self.weights["nets"][where]))
        return est

    def net(self, est, state: dict) -> NeuralNet:
        if not hasattr(est, "_build_net"):
            raise ModelFileError(f"{type(est).__name__} cannot rebuild its network")
        net = est._build_net()
        with torch.random.fork_rng(devices=[]):  # initialisation must not move the caller's random stream
            net.initialize()
        net.module_.load_state_dict(state["module"])
        net.criterion_.load_state_dict(state["criterion"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(state["history"])
        return net


def load_model(path, *, device="cpu"):
    """Load a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
    device : {'cpu', 'cuda', 'auto'} or str, default='cpu'
        Where the networks go. A model trained on CUDA loads on the CPU.
        Estimator ``device`` parameters other than ``'auto'`` are set to
        this device, so that refitting the loaded model works here too.

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
        not a zip, a foreign or corrupted archive, a newer format, a class
        outside :data:`ESTIMATORS`, weights holding anything but tensors and
        plain containers, or weights that do not fit the network.

    Notes
    -----
    Only the classes of :data:`ESTIMATORS` are ever instantiated and the
    weights are read with ``torch.load(weights_only=True)``: loading a file
    from someone else runs none of its code. (``joblib.load`` does: use it
    only for files you trust.)
    """
    path, config, raw = _read_archive(path)
    target = resolve_device(device)
    try:
        weights = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refusals, truncated or foreign data
        raise ModelFileError(f"{path}: unreadable weights in the model file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    try:
        return _Reader(weights, target).estimator(config["estimator"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelFileError(f"{path}: corrupted or inconsistent model file ({type(exc).__name__}: {detail})") \
            from exc
