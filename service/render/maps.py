"""Results as interactive Folium maps that work offline.

The functions here are pure: they take GeoJSON FeatureCollections (dicts,
WGS84, as :mod:`service.app.analysis` returns them) and density grids, and give
a :class:`folium.Map` or an HTML string. The API and the CLI share them.

What a map shows
----------------
Each :class:`MapLayer` becomes one :class:`folium.FeatureGroup`, named in the
layer control (always present). Kinds:

``choropleth``
    Counts per unit (H3 cell, beat, grid square) in classes: zero is its own
    class (empty units are data, not gaps), ``"<5"`` (small-number
    suppression, :mod:`spatial.disclosure`) is a hatched grey
    "suppressed" class shown as text, never as a number, and the other
    values fall in up to 5 classes by natural breaks (Fisher-Jenks, exact) or
    quantiles. Colours: ColorBrewer OrRd.
``gi_bins``
    Getis-Ord Gi* confidence bins (property ``Gi_Bin``, -3..+3) in the ArcGIS
    Hot Spot Analysis colours, from "Cold spot 99 % confidence" to "Hot spot
    99 % confidence".
``lisa``
    Local Moran clusters (property ``cluster``: HH, HL, LH, LL, ns) in the
    GeoDa colours: HH red, LL blue, HL pink, LH light blue, not significant
    grey.
``outline``
    Unit outlines (beats) with permanent labels at representative points.
``areas``
    An operation's areas (property ``role``: target, buffer, ring, control,
    displacement...) with distinct colours and dash patterns.
``points_aggregated``
    Counts already aggregated by the caller (H3 hexagons, or points with a
    count drawn as proportional circles). Raw points in bulk are never drawn.
``points``
    Individual events as small circle markers, at most :data:`MAX_POINTS`;
    the caller must already have checked that the role may see them
    (:func:`spatial.disclosure.may_see_points`).
``density``
    A kernel density grid (:class:`DensityGrid`) reprojected to Web
    Mercator and drawn as a PNG image overlay; difference surfaces use a
    diverging colour map centred on zero.
``monthly``
    Monthly counts per unit with a month slider. The slider is a few lines of
    remap's own script on plain Leaflet, so it needs no asset beyond
    Leaflet: folium's ``TimeSliderChoropleth`` needs d3 and moment.js and
    restyles every ``<path>`` of the page (all other layers lose their
    fill), and ``TimestampedGeoJson`` needs five more CDN libraries.

Every unit's tooltip lists the unit, its counts and statistics. A caveat box
says what the data cannot show; a parameters box lists the parameters used;
a legend box has one section per layer, shown while the layer is on.

Offline
-------
With ``offline=True`` (the default) the map has **no tile layer**: units are
drawn on a plain background (outline layers give the context), and
:func:`render_html` embeds or links the vendored JS/CSS
(:mod:`service.render.assets`), so the page fetches nothing from the internet.
``offline=False`` adds an OpenStreetMap tile layer as the base layer.

HTML safety
-----------
No text is ever code. Every text from the data (unit labels, categories,
layer names, parameters, caveats) is HTML-escaped before it reaches the
page; data passed to scripts is JSON with ``<``, ``>``, ``&``, ``'`` and
U+2028/U+2029 escaped (:func:`service.render.safe_html.script_json`). remap's own
HTML goes into the page through :class:`service.render.safe_html.RawHtml`, never
as a template, and importing this module installs
:func:`service.render.safe_html.install`, without which folium renders every
element's output a second time as a Jinja template (``{{7*7}}`` in a label
would show 49).
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import branca.utilities
import folium
import numpy as np
import numpy.typing as npt
import shapely.geometry
from folium.elements import MacroElement
from folium.template import Template

from service.render import assets
from service.render import safe_html as safe_render
from service.render.safe_html import RawHtml, script_json
from spatial.errors import ParameterError
from spatial.place.crs import WGS84, transformer

safe_render.install()

LAYER_KINDS: Final[tuple[str, ...]] = (
    "choropleth", "gi_bins", "lisa", "outline", "areas", "points_aggregated", "density",
    "points", "monthly",
)

#: Most individual points a ``points`` layer draws; beyond it, aggregate.
MAX_POINTS: Final = 5_000

#: Most pixels along either side of a density image.
MAX_IMAGE_SIDE: Final = 1_600

#: Always the first caveat: what any map of recorded events cannot show.
BASE_CAVEAT: Final = ("Only recorded and reported events are mapped: intelligence is always "
                      "partial, and an empty area is not an area without drug activity.")

#: ArcGIS Hot Spot Analysis colours and labels for ``Gi_Bin``.
GI_BIN_COLOURS: Final[dict[int, str]] = {
    -3: "#4575b4", -2: "#91bfdb", -1: "#e0f3f8", 0: "#d9d9d9",
    1: "#fee090", 2: "#fc8d59", 3: "#d73027",
}
GI_BIN_LABELS: Final[dict[int, str]] = {
    -3: "Cold spot 99 % confidence", -2: "Cold spot 95 % confidence",
    -1: "Cold spot 90 % confidence", 0: "Not significant",
    1: "Hot spot 90 % confidence", 2: "Hot spot 95 % confidence",
    3: "Hot spot 99 % confidence",
}

#: GeoDa's LISA cluster colours.
LISA_COLOURS: Final[dict[str, str]] = {
    "HH": "#e31a1c", "HL": "#f4a6a6", "LH": "#a6bddb", "LL": "#1f4e9c", "ns": "#d9d9d9",
}
LISA_LABELS: Final[dict[str, str]] = {
    "HH": "High-High (hot spot)", "HL": "High-Low (high outlier)",
    "LH": "Low-High (low outlier)", "LL": "Low-Low (cold spot)", "ns": "Not significant",
}

#: ColorBrewer OrRd (counts) and Purples (aggregated points), 5 classes.
SEQUENTIAL: Final[tuple[str, ...]] = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
PURPLES: Final[tuple[str, ...]] = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
ZERO_COLOUR: Final = "#ffffff"
MISSING_COLOUR: Final = "#bdbdbd"
HATCH_ID: Final = "remap-hatch"
#: SVG fill of the suppressed class (a hatch pattern defined in the page).
SUPPRESSED_FILL: Final = f"url(#{HATCH_ID})"
#: Categorical colours for point categories (ColorBrewer Dark2).
CATEGORICAL: Final[tuple[str, ...]] = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                       "#66a61e", "#e6ab02", "#a6761d", "#666666")

#: Styles of operation areas by role.
AREA_STYLES: Final[dict[str, dict[str, Any]]] = {
    "target": {"color": "#b2182b", "weight": 3, "dashArray": None, "fillOpacity": 0.12},
    "buffer": {"color": "#e66101", "weight": 2.5, "dashArray": "8 6", "fillOpacity": 0.06},
    "ring": {"color": "#fdb863", "weight": 1.5, "dashArray": "3 5", "fillOpacity": 0.0},
    "control": {"color": "#2166ac", "weight": 2.5, "dashArray": "12 6 2 6",
                "fillOpacity": 0.08},
    "other": {"color": "#4d4d4d", "weight": 1.5, "dashArray": "2 4", "fillOpacity": 0.04},
}
AREA_LABELS: Final[dict[str, str]] = {
    "target": "Target area (where the operation acted)",
    "buffer": "Buffer / catchment (displacement would show here)",
    "ring": "Distance ring", "control": "Control area (comparison)", "other": "Other area",
}

#: How fields are named in tooltips.
FIELD_LABELS: Final[dict[str, str]] = {
    "unit_id": "Unit", "label": "Name", "count": "Count", "GiZScore": "Gi* z-score",
    "GiPValue": "p-value", "p_adjusted": "p-value (adjusted)", "Gi_Bin": "Gi* bin",
    "NNeighbors": "Neighbours", "cluster": "LISA cluster", "Is": "Local Moran's I",
    "z": "z-score", "p_sim": "Pseudo p-value", "p_norm": "p-value (normal)",
    "role": "Area", "ring": "Ring", "distance_m": "Distance (m)", "category": "Category",
    "time": "Time", "layer": "Layer", "rate": "Rate", "months": "Months",
}

#: Statistics shown in tooltips by default, per kind, when present.
_DEFAULT_STATS: Final[dict[str, tuple[str, ...]]] = {
    "choropleth": ("count",),
    "gi_bins": ("count", "GiZScore", "GiPValue", "p_adjusted", "NNeighbors", "Gi_Bin"),
    "lisa": ("count", "Is", "z", "p_sim", "p_norm", "p_adjusted", "cluster"),
    "outline": ("count",),
    "areas": ("role", "ring", "distance_m", "count"),
    "points_aggregated": ("count",),
    "points": ("category", "time", "layer"),
    "monthly": (),
    "density": (),
}
_DEFAULT_VALUE_FIELD: Final[dict[str, str | None]] = {
    "choropleth": "count", "gi_bins": "Gi_Bin", "lisa": "cluster", "outline": None,
    "areas": "role", "points_aggregated": "count", "points": None, "monthly": "months",
    "density": None,
}
_BORDER = "#737373"
#: Class of paths that take the mouse only on their outline, so that the units
#: under an area or a beat outline keep their tooltips.
STROKE_ONLY: Final = "remap-stroke-only"


class MapInputError(ParameterError, ValueError):
    """A layer the map cannot draw as given (a :class:`ValueError` and a ParameterError)."""

    def __init__(self, layer: str, reason: str) -> None:
        super().__init__(f"layer {layer!r}", reason)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MapLayer:
    """One layer of a map.

    Attributes
    ----------
    name : str
        Shown in the layer control and the legend; unique within a map.
    kind : str
        One of :data:`LAYER_KINDS`.
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


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LegendClass:
    """One class of a classified layer.

    ``kind`` is ``"zero"``, ``"suppressed"``, ``"range"`` or ``"missing"``;
    ranges hold values ``lower <= v <= upper``.
    """

    kind: str
    label: str
    colour: str
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Classification:
    """Classes of a set of values (:func:`classify_values`)."""

    classes: tuple[LegendClass, ...]
    scheme: str
    breaks: tuple[float, ...]

    def classify(self, value: Any) -> LegendClass:
        """The class of one value (a number, ``"<N"``, or None)."""
        kind = _value_kind(value)
        if kind in ("suppressed", "missing"):
            return self._special(kind)
        v = float(value)
        if v == 0:
            for c in self.classes:
                if c.kind == "zero":
                    return c
        ranges = [c for c in self.classes if c.kind == "range"]
        for c in ranges:
            if c.upper is not None and v <= c.upper:
                return c
        if ranges:
            return ranges[-1]
        return self._special("missing")

    def _special(self, kind: str) -> LegendClass:
        for c in self.classes:
            if c.kind == kind:
                return c
        return LegendClass(kind, "no value" if kind == "missing" else "suppressed",
                           MISSING_COLOUR if kind == "missing" else SUPPRESSED_FILL)


