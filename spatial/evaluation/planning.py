"""Planning figures: minimum detectable change and the after window needed."""

from __future__ import annotations

from typing import Any

from spatial.evaluation.counting import LayerCounts
from spatial.evaluation.power import after_window_needed, minimum_detectable_change
from spatial.evaluation.verdict import minimum_events


def plan_layer(lc: LayerCounts, *, alpha: float = 0.05, power: float = 0.8,
               reduction: float = 0.3, has_buffer_control: bool = False,
               min_count: int | None = None) -> dict[str, Any]:
    r"""Planning figures for one layer from its before-window counts.

    With k = L_after/L_before, the minimum detectable change δ (after-window
    events, two-sided α, power 1−β) solves |E| = (z_{1−α/2} + z_{1−β})·√V(δ)
    where V is the WDD variance (the sum of the counts; see
    :func:`spatial.evaluation.power.minimum_detectable_change`), for the local
    test (target vs control) and the total WDD; and the after window needed
    for a stated fractional reduction f follows from the same equation solved
    for k (:func:`spatial.evaluation.power.after_window_needed`).

    Also: whether the target's expected before + after total
    T_b·(1 + k) reaches the verdict's floor (:func:`spatial.evaluation.verdict.minimum_events`).
    """
    floor = minimum_events(alpha) if min_count is None else int(min_count)
    lb, la = lc.lengths["before"], lc.lengths["after"]
    base = {"target": float(lc.count("target", "before")),
            "buffer": float(lc.count("buffer", "before")),
            "control": float(lc.count("control", "before"))}
    if has_buffer_control:
        base["buffer_control"] = float(lc.count("buffer_control", "before"))
    out: dict[str, Any] = {"baseline": base, "before_days": lb, "after_days": la,
                           "alpha": alpha, "power": power, "reduction": reduction,
                           "verdict_floor": floor}
    if not lb or not la:
        out["reason"] = "a window has no effective length for this layer"
        out["sentence"] = f"{lc.spec.key}: cannot plan: {out['reason']}."
        return out
    k = la / lb
    out["time_ratio"] = k
    local = minimum_detectable_change(base, k, alpha, power, test="local")
    total = minimum_detectable_change(base, k, alpha, power, test="wdd")
    need = after_window_needed(base, reduction, alpha, power, before_days=lb, test="local")
    out["mdc_local"] = local.as_dict()
    out["mdc_wdd"] = total.as_dict()
    out["after_window_needed"] = need.as_dict()
    expected_total = base["target"] * (1.0 + k)
    out["expected_target_total"] = expected_total
    out["verdict_possible"] = expected_total >= floor and local.reduction is not None
    conf = f"{100 * (1 - alpha):g} %"
    head = (f"{lc.spec.key}: {base['target']:g} in the target and {base['control']:g} in the "
            f"control over the {lb:g}-day before window; with an after window of {la:g} days")
    if local.reduction is None:
        body = f", no reduction can be detected ({local.reason})"
    else:
        body = (f", the smallest reduction detectable at the {conf} level with "
                f"{power:.0%} power is {local.reduction_fraction:.0%} "
                f"({local.reduction:.0f} of about {local.expected_after:.0f} expected events)")
    if need.after_days is not None:
        tail = (f"; a {reduction:.0%} reduction needs an after window of about "
                f"{need.after_days:.0f} days")
    elif need.reason and need.reason.startswith("a "):
        tail = f"; {need.reason}"
    else:
        tail = f"; a {reduction:.0%} reduction: {need.reason}"
    floor_text = ("" if expected_total >= floor else
                  f". Expected target events before + after ({expected_total:.0f}) are below "
                  f"the {floor} a verdict needs, so the evaluation would report insufficient "
                  f"data")
    out["sentence"] = head + body + tail + floor_text + "."
    return out
