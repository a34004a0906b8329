"""The disclosure gate: the one place where :mod:`spatial.disclosure`'s policy meets
requests, the store and the audit log.

Every count that leaves remap is made by :func:`service.app.analysis.unit_counts`,
which calls :func:`check_counts_request` before any work, :func:`protect_summary`
on its parameters and warnings, and :func:`audit_read` after; every value shown
is made by :func:`shown_counts` (or :func:`rate_values` for rates). Layer
metadata, saved results, OGC collections and operations call the functions
below too, so no output has a policy of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.settings import Settings, get_settings
from spatial import disclosure as policy_rules
from spatial.disclosure import (
    NOTHING,
    POINTS,
    PROTECTED_COUNTS,
    DisclosurePolicy,
    is_protected,
    layer_detail,
)
from spatial.events import layer_spec


def policy_from(settings: Settings) -> DisclosurePolicy:
    return DisclosurePolicy(
        h3_resolution=settings.disclosure_h3_resolution,
        grid_m=settings.disclosure_grid_m,
        period=settings.disclosure_period,
        min_category_events=settings.disclosure_min_category_events,
        rounding_base=settings.disclosure_rounding_base,
        restricted_h3_resolution=settings.disclosure_restricted_h3_resolution)


def current_policy() -> DisclosurePolicy:
    """The policy of the running process (``REMAP_DISCLOSURE_*``)."""
    return policy_from(get_settings())


def check_counts_request(store: Any, *, role: str, layers: tuple[str, ...], unit: Any,
                         window: Any, categories: tuple[str, ...], event_filter: Any) -> None:
    """Refuse, before any work, a counts request ``role`` may not make.

    ``unit`` is a :class:`service.app.analysis.UnitSpec`, ``window`` a
    :class:`spatial.timewindow.TimeWindow`.
    """
    policy = current_policy()
    protected = [name for name in layers if name and is_protected(role, name)]
    if not protected:
        return
    for name in protected:
        policy_rules.check_unit(role, name, policy, kind=unit.kind, resolution=unit.resolution,
                                cell_size_m=unit.cell_size_m)
    policy_rules.check_window(role, protected, window.start, window.end, policy)
    if categories and is_protected(role, layers[0]):
        selected = store.count_events(event_filter)
        policy_rules.check_category_selection(role, layers[0], categories, selected, policy)


def whole_units_only(role: str, layers: tuple[str, ...] | list[str]) -> bool:
    """Must counts of ``layers`` for ``role`` be of whole units, edge units not cut by
    the study area? Yes when any is protected: a unit cut by the area's edge is smaller
    than the policy's unit, and a tiny area around one event would say where it is."""
    return policy_rules.needs_small_number_suppression(role, list(layers))


def shown_counts(role: str, layer: str, counts: Any) -> list[Any]:
    """Counts of ``layer`` as ``role`` may see them: exact, or protected."""
    if is_protected(role, layer):
        return policy_rules.protect_counts(counts, current_policy().rounding_base)
    return [int(c) for c in np.asarray(counts).ravel()]


def numbers_for(role: str, layer: str, counts: Any) -> np.ndarray:
    """The numbers derived figures may be made from: exact, or the protected
    values (NaN where suppressed)."""
    if is_protected(role, layer):
        return policy_rules.protected_numbers(counts, current_policy().rounding_base)
    return np.asarray(counts, dtype=float).ravel()


def shown_total(role: str, layers: tuple[str, ...] | list[str], value: int) -> Any:
    """A total (events selected, counted, outside) as ``role`` may see it."""
    if policy_rules.needs_small_number_suppression(role, list(layers)):
        return policy_rules.round_total(value, current_policy().rounding_base)
    return int(value)


def suppression_note(role: str, layers: tuple[str, ...] | list[str]) -> str:
    if not policy_rules.needs_small_number_suppression(role, list(layers)):
        return "none"
    base = current_policy().rounding_base
    return (f"health/restricted counts: 1-{base - 1} shown as '<{base}', others rounded to the "
            f"nearest {base}; totals and rates are made from the rounded values")


def audit_read(store: Any, actor: str | None, role: str, layer: str, *, events: int,
               what: dict[str, Any]) -> None:
    """Record a read of a health or restricted layer, at any detail."""
    if layer_spec(layer).sensitivity == "open":
        return
    detail = PROTECTED_COUNTS if is_protected(role, layer) else "counts"
    store.audit(None, actor or "cli", "read_aggregate",
                {"layer": layer, "role": role, "detail": detail, "events": int(events), **what})