def _value_kind(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str):
        return "suppressed" if value.strip().startswith("<") else "missing"
    if isinstance(value, bool):
        return "range"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "missing"
    return "range" if math.isfinite(v) else "missing"


def _as_float(value: Any) -> float:
    """A value already checked by :func:`_value_kind` as a number."""
    return float(value)


def natural_breaks(values: npt.ArrayLike, k: int) -> list[float]:
    """Upper bounds of ``k`` Fisher-Jenks natural-breaks classes (exact).

    Minimises the total within-class sum of squared deviations by dynamic
    programming over the sorted distinct values, each weighted by how often
    it occurs (Fisher 1958; Jenks 1977), so ties cost nothing.

    Parameters
    ----------
    values : array_like of float
    k : int
        Number of classes; fewer are returned when there are fewer distinct
        values.

    Returns
    -------
    list of float
        Ascending upper bounds; the last is the maximum.

    Raises
    ------
    ValueError
        With more than 3,000 distinct values (use :func:`quantile_breaks`).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    u, w = np.unique(x, return_counts=True)
    m = u.size
    if m <= k:
        return [float(v) for v in u]
    if m > 3000:
        raise ValueError(f"{m} distinct values: natural breaks is limited to 3,000")
    wf = w.astype(np.float64)
    s1 = np.concatenate([[0.0], np.cumsum(wf * u)])
    s2 = np.concatenate([[0.0], np.cumsum(wf * u * u)])
    sw = np.concatenate([[0.0], np.cumsum(wf)])

    def ssd(i: npt.NDArray[np.int64], j: int) -> npt.NDArray[np.float64]:
        """Within-class SSD of u[i..j] for each start i."""
        n = sw[j + 1] - sw[i]
        s = s1[j + 1] - s1[i]
        return np.asarray(s2[j + 1] - s2[i] - s * s / n)

    cost = np.array([ssd(np.array([0]), j)[0] for j in range(m)])
    back = np.zeros((k, m), dtype=np.int64)
    for c in range(1, k):
        new = np.full(m, np.inf)
        for j in range(c, m):
            starts = np.arange(c, j + 1)
            total = cost[starts - 1] + ssd(starts, j)
            best = int(np.argmin(total))
            new[j] = total[best]
            back[c, j] = starts[best]
        cost = new
    uppers = []
    j = m - 1
    for c in range(k - 1, -1, -1):
        uppers.append(float(u[j]))
        if c > 0:
            j = int(back[c, j]) - 1
    return sorted(uppers)


def quantile_breaks(values: npt.ArrayLike, k: int) -> list[float]:
    """Upper bounds of ``k`` quantile classes (observed values; ties merge classes)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return []
    qs = np.quantile(x, np.arange(1, k + 1) / k, method="inverted_cdf")
    return sorted({float(q) for q in qs})


def _palette(colours: Sequence[str], n: int) -> list[str]:
    """``n`` colours along a sequential palette, darkest last.

    Fewer classes than colours skip the palette's near-white first colour
    (kept apart from the white zero class); more are interpolated in RGB.
    """
    if n <= 0:
        return []
    if n == len(colours):
        return list(colours)
    if n == 1:
        return [colours[-1]]
    start = 1.0 if n < len(colours) else 0.0
    rgb = np.array([_hex_rgb(c) for c in colours], dtype=np.float64)
    out = []
    for pos in np.linspace(start, len(colours) - 1, n):
        lo = int(np.floor(pos))
        hi = min(lo + 1, len(colours) - 1)
        mix = rgb[lo] + (rgb[hi] - rgb[lo]) * (pos - lo)
        out.append("#" + "".join(f"{int(round(v)):02x}" for v in mix))
    return out


def suppression_label(values: Iterable[Any]) -> str:
    """Legend text of the suppressed class, from the ``"<N"`` strings present."""
    thresholds = set()
    for v in values:
        if isinstance(v, str) and v.strip().startswith("<"):
            try:
                thresholds.add(int(float(v.strip()[1:])))
            except ValueError:
                pass
    if len(thresholds) == 1:
        t = thresholds.pop()
        return f"1–{t - 1}: suppressed, shown as “<{t}”"
    return "Small count: suppressed"


