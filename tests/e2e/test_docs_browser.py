"""``/docs`` renders in headless Chromium with the network blocked: Swagger UI comes
from remap's own /static, nothing tries to leave the machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.main import create_app
from service.settings import Settings
from service.store import Store
from tests.e2e.browser import open_page, require_browser
from tests.live import serve

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    tmp = tmp_path_factory.mktemp("docs")
    store = Store(f"sqlite:///{tmp / 'remap.db'}")
    app = create_app(Settings(database_url=store.url), store=store)
    try:
        with serve(app) as url:
            yield url
    finally:
        store.dispose()


def test_docs_render_offline(live_url: str) -> None:
    report = open_page(f"{live_url}/docs", screenshot=SCREENSHOTS / "docs.png",
                       wait_selector=".opblock", evaluate={
                           "operations": "document.querySelectorAll('.opblock').length",
                           "title": "document.querySelector('.info .title').textContent"})
    assert report.blocked_requests == []
    assert report.js_errors == [] and report.failed_requests == []
    assert report.extra["operations"] >= 25
    assert report.extra["title"].startswith("remap")
