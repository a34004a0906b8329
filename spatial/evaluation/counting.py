"""Events as arrays, where each falls, and the counts per layer, area and window.

All distance work happens in metres in one projected CRS (British National
Grid in Great Britain, else UTM; :mod:`spatial.place.crs`). Point-in-polygon is
exact and vectorised (:func:`spatial.place.placement.assign_polygons`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.count_table import AREA_NAMES, CountTable
from spatial.evaluation.windows import WINDOW_NAMES, IntArray, Windows, window_index
from spatial.place import crs, placement

FloatArray = npt.NDArray[np.float64]

ROLES: Final = ("output", "outcome")


@dataclass(frozen=True)
class MeasuredLayer:
    """A layer and category to evaluate, with its role and optional harm weight.

    ``category="*"`` sums every category of the layer; categories joined by
    ``+`` (e.g. ``"Drugs+Anti-social behaviour"``) are summed together.
    """

    layer: str
    category: str = "*"
    role: str = "outcome"
    harm_weight: float | None = None

    def __post_init__(self) -> None:
        if not self.layer:
            raise ParameterError("layers", "a layer name is needed")
        if not self.category:
            raise ParameterError("layers", f"{self.layer}: a category (or *) is needed")
        if self.role not in ROLES:
            raise ParameterError("layers", f"{self.key}: role must be output or outcome, "
                                 f"got {self.role!r}")
        if self.harm_weight is not None and not (
                math.isfinite(self.harm_weight) and self.harm_weight >= 0):
            raise ParameterError("layers", f"{self.key}: harm weight must be a number >= 0")

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.category}"

    @classmethod
    def parse(cls, text: str) -> MeasuredLayer:
        """``LAYER:CATEGORY:ROLE[:HARM_WEIGHT]``, e.g. ``crime:Drugs:output``,
        ``ambulance:*:outcome`` or ``crime:Burglary:outcome:2.5``."""
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise ParameterError("layer", f"{text!r}: expected LAYER:CATEGORY:ROLE[:WEIGHT], "
                                 "e.g. crime:Drugs:output")
        weight = None
        if len(parts) == 4:
            try:
                weight = float(parts[3])
            except ValueError as exc:
                raise ParameterError("layer", f"{text!r}: harm weight {parts[3]!r} is not a "
                                     "number") from exc
        return cls(parts[0].strip(), parts[1].strip(), parts[2].strip().lower(), weight)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories summed (empty for ``*``: all of them)."""
        if self.category == "*":
            return ()
        return tuple(c.strip() for c in self.category.split("+") if c.strip())

    def matches(self, layer: npt.ArrayLike, category: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which events (aligned ``layer`` and ``category`` values) this spec counts.

        The distinct (layer, category) pairs are tested, not every event: the
        pairs are found once per pair of arrays (:func:`_pair_codes`) and reused
        by every spec tested on the same arrays."""
        codes, pairs = _pair_codes(np.asarray(layer, dtype=object),
                                   np.asarray(category, dtype=object))
        cats = self.categories
        hit = np.array([la == self.layer and (not cats or ca in cats) for la, ca in pairs],
                       dtype=bool)
        return hit[codes] if hit.size else np.zeros(codes.size, dtype=bool)

    def what(self) -> str:
        """Words for the verdict sentence ("recorded <what> fell ...")."""
        cats = " + ".join(self.categories)
        if self.layer == "crime":
            return "crimes" if not cats else f"{cats} crimes"
        if self.layer == "ambulance":
            return "ambulance call-outs" if not cats else f"ambulance call-outs ({cats})"
        return f"{self.layer} events" + ("" if not cats else f" ({cats})")

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "category": self.category, "role": self.role,
                "harm_weight": self.harm_weight}


#: Memo of :func:`_pair_codes`: (id(layer), id(category)) -> weak references to the
#: arrays, codes and pairs. A few entries: one report has a handful of event sets
#: (the scan's, the windows', the watches', their subsets).
_PAIR_MEMO: dict[tuple[int, int], tuple[Any, Any, IntArray, list[tuple[Any, Any]]]] = {}
_PAIR_MEMO_SIZE: Final = 16


def _known_pairs(layer: npt.NDArray[np.object_], category: npt.NDArray[np.object_]
                 ) -> tuple[IntArray, list[tuple[Any, Any]]] | None:
    """The remembered codes and pairs of exactly these two array objects, if any."""
    found = _PAIR_MEMO.get((id(layer), id(category)))
    if found is not None and found[0]() is layer and found[1]() is category:
        return found[2], found[3]
    return None


def _remember_pairs(layer: npt.NDArray[np.object_], category: npt.NDArray[np.object_],
                    codes: IntArray, pairs: list[tuple[Any, Any]]) -> None:
    try:
        refs = (weakref.ref(layer), weakref.ref(category))
    except TypeError:  # not weak-referenceable: not remembered
        return
    key = (id(layer), id(category))
    _PAIR_MEMO.pop(key, None)
    if len(_PAIR_MEMO) >= _PAIR_MEMO_SIZE:
        _PAIR_MEMO.pop(next(iter(_PAIR_MEMO)))
    _PAIR_MEMO[key] = (*refs, codes, pairs)


def _pair_codes(layer: npt.NDArray[np.object_], category: npt.NDArray[np.object_]
                ) -> tuple[IntArray, list[tuple[Any, Any]]]:
    """Each event's index into the distinct (layer, category) pairs, and the pairs.

    Two hash passes (``pandas.factorize``) instead of one string comparison per
    event and spec. Remembered for the same two array objects (by identity, checked
    through weak references), which :class:`EventArrays` never changes in place;
    :meth:`EventArrays.take` hands the codes on to the subset (the pairs may then
    include some the subset lacks: they match nothing there).
    """
    known = _known_pairs(layer, category)
    if known is not None:
        return known
    lc, lu = _factorized(layer)
    cc, cu = _factorized(category)
    width = max(len(cu), 1)
    codes, uniq = pd.factorize(np.asarray(lc, dtype=np.int64) * width + cc)
    pairs = [(lu[int(u) // width], cu[int(u) % width]) for u in uniq]
    out = np.asarray(codes, dtype=np.int64)
    _remember_pairs(layer, category, out, pairs)
    return out, pairs


def _factorized(values: npt.NDArray[np.object_]) -> tuple[IntArray, list[Any]]:
    """``pandas.factorize(values, use_na_sentinel=False)``'s grouping (every missing value,
    ``None`` or NaN, one more group, shown as ``None``) at half its cost: without the
    sentinel pandas runs ``isna`` over the whole object array first."""
    codes, uniq = pd.factorize(values)
    out = np.asarray(codes, dtype=np.int64)
    values_seen = list(uniq)
    missing = out < 0
    if missing.any():
        out[missing] = len(values_seen)
        values_seen.append(None)
    return out, values_seen


def pair_codes(events: EventArrays) -> tuple[IntArray, list[tuple[Any, Any]]]:
    """:func:`_pair_codes` of ``events``' layer and category: each event's index into
    the distinct (layer, category) pairs, and the pairs (found once, then handed on
    to every :meth:`EventArrays.take` of these events)."""
    return _pair_codes(events.layer, events.category)


@dataclass(frozen=True, eq=False)
class EventArrays:
    """Events as aligned arrays: positions in metres (the operation's CRS) and WGS84."""

    x: FloatArray
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    time: npt.NDArray[np.datetime64]
    layer: npt.NDArray[np.object_]
    category: npt.NDArray[np.object_]
    time_precision: npt.NDArray[np.object_]
    location_precision: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.x.size)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, epsg: int) -> EventArrays:
        """From an events frame (``store.event_arrays`` columns): x/y are used where
        ``crs_epsg`` is ``epsg``, recomputed from lon/lat elsewhere."""
        n = len(frame)
        has_xy = bool(n) and {"x", "y", "crs_epsg"} <= set(frame.columns)

        def col(name: str) -> npt.NDArray[np.object_] | None:
            return frame[name].to_numpy(dtype=object) if name in frame.columns else None

        return cls.from_columns(
            lon=frame["lon"].to_numpy(dtype=float) if n else np.zeros(0),
            lat=frame["lat"].to_numpy(dtype=float) if n else np.zeros(0),
            x=frame["x"].to_numpy(dtype=float) if has_xy else None,
            y=frame["y"].to_numpy(dtype=float) if has_xy else None,
            crs_epsg=frame["crs_epsg"].to_numpy() if has_xy else None,
            time=(pd.to_datetime(frame["time"]).to_numpy(dtype="datetime64[ns]") if n
                  else np.zeros(0, dtype="datetime64[ns]")),
            layer=col("layer"), category=col("category"),
            time_precision=col("time_precision"),
            location_precision=col("location_precision"), epsg=epsg)

    @classmethod
    def from_columns(cls, *, lon: npt.ArrayLike, lat: npt.ArrayLike,
                     x: npt.ArrayLike | None, y: npt.ArrayLike | None,
                     crs_epsg: npt.ArrayLike | None, time: npt.ArrayLike,
                     layer: npt.ArrayLike | None, category: npt.ArrayLike | None,
                     time_precision: npt.ArrayLike | None,
                     location_precision: npt.ArrayLike | None, epsg: int) -> EventArrays:
        """From aligned columns as stored (degrees WGS84, metres in ``crs_epsg``): x/y
        are used where ``crs_epsg`` is ``epsg``, recomputed from lon/lat elsewhere (and
        everywhere when ``x``/``y`` are not given). A missing text column takes its
        default (layer and category ``""``, day precision, exact location)."""
        lon_a = np.asarray(lon, dtype=float)
        lat_a = np.asarray(lat, dtype=float)
        n = lon_a.size
        if n and x is not None and y is not None and crs_epsg is not None:
            xa = np.array(x, dtype=float)
            ya = np.array(y, dtype=float)
            other = np.asarray(crs_epsg) != epsg
            if other.any():
                xa[other], ya[other] = crs.to_metric(lon_a[other], lat_a[other], epsg)
        else:
            xa, ya = crs.to_metric(lon_a, lat_a, epsg)

        def col(values: npt.ArrayLike | None, default: str) -> npt.NDArray[np.object_]:
            if values is None:
                return np.full(n, default, dtype=object)
            return np.asarray(values, dtype=object)

        return cls(x=np.asarray(xa, dtype=float), y=np.asarray(ya, dtype=float), lon=lon_a,
                   lat=lat_a, time=np.asarray(time, dtype="datetime64[ns]"),
                   layer=col(layer, ""), category=col(category, ""),
                   time_precision=col(time_precision, "day"),
                   location_precision=col(location_precision, "exact"))

    def take(self, index: npt.ArrayLike | slice) -> EventArrays:
        """The events at ``index`` (integer positions, a boolean mask, or a slice: views
        of these arrays, which are never changed in place), in that order."""
        idx = index if isinstance(index, slice) else np.asarray(index)
        out = EventArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(EventArrays)})
        known = _known_pairs(self.layer, self.category)
        if known is not None:  # the subset's codes are the same codes, taken
            _remember_pairs(out.layer, out.category, known[0][idx], known[1])
        return out


