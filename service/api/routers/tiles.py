"""Basemap tiles from the force's MBTiles file (``REMAP_BASEMAP=/path/file.mbtiles``).

No API key: map pages load tiles as images, which cannot send a header, and a
basemap holds no policing data (like ``/static``). Only ``z/x/y`` integers
reach the file, opened read-only.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response

from service.api.errors import LOOKUP_RESPONSES, error_responses
from service.render.basemap import MBTiles, parse_basemap
from spatial.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["tiles"],
                   responses={**LOOKUP_RESPONSES, **error_responses(422)})

_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@router.get("/tiles/{z}/{x}/{y}.png", response_class=Response,
            responses={200: {"description": "the tile image",
                             "content": {"image/png": {"schema": {
                                 "type": "string", "format": "binary"}}}}},
            summary="A basemap tile (XYZ) from the MBTiles file of REMAP_BASEMAP; no key needed")
def tile(request: Request, z: int = Path(..., ge=0, le=24), x: int = Path(..., ge=0),
         y: int = Path(..., ge=0)) -> Response:
    basemap = parse_basemap(request.app.state.settings.basemap)
    if basemap is None or basemap.path is None:
        raise NotFoundError("no MBTiles basemap: set REMAP_BASEMAP=/path/file.mbtiles "
                            "(an XYZ URL basemap is loaded from its own server)")
    source = MBTiles(basemap.path)
    data = source.tile(z, x, y)
    if data is None:
        raise NotFoundError(f"tile {z}/{x}/{y} is not in {basemap.path.name}")
    media = _TYPES.get(source.metadata()["format"].lower(), "image/png")
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