def classify_values(values: Sequence[Any], *, k: int = 5, scheme: str = "natural_breaks",
                    palette: Sequence[str] = SEQUENTIAL) -> Classification:
    """Classes of counts for a legend: zero, suppressed, and up to ``k`` ranges.

    Parameters
    ----------
    values : sequence
        Numbers, ``"<N"`` strings (suppressed small counts) or None.
    k : int
        Most classes of the non-zero numbers (1..9).
    scheme : {"natural_breaks", "quantile"}
        Natural breaks fall back to quantiles beyond 3,000 distinct values
        (the scheme used is in the result).
    palette : sequence of str
        Sequential colours, lightest first.

    Returns
    -------
    Classification
        Zero is its own class when all numbers are non-negative and a zero
        occurs; the suppressed class exists when a ``"<N"`` occurs; a
        missing class when a None occurs.
    """
    if scheme not in ("natural_breaks", "quantile"):
        raise ValueError(f"scheme {scheme!r}: expected 'natural_breaks' or 'quantile'")
    if not 1 <= int(k) <= 9:
        raise ValueError("classes must be 1..9")
    vals = list(values)
    nums = np.array([float(v) for v in vals if _value_kind(v) == "range"], dtype=np.float64)
    has_zero = bool(nums.size) and bool((nums == 0).any()) and bool((nums >= 0).all())
    ranged = nums[nums != 0] if has_zero else nums
    used = scheme
    if ranged.size:
        if scheme == "natural_breaks":
            try:
                breaks = natural_breaks(ranged, k)
            except ValueError:
                breaks, used = quantile_breaks(ranged, k), "quantile"
        else:
            breaks = quantile_breaks(ranged, k)
    else:
        breaks = []
    integer = bool(ranged.size) and bool(np.all(ranged == np.round(ranged)))
    colours = _palette(palette, len(breaks))
    classes: list[LegendClass] = []
    if has_zero:
        classes.append(LegendClass("zero", "0", ZERO_COLOUR, 0.0, 0.0))
    if any(_value_kind(v) == "suppressed" for v in vals):
        classes.append(LegendClass("suppressed", suppression_label(vals), SUPPRESSED_FILL))
    lower = float(ranged.min()) if ranged.size else 0.0
    for upper, colour in zip(breaks, colours, strict=True):
        members = ranged[(ranged >= lower) & (ranged <= upper)]
        lo = float(members.min()) if members.size else lower
        classes.append(LegendClass("range", _range_label(lo, upper, integer), colour, lo,
                                   upper))
        above = ranged[ranged > upper]
        lower = float(above.min()) if above.size else upper
    if any(_value_kind(v) == "missing" for v in vals):
        classes.append(LegendClass("missing", "No value", MISSING_COLOUR))
    return Classification(tuple(classes), used, tuple(breaks))


def _range_label(lo: float, hi: float, integer: bool) -> str:
    if integer:
        a, b = int(lo), int(hi)
        return f"{a:,}" if a == b else f"{a:,}–{b:,}"
    return format_value(lo) if lo == hi else f"{format_value(lo)} – {format_value(hi)}"


