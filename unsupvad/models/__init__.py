"""The component models: one-class (wOCC) and weakly-supervised (WS) estimators."""
