"""Sphinx configuration for unsupvad.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is needed: intersphinx is off, and the API stubs under
``docs/generated/`` are written by autosummary at build time from the
templates in ``docs/_templates/`` (they are not committed).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import unsupvad  # noqa: E402

project = "unsupvad"
author = "The unsupvad developers"
copyright = "the unsupvad developers, BSD-3-Clause"
version = unsupvad.__version__
release = unsupvad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
language = "en"

# -- autodoc / autosummary ---------------------------------------------------
autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections carry the types
autodoc_inherit_docstrings = True
autoclass_content = "class"

# -- numpydoc ------------------------------------------------------------------
numpydoc_show_class_members = False  # autodoc lists members; avoids duplicate objects
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True
numpydoc_validation_checks = set()

# -- cross references -----------------------------------------------------------
nitpicky = False  # types such as "array-like of shape (n,)" are prose, not targets
default_role = "literal"  # single backticks in docstrings render as code

# -- HTML -------------------------------------------------------------------------
html_theme = "alabaster"
html_theme_options = {
    "description": "Unsupervised video anomaly detection",
    "fixed_sidebar": True,
}
html_static_path = []
html_last_updated_fmt = None


# scikit-learn's metadata-routing helpers (``set_fit_request`` and friends,
# ``get_metadata_routing``) are generated per class; their docstrings point
# into scikit-learn's own documentation, so they are left out here.
_SKLEARN_ROUTING = {"get_metadata_routing"}


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    if name in _SKLEARN_ROUTING or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
