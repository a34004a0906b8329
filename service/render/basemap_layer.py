"""The configured basemap (:mod:`service.render.basemap`) drawn as a map's base layer."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import folium
from folium.template import Template
from markupsafe import escape

from service.render.basemap import TILE_ROUTE, Basemap, MBTiles
from service.render.safe_html import script_json

#: Largest total of tiles embedded into one self-contained page (bytes).
EMBED_MAX_BYTES = 6 * 2**20
#: Most tiles of one zoom level embedded (a zoom with more is not embedded).
EMBED_MAX_TILES_PER_ZOOM = 256
_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class EmbeddedTileLayer(folium.raster_layers.TileLayer):
    """A tile layer whose tiles are in the page (``data:`` URLs), none fetched."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new (L.TileLayer.extend({
                getTileUrl: function (c) {
                    return this.options.embedded[c.z + "/" + c.x + "/" + c.y]
                        || this.options.emptyTile;
                }
            }))("", {{ this.options|tojavascript }});
            {{ this.get_name() }}.options.embedded = {{ this.embedded_json }};
        {% endmacro %}
        """)

    def __init__(self, embedded: dict[str, str], **kwargs: Any) -> None:
        super().__init__(tiles="embedded", **kwargs)
        self.embedded_json = script_json(embedded)


_EMPTY_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def add_basemap(m: folium.Map, basemap: Basemap | None,
                bounds: list[tuple[float, float, float, float]] | list[Any], *,
                served: bool, route_prefix: str = "") -> dict[str, Any]:
    """Add ``basemap`` to ``m`` as its base layer; what was used, for the parameters box.

    ``served``: the page is served by remap (MBTiles tiles from
    :data:`TILE_ROUTE`, after ``route_prefix``, the root path behind a proxy); otherwise the tiles over ``bounds`` are embedded,
    coarse zooms first, within :data:`EMBED_MAX_BYTES`.
    """
    if basemap is None:
        return {}
    if basemap.kind == "xyz":
        assert basemap.url is not None
        folium.TileLayer(basemap.url, attr=str(escape(f"basemap: {urlsplit(basemap.url).netloc}")),
                         name="Basemap",
                         max_zoom=19).add_to(m)
        return {"basemap": basemap.url}
    assert basemap.path is not None
    source = MBTiles(basemap.path)
    meta = source.metadata()
    # Leaflet shows the attribution as HTML: the file's text is escaped
    attr = str(escape(meta.get("attribution") or f"basemap: {basemap.path.name}"))
    zooms = source.zooms()
    if served or not zooms:
        folium.TileLayer(route_prefix + TILE_ROUTE, attr=attr, name="Basemap", max_zoom=19,
                         max_native_zoom=max(zooms) if zooms else None,
                         min_zoom=0).add_to(m)
        return {"basemap": f"MBTiles {basemap.path.name} (served at {TILE_ROUTE})"}
    embedded: dict[str, str] = {}
    used: list[int] = []
    total = 0
    if bounds:
        box = (min(b[0] for b in bounds), min(b[1] for b in bounds),
               max(b[2] for b in bounds), max(b[3] for b in bounds))
        mime = _MIME.get(meta["format"].lower(), "image/png")
        for z in zooms:
            tiles = source.tiles_over(box, z)
            size = sum(len(t) for t in tiles.values())
            if not tiles or len(tiles) > EMBED_MAX_TILES_PER_ZOOM \
                    or total + size > EMBED_MAX_BYTES:
                if used:
                    break
                continue
            total += size
            used.append(z)
            embedded.update({k: f"data:{mime};base64,{base64.b64encode(t).decode()}"
                             for k, t in tiles.items()})
    EmbeddedTileLayer(embedded, attr=attr, name="Basemap", max_zoom=19,
                      min_native_zoom=min(used) if used else None,
                      max_native_zoom=max(used) if used else None,
                      empty_tile=_EMPTY_TILE).add_to(m)
    shown = (f"zoom {min(used)}-{max(used)}, {len(embedded)} tiles embedded" if used
             else "no tile of it covers the map")
    return {"basemap": f"MBTiles {basemap.path.name} ({shown})"}
