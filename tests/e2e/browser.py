"""A reusable headless-Chromium harness for remap's pages (maps, later the UI).

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright for
Python, without ``playwright install``. Every request that would leave the
machine (anything but localhost, 127.0.0.1, ``file:``, ``data:``, ``blob:``)
is aborted and recorded, so a test can assert that a page works offline and
that nothing even tried to reach the internet. Console errors and uncaught
page errors are collected.

Usage::

    from tests.e2e.browser import open_page, require_browser, serve_directory

    require_browser()                       # skip (or fail) without a browser
    report = open_page(html_path, screenshot=Path("shot.png"))
    assert not report.js_errors and not report.blocked_requests

``require_browser`` skips the test when Playwright or Chromium is missing,
unless ``REMAP_REQUIRE_BROWSER=1`` (then it fails), so CI can insist on the
browser tests while a laptop without Chromium still runs the rest.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("REMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about"})


@dataclass
class PageReport:
    """What happened when a page was opened.

    Attributes
    ----------
    url : str
    js_errors : list of str
        Uncaught exceptions in the page.
    console_errors : list of str
        ``console.error`` messages (including failed resource loads).
    blocked_requests : list of str
        Requests to anything but localhost/file/data, aborted.
    failed_requests : list of str
        Local requests that failed (e.g. a 404 or a missing file).
    layer_names : list of str
        Labels of the Leaflet layer control, in order (base layers first).
    load_seconds : float
        From navigation to the layer control being present.
    screenshot : Path or None
    title : str
    extra : dict
        Results of ``evaluate`` scripts passed to :func:`open_page`.
    """

    url: str
    js_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    load_seconds: float = 0.0
    screenshot: Path | None = None
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """No errors of any kind and nothing blocked."""
        return not (self.js_errors or self.console_errors or self.blocked_requests
                    or self.failed_requests)


def browser_status() -> tuple[bool, str]:
    """Whether the harness can run, and why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "playwright is not installed (pip install playwright; no browser download " \
                      "is needed)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return False, f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set " \
                      "REMAP_CHROMIUM)"
    return True, ""


def require_browser() -> None:
    """Skip the calling test without a browser; fail instead if REMAP_REQUIRE_BROWSER=1."""
    import pytest

    ok, why = browser_status()
    if ok:
        return
    if os.environ.get("REMAP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"REMAP_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


def is_local(url: str) -> bool:
    """May the page load ``url``? Only this machine and inline data."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _as_url(target: str | Path) -> str:
    text = str(target)
    if text.startswith(("http://", "https://", "file:", "data:")):
        return text
    return Path(text).resolve().as_uri()


def open_page(url_or_html_path: str | Path, *, screenshot: Path | None,
              wait_selector: str = ".leaflet-control-layers", timeout_s: float = 30.0,
              settle_ms: int = 500, viewport: tuple[int, int] = (1280, 800),
              evaluate: dict[str, str] | None = None,
              actions: Callable[[Any], None] | None = None) -> PageReport:
    """Open a page in headless Chromium with the network blocked, and report.

    Parameters
    ----------
    url_or_html_path : str or Path
        An http(s) URL on localhost, a ``file:`` URL, or a path to an HTML file.
    screenshot : Path, optional
        Where to write a PNG of the viewport (folders are created).
    wait_selector : str
        The page is loaded when this selector is present (default: the
        Leaflet layer control).
    timeout_s : float
    settle_ms : int
        Extra wait after the selector appears (rendering, late errors).
    viewport : (width, height)
    evaluate : dict of str to str, optional
        JavaScript expressions evaluated after loading; results in
        ``report.extra`` under the same keys.
    actions : callable, optional
        Called with the Playwright ``Page`` after loading and before the
        screenshot (clicks, slider moves...).

    Returns
    -------
    PageReport
    """
    from playwright.sync_api import sync_playwright

    url = _as_url(url_or_html_path)
    report = PageReport(url=url)
    profile = tempfile.mkdtemp(prefix="remap-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=False,
                args=list(CHROMIUM_ARGS), viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block", offline=False)
            try:
                def route(r: Any) -> None:
                    if is_local(r.request.url):
                        r.continue_()
                    else:
                        report.blocked_requests.append(r.request.url)
                        r.abort("blockedbyclient")

                context.route("**/*", route)
                page = context.pages[0] if context.pages else context.new_page()
                page.on("console", lambda m: report.console_errors.append(m.text)
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: report.js_errors.append(str(e)))
                page.on("requestfailed", lambda r: None if not is_local(r.url)
                        else report.failed_requests.append(f"{r.url}: {r.failure}"))
                start = time.perf_counter()
                page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                page.wait_for_selector(wait_selector, state="attached",
                                       timeout=timeout_s * 1000)
                report.load_seconds = time.perf_counter() - start
                page.wait_for_timeout(settle_ms)
                report.title = page.title()
                report.layer_names = page.eval_on_selector_all(
                    ".leaflet-control-layers-list label",
                    "els => els.map(e => e.textContent.trim())")
                for key, expr in (evaluate or {}).items():
                    report.extra[key] = page.evaluate(expr)
                if actions is not None:
                    actions(page)
                    page.wait_for_timeout(settle_ms)
                if screenshot is not None:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot))
                    report.screenshot = screenshot
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return report


def toggle_layer(page: Any, name: str) -> None:
    """Click the layer-control checkbox (or radio) of the layer labelled ``name``."""
    labels = page.locator(".leaflet-control-layers-list label")
    for i in range(labels.count()):
        label = labels.nth(i)
        if label.text_content().strip() == name:
            label.locator("input").click()
            return
    raise AssertionError(f"no layer {name!r} in the layer control")
