"""The component models: weighted one-class (wOCC) and weakly-supervised (WS) estimators."""

from ._feature_ae import FeatureAE
from ._mil import MIL
from ._rtfm import RTFM
from ._stgnf import STGNF

WOCC_MODELS = {"stgnf": STGNF, "feature_ae": FeatureAE}
WS_MODELS = {"rtfm": RTFM, "mil": MIL}

__all__ = ["FeatureAE", "MIL", "RTFM", "STGNF", "WOCC_MODELS", "WS_MODELS"]