@dataclass(frozen=True, eq=False)
class Placement:
    """Where and when each event falls: indexes, -1 for none."""

    area: IntArray     # into AREA_NAMES
    ring: IntArray     # into OperationAreas.buffer_rings
    decay: IntArray    # into OperationAreas.decay_rings
    window: IntArray   # 0 before, 1 during, 2 after


def assign_areas(x: npt.ArrayLike, y: npt.ArrayLike, polygons: npt.ArrayLike) -> IntArray:
    """:func:`spatial.place.placement.assign_polygons` tested once per distinct position.

    The same answer point by point (a point's polygon does not depend on the
    other points: the first polygon, in order, that it intersects), at the cost
    of the distinct positions only: police.uk locations are snapped to a few
    thousand map points, so a million crimes sit on a few thousand positions.
    Distinct positions are found by one hash pass (:func:`_distinct` on ``x + iy``);
    non-finite coordinates are outside every polygon, as there.

    Returns
    -------
    numpy.ndarray of int64
        Position in ``polygons`` of the polygon containing each point, ``-1`` for none.
    """
    xa = np.asarray(x, dtype="float64").ravel()
    ya = np.asarray(y, dtype="float64").ravel()
    if xa.shape != ya.shape:
        raise ParameterError("x/y", f"lengths differ ({xa.size} and {ya.size})")
    if xa.size < 2:
        return placement.assign_polygons(xa, ya, polygons)
    out = np.full(xa.size, -1, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(xa) & np.isfinite(ya))
    if finite.size == 0:
        return out
    uniq, inverse = _distinct(xa[finite], ya[finite])
    out[finite] = placement.assign_polygons(uniq.real, uniq.imag, polygons)[inverse]
    return out


