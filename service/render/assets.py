"""Offline assets for Folium maps: vendored JS/CSS instead of CDNs.

Folium's HTML links Leaflet, jQuery, Bootstrap, Font Awesome and
Leaflet.awesome-markers from public CDNs. remap's maps must work with no
internet (a police network, a laptop at a tasking meeting), so the exact
files are vendored under ``service/render/static/vendor/`` (see ``SOURCES.md``
there) and this module rewrites the HTML to use them:

* ``mode="inline"``: the vendored scripts and stylesheets are embedded in
  the HTML, so one file written by the CLI works on its own, offline. Images
  referenced by the CSS (Leaflet's layer-control and marker icons) are
  embedded as base64 ``data:`` URIs. Icon assets (Leaflet.awesome-markers,
  Font Awesome and folium's rotation CSS, about 1.1 MB once the fonts are
  base64-encoded) are embedded only when the page uses icons
  (``folium.Icon`` markers or ``fa``/``glyphicon`` classes), detected
  automatically or forced with ``icons=True``/``False``; when they are left
  out, such icons render blank. Font Awesome fonts are embedded as ``woff2``
  ``data:`` URIs; the TrueType fallbacks are not vendored (every browser
  that runs Leaflet 1.9 reads ``woff2``) and are dropped from inlined CSS.
* ``mode="url"``: the links point at ``base_url`` (the service mounts
  ``service/render/static`` at ``/static``, so ``base_url="/static/vendor"``); the
  vendored CSS is served unmodified and its relative ``url()`` references
  resolve to the vendored images and fonts.

One folium stylesheet is not vendored: the Bootstrap 3 glyphicons CSS
(``netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css``),
which is not published in any package registry. Its link is removed;
``folium.Icon(prefix="glyphicon")`` icons degrade to blank markers.

The static folder is located relative to this file
(``<repo or site-packages>/service/render/static``, where setuptools installs the
``service`` package data) so that :mod:`spatial` never imports
:mod:`service`; every function takes a ``static_dir`` override.
"""

from __future__ import annotations

import base64
import html as htmlmod
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from markupsafe import Markup

from service.render.html import macros

#: Each CDN URL folium 0.20 uses (Map defaults) -> vendored path under ``static/vendor``,
#: or None for a link that is removed (not vendored).
CDN_ASSETS: Final[dict[str, str | None]] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/1.9.3/leaflet.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/5.2.2/js/bootstrap.bundle.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.js": "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/1.9.3/leaflet.css",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/5.2.2/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free/6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.css": "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": "folium/0.20.0/leaflet.awesome.rotate.css",
}

#: Hosts that serve libraries; none may remain in a localised page.
CDN_HOSTS: Final[tuple[str, ...]] = (
    "cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "netdna.bootstrapcdn.com",
    "maxcdn.bootstrapcdn.com", "stackpath.bootstrapcdn.com", "unpkg.com", "d3js.org",
    "ajax.googleapis.com", "fonts.googleapis.com", "fonts.gstatic.com", "rawcdn.githack.com",
    "raw.githubusercontent.com", "use.fontawesome.com",
)

_VENDORED_PATHS: Final = frozenset(p for p in CDN_ASSETS.values() if p is not None)

#: Vendored files needed only by pages that draw icons.
ICON_ASSETS: Final = frozenset({
    "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
    "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
    "fontawesome-free/6.2.0/css/all.min.css",
    "folium/0.20.0/leaflet.awesome.rotate.css",
})

#: Attribute marking an inlined vendored ``<script>``/``<style>`` block.
VENDOR_ATTR: Final = "data-remap-vendor"

MODES: Final = ("inline", "url")

_MIME: Final[dict[str, str]] = {
    ".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
    ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".eot":
        "application/vnd.ms-fontobject",
}
_FONT_SUFFIXES: Final = frozenset({".woff2", ".woff", ".ttf", ".eot", ".otf"})

