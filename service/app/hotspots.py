"""Hotspot requests (counts, kernel density, Gi*, LISA) and global Moran's I.

Shared by ``GET /v1/hotspots``, ``GET /v1/autocorrelation`` and ``remap
hotspots``. Every unit of the study area is in the answer, zeros included;
``parameters`` holds everything actually used (unit, neighbours, permutations,
seed, correction, alpha, bandwidth, cell size) and ``warnings`` what the data
cannot support.

Gi* and LISA default to two-sided conditional permutation p-values (up to
49,999 draws, in stages, see :mod:`spatial.stats.getis_ord`) with
Benjamini-Hochberg FDR: on random maps of event counts the normal-theory
p-values the Gi* bins used before flagged false hot spots on every map.
``permutations=0`` asks for normal inference explicitly (with a warning).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.app import disclosure
from service.app.analysis import CountsRequest, UnitCounts, unit_counts
from service.render.geojson import feature_collection, geometry_features
from service.store import Store
from spatial.disclosure import needs_small_number_suppression
from spatial.errors import InsufficientDataError, ParameterError, PermissionDeniedError
from spatial.place import units as unitsmod
from spatial.place.crs import geometry_to_metric
from spatial.stats import density, getis_ord, moran
from spatial.stats.density import KERNELS
from spatial.stats.significance import CORRECTIONS
from spatial.timewindow import TimeWindow

METHODS = ("count", "kde", "gistar", "lisa")


@dataclass(frozen=True)
class HotspotOptions:
    """Method parameters, validated; ``None`` means "the documented default"."""

    method: str = "gistar"
    k: int = 1
    permutations: int | None = None   # None: staged 49,999 (Gi*, LISA), 999 (Moran's I)
    seed: int | None = None
    correction: str = "fdr_bh"
    alpha: float = 0.05
    bandwidth: str | None = None      # metres, or a rule: silverman | scott
    cell_size_m: float | None = None
    kernel: str = "gaussian"
    compare_window: TimeWindow | None = None  # dual KDE: this window minus the compare one
    denominator_layer: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError("method", f"{self.method!r} is not one of {', '.join(METHODS)}")
        if self.correction not in CORRECTIONS:
            raise ParameterError("correction",
                                 f"{self.correction!r} is not one of {', '.join(CORRECTIONS)}")
        if self.kernel not in KERNELS:
            raise ParameterError("kernel", f"{self.kernel!r} is not one of {', '.join(KERNELS)}")
        if not 1 <= self.k <= 5:
            raise ParameterError("k", "H3 neighbour ring must be 1..5")
        if self.permutations is not None and not 0 <= self.permutations <= 99_999:
            raise ParameterError("permutations", "must be 0..99999")
        if not 1e-6 <= self.alpha <= 0.5:
            # a smaller alpha has no normal quantile in double precision
            raise ParameterError("alpha", "must be between 1e-6 and 0.5")
        if self.cell_size_m is not None and not 1 <= self.cell_size_m <= 10_000:
            raise ParameterError("cell_size_m", "must be 1..10000 metres")

    def resolved_seed(self) -> int:
        # a seed is always used and reported, so any result can be reproduced
        return self.seed if self.seed is not None else secrets.randbelow(2**31 - 1)


def _weights(uc: UnitCounts, opts: HotspotOptions) -> tuple[Any, dict[str, Any]]:
    if uc.units.kind == "h3":
        w = unitsmod.neighbours(uc.units, k=opts.k)
        desc = {"neighbours": f"H3 grid_disk k={opts.k}", "weights": "binary"}
    elif uc.units.kind == "boundary":
        w = unitsmod.neighbours(uc.units)
        desc = {"neighbours": "queen contiguity", "weights": "binary"}
    elif uc.units.kind == "street":
        w = unitsmod.neighbours(uc.units)
        desc = {"neighbours": str(uc.units.parameters["neighbours"]), "weights": "binary"}
    else:
        w = unitsmod.neighbours(uc.units)
        desc = {"neighbours": "8 surrounding squares", "weights": "binary"}
    return w, desc


def hotspots_collection(store: Store, req: CountsRequest, opts: HotspotOptions, *,
                        role: str, actor: str | None = None) -> dict[str, Any]:
    """Every unit with its statistics as a GeoJSON FeatureCollection."""
    return hotspots(store, req, opts, role=role, actor=actor)[0]


def hotspots(store: Store, req: CountsRequest, opts: HotspotOptions, *,
             role: str, actor: str | None = None) -> tuple[dict[str, Any], Any]:
    """The FeatureCollection and, for ``method=kde``, the density surface (for maps)."""
    den_layers = (opts.denominator_layer,) if opts.denominator_layer else ()
    # unit statistics are of req.layer's counts; a rate is protected on its own below
    suppress = needs_small_number_suppression(role, [req.layer])
    if suppress and opts.method != "count":
        _refuse_statistics(role, req.layer)
    uc = unit_counts(store, req, role=role, actor=actor, with_layers=den_layers)
    counts = uc.counts.astype(float)
    params: dict[str, Any] = {**uc.parameters, "method": opts.method}
    warnings = list(uc.warnings)
    props: list[dict[str, Any]] = [
        {"unit_id": str(u), "label": lab} for u, lab in zip(uc.unit_ids, uc.labels, strict=True)]
    shown = disclosure.shown_counts(role, req.layer, uc.counts)
    for p, c in zip(props, shown, strict=True):
        p["count"] = c

    if opts.denominator_layer:
        den_req = CountsRequest(layer=opts.denominator_layer, categories=(), window=req.window,
                                unit=req.unit, area=req.area)
        den_uc = unit_counts(store, den_req, role=role, actor=actor,
                             with_layers=(req.layer,), units_of=uc)
        # rates of protected layers are made from the protected values only
        num = disclosure.numbers_for(role, req.layer, uc.counts)
        den = disclosure.numbers_for(role, opts.denominator_layer, den_uc.counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(den > 0, num / den, np.nan)
        for p, r in zip(props, rate.tolist(), strict=True):
            p["rate"] = None if np.isnan(r) else r
        params["denominator_layer"] = opts.denominator_layer
        undefined = int((~(den > 0)).sum())
        if undefined:
            warnings.append(f"{undefined} units have no (or a suppressed) number of "
                            f"{opts.denominator_layer} events: their rate is undefined (null)")

    if opts.method in ("gistar", "lisa"):
        if len(counts) < 3:
            raise InsufficientDataError(f"{len(counts)} units: too few for a local statistic")
        w, wdesc = _weights(uc, opts)
        params.update(wdesc)
        seed = opts.resolved_seed()
        if opts.method == "gistar":
            # None: the calibrated default (staged permutations), see the module notes
            gi = getis_ord.gi_star(counts, w, permutations=opts.permutations, seed=seed,
                                   correction=opts.correction)
            params.update({f"gi_{k}": v for k, v in gi.parameters.items()})
            warnings += gi.warnings
            for i, p in enumerate(props):
                p.update({"GiZScore": _f(gi.z[i]), "GiPValue": _f(gi.p[i]),
                          "GiPValueAdjusted": _f(gi.p_adjusted[i]), "Gi_Bin": int(gi.bin[i]),
                          "NNeighbors": int(gi.n_neighbours[i])})
                if gi.p_sim is not None:
                    p["GiPValuePermutation"] = _f(gi.p_sim[i])
        else:
            lm = moran.local_moran(counts, w, permutations=opts.permutations, seed=seed,
                                   correction=opts.correction, alpha=opts.alpha)
            params.update({f"lisa_{k}": v for k, v in lm.parameters.items()})
            warnings += lm.warnings
            for i, p in enumerate(props):
                p.update({"Is": _f(lm.Is[i]), "z": _f(lm.z[i]),
                          "p": _f(lm.p_sim[i] if lm.p_sim is not None else lm.p_norm[i]),
                          "p_adjusted": _f(lm.p_adjusted[i]), "quadrant": int(lm.q[i]),
                          "cluster": str(lm.labels[i])})
    extra: dict[str, Any] = {}
    if opts.method == "kde":
        extra = _kde(uc, req, opts, store, props, params, warnings, suppress, role, actor)
    params.setdefault("p_values", "two-sided")
    surface = extra.pop("_surface", None)
    fc = feature_collection(geometry_features(uc.units.geometry.to_numpy(), props,
                                              ids=[str(u) for u in uc.unit_ids]),
                            parameters=params, warnings=warnings, **extra)
    return fc, surface


def inference_summary(p: Mapping[str, Any], method: str) -> str:
    """How the p-values behind Gi_Bin (``method="gistar"``) or the LISA clusters were
    made, in one phrase for legends and the CLI, from a result's ``parameters``."""
    pre = {"gistar": "gi_", "lisa": "lisa_"}.get(method)
    if pre is None:
        return "no p-values"
    seed = p.get(f"{pre}seed")
    r = p.get(f"{pre}permutations") or 0
    if not r or p.get(f"{pre}inference") == "normal":
        return f"p-values two-sided, normal theory; correction {p.get(f'{pre}correction')}"
    first = p.get(f"{pre}first_stage_permutations")
    stages = (f" ({first:,} for units whose p cannot be small)" if first and first < r else "")
    corr = p.get(f"{pre}correction")
    return (f"p-values two-sided, {r:,} conditional permutations{stages}, seed {seed}, "
            f"smallest p {p.get(f'{pre}smallest_p', float('nan')):.2g}; correction {corr}")


