"""The OGC API query parameters remap understands: CRS (Part 2), bbox, format, unknown names."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from service.app.analysis import parse_bbox as parse_wgs84_bbox
from service.app.export import FILE_FORMATS, FileFormat, parse_file_format
from spatial.errors import ParameterError
from spatial.place import crs

GEOJSON = "application/geo+json"
JSON = "application/json"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_27700 = "http://www.opengis.net/def/crs/EPSG/0/27700"

#: Query parameters of the items requests; anything else is an error (OGC /req/core/
#: query-param-unknown). ``f`` is accepted for clients that always send it.
ITEMS_PARAMETERS = frozenset({"bbox", "bbox-crs", "datetime", "limit", "offset", "cursor", "crs",
                              "f"})
#: Query parameters of a bulk download (every matching feature, no paging).
DOWNLOAD_PARAMETERS = frozenset({"bbox", "bbox-crs", "datetime", "crs", "f"})
ITEM_PARAMETERS = frozenset({"crs", "f"})
FORMATS = frozenset({"json", "geojson", GEOJSON})

#: Features per page when the client names no limit. GDAL and QGIS name their own
#: (GDAL's PAGE_SIZE open option); a client that does not gets pages large enough that
#: the per-request overhead is small next to the features (benchmarks/RESULTS.md).
DEFAULT_PAGE_SIZE = 1000
SCHEMA_JSON = "application/schema+json"

#: Bulk download formats by ``f`` value.
DOWNLOAD_FORMATS = FILE_FORMATS


@dataclass(frozen=True)
class OgcCrs:
    """A CRS remap serves: its OGC URI and the EPSG code used to transform (x first;
    4326 stands for CRS84, i.e. longitude before latitude)."""

    uri: str
    epsg: int

    @property
    def is_crs84(self) -> bool:
        return self.uri == CRS84

    @property
    def header(self) -> str:
        """The ``Content-Crs`` header value."""
        return f"<{self.uri}>"


CRS84_CRS = OgcCrs(CRS84, crs.WGS84)
BNG_CRS = OgcCrs(EPSG_27700, crs.BNG)
SUPPORTED_CRS = (CRS84_CRS, BNG_CRS)

_CRS_SPELLINGS: dict[str, OgcCrs] = {
    **{s.lower(): CRS84_CRS for s in (CRS84, "OGC:CRS84", "CRS84",
                                      "urn:ogc:def:crs:OGC:1.3:CRS84")},
    **{s.lower(): BNG_CRS for s in (EPSG_27700, "EPSG:27700",
                                    "urn:ogc:def:crs:EPSG::27700")},
}


def parse_crs(value: str | None, parameter: str = "crs") -> OgcCrs:
    """A ``crs``/``bbox-crs`` value (URI, ``[EPSG:27700]`` safe CURIE or URN); CRS84 if
    absent."""
    if value is None or not value.strip():
        return CRS84_CRS
    key = value.strip().strip("<>[]").replace("https://", "http://", 1).lower()
    found = _CRS_SPELLINGS.get(key)
    if found is None:
        raise ParameterError(parameter, f"{value!r} is not a supported CRS; use {CRS84} "
                                        f"(longitude/latitude, the default) or {EPSG_27700} "
                                        "(British National Grid, metres)")
    return found


@dataclass(frozen=True)
class BBox:
    """A query bounding box in ``crs`` (x first)."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    crs: OgcCrs

    #: Padding (degrees) of the CRS84 envelope of a projected box: it only pre-selects.
    ENVELOPE_PAD = 1e-3

    @property
    def coords(self) -> tuple[float, float, float, float]:
        return (self.minx, self.miny, self.maxx, self.maxy)

    def crs84_envelope(self) -> tuple[float, float, float, float]:
        """A lon/lat box enclosing this one (itself when it is in CRS84)."""
        if self.crs.is_crs84:
            return self.coords
        t = np.linspace(0.0, 1.0, 33)
        xs = np.concatenate([self.minx + t * (self.maxx - self.minx), np.full(33, self.maxx),
                             self.maxx - t * (self.maxx - self.minx), np.full(33, self.minx)])
        ys = np.concatenate([np.full(33, self.miny), self.miny + t * (self.maxy - self.miny),
                             np.full(33, self.maxy), self.maxy - t * (self.maxy - self.miny)])
        lon, lat = crs.to_wgs84(xs, ys, self.crs.epsg)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise ParameterError("bbox", "lies outside the area its CRS covers")
        p = self.ENVELOPE_PAD
        return (float(lon.min()) - p, float(lat.min()) - p,
                float(lon.max()) + p, float(lat.max()) + p)


def parse_bbox(value: str | None, bbox_crs: OgcCrs) -> BBox | None:
    """``minx,miny,maxx,maxy`` (or the 6-number 3-D form) in ``bbox_crs``."""
    if value is None or value == "":
        return None
    if bbox_crs.is_crs84:
        lonlat = parse_wgs84_bbox(value)
        return None if lonlat is None else BBox(*lonlat, crs=bbox_crs)
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError as exc:
        raise ParameterError("bbox", f"not numbers: {value!r}") from exc
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise ParameterError("bbox", "expected four (or six) finite numbers minx,miny,maxx,maxy")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if nums[0] > nums[2] or nums[1] > nums[3]:
        raise ParameterError("bbox", "min must not exceed max (minx,miny,maxx,maxy)")
    return BBox(nums[0], nums[1], nums[2], nums[3], crs=bbox_crs)


def check_parameters(names: Iterable[str], allowed: frozenset[str], f: str | None) -> None:
    """Refuse unknown query parameters and formats other than GeoJSON."""
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ParameterError(unknown[0], "is not a query parameter of this resource; "
                                         f"known: {', '.join(sorted(allowed))}")
    if f is not None and f not in FORMATS:
        raise ParameterError("f", f"{f!r} is not available; features are served as GeoJSON "
                                  "(f=json)")


def parse_download_format(f: str | None) -> FileFormat:
    """The bulk download format named by ``f`` (``gpkg``, ``fgb``)."""
    return parse_file_format(f, "f")
