"""Sphinx configuration (the full documentation build arrives with the docs issue)."""

project = "unsupvad"
author = "The unsupvad developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
numpydoc_show_class_members = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