def _kde(uc: UnitCounts, req: CountsRequest, opts: HotspotOptions, store: Store,
         props: list[dict[str, Any]], params: dict[str, Any], warnings: list[str],
         suppress: bool, role: str, actor: str | None) -> dict[str, Any]:
    inside = uc.index >= 0
    ev = uc.events.loc[inside]
    if len(ev) < 2:
        raise InsufficientDataError(f"{len(ev)} events in the study area: a density surface "
                                    "needs at least 2")
    epsg = uc.units.epsg
    x, y = _metric_xy(ev, epsg)
    polys = geometry_to_metric(np.asarray(uc.units.geometry.values, dtype=object), epsg)
    import shapely

    bounds = shapely.total_bounds(polys)
    bw: float | str = "silverman"
    if opts.bandwidth:
        try:
            bw = float(opts.bandwidth)
        except ValueError:
            bw = opts.bandwidth
    cell = opts.cell_size_m or max(10.0, round(min(bounds[2] - bounds[0],
                                                   bounds[3] - bounds[1]) / 200.0))
    surface = density.kde(x, y, cell_size_m=cell, bandwidth_m=bw, kernel=opts.kernel,
                          bounds=tuple(bounds))
    warnings += surface.warnings
    params.update({"kde_" + k: v for k, v in surface.parameters.items()})
    params.update({"bandwidth_m": surface.bandwidth_m, "cell_size_m": surface.cell_size_m,
                   "kernel": surface.kernel, "crs": f"EPSG:{epsg}",
                   "mass_in_grid": surface.mass_in_grid})
    values = density.mean_per_unit(surface, list(polys))
    result_grid: Any = surface
    if opts.compare_window is not None:
        cmp_req = CountsRequest(layer=req.layer, categories=req.categories,
                                window=opts.compare_window, unit=req.unit, area=req.area)
        cmp_uc = unit_counts(store, cmp_req, role=role, actor=actor)
        cev = cmp_uc.events.loc[cmp_uc.index >= 0]
        cx, cy = _metric_xy(cev, epsg)
        other = density.kde(cx, cy, cell_size_m=surface.cell_size_m,
                            bandwidth_m=surface.bandwidth_m, kernel=opts.kernel,
                            bounds=(surface.x_edges[0], surface.y_edges[0],
                                    surface.x_edges[-1], surface.y_edges[-1]))
        diff = density.dual(surface, other, mode="difference")
        cmp_values = density.mean_per_unit(other, list(polys))
        for p, v in zip(props, cmp_values.tolist(), strict=True):
            p["density_compare"] = _f(v)
        values_diff = density.mean_per_unit(diff, list(polys))
        for p, v in zip(props, values_diff.tolist(), strict=True):
            p["density_difference"] = _f(v)
        params["compare_window"] = opts.compare_window.as_dict()
        params["dual"] = "difference: window minus compare_window (same bandwidth and grid)"
        result_grid = diff
    for p, v in zip(props, values.tolist(), strict=True):
        p["density"] = _f(v)
    params["density_units"] = "events per km²"
    return {"grid": {"crs": f"EPSG:{epsg}", "cell_size_m": float(result_grid.cell_size_m),
                     "x_min": float(result_grid.x_edges[0]),
                     "y_min": float(result_grid.y_edges[0]),
                     "shape": list(result_grid.density.shape),
                     "max": float(np.nanmax(result_grid.density)),
                     "min": float(np.nanmin(result_grid.density))},
            "_surface": result_grid}


