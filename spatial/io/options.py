"""Reader options checked once, before any byte is read."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spatial.errors import ParameterError
from spatial.events import LOCATION_PRECISIONS, SENSITIVITIES, layer_spec
from spatial.io.result import Bounds
from spatial.limits import MAX_CATEGORY, check_length, check_name


@dataclass(frozen=True)
class ReadOptions:
    layer: str
    source_name: str
    sensitivity: str
    location_precision: str
    aoi: Bounds | None
    timezone: str
    category_default: str | None
    #: attributes as ``attr:<key>`` columns instead of dicts (see
    #: :func:`spatial.events.attribute_dicts_of`)
    attribute_columns: bool = False

    @classmethod
    def make(cls, layer: str, source_name: str, sensitivity: str | None,
             location_precision: str, aoi: Bounds | None, timezone: str,
             category_default: str | None, attribute_columns: bool = False) -> ReadOptions:
        check_layer(layer)
        sens = sensitivity or layer_spec(layer).sensitivity
        if sens not in SENSITIVITIES:
            raise ParameterError("sensitivity", f"must be one of {', '.join(SENSITIVITIES)}, "
                                                f"not {sens!r}")
        if location_precision not in LOCATION_PRECISIONS:
            raise ParameterError("location_precision", f"must be one of "
                                 f"{', '.join(LOCATION_PRECISIONS)}, not {location_precision!r}")
        if timezone != "UTC":
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ParameterError("timezone", f"unknown time zone {timezone!r}") from None
        if category_default is not None:
            check_length(category_default, "category_default", MAX_CATEGORY)
        if not isinstance(attribute_columns, bool):
            raise ParameterError("attribute_columns", f"must be true or false, not "
                                                      f"{attribute_columns!r}")
        return cls(layer, source_name, sens, location_precision, check_bounds(aoi), timezone,
                   category_default, attribute_columns)


def check_layer(layer: str) -> None:
    if not isinstance(layer, str) or not layer.strip():
        raise ParameterError("layer", "must be a non-empty name")
    check_name(layer, "layer")


def check_bounds(aoi: Bounds | None) -> Bounds | None:
    if aoi is None:
        return None
    try:
        minlon, minlat, maxlon, maxlat = (float(v) for v in aoi)
    except (TypeError, ValueError):
        raise ParameterError("area_of_interest", "must be (minlon, minlat, maxlon, maxlat) "
                                                 "in degrees, or None") from None
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise ParameterError("area_of_interest", f"{aoi} is not a lon/lat box "
                                                 "(minlon, minlat, maxlon, maxlat)")
    return minlon, minlat, maxlon, maxlat
