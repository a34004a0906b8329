"""The operation pack on paper: headless Chromium prints the demo's pack to PDF, page 1
is the meeting page, legend swatches are visible pixels, no map control prints, and an
operation without a ``during`` window prints too."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from service.app.analysis import CountsRequest
from service.app.demo import run_demo
from service.app.hotspots import HotspotOptions
from service.app.operation_demo import planted_definition
from service.app.operations import create_operation, start_operation
from service.render.area_pack import area_pack_html
from service.render.operation_pack import operation_pack_html
from service.render.pdf import print_pdf
from service.store import Store
from spatial.synthetic.town import build_town
from tests.e2e.browser import CHROMIUM, require_browser
from tests.e2e.test_darnall_operation import darnall as darnall_fixture

#: A4 height less the pack's 10 mm top and bottom margins, in CSS px (96 per inch).
PRINTABLE_HEIGHT_PX = (297 - 20) / 25.4 * 96
#: A4 width less the 12 mm side margins, in CSS px.
PRINTABLE_WIDTH_PX = round((210 - 24) / 25.4 * 96)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int, int]:
    """The demo store, its operation, and the same operation without a during window."""
    require_browser()
    out = tmp_path_factory.mktemp("demo")
    summary = run_demo(out)
    store = Store(f"sqlite:///{out / 'remap-demo.db'}")
    town = build_town(summary["seed"])
    definition = planted_definition(town.operation, [
        {"layer": "crime", "category": "Drugs", "role": "output"},
        {"layer": "crime", "category": "Anti-social behaviour", "role": "outcome"}])
    del definition["windows"]["during"]
    definition["name"] = "No during window"
    created = create_operation(store, definition, actor="test")
    start_operation(store, created["id"], actor="test")
    return store, summary["operation"]["id"], created["id"]


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: its ``/Type /Page`` objects (not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def png_pixels(png: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and raw pixel rows of an 8-bit RGB(A) PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = colour = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return width, height, bpp, bytes(out)


def meeting_pdf_pages(html_path: Path, tmp_path: Path) -> int:
    """Pages of the pack printed without its technical sections: 1 when the meeting page
    fits on one A4 page."""
    cut = re.sub(r"<section.*?</section>", "", html_path.read_text(encoding="utf-8"),
                 flags=re.S)
    meeting = tmp_path / f"{html_path.stem}-meeting.html"
    meeting.write_text(cut, encoding="utf-8")
    return pdf_pages(print_pdf(meeting, tmp_path / f"{html_path.stem}-meeting.pdf").read_bytes())


def _print_view(html_path: Path, check: Any) -> Any:
    """Open the pack as print lays it out (print media, A4 printable width) and run
    ``check(page)`` once the map frame has drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": PRINTABLE_WIDTH_PX, "height": 1100})
            page.emulate_media(media="print")
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(html_path.resolve().as_uri())
            frame = page.frame_locator("iframe.map")
            frame.locator("path.leaflet-interactive").first.wait_for(timeout=30_000)
            return check(page)
        finally:
            browser.close()


def _pixel(shot: tuple[int, int, int, bytes], x: float, y: float) -> bytes:
    width, _, bpp, px = shot
    i = (round(y) * width + round(x)) * bpp
    return px[i:i + 3]


def _meeting_page(page: Any) -> dict[str, Any]:
    """What print shows of the pack: the screenshot, legend swatch boxes, the map controls'
    display, the bottom of the meeting page and which parts it holds."""
    shot = png_pixels(page.screenshot(full_page=True))
    frame = page.frame_locator("iframe.map")
    swatches = [frame.locator(".remap-legend .remap-swatch").nth(i).bounding_box()
                for i in range(frame.locator(".remap-legend .remap-swatch").count())]
    controls = page.frames[1].evaluate(
        "() => [...document.querySelectorAll('.leaflet-control-zoom, "
        ".leaflet-control-layers, .remap-caveats, .remap-params')]"
        ".map(e => getComputedStyle(e).display)")
    meeting = page.evaluate("() => document.querySelector('.meeting')"
                            ".getBoundingClientRect().bottom")
    parts = page.evaluate("() => ['h1', 'table', 'iframe.map', '.verdict', '.chart svg']"
                          ".map(s => !!document.querySelector('.meeting ' + s))")
    return {"shot": shot, "swatches": [b for b in swatches if b], "controls": controls,
            "meeting": meeting, "parts": parts}