def _refuse_statistics(role: str, layer: str) -> None:
    # Gi* z-scores, LISA and density surfaces are invertible functions of exact counts
    raise PermissionDeniedError(f"layer {layer!r} is health or restricted data: role {role!r} "
                                "receives its protected counts only (method=count), not unit "
                                "statistics or density surfaces, which would reveal exact "
                                "counts")


def _metric_xy(events: Any, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    from spatial.place.crs import to_metric

    same = (events["crs_epsg"] == epsg).to_numpy()
    if same.all():
        return events["x"].to_numpy(float), events["y"].to_numpy(float)
    return to_metric(events["lon"].to_numpy(float), events["lat"].to_numpy(float), epsg)


def _f(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else v


def autocorrelation(store: Store, req: CountsRequest, opts: HotspotOptions, *,
                    role: str, actor: str | None = None) -> dict[str, Any]:
    """Global Moran's I of the counts per unit."""
    if needs_small_number_suppression(role, [req.layer]):
        _refuse_statistics(role, req.layer)
    uc = unit_counts(store, req, role=role, actor=actor)
    w, wdesc = _weights(uc, opts)
    seed = opts.resolved_seed()
    perms = 999 if opts.permutations is None else opts.permutations
    gm = moran.global_moran(uc.counts.astype(float), w, permutations=perms, seed=seed)
    return {
        "statistic": "global Moran's I",
        "I": gm.I, "expected_I": gm.EI,
        "normal": {"variance": gm.VI_norm, "z": gm.z_norm, "p": gm.p_norm},
        "randomisation": {"variance": gm.VI_rand, "z": gm.z_rand, "p": gm.p_rand},
        "permutation": None if gm.p_sim is None else {
            "p": gm.p_sim, "z": gm.z_sim, "mean": gm.EI_sim, "variance": gm.VI_sim},
        "parameters": {**uc.parameters, **wdesc, **gm.parameters, "p_values": "two-sided"},
        "warnings": uc.warnings + gm.warnings,
    }