def _distinct(x: FloatArray, y: FloatArray) -> tuple[npt.NDArray[np.complex128], IntArray]:
    """Distinct finite positions ``x + iy`` (in order of first appearance) and each
    point's index into them, ``-1`` for a non-finite point (which
    :func:`~spatial.place.placement.assign_polygons` puts nowhere).

    One hash pass (``pandas.factorize``), not a sort: about 7 times faster than
    ``numpy.unique`` on the 460,000 positions of a report over a million events."""
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.all():
        codes, uniq = pd.factorize(x + 1j * y)
        return np.asarray(uniq, dtype=np.complex128), np.asarray(codes, dtype=np.int64)
    inverse = np.full(x.size, -1, dtype=np.int64)
    codes, uniq = pd.factorize(x[finite] + 1j * y[finite])
    inverse[finite] = codes
    return np.asarray(uniq, dtype=np.complex128), inverse


def _per_point(per_position: IntArray, inverse: IntArray) -> IntArray:
    """``per_position[inverse]``, with ``-1`` where ``inverse`` is ``-1``."""
    if not per_position.size:
        return np.full(inverse.size, -1, dtype=np.int64)
    return np.where(inverse >= 0, per_position[inverse], -1)


def place_events(events: EventArrays, areas: OperationAreas, windows: Windows) -> Placement:
    """Area, buffer ring, decay ring and window of every event, vectorised.

    Point-in-polygon is exact (:func:`spatial.place.placement.assign_polygons`, in
    metres); target, buffer, control and buffer control are tested together,
    so an event on a shared edge goes to the first of them in that order.
    Only events inside a window are placed.
    """
    n = len(events)
    win = window_index(events.time, windows)
    area = np.full(n, -1, dtype=np.int64)
    ring = np.full(n, -1, dtype=np.int64)
    decay = np.full(n, -1, dtype=np.int64)
    sel = np.flatnonzero(win >= 0)
    if sel.size:
        x, y = events.x[sel], events.y[sel]
        polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                         dtype=object)
        # one distinct-position pass for the three sets of polygons
        uniq, inverse = _distinct(x, y)
        ux, uy = uniq.real, uniq.imag
        area[sel] = _per_point(placement.assign_polygons(ux, uy, polys), inverse)
        ring[sel] = _per_point(placement.assign_polygons(
            ux, uy, np.array(areas.buffer_rings, dtype=object)), inverse)
        decay[sel] = _per_point(placement.assign_polygons(
            ux, uy, np.array(areas.decay_rings, dtype=object)), inverse)
    return Placement(area=area, ring=ring, decay=decay, window=win)


