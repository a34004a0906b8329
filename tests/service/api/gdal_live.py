"""A live remap server and Debian's ogr2ogr, for the GDAL tests (synthetic and real data).

The tests skip, saying why, where ``ogr2ogr`` is absent, unless ``REMAP_REQUIRE_GDAL=1``
(set by CI, which installs gdal-bin) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pyogrio

from service.main import create_app
from service.settings import Settings
from service.store import Store
from tests.live import serve


def require_gdal() -> None:
    import pytest

    if shutil.which("ogr2ogr") and shutil.which("ogrinfo"):
        return
    why = "ogr2ogr/ogrinfo not found (Debian package gdal-bin)"
    if os.environ.get("REMAP_REQUIRE_GDAL") == "1":
        pytest.fail(f"REMAP_REQUIRE_GDAL=1 but {why}")
    pytest.skip(why)


@contextmanager
def live_server(store: Store) -> Iterator[str]:
    """remap under uvicorn on a free loopback port, for the duration (bulk downloads
    kept beside the store, not in the user's cache)."""
    folder = Path(store.url.removeprefix("sqlite:///")).parent / "download-cache"
    app = create_app(Settings(database_url=store.url, download_cache_dir=folder), store=store)
    with serve(app) as url:
        yield url


def ogr2ogr(source: str, layer: str, target: Path, key: str, *,
            page_size: int | None = None, timeout: float = 300) -> gpd.GeoDataFrame:
    """Copy ``layer`` of the OGC API at ``source`` into a GeoPackage with GDAL, the key
    sent from a header file (the way that works with GDAL 3.6 and 3.12), and read it."""
    headers = target.with_suffix(".headers")
    headers.write_text(f"X-API-Key: {key}\n")
    cmd = ["ogr2ogr", "-f", "GPKG", str(target), source, *([layer] if layer else [])]
    if page_size:
        cmd[4:4] = ["-oo", f"PAGE_SIZE={page_size}"]
    env = {**os.environ, "GDAL_HTTP_HEADER_FILE": str(headers)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return pyogrio.read_dataframe(target)