def layers_for(role: str, layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``/v1/layers`` as ``role`` may see it: protected layers with rounded totals,
    categories of fewer than the minimum as ``"<N"``, months only; restricted
    layers withheld from controlled roles by name only."""
    policy = current_policy()
    base, floor = policy.rounding_base, policy.min_category_events
    out = []
    for la in layers:
        detail = layer_detail(role, la["name"], policy)
        entry = {**la, "detail": detail}
        if detail == NOTHING:
            entry.update({"count": None, "time_min": None, "time_max": None,
                          "categories": {}})
        elif detail != POINTS:
            entry["count"] = policy_rules.round_total(la["count"], base)
            entry["time_min"] = la["time_min"][:7] if la.get("time_min") else None
            entry["time_max"] = la["time_max"][:7] if la.get("time_max") else None
            entry["categories"] = {
                c: (policy_rules.round_total(n, base) if n >= floor else f"<{floor}")
                for c, n in la["categories"].items()}
        out.append(entry)
    return out


# --------------------------------------------------------------------------- watches

#: Why partners and viewers do not see a watch's dealing-site areas.
WATCH_SITES_WITHHELD = ("the circles around known dealing sites are intelligence locations: "
                        "role {role!r} sees the watch's target and buffer only")


def is_controlled(role: str) -> bool:
    """Partners and viewers (:func:`spatial.disclosure.is_controlled`)."""
    return policy_rules.is_controlled(role)


def shown_watch_series(role: str, layer: str, area_kind: str, series: dict[str, Any],
                       alarm_month_counts: dict[str, int]) -> dict[str, Any] | None:
    """One watched series of a check as ``role`` may see it (``None``: not at all).

    Point-level roles see everything. For partners and viewers:

    * series in a dealing-site circle are withheld, whatever the layer (the
      circle is an intelligence location, and a tiny area);
    * series of a restricted layer withheld from the role are withheld;
    * series of a protected (health) layer show no count, CUSUM value, level
      or design figure (each would give exact small counts: ``x_t = S_t -
      S_{t-1} + k``), no period finer than the policy's release period, and an
      alarm only where the series holds at least ``min_category_events``
      events in that calendar month. ``alarm: false`` therefore reads "no alarm
      shown", not "no alarm": a weekly alarm on two call-outs says nothing;
    * open layers are shown in full (their events are point-level for every role).
    """
    if not is_controlled(role):
        return series
    if area_kind == "site":
        return None
    if not is_protected(role, layer):
        return series
    policy = current_policy()
    if layer_detail(role, layer, policy) == NOTHING:
        return None
    months = sorted(m for m, n in alarm_month_counts.items()
                    if n >= policy.min_category_events)
    return {"name": series["name"], "layer": layer, "area": series["area"],
            "area_kind": area_kind, "alarm": bool(months), "alarm_periods": [],
            "first_alarm": None, "alarm_months": months, "counts": None,
            "baseline_counts": None, "cusum": None, "pre_level": None,
            "mu0_interval": None, "mu1_rule": series["mu1_rule"], "design": None,
            "warnings": [], "protected": (
                f"{layer!r} is protected for role {role!r}: no counts, chart values or "
                f"levels; alarms by calendar month only, and only where the month holds "
                f"at least {policy.min_category_events} events ('alarm: false' means no "
                "alarm shown)")}


def watch_withheld(role: str, layers: list[str]) -> list[str]:
    """What a check withholds from ``role`` (empty for point-level roles)."""
    if not is_controlled(role):
        return []
    out = [WATCH_SITES_WITHHELD.format(role=role)]
    policy = current_policy()
    for layer in sorted(set(layers)):
        if is_protected(role, layer):
            out.append(f"{layer!r}: " + ("withheld from role " + repr(role)
                                         if layer_detail(role, layer, policy) == NOTHING
                                         else "alarms by month only, no counts"))
    return out


def shown_recorded_alarms(role: str, recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recorded alarms as ``role`` may see them: partners and viewers get those of open
    layers outside the site circles (the others are by period and area, too fine)."""
    if not is_controlled(role):
        return recorded
    return [a for a in recorded if a["area"] in ("target", "buffer")
            and not is_protected(role, a["layer"])]


def watch_warnings(role: str, warnings: list[str], hidden_series: list[str]) -> list[str]:
    """A check's warnings without those about series ``role`` may not see in detail (they
    quote levels made from exact counts)."""
    if not is_controlled(role):
        return warnings
    return [w for w in warnings if not any(w.startswith(f"{n}:") for n in hidden_series)]