@dataclass(frozen=True)
class LayerCounts:
    """Counts of one layer/category per area and window, and what they rest on.

    Attributes
    ----------
    spec : MeasuredLayer
    areas : dict
        ``area -> {"before", "during", "after"}`` counts (``during`` is 0
        when the operation has no during window).
    rings : list of dict
        Per buffer ring, ``{"before", "during", "after"}``.
    decay_before, decay_after : list of int
        Per distance-decay ring.
    lengths : dict
        Effective window lengths in days (see the module notes).
    month_precision : bool
        The layer's times are months (police.uk).
    location_precisions : list of str
        Distinct location precisions among the counted events.
    n_events : int
        Events of this layer/category in any window.
    """

    spec: MeasuredLayer
    areas: dict[str, dict[str, int]]
    rings: list[dict[str, int]]
    decay_before: list[int]
    decay_after: list[int]
    lengths: dict[str, float | None]
    month_precision: bool
    location_precisions: list[str]
    n_events: int
    notes: list[str] = field(default_factory=list)

    def count(self, area: str, window: str) -> int:
        return int(self.areas[area][window])

    def table(self, *, time_weighted: bool, area_km2: Mapping[str, float | None] | None = None,
              has_buffer_control: bool = False) -> tuple[CountTable | None, str | None]:
        """The :class:`~spatial.evaluation.count_table.CountTable`, or ``None`` and the reason.

        ``time_weighted``: divide by the effective window lengths in days.
        ``area_km2``: area weights (km²) of target, buffer, control (and buffer
        control).
        """
        kwargs: dict[str, Any] = {}
        names = AREA_NAMES if has_buffer_control else AREA_NAMES[:3]
        for name in names:
            for w in WINDOW_NAMES:
                kwargs[f"{name}_{w}"] = self.areas[name][w]
        if self.lengths.get("during") is None:
            for name in names:
                kwargs.pop(f"{name}_during")
        if time_weighted:
            lb, la = self.lengths["before"], self.lengths["after"]
            if not lb or not la:
                empty = "before" if not lb else "after"
                return None, (f"the {empty} window holds no whole month of this "
                              f"month-precision layer, so it has no events to compare")
            kwargs["before_length"], kwargs["after_length"] = lb, la
            if self.lengths.get("during"):
                kwargs["during_length"] = self.lengths["during"]
        if area_km2 is not None:
            for name in names:
                kwargs[f"{name}_area"] = area_km2[name]
        return CountTable(**kwargs), None


