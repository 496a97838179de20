"""Checks of the networks rebuilt from a model file, before and after their state is loaded.

A network's module and criterion are first built on the ``meta`` device
(shapes, no memory; a bounded number of modules and tensors) and compared
with the saved weights, so that an edited architecture parameter is refused
before memory is allocated; the saved optimizer's hyperparameters must be
finite numbers and its state must fit the parameters' shapes.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import TYPE_CHECKING

import torch
from torch.nn.modules import module as _torch_module
from torch.overrides import TorchFunctionMode

from ._model_file_limits import ModelFileError

if TYPE_CHECKING:
    from skorch import NeuralNet

_ALLOCATING = frozenset({torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint,
                         torch.randperm, torch.eye, torch.arange, torch.linspace, torch.logspace,
                         torch.empty_strided})


class _OnMeta(TorchFunctionMode):
    """Puts tensors that factory functions create with no device on the ``meta`` device: shapes, no memory.

    Tensors made from data (``torch.tensor``, ``torch.as_tensor``: e.g. a
    graph's adjacency) stay on the CPU, so that constructors can read them;
    they are no larger than that data, which the file holds.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _ALLOCATING and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


@contextlib.contextmanager
def _registration_budget(limit: int, what: str):
    """Stop a constructor (in this thread) that registers more than ``limit`` modules, parameters and buffers."""
    thread, count = threading.get_ident(), 0

    def count_one(*_):
        nonlocal count
        if threading.get_ident() == thread:
            count += 1
            if count > limit:
                raise ModelFileError(f"{what}: its parameters build a network of more than {limit:,} modules and "
                                     "tensors, far more than its saved weights hold (edited parameters?)")

    hooks = [register(count_one) for register in (_torch_module.register_module_module_registration_hook,
                                                  _torch_module.register_module_parameter_registration_hook,
                                                  _torch_module.register_module_buffer_registration_hook)]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


def check_against_saved(net: NeuralNet, state: dict, what: str) -> None:
    """Build the module and criterion on the meta device and compare their state with the saved one."""
    saved = {part: state.get(part) for part in ("module", "criterion")}
    for part, tensors in saved.items():
        if not isinstance(tensors, dict) or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
            raise ModelFileError(f"{what}: its saved {part} state is not a dict of tensors")
    budget = 4 * sum(len(tensors) for tensors in saved.values()) + 256
    with _OnMeta(), _registration_budget(budget, what):
        built = {part: net.initialized_instance(getattr(net, part), net.get_params_for(part)).state_dict()
                 for part in saved}
    for part, expected in built.items():
        missing, unexpected = expected.keys() - saved[part].keys(), saved[part].keys() - expected.keys()
        if missing or unexpected:
            raise ModelFileError(f"{what}: its {part} does not fit the saved weights (missing "
                                 f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
        for key, tensor in expected.items():
            if tuple(tensor.shape) != tuple(saved[part][key].shape):
                raise ModelFileError(
                    f"{what}: its parameters give {part} tensor {key!r} the shape {tuple(tensor.shape)}, the "
                    f"saved weights {tuple(saved[part][key].shape)} (edited parameters?)"
                )


def _check_hyperparameter(saved, fresh, what: str) -> None:
    """A saved optimizer hyperparameter must be a finite number where the fresh optimizer has a number."""
    if isinstance(fresh, (tuple, list)):
        if not isinstance(saved, (tuple, list)) or len(saved) != len(fresh):
            raise ModelFileError(f"{what} is {saved!r}, not a sequence of {len(fresh)}")
        for i, (a, b) in enumerate(zip(saved, fresh)):
            _check_hyperparameter(a, b, f"{what}[{i}]")
    elif isinstance(fresh, (int, float)) and not isinstance(fresh, bool):
        if not isinstance(saved, (int, float)) or isinstance(saved, bool) or not math.isfinite(saved):
            raise ModelFileError(f"{what} is {saved!r}, not a finite number")


def load_optimizer(optimizer: torch.optim.Optimizer, saved, what: str) -> None:
    """Check the saved hyperparameters, load the state, then check its tensors fit the parameters' shapes."""
    groups, fresh = saved.get("param_groups"), optimizer.state_dict()["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(fresh) or not all(isinstance(g, dict) for g in groups):
        raise ModelFileError(f"{what}: its saved optimizer does not have {len(fresh)} parameter group(s)")
    for i, (old, new) in enumerate(zip(groups, fresh)):
        for key, value in new.items():
            if key != "params" and key in old:
                _check_hyperparameter(old[key], value, f"{what}: optimizer hyperparameter {key!r} (group {i})")
    optimizer.load_state_dict(saved)
    index = {id(p): i for i, p in enumerate(p for group in optimizer.param_groups for p in group["params"])}
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != param.shape:
                raise ModelFileError(f"{what}: optimizer state {key!r} of parameter {index.get(id(param))} has the "
                                     f"shape {tuple(value.shape)}, the parameter {tuple(param.shape)}")
