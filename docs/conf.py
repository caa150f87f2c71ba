"""Sphinx configuration: the guides are Markdown (MyST), the API reference comes from the
docstrings (numpy style, by napoleon). Build: python -m sphinx -W -b html docs docs/_build/html
"""
import importlib.util

project = "pywd"
author = "the pywd developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "demo/*.md"]
myst_heading_anchors = 3
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_typehints = "none"            # the docstrings' Parameters sections give the types
autodoc_member_order = "bysource"
html_theme = "alabaster"
# pywd.torch needs torch: its API page is built where torch is installed (CI's docs build is)
tags.add("torch") if importlib.util.find_spec("torch") else None  # noqa: F821 (Sphinx's)