class _Present:
    """Which distinct values of an object column occur among some events, for many
    masks: the column is factorised once, each mask is one ``bincount`` of its codes.
    The same set as ``set(pandas.unique(values[mask]).tolist())``, which a column
    holding missing values (``None``/NaN, told apart there) still takes."""

    def __init__(self, values: npt.NDArray[np.object_], index: IntArray) -> None:
        """``values``' events at ``index`` (the masks of :meth:`among` are on those)."""
        self.values = values
        self.index = index
        codes, uniq = pd.factorize(values)
        self.codes = np.asarray(codes, dtype=np.int64)[index]
        self.uniq = list(uniq)
        self.has_missing = bool((self.codes < 0).any())

    def among(self, mask: npt.NDArray[np.bool_]) -> set[Any]:
        if self.has_missing:
            return set(pd.unique(self.values[self.index[mask]]).tolist())
        seen = np.bincount(self.codes[mask], minlength=len(self.uniq))
        return {self.uniq[i] for i in np.flatnonzero(seen)}


def count_table(events: EventArrays, areas: OperationAreas, windows: Windows,
                specs: Sequence[MeasuredLayer], *,
                placed: Placement | None = None) -> dict[str, LayerCounts]:
    """Counts per layer/category, area and window (target, buffer, control, buffer control ×
    before, during, after), per buffer ring and per distance-decay ring.

    Vectorised: one placement of all events (:func:`place_events`), then one
    ``np.bincount`` per layer/category over ``area × window``.

    Returns
    -------
    dict of key (``"layer/category"``) to :class:`LayerCounts`
    """
    p = placed if placed is not None else place_events(events, areas, windows)
    n_rings = len(areas.buffer_rings)
    n_decay = len(areas.decay_rings)
    # only events in a window count: every spec works on those alone
    in_window = np.flatnonzero(p.window >= 0)
    window, area, ring, decay = (p.window[in_window], p.area[in_window], p.ring[in_window],
                                 p.decay[in_window])
    # the precisions' distinct values once, for every spec's "which ones occur"
    time_precisions = _Present(events.time_precision, in_window)
    location_precisions = _Present(events.location_precision, in_window)
    placed_in_area = area >= 0
    out: dict[str, LayerCounts] = {}
    for spec in specs:
        if spec.key in out:
            raise ParameterError("layers", f"{spec.key} is listed twice")
        mask = spec.matches(events.layer, events.category)[in_window]
        w = window[mask]
        a = area[mask]
        in_area = a >= 0
        grid = np.bincount(a[in_area] * 3 + w[in_area], minlength=12).reshape(4, 3)
        r = ring[mask]
        in_ring = r >= 0
        rgrid = np.bincount(r[in_ring] * 3 + w[in_ring], minlength=3 * n_rings).reshape(n_rings, 3)
        d = decay[mask]
        in_decay = d >= 0
        dgrid = np.bincount(d[in_decay] * 3 + w[in_decay], minlength=3 * n_decay).reshape(
            n_decay, 3)
        tp = time_precisions.among(mask)
        month = "month" in tp
        notes: list[str] = []
        if month and len(tp) > 1:
            notes.append(f"{spec.key} mixes month-precision times with others "
                         f"({', '.join(sorted(map(str, tp)))}); window lengths are taken as "
                         "whole months")
        out[spec.key] = LayerCounts(
            spec=spec,
            areas={name: {wn: int(grid[i, j]) for j, wn in enumerate(WINDOW_NAMES)}
                   for i, name in enumerate(AREA_NAMES)},
            rings=[{wn: int(rgrid[k, j]) for j, wn in enumerate(WINDOW_NAMES)}
                   for k in range(n_rings)],
            decay_before=[int(v) for v in dgrid[:, 0]],
            decay_after=[int(v) for v in dgrid[:, 2]],
            lengths=windows.lengths(month),
            month_precision=month,
            location_precisions=sorted(map(str, location_precisions.among(
                mask & placed_in_area))),
            n_events=int(mask.sum()),
            notes=notes,
        )
    return out
