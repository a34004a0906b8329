"""What a map is drawn from: layers, density grids, and the error for bad ones.

A :class:`MapLayer` names one layer of a map and its data (a GeoJSON
FeatureCollection in WGS84, or a :class:`DensityGrid`); the kinds are listed
in :data:`service.render.map_base.LAYER_KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from spatial.errors import ParameterError

#: Most individual points a ``points`` layer draws; beyond it, aggregate.
MAX_POINTS: Final = 5_000


class MapInputError(ParameterError, ValueError):
    """A layer the map cannot draw as given (a :class:`ValueError` and a ParameterError)."""

    def __init__(self, layer: str, reason: str) -> None:
        super().__init__(f"layer {layer!r}", reason)


@dataclass(frozen=True)
class MapLayer:
    """One layer of a map.

    Attributes
    ----------
    name : str
        Shown in the layer control and the legend; unique within a map.
    kind : str
        One of :data:`service.render.map_base.LAYER_KINDS`.
    data : dict or DensityGrid
        A GeoJSON FeatureCollection in WGS84 (optionally with ``parameters``
        and ``warnings`` members, as the service returns them); for
        ``"density"`` a :class:`DensityGrid` or a mapping accepted by
        :meth:`DensityGrid.coerce`.
    value_field : str, optional
        The property classed or coloured; default per kind: ``count``,
        ``Gi_Bin``, ``cluster``, ``role``, ``months`` (monthly: a mapping
        ``"YYYY-MM" -> count``); for ``points`` an optional category field.
    label_field : str, optional
        The unit's display name (default ``label``).
    tooltip_fields : tuple of str
        Extra properties listed in tooltips, after the defaults.
    show : bool
        Whether the layer is on when the map opens.
    scheme : {"natural_breaks", "quantile"}
        Classification of counts (choropleth, aggregated points, monthly).
    classes : int
        Number of classes of the non-zero values (at most 9).
    """

    name: str
    kind: str
    data: Any
    value_field: str | None = None
    label_field: str | None = None
    tooltip_fields: tuple[str, ...] = ()
    show: bool = True
    scheme: str = "natural_breaks"
    classes: int = 5


@dataclass(frozen=True)
class DensityGrid:
    """A density surface on a regular metre grid, ready to draw.

    Attributes
    ----------
    values : ndarray, shape (ny, nx)
        Row 0 is the **southernmost** row, column 0 the westernmost (as
        :class:`spatial.stats.density.DensityResult`). NaN cells are transparent.
    bounds : (xmin, ymin, xmax, ymax)
        Outer edges of the grid, metres in ``epsg``.
    epsg : int
        The grid's projected CRS (e.g. 27700).
    units : str
        Shown in the legend, e.g. ``"events per km²"``.
    diverging : bool
        Colour negative and positive values apart, centred on 0
        (difference surfaces).
    parameters : dict
        Listed in the parameters box (bandwidth, cell size, kernel...).
    """

    values: npt.NDArray[np.float64]
    bounds: tuple[float, float, float, float]
    epsg: int
    units: str = "events per km²"
    diverging: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: Any, epsg: int, *, units: str | None = None) -> DensityGrid:
        """From a :class:`spatial.stats.density.DensityResult` or ``DualResult``.

        A ``DualResult`` of mode ``"difference"`` is diverging; one of mode
        ``"ratio"`` is drawn as ``log2(ratio)``, diverging around 0 (no
        change).
        """
        values = np.asarray(result.density, dtype=np.float64)
        mode = getattr(result, "mode", None)
        params = dict(getattr(result, "parameters", {}) or {})
        diverging = mode in ("difference", "ratio")
        default_units = str(params.get("units", "events per km²"))
        if mode == "ratio":
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(values > 0, np.log2(np.where(values > 0, values, 1.0)),
                                  np.nan)
            default_units = "log₂ ratio (0 = no change)"
        x_edges = np.asarray(result.x_edges, dtype=np.float64)
        y_edges = np.asarray(result.y_edges, dtype=np.float64)
        return cls(values=values, bounds=(float(x_edges[0]), float(y_edges[0]),
                                          float(x_edges[-1]), float(y_edges[-1])),
                   epsg=int(epsg), units=units or default_units, diverging=diverging,
                   parameters=params)

    @classmethod
    def coerce(cls, data: Any, layer: str = "density") -> DensityGrid:
        """A :class:`DensityGrid` from itself or a mapping.

        Accepted mappings: ``{"result": DensityResult|DualResult, "epsg":
        int}``, or ``{"values"|"density": array, "bounds": (xmin, ymin,
        xmax, ymax), "epsg": int}`` with optional ``units``, ``diverging``,
        ``parameters``.
        """
        if isinstance(data, DensityGrid):
            return data
        if not isinstance(data, Mapping):
            raise MapInputError(layer, "density data must be a DensityGrid or a mapping with "
                                       "values, bounds and epsg")
        if "epsg" not in data:
            raise MapInputError(layer, "density data needs 'epsg', the grid's projected CRS")
        if "result" in data:
            return cls.from_result(data["result"], int(data["epsg"]), units=data.get("units"))
        raw = data.get("values", data.get("density"))
        if raw is None or "bounds" not in data:
            raise MapInputError(layer, "density data needs 'values' (2-D array) and 'bounds'")
        values = np.asarray(raw, dtype=np.float64)
        if values.ndim != 2 or values.size == 0:
            raise MapInputError(layer, "density values must be a non-empty 2-D array")
        b = tuple(float(v) for v in data["bounds"])
        if len(b) != 4 or not (b[2] > b[0] and b[3] > b[1]):
            raise MapInputError(layer, "bounds must be (xmin, ymin, xmax, ymax) with max > min")
        return cls(values=values, bounds=(b[0], b[1], b[2], b[3]), epsg=int(data["epsg"]),
                   units=str(data.get("units", "events per km²")),
                   diverging=bool(data.get("diverging", False)),
                   parameters=dict(data.get("parameters", {}) or {}))
