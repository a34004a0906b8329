"""The analysis core only computes: nothing under ``spatial/`` imports presentation,
web, database or command-line code, nor the service that adapts it.

Every ``.py`` file under ``spatial/`` is parsed with :mod:`ast`, so imports inside
functions count as much as those at the top, and so do ``importlib.import_module``
and ``__import__`` calls with a literal module name.
"""

from __future__ import annotations

from pathlib import Path

from tests import import_walk

#: Top-level packages the analysis core must never import.
FORBIDDEN = ("folium", "branca", "jinja2", "fastapi", "starlette", "sqlalchemy", "click",
             "service")
SPATIAL = Path(__file__).resolve().parents[2] / "spatial"


def forbidden_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """``(line, module)`` of every import of a :data:`FORBIDDEN` package in ``source``."""
    return import_walk.forbidden_imports(source, FORBIDDEN, filename)


def test_checker_finds_forbidden_imports_anywhere() -> None:
    source = '''
import numpy as np
import folium
from fastapi import APIRouter
from spatial.place import crs
import servicelib
from . import sibling


def render():
    import sqlalchemy.orm
    from service.app import results
    from jinja2 import Environment
    return np


class Map:
    def draw(self):
        import importlib
        importlib.import_module("branca.colormap")
        __import__("click")
        from starlette.responses import HTMLResponse
'''
    assert forbidden_imports(source) == [
        (3, "folium"), (4, "fastapi"), (11, "sqlalchemy.orm"), (12, "service.app"),
        (13, "jinja2"), (20, "branca.colormap"), (21, "click"), (22, "starlette.responses"),
    ]
    assert forbidden_imports("import numpy\nfrom spatial.io import read\n") == []


def test_spatial_imports_no_presentation_web_database_or_cli() -> None:
    files = sorted(SPATIAL.rglob("*.py"))
    assert len(files) > 20  # the tree was found
    violations = [f"{path.relative_to(SPATIAL.parent)}:{line}: imports {module}"
                  for path in files
                  for line, module in forbidden_imports(path.read_text(encoding="utf-8"),
                                                        str(path))]
    assert violations == []
