"""The base layer of every map (configuration and MBTiles; drawn by
:mod:`service.render.basemap_layer`): none by default, a force's tile server, or a local MBTiles file.

``REMAP_BASEMAP`` (see :class:`service.settings.Settings`) is

- empty (the default): no base layer, and so no request leaves the page;
- an XYZ URL template with ``{z}``, ``{x}`` and ``{y}``, e.g.
  ``https://tiles.force.local/{z}/{x}/{y}.png``: the force's own tile server
  (the page loads tiles from it, and from nowhere else);
- the path of an MBTiles file (``*.mbtiles``, SQLite, raster PNG or JPEG
  tiles): remap serves its tiles at ``GET /v1/tiles/{z}/{x}/{y}.png`` to
  pages it serves, and embeds the tiles over the map's extent into
  self-contained files (packs, ``remap map ...``), so they show offline and
  print.

MBTiles stores rows in TMS order (row 0 at the south); web maps count
``y`` from the north, so ``row = 2**z - 1 - y`` (MBTiles 1.3 specification).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from spatial.errors import RemapError

#: Where remap serves the tiles of an MBTiles basemap.
TILE_ROUTE = "/v1/tiles/{z}/{x}/{y}.png"


class BasemapError(RemapError, ValueError):
    """``REMAP_BASEMAP`` is neither empty, an XYZ URL template nor an MBTiles file.

    A ``ValueError`` too, so that reading the settings refuses it (pydantic).
    """

    code = "basemap_unusable"


@dataclass(frozen=True)
class Basemap:
    """A configured base layer: ``kind`` ``"xyz"`` (``url``) or ``"mbtiles"`` (``path``)."""

    kind: str
    url: str | None = None
    path: Path | None = None

    @property
    def origin(self) -> str | None:
        """``scheme://host[:port]`` of an XYZ server (the one place a page may load from)."""
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def parse_basemap(text: str | None) -> Basemap | None:
    """``REMAP_BASEMAP`` as a :class:`Basemap` (``None``: no base layer).

    Raises
    ------
    BasemapError
        A URL without ``{z}``, ``{x}`` and ``{y}`` or not http(s), or a path
        that is not an existing ``.mbtiles`` file with a ``tiles`` table.
    """
    value = (text or "").strip()
    if not value or value.lower() == "none":
        return None
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BasemapError(f"basemap: {value!r} is not an http(s) URL")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in value]
        if missing:
            raise BasemapError(f"basemap: the URL template lacks {', '.join(missing)} "
                               "(e.g. https://tiles.force.local/{z}/{x}/{y}.png)")
        return Basemap("xyz", url=value)
    path = Path(value).expanduser()
    if path.suffix.lower() != ".mbtiles":
        raise BasemapError(f"basemap: {value!r} is neither an XYZ URL template nor a "
                           ".mbtiles file")
    if not path.is_file():
        raise BasemapError(f"basemap: MBTiles file {str(path)!r} does not exist")
    MBTiles(path).metadata()  # refuses a file that is not MBTiles now, not at the first tile
    return Basemap("mbtiles", path=path.resolve())


class MBTiles:
    """Read-only access to an MBTiles file (each call opens its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        # read-only and immutable: remap never writes the force's file
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)

    def metadata(self) -> dict[str, str]:
        """The ``metadata`` table (name -> value); ``format`` defaults to ``png``."""
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1 FROM tiles LIMIT 1").fetchall()
                rows = conn.execute("SELECT name, value FROM metadata").fetchall()
        except sqlite3.DatabaseError as exc:
            raise BasemapError(f"basemap: {str(self.path)!r} is not an MBTiles file "
                               f"({exc})") from exc
        meta = {str(k): str(v) for k, v in rows}
        meta.setdefault("format", "png")
        return meta

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at web-map (XYZ) ``z/x/y``, or None where the file has none."""
        if not (0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND "
                               "tile_column = ? AND tile_row = ?",
                               (z, x, 2**z - 1 - y)).fetchone()
        return None if row is None else bytes(row[0])

    def zooms(self) -> list[int]:
        with self._connect() as conn:
            return [int(r[0]) for r in conn.execute(
                "SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level")]

    def tiles_over(self, bounds: tuple[float, float, float, float], z: int
                   ) -> dict[str, bytes]:
        """Tiles of zoom ``z`` over WGS84 ``bounds`` (w, s, e, n), keyed ``"z/x/y"`` (XYZ)."""
        w, s, e, n = bounds
        x0, y0 = lonlat_to_tile(w, n, z)
        x1, y1 = lonlat_to_tile(e, s, z)
        top = 2**z - 1
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ? AND "
                "tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
                (z, x0, x1, top - y1, top - y0)).fetchall()
        return {f"{z}/{c}/{top - r}": bytes(d) for c, r, d in rows}


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile (x, y) holding ``lon, lat`` at zoom ``z`` (Web Mercator)."""
    n = 2**z
    lat = max(min(lat, 85.0511), -85.0511)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def configured_basemap() -> Basemap | None:
    """The basemap of ``REMAP_BASEMAP`` (checked when the settings are read)."""
    from service.settings import get_settings

    return parse_basemap(get_settings().basemap)
