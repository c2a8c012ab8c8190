"""Sphinx configuration of the django-arq documentation (``sphinx-build -W docs var/docs-html``).

The pages are Markdown (MyST); code examples are ``literalinclude``s of files the tests run, and
the API reference comes from the docstrings, so Django is set up with the test settings first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402 - after the path and settings above

django.setup()

project = "django-arq"
author = "django-arq developers"
copyright = "2026, django-arq developers"
release = "0.1.0"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["examples", "__init__.py"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = "django-arq"
html_static_path: list[str] = []
html_theme_options = {"page_width": "1240px", "sidebar_width": "240px"}
