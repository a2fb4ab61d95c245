"""Sphinx configuration of the schedstudio manual.

Pages are Markdown (MyST). The CLI reference is generated from ``schedcore.cli.parser()``
(sphinx-argparse) and the scheduler API reference from the docstrings (autodoc), so neither
can drift from the code. Only ``schedcore`` is imported: it never imports Qt, so the manual
builds where no Qt is installed.

    python -m pip install -r docs/requirements.txt
    python -m sphinx -W --keep-going -b html docs build/docs
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # schedcore from this checkout, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))  # cli_reference

import schedcore  # noqa: E402

project = "schedstudio"
author = "the schedstudio authors"
copyright = "schedstudio authors; MIT License"
release = schedcore.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "requirements.txt"]

# MyST: anchors for headings so that pages link to sections as on GitHub
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc: members in source order, with their signatures' type hints in the descriptions
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "class"

html_theme = "furo"
html_title = "schedstudio manual"
html_static_path: list[str] = []
html_favicon = str(ROOT / "resources" / "schedstudio.png")
html_theme_options = {"sidebar_hide_name": False}
