"""A small MBTiles file made by the tests: solid-colour PNG tiles over central Sheffield."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path

from service.render.basemap import lonlat_to_tile

#: Central Sheffield (w, s, e, n), WGS84.
SHEFFIELD = (-1.50, 53.36, -1.43, 53.40)
ZOOMS = (11, 12, 13)
#: The tiles' colour: no other layer of a map uses it, so a screenshot shows it is drawn.
TILE_RGB = (17, 170, 68)


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A solid ``size`` x ``size`` RGB PNG (zlib and struct only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size, 9)) + chunk(b"IEND", b""))


def make_mbtiles(path: Path, bounds: tuple[float, float, float, float] = SHEFFIELD,
                 zooms: tuple[int, ...] = ZOOMS) -> dict[tuple[int, int, int], bytes]:
    """Write an MBTiles file; returns its tiles keyed by XYZ ``(z, x, y)``.

    Each tile's PNG differs (its blue channel is its TMS row's last byte), so a
    test can tell which row was served.
    """
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE metadata (name text, value text);"
                       "CREATE TABLE tiles (zoom_level integer, tile_column integer, "
                       "tile_row integer, tile_data blob);")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)",
                     [("name", "test basemap"), ("format", "png"),
                      ("attribution", "<b>Force</b> tiles"), ("minzoom", str(min(zooms))),
                      ("maxzoom", str(max(zooms)))])
    out: dict[tuple[int, int, int], bytes] = {}
    w, s, e, n = bounds
    for z in zooms:
        x0, y0 = lonlat_to_tile(w, n, z)
        x1, y1 = lonlat_to_tile(e, s, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                tms_row = 2**z - 1 - y
                data = png((TILE_RGB[0], TILE_RGB[1], tms_row % 256))
                conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, tms_row, data))
                out[(z, x, y)] = data
    conn.commit()
    conn.close()
    return out
