"""The weights entry of a model file (``weights.pt``): checked as a torch zip, loaded, then checked tensor by tensor.

Its records must be stored (not compressed), its directory and pickled
structure small; it is loaded with ``weights_only=True`` on the CPU; every
tensor must be dense and own the memory it spans, all of them within
``max_weights_bytes``, and every floating tensor of a network finite.
"""

from __future__ import annotations

import io
import re
import zipfile

import torch

from ._model_file_limits import Limits, ModelFileError, over_limit
from ._model_file_zip import open_zip

WEIGHTS_ENTRY = "weights.pt"


def load_weights(raw: bytes, limits: Limits) -> dict:
    """``torch.load`` of the weights entry, once its records are known to be stored, not compressed."""
    what = f"its {WEIGHTS_ENTRY}"
    try:
        with open_zip(io.BytesIO(raw), len(raw), limits, what, weights_file=True) as inner:
            infos = inner.infolist()
    except zipfile.BadZipFile:
        raise ModelFileError(f"{what} is not a torch file (torch.save writes a zip archive)") from None
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or info.file_size != info.compress_size:
            raise ModelFileError(f"{what}: record {info.filename!r} is compressed or encrypted (torch.save stores "
                                 "records as they are: it could inflate past the limits)")
        if info.filename.endswith("/data.pkl"):
            over_limit(limits, "max_structure_bytes", info.file_size, f"the pickled structure of {what} has")
    try:
        weights = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refusals, truncated or foreign data
        detail = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).splitlines()[0] if str(exc) else "")  # torch's bold
        raise ModelFileError(f"unreadable weights in the model file ({type(exc).__name__}: {detail})") from exc
    if not (isinstance(weights, dict) and isinstance(weights.get("arrays"), dict)
            and isinstance(weights.get("nets"), dict)):
        raise ModelFileError(f"corrupted model file ({what} does not hold arrays and nets)")
    _check_tensors(weights, limits)
    _check_finite(weights["nets"])
    return weights


def _tensors(tree, limits: Limits):
    """``(name, tensor)`` for every tensor in the plain containers ``tree``, walked without recursion."""
    stack = [("", tree, 1)]
    while stack:
        name, value, depth = stack.pop()
        if isinstance(value, torch.Tensor):
            yield name, value
            continue
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, (list, tuple)):
            items = enumerate(value)
        else:
            continue
        if depth > limits.max_depth:
            raise ModelFileError(f"its {WEIGHTS_ENTRY} is nested deeper than the limit max_depth={limits.max_depth}")
        stack.extend((f"{name}/{key}", item, depth + 1) for key, item in items)


def _check_tensors(weights: dict, limits: Limits) -> None:
    """Every tensor dense and within its own storage (no expanded views), all of them within the weights limit."""
    total, what = 0, f"its {WEIGHTS_ENTRY}"
    for name, tensor in _tensors(weights, limits):
        tensor_name = f"{what}: tensor {name.lstrip('/')!r}"
        if tensor.layout != torch.strided or tensor.is_quantized or tensor.device.type != "cpu":
            raise ModelFileError(f"{tensor_name} is not a dense tensor ({tensor.layout}, {tensor.device})")
        nbytes = tensor.numel() * tensor.element_size()
        held = tensor.untyped_storage().nbytes()
        if nbytes > held:
            raise ModelFileError(f"{tensor_name} spans {nbytes:,} bytes over a storage of {held:,} (an expanded view: "
                                 "loading it would allocate memory the file does not hold)")
        total += nbytes
    over_limit(limits, "max_weights_bytes", total, f"the tensors of {what} take")


def _check_finite(nets: dict) -> None:
    """Refuse NaN or infinite values in the floating tensors of networks and of their optimizer state."""
    for where, state in nets.items():
        if not isinstance(state, dict) or not isinstance(state.get("optimizer"), dict):
            raise ModelFileError(f"corrupted model file (bad saved state for {where})")
        parts = [(part, state.get(part)) for part in ("module", "criterion")]
        optimizer = state["optimizer"].get("state")
        if isinstance(optimizer, dict):
            parts += [(f"optimizer state of parameter {key}", value) for key, value in optimizer.items()]
        for part, tensors in parts:
            if not isinstance(tensors, dict):
                raise ModelFileError(f"corrupted model file (bad saved {part} of {where})")
            for key, tensor in tensors.items():
                if (isinstance(tensor, torch.Tensor) and (tensor.is_floating_point() or tensor.is_complex())
                        and not bool(torch.isfinite(tensor).all())):
                    raise ModelFileError(f"the network {where}: its {part} tensor {key!r} holds NaN or infinite "
                                         "values")
