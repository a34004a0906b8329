"""Suggest a control area: candidate units ranked by baseline profile and distance.

References
----------
Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*. POP
    Center Problem-Solving Tools No. 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from spatial.errors import ParameterError


def suggest_controls(ids: Sequence[str], geometries_m: Sequence[Any] | npt.NDArray[Any],
                     baseline_counts: npt.ArrayLike, target_baseline: float | npt.ArrayLike, *,
                     target_m: Any, buffer_m: Any, labels: Sequence[str] | None = None,
                     columns: Sequence[str] | None = None, max_units: int = 5,
                     max_distance_m: float = 5_000.0) -> dict[str, Any]:
    r"""Rank candidate control units and choose a control area from them.

    A control should be similar, nearby and must not touch the buffer
    (``docs/domain.md`` §4). Candidates that intersect (overlap *or* touch) the
    target or the buffer, lie farther than ``max_distance_m`` from the target
    or recorded nothing in the baseline are excluded, each with its reason.
    The rest are ranked by

    .. math:: s_i = \frac{1}{K}\sum_{k=1}^{K}\left|\ln\frac{c_{ik} + 1}{T_k + 1}\right|
                    + \frac{d_i}{d_{max}}

    over the K matched layers/categories (c_ik the unit's baseline count of
    layer k, T_k the target's, d_i its distance from the target in metres):
    the first term is 0 for a unit with the target's baseline profile and
    ln 2 ≈ 0.69 for one with half or double it in every layer; the second
    grows to 1 at the distance limit. Matching the profile, not only the
    total, keeps a control with the target's level of crime but none of its
    drug offences from winning. Units are then taken in rank order, each kept
    only if it brings the control's summed profile closer to the target's
    (the same mean absolute log ratio), until ``max_units`` are kept; so a
    control of several small units or one similar unit results.

    Parameters
    ----------
    ids, geometries_m : sequences
        Candidate unit ids and their polygons in metres (the operation's CRS).
    baseline_counts : array_like, shape (n,) or (n, K)
        Each candidate's before-window counts (of the K layers matched on).
    target_baseline : float or array_like, shape (K,)
        The target's before-window counts.
    target_m, buffer_m : shapely geometries in metres
    labels : sequence of str, optional
    columns : sequence of str, optional
        Names of the K matched layers/categories, for the reasons.
    max_units : int
    max_distance_m : float

    Returns
    -------
    dict
        ``chosen`` (ids), ``control_baseline`` and ``target_baseline`` (per
        matched column when K > 1), ``ranked`` (every eligible candidate with
        its score and reason), ``excluded`` (with reasons), ``parameters`` and
        ``warnings``.
    """
    ids_a, geoms, counts, t, multi = _inputs(ids, geometries_m, baseline_counts,
                                             target_baseline, max_units, max_distance_m)
    names = list(columns) if columns is not None else [f"column {k + 1}" for k in range(t.size)]
    labs = (np.asarray(list(labels), dtype=object) if labels is not None
            else np.full(ids_a.size, None, dtype=object))
    outer = shapely.union_all([target_m, buffer_m])
    touches = (shapely.intersects(geoms, outer) if ids_a.size
               else np.zeros(0, dtype=bool))
    dist = shapely.distance(geoms, target_m) if ids_a.size else np.zeros(0)
    far = dist > max_distance_m
    empty = counts.sum(axis=1) <= 0
    eligible = ~touches & ~far & ~empty
    cand = _Candidates(ids_a, labs, counts, dist, multi)
    excluded = [{**cand.row(j), "reason": (
        "touches or overlaps the target or buffer" if touches[j] else
        f"{float(dist[j]):,.0f} m from the target, beyond {max_distance_m:,.0f} m"
        if far[j] else "recorded nothing in the baseline")}
        for j in np.flatnonzero(~eligible).tolist()]  # candidates: tens to hundreds of units

    sim = np.abs(np.log((counts + 1.0) / (t + 1.0))).mean(axis=1)
    score = sim + dist / max_distance_m
    order = [int(i) for i in np.argsort(score, kind="stable") if eligible[i]]
    chosen, total = _choose(counts, t, order, max_units)
    ranked = _ranked(cand, t, names, order, chosen, score)
    return {"chosen": [str(ids_a[i]) for i in chosen],
            "control_baseline": total.tolist() if multi else float(total[0]),
            "target_baseline": t.tolist() if multi else float(t[0]),
            "columns": names if multi else None,
            "ranked": ranked, "excluded": excluded,
            "parameters": {"max_units": max_units, "max_distance_m": max_distance_m,
                           "score": "mean over matched layers of |ln((c+1)/(T+1))| + "
                                    "distance/max_distance_m"},
            "warnings": _choice_warnings(names, total, t, bool(chosen))}


@dataclass(frozen=True, eq=False)
class _Candidates:
    ids: npt.NDArray[np.object_]
    labels: npt.NDArray[np.object_]
    counts: npt.NDArray[np.float64]   # (n, K)
    dist: npt.NDArray[np.float64]     # metres from the target
    multi: bool                       # K columns given (else one, reported as a number)

    def row(self, i: int) -> dict[str, Any]:
        return {"id": str(self.ids[i]), "label": self.labels[i],
                "baseline": self.counts[i].tolist() if self.multi else float(self.counts[i, 0]),
                "distance_m": round(float(self.dist[i]), 1)}


def _choose(counts: npt.NDArray[np.float64], t: npt.NDArray[np.float64], order: list[int],
            max_units: int) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Take units in rank order while each brings the summed profile closer to the target's."""
    def gap(total: np.ndarray) -> float:
        return float(np.mean(np.abs(np.log((total + 1.0) / (t + 1.0)))))

    chosen: list[int] = []
    total = np.zeros(t.size)
    for i in order:
        if len(chosen) >= max_units:
            break
        if gap(total + counts[i]) < (gap(total) if chosen else math.inf):
            chosen.append(i)
            total = total + counts[i]
    return chosen, total


def _ranked(cand: _Candidates, t: npt.NDArray[np.float64], names: list[str], order: list[int],
            chosen: list[int], score: npt.NDArray[np.float64]) -> list[dict[str, Any]]:
    def profile(c: np.ndarray) -> str:
        return ", ".join(f"{n} {v:g}" for n, v in zip(names, c, strict=True)) if cand.multi \
            else f"{c[0]:g}"

    totals = cand.counts.sum(axis=1)
    ranked = []
    for rank, i in enumerate(order, start=1):
        ratio = totals[i] / t.sum() if t.sum() > 0 else None
        ratio_text = f"ratio {ratio:.2f}" if ratio is not None else "target baseline 0"
        row = cand.row(i)
        ranked.append({
            "rank": rank, **row, "score": round(float(score[i]), 4),
            "chosen": i in chosen,
            "reason": (f"baseline {profile(cand.counts[i])} against the target's {profile(t)} "
                       f"({ratio_text}); {float(cand.dist[i]):,.0f} m from the target; does not "
                       "touch the buffer"),
        })
    return ranked


def _choice_warnings(names: list[str], total: npt.NDArray[np.float64],
                     t: npt.NDArray[np.float64], any_chosen: bool) -> list[str]:
    warnings: list[str] = []
    if not any_chosen:
        warnings.append("no candidate unit qualifies as a control (see excluded): give a "
                        "control area, or widen max_distance_m")
    else:
        for name, c, tv in zip(names, total, t, strict=True):
            if tv > 0 and not (0.5 <= c / tv <= 2.0):
                warnings.append(f"the suggested control's baseline of {name} ({c:g}) is not "
                                f"within a factor of 2 of the target's ({tv:g}): changes in "
                                "the two are less comparable")
    return warnings


def _inputs(ids: Sequence[str], geometries_m: Sequence[Any] | npt.NDArray[Any],
            baseline_counts: npt.ArrayLike, target_baseline: float | npt.ArrayLike,
            max_units: int, max_distance_m: float) -> tuple[
                npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.float64],
                npt.NDArray[np.float64], bool]:
    """Checked arrays: ids, geometries, counts (n, K), target counts (K,), and whether K was given."""
    ids_a = np.asarray(list(ids), dtype=object)
    geoms = np.asarray(list(geometries_m), dtype=object)
    raw = np.asarray(baseline_counts, dtype=float)
    multi = raw.ndim == 2
    counts = raw if multi else raw.reshape(-1, 1)
    t = np.atleast_1d(np.asarray(target_baseline, dtype=float)).ravel()
    if not (ids_a.size == geoms.size == counts.shape[0]):
        raise ParameterError("candidates", "ids, geometries and counts differ in length")
    if counts.shape[1] != t.size:
        raise ParameterError("target_baseline", f"{t.size} target counts for "
                             f"{counts.shape[1]} matched columns")
    if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 1:
        raise ParameterError("max_units", f"must be an integer >= 1, got {max_units!r}")
    if not (math.isfinite(max_distance_m) and max_distance_m > 0):
        raise ParameterError("max_distance_m", "must be a positive number of metres")
    return ids_a, geoms, counts, t, multi
