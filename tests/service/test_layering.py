"""The use cases (``service/app``) and the renderers (``service/render``) stand alone:
they import neither a web framework nor the command line, nor the layers that adapt
them (``service.api``, ``service.cli``), so the API and the CLI share them as equals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import import_walk

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("fastapi", "starlette", "click", "service.api", "service.cli")
LAYERS = ("service/app", "service/render")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an ``import`` or ``from ... import`` names, at any depth."""
    return import_walk.imported_modules(path.read_text(encoding="utf-8"), str(path))


def _is_forbidden(module: str) -> bool:
    return import_walk.is_within(module, FORBIDDEN)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_no_web_framework_cli_or_adapter(layer: str) -> None:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, layer
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in files for line, module in imported_modules(path)
           if _is_forbidden(module)]
    assert not bad, "\n".join(bad)


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from fastapi import Query\n    import click\n"
                      "from service import api\n", encoding="utf-8")
    found = sorted(m for _, m in imported_modules(sample) if _is_forbidden(m))
    assert found == ["click", "fastapi", "fastapi.Query", "service.api"]
