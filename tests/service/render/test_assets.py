"""Offline assets: vendored files, folium's defaults mapped, icons, localising pages."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import pytest

from service.render import assets


def test_vendored_files_present() -> None:
    assert assets.missing_assets() == []
    sources = (assets.vendor_dir() / "SOURCES.md").read_text(encoding="utf-8")
    for path in assets.CDN_ASSETS.values():
        if path is not None:
            assert path in sources


def test_every_folium_default_asset_is_mapped() -> None:
    m = folium.Map()
    for _, url in [*m.default_js, *m.default_css]:
        assert url in assets.CDN_ASSETS, url


def test_icons_are_inlined_when_used() -> None:
    m = folium.Map(tiles=None, location=[53.8, -1.55])
    folium.Marker([53.8, -1.55], icon=folium.Icon(icon="info", prefix="fa")).add_to(m)
    page = assets.localise(m.get_root().render(), "inline")
    assert assets.uses_icons(page)
    assert "Font Awesome" in page and "data:font/woff2;base64," in page
    assert ".ttf" not in assets.strip_vendored(page)
    assert not re.search(r"url\(\.\./webfonts", page)
    assert assets.cdn_urls(page) == []


def test_localise_refuses_unknown_cdn() -> None:
    page = '<html><head><script src="https://unpkg.com/x@1/x.js"></script></head></html>'
    with pytest.raises(ValueError, match="not vendored"):
        assets.localise(page, "inline")
    assert assets.localise(page, "inline", strict=False) == page
    with pytest.raises(ValueError, match="base_url"):
        assets.localise(page, "url")


def test_localise_custom_static_dir(tmp_path: Path) -> None:
    page = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
    with pytest.raises(ValueError, match="missing"):
        assets.localise(page, "inline", static_dir=tmp_path)
    (tmp_path / "vendor" / "jquery" / "3.7.1").mkdir(parents=True)
    (tmp_path / "vendor" / "jquery" / "3.7.1" / "jquery.min.js").write_text(
        "var s = '</script>';\n//# sourceMappingURL=jquery.min.map\n")
    out = assets.localise(page, "inline", static_dir=tmp_path)
    assert "<\\/script>" in out and "sourceMappingURL" not in out
    assert out.count("</script>") == 1