def format_value(value: Any) -> str:
    """A value as tooltip text: ``"<5"`` stays text, numbers get sensible digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "–"
        if v == round(v) and abs(v) < 1e15:
            return f"{int(round(v)):,}"
        a = abs(v)
        if a >= 100:
            return f"{v:,.0f}"
        if a >= 1:
            return f"{v:.2f}"
        if a >= 0.001:
            return f"{v:.4f}"
        return f"{v:.2e}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


# ---------------------------------------------------------------------------
# Map building
# ---------------------------------------------------------------------------


@dataclass
class _Context:
    """What the layers contribute to the page besides themselves."""

    map_name: str
    legends: list[tuple[str, str, str]] = field(default_factory=list)  # group var, id, html
    bounds: list[tuple[float, float, float, float]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    layer_parameters: dict[str, Any] = field(default_factory=dict)
    sliders: int = 0


def build_map(layers: list[MapLayer], *, title: str, caveats: list[str],
              parameters: dict[str, Any] | None = None, offline: bool = True,
              asset_base_url: str | None = None) -> folium.Map:
    """A Folium map of analysis results, one layer-control entry per layer.

    Parameters
    ----------
    layers : list of MapLayer
        Drawn in order (later layers on top); names must be unique.
    title : str
        Shown at the top of the map and as the page title.
    caveats : list of str
        What the data cannot show (snapped locations, month precision,
        partial intelligence...). :data:`BASE_CAVEAT` comes first, and each
        layer's ``warnings`` member is added after these.
    parameters : dict, optional
        Parameters of the analysis, listed in the parameters box; each
        layer's ``parameters`` member is listed under the layer's name.
    offline : bool
        True: no tile layer (a plain background). False: an OpenStreetMap
        tile layer as the base layer (the page then loads tiles from
        tile.openstreetmap.org).
    asset_base_url : str, optional
        Point the page's JS/CSS links at the vendored files under this URL
        (e.g. ``"/static/vendor"``) already in the map, so that ``m.save()``
        and ``m._repr_html_()`` do not use CDNs either.

    Returns
    -------
    folium.Map

    Raises
    ------
    MapInputError
        An unknown kind, a duplicate name, malformed data, or a ``points``
        layer over :data:`MAX_POINTS`.
    """
    names = [layer.name for layer in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MapInputError(dupes[0], "layer names must be unique in a map")
    for layer in layers:
        if layer.kind not in LAYER_KINDS:
            raise MapInputError(layer.name, f"kind {layer.kind!r} is not one of "
                                            f"{', '.join(LAYER_KINDS)}")

    m = folium.Map(location=[54.0, -2.5], tiles=None, control_scale=True,  # Great Britain
                   prefer_canvas=False, zoom_start=6)
    # Instance copies: folium's class-level lists are shared by every map.
    m.default_js = list(m.default_js)
    m.default_css = [(n, u) for n, u in m.default_css
                     if assets.CDN_ASSETS.get(u, "") is not None]
    if asset_base_url:
        m.default_js = [(n, assets.local_url(u, asset_base_url) or u)
                        if u in assets.CDN_ASSETS else (n, u) for n, u in m.default_js]
        m.default_css = [(n, assets.local_url(u, asset_base_url) or u)
                         if u in assets.CDN_ASSETS else (n, u) for n, u in m.default_css]
    if not offline:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(m)

    if any(layer.kind == "density" for layer in layers):
        folium.map.CustomPane(DENSITY_PANE, z_index=350, pointer_events=False).add_to(m)
    ctx = _Context(map_name=m.get_name())
    for layer in layers:
        # Leaflet's layer control shows the name as HTML: escape it
        group = folium.FeatureGroup(name=html.escape(layer.name), show=layer.show,
                                    overlay=True, control=True)
        group.add_to(m)
        _ADDERS[layer.kind](group, layer, ctx)
        if isinstance(layer.data, Mapping):
            if layer.data.get("parameters"):
                ctx.layer_parameters[layer.name] = layer.data["parameters"]
            for w in layer.data.get("warnings") or ():
                ctx.caveats.append(f"{layer.name}: {w}")

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _LegendToggle(ctx).add_to(m)

    if ctx.bounds:
        b = np.array(ctx.bounds)
        w, s, e, n = float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), \
            float(b[:, 3].max())
        m.fit_bounds([[s, w], [n, e]], padding=(20, 20))

    root = m.get_root()
    root.title = html.escape(title)  # type: ignore[attr-defined]
    all_caveats = [BASE_CAVEAT, *caveats, *ctx.caveats]
    root.header.add_child(RawHtml(_PAGE_CSS), name="remap_css")  # type: ignore[attr-defined]
    root.html.add_child(RawHtml(  # type: ignore[attr-defined]
        _page_boxes(m.get_name(), title, all_caveats, parameters, ctx)), name="remap_boxes")
    return m


def render_html(m: folium.Map, *, offline: bool = True, asset_base_url: str | None = None,
                static_dir: str | None = None) -> str:
    """The map as one HTML page.

    Parameters
    ----------
    m : folium.Map
    offline : bool
        True: the page must load nothing from the internet. Without
        ``asset_base_url`` the vendored JS/CSS is embedded (a self-contained
        file, about 0.5 MB plus the data); with it, linked under that URL.
        False: CDN links are kept unless ``asset_base_url`` is given.
    asset_base_url : str, optional
        E.g. ``"/static/vendor"`` for the service.
    static_dir : str, optional
        The ``service/static`` folder (default: beside the package).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        ``offline=True`` for a map with a tile layer (built with
        ``offline=False``), or a page that still links the internet.
    """
    page = m.get_root().render()
    if asset_base_url:
        page = assets.localise(page, "url", base_url=asset_base_url, static_dir=static_dir)
    elif offline:
        page = assets.localise(page, "inline", static_dir=static_dir)
    if offline:
        left = assets.external_urls(page)
        if left:
            raise ValueError("the page is not offline: it refers to "
                             + ", ".join(sorted(set(left))[:5])
                             + " (build the map with offline=True)")
    return page


# ---------------------------------------------------------------------------
# Layer kinds
# ---------------------------------------------------------------------------


def _features(layer: MapLayer) -> list[dict[str, Any]]:
    data = layer.data
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise MapInputError(layer.name, "data must be a GeoJSON FeatureCollection (a dict)")
    feats = data.get("features")
    if not isinstance(feats, list):
        raise MapInputError(layer.name, "the FeatureCollection has no 'features' list")
    for i, f in enumerate(feats):
        if not isinstance(f, Mapping) or not isinstance(f.get("geometry"), Mapping):
            raise MapInputError(layer.name, f"feature {i + 1} has no geometry")
    return feats


def _bounds_of(feats: Sequence[Mapping[str, Any]], ctx: _Context, layer: MapLayer) -> None:
    if not feats:
        return
    try:
        shapes = [shapely.geometry.shape(f["geometry"]) for f in feats]
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise MapInputError(layer.name, f"a geometry is not valid GeoJSON: {exc}") from exc
    b = np.array([s.bounds for s in shapes if not s.is_empty], dtype=np.float64)
    if b.size == 0:
        return
    w, s, e, n = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise MapInputError(layer.name, "coordinates are not WGS84 longitude/latitude "
                                        "(reproject to EPSG:4326 first)")
    ctx.bounds.append((float(w), float(s), float(e), float(n)))


def _unit_of(f: Mapping[str, Any]) -> Any:
    props = f.get("properties") or {}
    uid = props.get("unit_id")
    return uid if uid is not None else f.get("id")


def _label_of(f: Mapping[str, Any], layer: MapLayer) -> Any:
    props = f.get("properties") or {}
    return props.get(layer.label_field or "label")


def _rows(f: Mapping[str, Any], layer: MapLayer, fields: Iterable[str],
          extra: Sequence[tuple[str, Any]] = (), *, unit_name: str = "Unit"
          ) -> list[tuple[str, Any]]:
    props = f.get("properties") or {}
    rows: list[tuple[str, Any]] = []
    label = _label_of(f, layer)
    unit = _unit_of(f)
    if unit is not None:
        rows.append((unit_name, unit))
    if label is not None and label != unit:
        rows.append(("Name", label))
    seen = {"unit_id", layer.label_field or "label"}
    for name in (*fields, *layer.tooltip_fields):
        if name in seen or name not in props:
            continue
        seen.add(name)
        rows.append((FIELD_LABELS.get(name, name), props[name]))
    rows.extend(extra)
    return rows


def tooltip_html(rows: Sequence[tuple[str, Any]], *, title: str | None = None) -> str:
    """An escaped HTML table of ``(name, value)`` rows for a tooltip."""
    head = f"<div class='remap-tip-title'>{html.escape(title)}</div>" if title else ""
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(format_value(v))}"
                   "</td></tr>" for k, v in rows)
    return f"<div class='remap-tip'>{head}<table>{body}</table></div>"


def _slim(f: Mapping[str, Any], layer: MapLayer, keep: Iterable[str], tip: str,
          index: int) -> dict[str, Any]:
    """A copy of the feature with only what the map needs (data minimisation)."""
    props = f.get("properties") or {}
    out = {k: props[k] for k in keep if k in props}
    out["_remap_tooltip"] = tip
    fid = f.get("id")
    return {"type": "Feature", "id": f"{index}" if fid is None else str(fid),
            "geometry": f["geometry"], "properties": out}


def _geojson(group: folium.FeatureGroup, layer: MapLayer, feats: list[dict[str, Any]],
             style: Any, *, marker: Any = None) -> None:
    if not feats:  # an empty layer stays in the layer control, with nothing in it
        return
    ids = [f["id"] for f in feats]
    if len(set(ids)) != len(ids):  # folium needs unique ids to style features
        for i, f in enumerate(feats):
            f["id"] = str(i)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=layer.name, style_function=style,
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["_remap_tooltip"], labels=False, sticky=True),
        marker=marker, control=False, smooth_factor=0.5,
    ).add_to(group)


def _add_legend(ctx: _Context, group: folium.FeatureGroup, layer: MapLayer,
                body: str) -> None:
    lid = f"{ctx.map_name}-legend-{len(ctx.legends)}"
    ctx.legends.append((group.get_name(), lid,
                        f"<div class='remap-legend-section' id='{lid}'>"
                        f"<div class='remap-legend-title'>{html.escape(layer.name)}</div>"
                        f"{body}</div>"))


def _swatch(colour: str, label: str, *, line: str | None = None, dash: str | None = None,
            circle: bool = False) -> str:
    if colour == SUPPRESSED_FILL:
        fill = ("background: repeating-linear-gradient(45deg, #d9d9d9 0 3px, #737373 3px "
                "4.5px);")
    else:
        fill = f"background: {html.escape(colour)};"
    border = (f"border: 2px {'dashed' if dash else 'solid'} {html.escape(line)};" if line
              else "border: 1px solid #969696;")
    shape = "border-radius: 50%;" if circle else ""
    return (f"<div class='remap-legend-row'><span class='remap-swatch' style='{fill}{border}"
            f"{shape}'></span><span>{html.escape(label)}</span></div>")


def _class_legend(classification: Classification, note: str = "", *,
                  circle: bool = False) -> str:
    rows = "".join(_swatch(c.colour, c.label, circle=circle)
                   for c in classification.classes)
    scheme = {"natural_breaks": "natural breaks (Jenks)", "quantile": "quantiles"}.get(
        classification.scheme, classification.scheme)
    extra = f"<div class='remap-legend-note'>{html.escape(note)}</div>" if note else ""
    return (f"{rows}<div class='remap-legend-note'>Classes: {scheme}</div>{extra}")


def _class_style(classification: Classification, field_name: str) -> Any:
    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        c = classification.classify((f.get("properties") or {}).get(field_name))
        return {"fillColor": c.colour, "fillOpacity": 0.8 if c.kind != "zero" else 0.55,
                "color": _BORDER, "weight": 0.6, "opacity": 0.9}
    return style


def _add_choropleth(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context,
                    palette: Sequence[str] = SEQUENTIAL) -> None:
    feats = _features(layer)
    _bounds_of(feats, ctx, layer)
    vf = layer.value_field or _DEFAULT_VALUE_FIELD[layer.kind] or "count"
    values = [(f.get("properties") or {}).get(vf) for f in feats]
    cl = classify_values(values, k=layer.classes, scheme=layer.scheme, palette=palette)
    stats = (vf, *_DEFAULT_STATS[layer.kind])
    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}
    slim = []
    for i, f in enumerate(feats):
        c = cl.classify((f.get("properties") or {}).get(vf))
        tip = tooltip_html(_rows(f, layer, stats, [("Class", c.label)]), title=layer.name)
        slim.append(_slim(f, layer, keep, tip, i))
    points = [f for f in slim if f["geometry"].get("type") in ("Point", "MultiPoint")]
    if points and len(points) == len(slim):
        top = max((_as_float(v) for v in values if _value_kind(v) == "range"),
                  default=1.0) or 1.0

        def circle_style(f: Mapping[str, Any]) -> dict[str, Any]:
            v = (f.get("properties") or {}).get(vf)
            c = cl.classify(v)
            size = 4.0 if _value_kind(v) != "range" else 3 + 12 * math.sqrt(
                max(_as_float(v), 0.0) / top)
            return {"fill": True, "fillColor": c.colour, "fillOpacity": 0.85,
                    "color": "#252525", "weight": 0.8, "radius": size}

        _geojson(group, layer, slim, circle_style, marker=folium.CircleMarker(radius=5))
        note = "Circle area grows with the count."
        _add_legend(ctx, group, layer, _class_legend(cl, note, circle=True))
    else:
        _geojson(group, layer, slim, _class_style(cl, vf))
        _add_legend(ctx, group, layer, _class_legend(cl))


def _add_points_aggregated(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    _add_choropleth(group, layer, ctx, palette=PURPLES)


def _add_gi_bins(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _features(layer)
    _bounds_of(feats, ctx, layer)
    vf = layer.value_field or "Gi_Bin"
    stats = _DEFAULT_STATS["gi_bins"] + (vf,)

    def bin_of(f: Mapping[str, Any]) -> int | None:
        v = (f.get("properties") or {}).get(vf)
        if _value_kind(v) != "range":
            return None
        b = int(round(_as_float(v)))
        return max(-3, min(3, b))

    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}
    slim = []
    present: set[int | None] = set()
    for i, f in enumerate(feats):
        b = bin_of(f)
        present.add(b)
        meaning = GI_BIN_LABELS[b] if b is not None else "not computed (no neighbours)"
        tip = tooltip_html(_rows(f, layer, stats, [("Meaning", meaning)]), title=layer.name)
        slim.append(_slim(f, layer, keep, tip, i))

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        b = bin_of(f)
        if b is None:
            return {"fillColor": MISSING_COLOUR, "fillOpacity": 0.3, "color": _BORDER,
                    "weight": 0.5, "dashArray": "2 3"}
        return {"fillColor": GI_BIN_COLOURS[b], "fillOpacity": 0.3 if b == 0 else 0.85,
                "color": _BORDER, "weight": 0.5, "opacity": 0.9}

    _geojson(group, layer, slim, style)
    rows = "".join(_swatch(GI_BIN_COLOURS[b], GI_BIN_LABELS[b]) for b in range(3, -4, -1))
    if None in present:
        rows += _swatch(MISSING_COLOUR, "Not computed (no neighbours)")
    _add_legend(ctx, group, layer, rows + "<div class='remap-legend-note'>Getis-Ord Gi* "
                "(Gi_Bin), confidence after the stated multiple-testing correction</div>")


def _add_lisa(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _features(layer)
    _bounds_of(feats, ctx, layer)
    vf = layer.value_field or "cluster"
    stats = _DEFAULT_STATS["lisa"] + (vf,)
    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}

    def cluster_of(f: Mapping[str, Any]) -> str:
        v = (f.get("properties") or {}).get(vf)
        return v if isinstance(v, str) and v in LISA_COLOURS else "ns"

    slim = []
    for i, f in enumerate(feats):
        c = cluster_of(f)
        tip = tooltip_html(_rows(f, layer, stats, [("Meaning", LISA_LABELS[c])]),
                           title=layer.name)
        slim.append(_slim(f, layer, keep, tip, i))

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        c = cluster_of(f)
        return {"fillColor": LISA_COLOURS[c], "fillOpacity": 0.3 if c == "ns" else 0.85,
                "color": _BORDER, "weight": 0.5, "opacity": 0.9}

    _geojson(group, layer, slim, style)
    rows = "".join(_swatch(LISA_COLOURS[c], LISA_LABELS[c])
                   for c in ("HH", "HL", "LH", "LL", "ns"))
    _add_legend(ctx, group, layer, rows + "<div class='remap-legend-note'>Local Moran's I "
                "(LISA), significance after the stated correction</div>")


def _add_outline(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _features(layer)
    _bounds_of(feats, ctx, layer)
    stats = _DEFAULT_STATS["outline"]
    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}
    slim = [_slim(f, layer, keep, tooltip_html(_rows(f, layer, stats), title=layer.name), i)
            for i, f in enumerate(feats)]
    _geojson(group, layer, slim, lambda f: {"fill": False, "color": "#252525", "weight": 1.6,
                                            "opacity": 0.9, "className": STROKE_ONLY})
    for f in feats:
        text = _label_of(f, layer)
        if text is None:
            text = _unit_of(f)
        if text is None:
            continue
        geom = shapely.geometry.shape(f["geometry"])
        if geom.is_empty:
            continue
        pt = geom.representative_point()
        folium.Marker(
            [pt.y, pt.x],
            icon=folium.DivIcon(html=f"<div class='remap-label'>{html.escape(str(text))}</div>",
                                icon_size=(0, 0), icon_anchor=(0, 0), class_name="remap-label-icon"),
            interactive=False,
        ).add_to(group)
    _add_legend(ctx, group, layer, _swatch("transparent", "Unit boundary (labelled)",
                                           line="#252525"))


def _area_role(value: Any) -> str:
    text = str(value or "").lower()
    if "control" in text:
        return "control"
    if "ring" in text:
        return "ring"
    if any(w in text for w in ("buffer", "catchment", "displacement")):
        return "buffer"
    if any(w in text for w in ("target", "treated", "treatment")):
        return "target"
    return "other"


def _add_areas(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _features(layer)
    _bounds_of(feats, ctx, layer)
    vf = layer.value_field or "role"
    stats = (*_DEFAULT_STATS["areas"], vf, "name")
    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}
    slim = []
    roles: list[str] = []
    for i, f in enumerate(feats):
        role = _area_role((f.get("properties") or {}).get(vf))
        if role not in roles:
            roles.append(role)
        tip = tooltip_html(_rows(f, layer, stats, [("Meaning", AREA_LABELS[role])]),
                           title=layer.name)
        slim.append(_slim(f, layer, keep, tip, i))

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        s = AREA_STYLES[_area_role((f.get("properties") or {}).get(vf))]
        out = {"color": s["color"], "weight": s["weight"], "fillColor": s["color"],
               "fillOpacity": s["fillOpacity"], "opacity": 1.0, "className": STROKE_ONLY}
        if s["dashArray"]:
            out["dashArray"] = s["dashArray"]
        return out

    _geojson(group, layer, slim, style)
    order = ("target", "buffer", "ring", "control", "other")
    rows = "".join(_swatch("transparent", AREA_LABELS[r], line=AREA_STYLES[r]["color"],
                           dash=AREA_STYLES[r]["dashArray"])
                   for r in order if r in roles)
    _add_legend(ctx, group, layer, rows)


def _count_points(feats: Sequence[Mapping[str, Any]]) -> int:
    n = 0
    for f in feats:
        g = f["geometry"]
        if g.get("type") == "MultiPoint":
            n += len(g.get("coordinates") or ())
        else:
            n += 1
    return n


def _add_points(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _features(layer)
    n = _count_points(feats)
    if n > MAX_POINTS:
        raise MapInputError(layer.name, f"{n:,} points is more than the {MAX_POINTS:,} a map "
                                        "draws individually: aggregate them (e.g. counts per "
                                        "H3 cell) and use kind='points_aggregated'")
    bad = [f["geometry"].get("type") for f in feats
           if f["geometry"].get("type") not in ("Point", "MultiPoint")]
    if bad:
        raise MapInputError(layer.name, f"points layers take Point features, not {bad[0]}")
    _bounds_of(feats, ctx, layer)
    vf = layer.value_field
    stats = (*_DEFAULT_STATS["points"], *((vf,) if vf else ()))
    keep = {"unit_id", layer.label_field or "label", *stats, *layer.tooltip_fields}
    cats: list[str] = []
    if vf:
        for f in feats:
            c = str((f.get("properties") or {}).get(vf))
            if c not in cats:
                cats.append(c)
    colour_of = {c: CATEGORICAL[min(i, len(CATEGORICAL) - 1)] for i, c in enumerate(cats)}
    slim = [_slim(f, layer, keep, tooltip_html(_rows(f, layer, stats, unit_name="Event"),
                                               title=layer.name), i)
            for i, f in enumerate(feats)]

    def style(f: Mapping[str, Any]) -> dict[str, Any]:
        colour = (colour_of.get(str((f.get("properties") or {}).get(vf)), "#6a3d9a") if vf
                  else "#6a3d9a")
        return {"fill": True, "fillColor": colour, "fillOpacity": 0.9, "color": "#ffffff",
                "weight": 1, "radius": 4}

    _geojson(group, layer, slim, style, marker=folium.CircleMarker(radius=4))
    if vf and cats:
        shown = cats[:len(CATEGORICAL) - 1]
        rows = "".join(_swatch(colour_of[c], c, circle=True) for c in shown)
        if len(cats) > len(shown):
            rows += _swatch(CATEGORICAL[-1], "other categories", circle=True)
    else:
        rows = _swatch("#6a3d9a", "One event", circle=True)
    _add_legend(ctx, group, layer, rows + f"<div class='remap-legend-note'>{n:,} events "
                "at their recorded (possibly snapped) locations</div>")


# --- density -----------------------------------------------------------------

_SEQ_STOPS: Final = ((0.0, "#ffffb2"), (0.25, "#fecc5c"), (0.5, "#fd8d3c"),
                     (0.75, "#f03b20"), (1.0, "#bd0026"))
_DIV_STOPS: Final = ((-1.0, "#2166ac"), (-0.5, "#92c5de"), (0.0, "#f7f7f7"),
                     (0.5, "#f4a582"), (1.0, "#b2182b"))
#: Leaflet pane of density images: above tiles (200), below vector layers (400).
DENSITY_PANE: Final = "remapDensity"
#: Cells below this share of the largest absolute value are transparent.
DENSITY_FLOOR: Final = 0.02


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _ramp(t: npt.NDArray[np.float64], stops: Sequence[tuple[float, str]]
          ) -> npt.NDArray[np.uint8]:
    """Linear interpolation of colour stops at positions ``t`` -> uint8 RGB."""
    xs = np.array([s[0] for s in stops])
    rgb = np.array([_hex_rgb(s[1]) for s in stops], dtype=np.float64)
    out = np.empty((*t.shape, 3), dtype=np.uint8)
    tt = np.clip(np.nan_to_num(t, nan=0.0), xs[0], xs[-1])
    for ch in range(3):
        out[..., ch] = np.round(np.interp(tt, xs, rgb[:, ch])).astype(np.uint8)
    return out


def density_rgba(grid: DensityGrid, max_side: int = MAX_IMAGE_SIDE
                 ) -> tuple[npt.NDArray[np.uint8], list[list[float]], float]:
    """The grid resampled to Web Mercator as an RGBA image.

    The grid is in a projected CRS (e.g. BNG), whose axes are not parallel
    to Web Mercator's, so the image is resampled (nearest neighbour) onto a
    Web Mercator-aligned raster that Leaflet can stretch linearly between
    its corners. Cells outside the grid, NaN cells and cells under
    :data:`DENSITY_FLOOR` of the largest absolute value are transparent.

    Returns
    -------
    rgba : ndarray of uint8, shape (h, w, 4)
        Row 0 is the north edge.
    bounds : [[south, west], [north, east]]
        Degrees, for :class:`folium.raster_layers.ImageOverlay`.
    scale : float
        The largest absolute value (the end of the colour ramp).
    """
    vals = np.asarray(grid.values, dtype=np.float64)
    ny, nx = vals.shape
    x0, y0, x1, y1 = grid.bounds
    to_merc = transformer(grid.epsg, 3857)
    k = 64
    ex = np.concatenate([np.linspace(x0, x1, k), np.full(k, x1), np.linspace(x1, x0, k),
                         np.full(k, x0)])
    ey = np.concatenate([np.full(k, y0), np.linspace(y0, y1, k), np.full(k, y1),
                         np.linspace(y1, y0, k)])
    mx, my = to_merc.transform(ex, ey)
    mx0, mx1, my0, my1 = float(np.min(mx)), float(np.max(mx)), float(np.min(my)), \
        float(np.max(my))
    # pixels: about one per source cell along the longer side, capped
    cell_m = max((x1 - x0) / nx, (y1 - y0) / ny)
    merc_per_m = (mx1 - mx0) / max(x1 - x0, 1e-9)
    px = cell_m * merc_per_m / 2.0  # half a cell: crisp cell edges after resampling
    w = int(min(max_side, max(2, math.ceil((mx1 - mx0) / px))))
    h = int(min(max_side, max(2, math.ceil((my1 - my0) / px))))
    cx = mx0 + (np.arange(w) + 0.5) * (mx1 - mx0) / w
    cy = my1 - (np.arange(h) + 0.5) * (my1 - my0) / h  # north first
    gx, gy = np.meshgrid(cx, cy)
    sx, sy = transformer(3857, grid.epsg).transform(gx.ravel(), gy.ravel())
    col = np.floor((np.asarray(sx) - x0) / (x1 - x0) * nx).astype(np.int64)
    row = np.floor((np.asarray(sy) - y0) / (y1 - y0) * ny).astype(np.int64)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    sample = np.full(col.shape, np.nan)
    sample[inside] = vals[row[inside], col[inside]]
    sample = sample.reshape(h, w)
    finite = np.isfinite(vals)
    scale = float(np.max(np.abs(vals[finite]))) if finite.any() else 0.0
    alpha = np.zeros((h, w), dtype=np.uint8)
    if scale > 0:
        t = sample / scale
        visible = np.isfinite(t) & (np.abs(np.nan_to_num(t)) >= DENSITY_FLOOR)
        rgb = _ramp(t, _DIV_STOPS if grid.diverging else _SEQ_STOPS)
        alpha[visible] = 210
    else:
        rgb = np.zeros((h, w, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, alpha]).astype(np.uint8)
    to_ll = transformer(3857, WGS84)
    west, south = to_ll.transform(mx0, my0)
    east, north = to_ll.transform(mx1, my1)
    return rgba, [[float(south), float(west)], [float(north), float(east)]], scale


def _add_density(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    grid = DensityGrid.coerce(layer.data, layer.name)
    rgba, bounds, scale = density_rgba(grid)
    png = branca.utilities.write_png(rgba, origin="upper")
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    folium.raster_layers.ImageOverlay(url, bounds=bounds, opacity=0.85, pixelated=True,
                                      interactive=False, control=False, name=layer.name,
                                      pane=DENSITY_PANE).add_to(group)
    (s, w), (n, e) = bounds
    ctx.bounds.append((w, s, e, n))
    if grid.parameters:
        ctx.layer_parameters[layer.name] = grid.parameters
    stops = _DIV_STOPS if grid.diverging else _SEQ_STOPS
    lo = -1.0 if grid.diverging else 0.0
    gradient = ", ".join(f"{c} {100 * (p - lo) / (1 - lo):.0f}%" for p, c in stops)
    if grid.diverging:
        ticks = (f"<span>−{html.escape(format_value(scale))}</span><span>0</span>"
                 f"<span>+{html.escape(format_value(scale))}</span>")
        note = ("Blue: fewer than before / the comparison; red: more. Colours centred on 0; "
                f"cells within {DENSITY_FLOOR:.0%} of 0 are clear.")
    else:
        ticks = f"<span>0</span><span>{html.escape(format_value(scale))}</span>"
        note = f"Cells under {DENSITY_FLOOR:.0%} of the maximum are clear."
    body = (f"<div class='remap-ramp' style='background: linear-gradient(to right, "
            f"{gradient});'></div><div class='remap-ramp-ticks'>{ticks}</div>"
            f"<div class='remap-legend-note'>{html.escape(grid.units)}. "
            f"{html.escape(note)}</div>")
    _add_legend(ctx, group, layer, body)


# --- monthly -----------------------------------------------------------------


class _MonthSlider(MacroElement):
    """A monthly choropleth with a month slider, in plain Leaflet (no extra assets)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var group = {{ this._parent.get_name() }};
    var map = {{ this.map_name }};
    var months = {{ this.months_json }};
    var classes = {{ this.classes_json }};
    var data = {{ this.data_json }};
    var title = {{ this.title_json }};
    var idx = months.length - 1;
    function esc(s) {
        return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    }
    function fmt(v) {
        if (v === null || v === undefined) return '–';
        if (typeof v === 'number') return v.toLocaleString('en-GB');
        return String(v);
    }
    function classOf(v) {
        if (v === null || v === undefined) return classes.missing;
        if (typeof v === 'string') return classes.suppressed;
        if (v === 0 && classes.zero) return classes.zero;
        for (var i = 0; i < classes.ranges.length; i++) {
            if (v <= classes.ranges[i].upper) return classes.ranges[i];
        }
        return classes.ranges.length ? classes.ranges[classes.ranges.length - 1] : classes.missing;
    }
    function style(f) {
        var c = classOf(f.properties.months[months[idx]]);
        return {fillColor: c.colour, fillOpacity: c.kind === 'zero' ? 0.55 : 0.8,
                color: '#737373', weight: 0.6, opacity: 0.9};
    }
    var layer = L.geoJson(data, {
        style: style,
        onEachFeature: function (f, l) {
            l.bindTooltip(function () {
                var v = f.properties.months[months[idx]];
                return f.properties._remap_head
                    + '<tr><th>Month</th><td>' + esc(months[idx]) + '</td></tr>'
                    + '<tr><th>Count</th><td>' + esc(fmt(v)) + '</td></tr>'
                    + '<tr><th>Class</th><td>' + esc(classOf(v).label) + '</td></tr>'
                    + f.properties._remap_tail;
            }, {sticky: true});
            l.on('mouseover', function (e) { e.target.setStyle({weight: 3, color: '#000000'}); });
            l.on('mouseout', function (e) { layer.resetStyle(e.target); });
        }
    });
    layer.addTo(group);
    var box = document.createElement('div');
    box.className = 'remap-box remap-slider';
    box.style.top = ({{ this.offset }} * 56 + 54) + 'px';
    box.innerHTML = '<label><span class="remap-slider-title"></span>: <output></output></label>'
        + '<input type="range" min="0" step="1">';
    box.querySelector('.remap-slider-title').textContent = title;
    var out = box.querySelector('output');
    var input = box.querySelector('input');
    input.max = String(months.length - 1);
    input.value = String(idx);
    input.setAttribute('aria-label', title + ': month');
    out.textContent = months[idx];
    input.addEventListener('input', function () {
        idx = parseInt(this.value, 10);
        out.textContent = months[idx];
        layer.setStyle(style);
    });
    document.body.appendChild(box);
    function sync() { box.style.display = map.hasLayer(group) ? '' : 'none'; }
    map.on('overlayadd overlayremove', sync);
    sync();
})();
{% endmacro %}
""")

    def __init__(self, *, map_name: str, title: str, months: list[str],
                 classes: dict[str, Any], data: dict[str, Any], offset: int) -> None:
        super().__init__()
        self._name = "RemapMonthSlider"
        self.map_name = map_name
        self.title_json = script_json(title)
        self.months_json = script_json(months)
        self.classes_json = script_json(classes)
        self.data_json = script_json(data)
        self.offset = int(offset)


def _monthly_wide(layer: MapLayer, feats: list[dict[str, Any]], vf: str
                  ) -> list[dict[str, Any]]:
    """Features with a ``months`` mapping; long format (one feature per unit-month) folded."""
    props0 = [f.get("properties") or {} for f in feats]
    if all(isinstance(p.get(vf), Mapping) for p in props0):
        return feats
    if all("month" in p for p in props0):
        field_name = vf if vf != "months" else "count"
        by_unit: dict[Any, dict[str, Any]] = {}
        for f, p in zip(feats, props0, strict=True):
            key = _unit_of(f)
            if key is None:
                raise MapInputError(layer.name, "long-format monthly features need unit_id")
            entry = by_unit.setdefault(key, {"type": "Feature", "id": f.get("id"),
                                             "geometry": f["geometry"],
                                             "properties": {**p, vf: {}}})
            entry["properties"][vf][str(p["month"])[:7]] = p.get(field_name)
        return list(by_unit.values())
    raise MapInputError(layer.name, f"monthly features need a {vf!r} mapping of month to "
                                    "count, or 'month' and 'count' properties")


def _add_monthly(group: folium.FeatureGroup, layer: MapLayer, ctx: _Context) -> None:
    feats = _monthly_wide(layer, _features(layer), layer.value_field or "months")
    vf = layer.value_field or "months"
    _bounds_of(feats, ctx, layer)
    months = sorted({str(m) for f in feats for m in ((f.get("properties") or {}).get(vf)
                                                     or {})})
    if not months:
        raise MapInputError(layer.name, "no monthly values")
    pooled = [v for f in feats for v in ((f.get("properties") or {}).get(vf) or {}).values()]
    cl = classify_values(pooled, k=layer.classes, scheme=layer.scheme)
    out = []
    for i, f in enumerate(feats):
        p = f.get("properties") or {}
        series = {str(k): v for k, v in (p.get(vf) or {}).items()}
        nums = [float(v) for v in series.values() if _value_kind(v) == "range"]
        suppressed = any(_value_kind(v) == "suppressed" for v in series.values())
        total: Any = sum(nums) if nums else None
        if suppressed:
            total = f"{format_value(total) if total is not None else '0'} + suppressed months"
        extra = [("All months", total), ("Months with data", len(series))]
        head = tooltip_html(_rows(f, layer, (), ()), title=layer.name)
        tail = tooltip_html(extra + [(FIELD_LABELS.get(n, n), p[n])
                                     for n in layer.tooltip_fields if n in p])
        # the JS inserts the month rows between the head table and the tail rows
        head = head[:-len("</table></div>")]
        tail = tail[len("<div class='remap-tip'><table>"):]
        out.append({"type": "Feature", "id": str(i), "geometry": f["geometry"],
                    "properties": {"months": series, "_remap_head": head, "_remap_tail": tail}})

    def spec(c: LegendClass) -> dict[str, Any]:
        return {"kind": c.kind, "label": c.label, "colour": c.colour, "upper": c.upper}

    classes = {
        "zero": next((spec(c) for c in cl.classes if c.kind == "zero"), None),
        "suppressed": spec(cl._special("suppressed")),
        "missing": spec(cl._special("missing")),
        "ranges": [spec(c) for c in cl.classes if c.kind == "range"],
    }
    group.add_child(_MonthSlider(map_name=ctx.map_name, title=layer.name, months=months,
                                 classes=classes,
                                 data={"type": "FeatureCollection", "features": out},
                                 offset=ctx.sliders))
    ctx.sliders += 1
    _add_legend(ctx, group, layer, _class_legend(
        cl, f"Classes pooled over {len(months)} months ({months[0]} to {months[-1]}); "
            "use the slider to change month."))


_ADDERS: Final = {
    "choropleth": _add_choropleth, "gi_bins": _add_gi_bins, "lisa": _add_lisa,
    "outline": _add_outline, "areas": _add_areas,
    "points_aggregated": _add_points_aggregated, "density": _add_density,
    "points": _add_points, "monthly": _add_monthly,
}


# ---------------------------------------------------------------------------
# Page furniture
# ---------------------------------------------------------------------------


class _LegendToggle(MacroElement):
    """Shows a layer's legend section only while the layer is on the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this.map_name }};
    var pairs = [{% for var, lid in this.pairs %}[{{ var }}, {{ lid }}]{{ "," if not loop.last }}{% endfor %}];
    function sync() {
        var any = false;
        pairs.forEach(function (p) {
            var el = document.getElementById(p[1]);
            if (!el) return;
            var on = map.hasLayer(p[0]);
            el.style.display = on ? '' : 'none';
            any = any || on;
        });
        var box = document.getElementById({{ this.box_id }});
        if (box) box.style.display = any ? '' : 'none';
    }
    map.on('overlayadd overlayremove', sync);
    sync();
})();
{% endmacro %}
""")

    def __init__(self, ctx: _Context) -> None:
        super().__init__()
        self._name = "RemapLegendToggle"
        self.map_name = ctx.map_name
        # group variables are folium's generated names; the ids go in as JSON
        self.pairs = [(var, script_json(lid)) for var, lid, _ in ctx.legends]
        self.box_id = script_json(f"{ctx.map_name}-legend")


def _param_items(params: Mapping[str, Any], depth: int = 0) -> str:
    items = []
    for k, v in params.items():
        if isinstance(v, Mapping) and depth < 2:
            items.append(f"<li><b>{html.escape(str(k))}</b><ul>{_param_items(v, depth + 1)}"
                         "</ul></li>")
        else:
            text = json.dumps(v, default=str, ensure_ascii=False) if isinstance(
                v, Mapping) else format_value(v)
            items.append(f"<li><b>{html.escape(str(k))}</b>: {html.escape(text)}</li>")
    return "".join(items)


def _page_boxes(map_name: str, title: str, caveats: Sequence[str],
                parameters: Mapping[str, Any] | None, ctx: _Context) -> str:
    seen: set[str] = set()
    unique = [c for c in caveats if not (c in seen or seen.add(c))]  # type: ignore[func-returns-value]
    cav = "".join(f"<li>{html.escape(c)}</li>" for c in unique)
    params = ""
    if parameters:
        params += f"<ul>{_param_items(parameters)}</ul>"
    for name, p in ctx.layer_parameters.items():
        if isinstance(p, Mapping) and p:
            params += (f"<details><summary>{html.escape(name)}</summary>"
                       f"<ul>{_param_items(p)}</ul></details>")
    if not params:
        params = "<p>No parameters were given.</p>"
    legends = "".join(body for _, _, body in ctx.legends)
    hatch = (f"<svg width='0' height='0' style='position:absolute' aria-hidden='true'><defs>"
             f"<pattern id='{HATCH_ID}' patternUnits='userSpaceOnUse' width='6' height='6' "
             f"patternTransform='rotate(45)'><rect width='6' height='6' fill='#d9d9d9'/>"
             f"<line x1='0' y1='0' x2='0' y2='6' stroke='#737373' stroke-width='2'/>"
             f"</pattern></defs></svg>")
    return (
        f"{hatch}"
        f"<div class='remap-box remap-title'>{html.escape(title)}</div>"
        f"<details class='remap-box remap-params'><summary>Parameters</summary>{params}"
        f"</details>"
        f"<div class='remap-box remap-caveats'><b>What this map cannot show</b><ul>{cav}</ul>"
        f"</div>"
        f"<div class='remap-box remap-legend' id='{map_name}-legend'>{legends}</div>"
    )


_PAGE_CSS: Final = """
<style>
.folium-map.leaflet-container { background: #f4f3ef; }
.folium-map .leaflet-control-layers { font-size: 13px; }
.remap-box { position: fixed; z-index: 1000; background: rgba(255,255,255,0.93);
  border: 1px solid #bdbdbd; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.25);
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #252525; padding: 6px 9px; }
.remap-title { top: 10px; left: 50%; transform: translateX(-50%); font-size: 15px;
  font-weight: 600; max-width: 50vw; text-align: center; }
.remap-params { top: 10px; left: 54px; max-width: 340px; max-height: 60vh; overflow: auto; }
.remap-params summary { cursor: pointer; font-weight: 600; }
.remap-params ul { margin: 2px 0 2px 0; padding-left: 16px; }
.remap-caveats { bottom: 58px; left: 10px; max-width: min(440px, 40vw); max-height: 30vh;
  overflow: auto; }
.remap-caveats ul { margin: 2px 0 0 0; padding-left: 16px; }
.remap-legend { bottom: 24px; right: 10px; max-height: 48vh; max-width: 280px;
  overflow: auto; }
.remap-legend-section { margin-bottom: 6px; }
.remap-legend-title { font-weight: 600; margin-bottom: 2px; }
.remap-legend-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.remap-swatch { display: inline-block; width: 16px; height: 12px; flex: none;
  box-sizing: border-box; }
.remap-legend-note { color: #636363; font-size: 11px; margin-top: 2px; }
.remap-ramp { height: 10px; border: 1px solid #969696; width: 200px; }
.remap-ramp-ticks { display: flex; justify-content: space-between; width: 200px;
  font-size: 11px; }
.remap-slider { left: 50%; transform: translateX(-50%); display: flex; gap: 8px;
  align-items: center; }
.remap-slider input { width: 220px; }
.leaflet-pane > svg path.leaflet-interactive.remap-stroke-only { pointer-events: visibleStroke; }
.remap-tip { font-size: 12px; line-height: 1.3; }
.remap-tip table { border-collapse: collapse; }
.remap-tip th { text-align: left; padding-right: 8px; font-weight: 600; color: #525252; }
.remap-tip-title { font-weight: 600; margin-bottom: 2px; }
.remap-label-icon { overflow: visible; }
.remap-label { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font: 600 11px system-ui, Arial, sans-serif; color: #1a1a1a; pointer-events: none;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; }
</style>
"""
