"""Sphinx configuration for the stoQ documentation site (built by ``nox -s docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from stoq import __version__  # noqa: E402  (the core is installed in the docs session)

project = "stoQ"
author = "stoQ developers"
copyright = "stoQ developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "stoq_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# _generated/cli.md is pulled into cli.md by an include, not built as a page of its own.
exclude_patterns = ["_build", "_ext", "_generated/cli.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
# Anchors for "#section" links inside pages and the plugins' READMEs.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the site still builds with Sphinx's own theme
    html_theme = "alabaster"
html_title = f"stoQ {release}"
