"""``remap pack operation ... --layer --pdf``: the mapped layer, the PDF, and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.app.operations import create_operation, start_operation
from service.render.pdf import find_chromium
from service.store import Store
from tests.service.api.test_operations_api import definition, load


@pytest.fixture
def op_id(store: Store, tmp_path: Path) -> int:
    t = load(store, tmp_path, scale=0.15)
    created = create_operation(store, definition(t), actor="test")
    start_operation(store, created["id"], actor="test")
    return int(created["id"])


def test_pack_layer_and_pdf(run, op_id: int, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed")
    out, pdf = tmp_path / "pack.html", tmp_path / "pack.pdf"
    res = run("pack", "operation", str(op_id), "--out", str(out), "--pdf", str(pdf),
              "--layer", "crime/anti-social behaviour")
    assert res.exit_code == 0, res.output
    assert "crime/Anti-social behaviour after, per 30 days" in out.read_text(encoding="utf-8")
    assert pdf.read_bytes().startswith(b"%PDF") and f"pdf written: {pdf}" in res.output
    # --json: one object naming both files
    res = run("pack", "operation", str(op_id), "--out", str(out), "--pdf", str(pdf), "--json")
    assert res.exit_code == 0, res.output
    said = json.loads(res.stdout)
    assert said["pack"] == str(out) and said["pdf"] == str(pdf) and said["pdf_bytes"] > 0


def test_pdf_without_chromium_is_a_clear_error(run, op_id: int, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMAP_CHROMIUM", str(tmp_path / "no-chromium"))
    out = tmp_path / "pack.html"
    res = run("pack", "operation", str(op_id), "--out", str(out), "--pdf",
              str(tmp_path / "pack.pdf"))
    assert res.exit_code == 2
    assert "pdf: printing to PDF needs headless Chromium" in res.output
    assert out.is_file() and not (tmp_path / "pack.pdf").exists()


def test_unknown_layer_names_the_operation_layers(run, op_id: int, tmp_path: Path) -> None:
    res = run("map", "operation", str(op_id), "--out", str(tmp_path / "m.html"),
              "--layer", "crime/Burglary")
    assert res.exit_code == 2
    assert "layer: 'crime/Burglary' is not a layer of this operation" in res.output
    assert "crime/Drugs" in res.output