_SCRIPT_RE = re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*(["'])(?P<url>[^"']+)\1[^>]*>\s*</script>""",
                        re.IGNORECASE)
_LINK_RE = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*(["'])(?P<url>[^"']+)\1[^>]*?/?>""",
                      re.IGNORECASE)
_CSS_URL_RE = re.compile(r"""url\(\s*(["']?)(?P<ref>[^"')]+)\1\s*\)""")
_FONT_SRC_RE = re.compile(r"(?P<prop>\bsrc\s*:)(?P<value>[^;}]*)(?P<end>[;}])")
_URL_RE = re.compile(r"""https?://[^\s"'<>()\\`]+""")
_SOURCE_MAP_RE = re.compile(r"^[ \t]*(//|/\*)# sourceMappingURL=[^\n]*$", re.MULTILINE)
_VENDOR_BLOCK_RE = re.compile(
    rf"<(?P<tag>script|style)\b[^>]*\b{VENDOR_ATTR}=[^>]*>.*?</(?P=tag)>",
    re.IGNORECASE | re.DOTALL)


#: The static files the service mounts at ``/static`` (vendored under ``vendor/``).
STATIC_DIR = Path(__file__).resolve().parent / "static"


def default_static_dir() -> Path:
    """``service/render/static``, beside this module (repository or site-packages)."""
    return STATIC_DIR


def vendor_dir(static_dir: Path | str | None = None) -> Path:
    """The folder of vendored files, ``<static_dir>/vendor``."""
    return Path(static_dir if static_dir is not None else default_static_dir()) / "vendor"


def missing_assets(static_dir: Path | str | None = None) -> list[str]:
    """Vendored paths of :data:`CDN_ASSETS` that are not on disk (empty when complete)."""
    root = vendor_dir(static_dir)
    return sorted(p for p in CDN_ASSETS.values() if p is not None and not (root / p).is_file())


def local_url(cdn_url: str, base_url: str) -> str | None:
    """The vendored URL of ``cdn_url`` under ``base_url``, or None when it is not vendored.

    Raises
    ------
    KeyError
        When ``cdn_url`` is not one of :data:`CDN_ASSETS`.
    """
    path = CDN_ASSETS[cdn_url]
    return None if path is None else f"{base_url.rstrip('/')}/{path}"


def localise(html: str, mode: str = "inline", *, base_url: str | None = None,
             static_dir: Path | str | None = None, icons: bool | None = None,
             strict: bool = True) -> str:
    """Rewrite a folium page so that it loads nothing from a CDN.

    Parameters
    ----------
    html : str
        A rendered folium page (``m.get_root().render()``).
    mode : {"inline", "url"}
        ``"inline"`` embeds the vendored files (a self-contained page);
        ``"url"`` links them under ``base_url``.
    base_url : str, optional
        Required for ``mode="url"``, e.g. ``"/static/vendor"``.
    static_dir : path, optional
        The ``service/render/static`` folder; default :func:`default_static_dir`.
    icons : bool, optional
        ``mode="inline"`` only: embed the icon assets (:data:`ICON_ASSETS`,
        fonts included) or leave them out. Default: embed them when
        :func:`uses_icons` finds icons in the page.
    strict : bool
        Raise when a script or stylesheet links an http(s) URL that is not
        vendored (default); with False such links are left as they are.

    Returns
    -------
    str
        The page; links to removed (not vendored) assets are dropped.

    Raises
    ------
    ValueError
        Unknown ``mode``, missing ``base_url``, a vendored file missing on
        disk, or (``strict``) a link to an unknown external URL.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if mode == "url" and not base_url:
        raise ValueError("mode='url' needs base_url, e.g. '/static/vendor'")
    rewriter = _Rewriter(root=vendor_dir(static_dir), mode=mode, base_url=base_url,
                         with_icons=uses_icons(html) if icons is None else icons)
    out = _SCRIPT_RE.sub(rewriter.script, html)
    out = _LINK_RE.sub(rewriter.link, out)
    if strict and rewriter.unknown:
        raise ValueError("the page links assets that are not vendored: "
                         + ", ".join(sorted(set(rewriter.unknown))))
    return out


@dataclass
class _Rewriter:
    """What :func:`localise` puts in place of each script and stylesheet link."""

    root: Path
    mode: str
    base_url: str | None
    with_icons: bool
    #: External URLs that are not vendored, met so far
    unknown: list[str] = field(default_factory=list)

    def target(self, url: str) -> tuple[bool, str | None]:
        """(handled, vendored path); unhandled URLs are left alone."""
        clean = htmlmod.unescape(url)
        if clean in CDN_ASSETS:
            path = CDN_ASSETS[clean]
            if path is not None and not (self.root / path).is_file():
                raise ValueError(f"vendored file {self.root / path} is missing (see "
                                 f"{self.root / 'SOURCES.md'})")
            return True, path
        if _is_external(clean):
            self.unknown.append(clean)
            return False, None
        for path in _VENDORED_PATHS:  # already linked to the vendored copy: same file
            if clean.endswith("/" + path):
                return True, path
        return False, None

    def script(self, match: re.Match[str]) -> str:
        return self._asset(match.group("url"), match.group(0), "script",
                           lambda url: _tags().script_src(url), _inline_script)

    def link(self, match: re.Match[str]) -> str:
        tag = match.group(0)
        if not re.search(r"""\brel\s*=\s*["']?stylesheet""", tag, re.IGNORECASE):
            return tag
        return self._asset(match.group("url"), tag, "stylesheet",
                           lambda url: _tags().stylesheet(url), _inline_style)

    def _asset(self, url: str, tag: str, kind: str, tag_for: Callable[[str], Any],
               inline: Callable[[Path, str], str]) -> str:
        """The replacement of a ``kind`` (script, stylesheet) tag loading ``url``."""
        handled, path = self.target(url)
        if not handled:
            return tag
        if path is None:
            return f"<!-- remap: a {kind} that is not vendored was removed -->"
        if self.mode == "inline" and path in ICON_ASSETS and not self.with_icons:
            return f"<!-- remap: icon {kind} left out (the page draws no icons) -->"
        if self.mode == "url":
            assert self.base_url is not None
            return str(tag_for(_join(self.base_url, path)))
        return inline(self.root, path)


_ICON_USE_RE = re.compile(
    r"""AwesomeMarkers|\bclass\s*=\s*\\?["'][^"'\\]*\b(fa|fas|far|fab|fa-solid|fa-regular"""
    r"""|fa-brands|glyphicon)\b""")


def uses_icons(html: str) -> bool:
    """Does the page (outside vendored blocks) draw Font Awesome or awesome-marker icons?"""
    return _ICON_USE_RE.search(strip_vendored(html)) is not None


def strip_vendored(html: str) -> str:
    """The page without its inlined vendored blocks (the part remap wrote itself)."""
    return _VENDOR_BLOCK_RE.sub("", html)


def external_urls(html: str) -> list[str]:
    """Every http(s) URL in the page outside inlined vendored blocks.

    An offline page must have none; a page with a tile layer has only the
    tile server's URL template and its attribution link. URLs inside the
    vendored libraries (licence comments, XML namespaces) are not fetched
    and are not counted.
    """
    return _URL_RE.findall(strip_vendored(html))


def cdn_urls(html: str) -> list[str]:
    """Every URL to a known CDN host anywhere in the page, vendored blocks included."""
    return [u for u in _URL_RE.findall(html)
            if any(u.split("/")[2].lower() == h for h in CDN_HOSTS)]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _tags() -> Any:
    """The macros of ``templates/asset_tags.html``."""
    return macros("asset_tags.html")


def _is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _join(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path}"


def _read_text(root: Path, path: str) -> str:
    return (root / path).read_text(encoding="utf-8")


def _inline_script(root: Path, path: str) -> str:
    js = _SOURCE_MAP_RE.sub("", _read_text(root, path))
    # "</script" inside the code would end the element; "<\/" is the same string in JS
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return str(_tags().inline_script(VENDOR_ATTR, path, Markup(js)))


def _inline_style(root: Path, path: str) -> str:
    css = _SOURCE_MAP_RE.sub("", _read_text(root, path))
    css = inline_css_urls(css, root / PurePosixPath(path).parent)
    css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return str(_tags().inline_style(VENDOR_ATTR, path, Markup(css)))


def _resolve(folder: Path, ref: str) -> Path | None:
    """A relative CSS reference as a file under ``folder``; None for data:, #, or absolute."""
    if ref.startswith(("data:", "#", "/")) or _is_external(ref) or ":" in ref.split("/")[0]:
        return None
    return (folder / ref.split("?")[0].split("#")[0]).resolve()


def inline_css_urls(css: str, folder: Path, *, embed_fonts: bool = True) -> str:
    """Relative ``url()`` references of a stylesheet in ``folder`` as ``data:`` URIs.

    ``@font-face`` sources whose file is absent (or every font, with
    ``embed_fonts=False``) are dropped from their ``src`` list; a ``src``
    left empty is removed, so the browser never fetches a font. Other
    references to absent files become ``none``-like empty data URIs.
    """

    def keep_source(entry: str) -> bool:
        m = _CSS_URL_RE.search(entry)
        if m is None:
            return True  # local("...") and the like
        file = _resolve(folder, m.group("ref"))
        if file is None:
            return not _is_external(m.group("ref"))
        if file.suffix.lower() in _FONT_SUFFIXES and not embed_fonts:
            return False
        return file.is_file()

    def font_src(match: re.Match[str]) -> str:
        entries = [e for e in _split_top_level(match.group("value")) if e.strip()]
        if not any(_CSS_URL_RE.search(e) for e in entries):
            return match.group(0)
        kept = [e.strip() for e in entries if keep_source(e)]
        if not kept:
            return "" if match.group("end") == ";" else "}"
        return f"{match.group('prop')}{','.join(kept)}{match.group('end')}"

    css = _FONT_SRC_RE.sub(font_src, css)

    def data_uri(match: re.Match[str]) -> str:
        ref = match.group("ref")
        file = _resolve(folder, ref)
        if file is None:
            return match.group(0)
        if not file.is_file():
            return 'url("data:,")'
        mime = _MIME.get(file.suffix.lower(), "application/octet-stream")
        encoded = base64.b64encode(file.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{encoded}")'

    return _CSS_URL_RE.sub(data_uri, css)


def _split_top_level(value: str) -> Iterable[str]:
    """Split a CSS value on commas outside parentheses and quotes."""
    depth = 0
    quote = ""
    start = 0
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            yield value[start:i]
            start = i + 1
    yield value[start:]