def _assert_meeting_page(seen: dict[str, Any]) -> None:
    assert seen["meeting"] <= PRINTABLE_HEIGHT_PX, seen["meeting"]
    assert seen["controls"] and set(seen["controls"]) == {"none"}
    # legend fills print: some swatch's centre is a saturated colour on the page image
    centres = [_pixel(seen["shot"], b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
               for b in seen["swatches"]]
    assert any(max(c) - min(c) > 60 for c in centres), centres


def test_demo_operation_pack_prints_with_a_meeting_page(demo: tuple[Store, int, int],
                                                        tmp_path: Path) -> None:
    store, op_id, _ = demo
    html = tmp_path / "pack.html"
    html.write_text(operation_pack_html(store, op_id, role="analyst", actor="test"),
                    encoding="utf-8")
    pdf = print_pdf(html, tmp_path / "pack.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) >= 2  # the meeting page, then the technical pages
    assert meeting_pdf_pages(html, tmp_path) == 1
    seen = _print_view(html, _meeting_page)
    # bottom line, key figures, map and chart on the meeting page
    assert all(seen["parts"]), seen["parts"]
    _assert_meeting_page(seen)
    # the first legend swatch is the target's outline: its left edge is dark on paper
    box = seen["swatches"][0]
    edge = _pixel(seen["shot"], box["x"] + 1.5, box["y"] + box["height"] / 2)
    assert max(edge) < 100, edge


def test_demo_area_pack_prints_with_a_meeting_page(demo: tuple[Store, int, int],
                                                   tmp_path: Path) -> None:
    store, _, _ = demo
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                              area="boundary:beats")
    html = tmp_path / "area.html"
    html.write_text(area_pack_html(store, req, HotspotOptions(seed=1), role="partner"),
                    encoding="utf-8")
    assert pdf_pages(print_pdf(html, tmp_path / "area.pdf").read_bytes()) >= 2
    assert meeting_pdf_pages(html, tmp_path) == 1
    seen = _print_view(html, _meeting_page)
    assert all(seen["parts"][:3]), seen["parts"]
    _assert_meeting_page(seen)


def test_operation_without_during_window_prints(demo: tuple[Store, int, int],
                                                tmp_path: Path) -> None:
    store, _, op_id = demo
    page = operation_pack_html(store, op_id, role="analyst", actor="test",
                               layer="crime/Anti-social behaviour")
    assert "crime/Anti-social behaviour after, per 30 days" in page
    html = tmp_path / "pack.html"
    html.write_text(page, encoding="utf-8")
    assert pdf_pages(print_pdf(html, tmp_path / "pack.pdf").read_bytes()) >= 2


darnall = darnall_fixture  # the real-data fixture, used here too


@pytest.mark.realdata
def test_real_darnall_packs_print_with_a_meeting_page(
        darnall: tuple[Store, dict[str, Any], dict[str, Any], str], tmp_path: Path) -> None:
    """South Yorkshire police.uk data: the Darnall pseudo-operation (seven layers, no during
    window) and the Sheffield Drugs area pack."""
    require_browser()
    store, op, _, _ = darnall
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                              area="boundary:sheffield_nhood")
    pages = {"operation": operation_pack_html(store, op["id"], role="analyst", actor="test"),
             "area": area_pack_html(store, req, HotspotOptions(seed=1), role="analyst")}
    for name, page in pages.items():
        html = tmp_path / f"{name}.html"
        html.write_text(page, encoding="utf-8")
        assert pdf_pages(print_pdf(html, tmp_path / f"{name}.pdf").read_bytes()) >= 2, name
        assert meeting_pdf_pages(html, tmp_path) == 1, name
        _assert_meeting_page(_print_view(html, _meeting_page))
