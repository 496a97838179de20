"""The component models: weighted one-class (wOCC) and weakly-supervised (WS) estimators, and their registry.

``list_models(role)`` names what can be interleaved; ``register_model`` adds a
model of your own (see :doc:`/own_model`), which the command line, model
files and :class:`~unsupvad.InterleavedVAD` then treat like these.
"""

from ._bags import BagTrainingMixin
from ._feature_ae import FeatureAE
from ._jigsaw import Jigsaw
from ._mil import MIL
from ._registry import get_model, list_models, register_model
from ._rtfm import RTFM
from ._stgnf import STGNF
from ._tags import ModelTags, model_tags
from ._wocc import WeightedOneClassModel

for _model in (STGNF, FeatureAE, Jigsaw, RTFM, MIL):
    register_model(_model)

__all__ = [
    "BagTrainingMixin",
    "FeatureAE",
    "Jigsaw",
    "MIL",
    "ModelTags",
    "RTFM",
    "STGNF",
    "WeightedOneClassModel",
    "get_model",
    "list_models",
    "model_tags",
    "register_model",
]
