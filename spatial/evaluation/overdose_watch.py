"""The overdose watch: overdose call-outs in target + buffer, against the control.

The watch asks one question -- did call-outs in the operation's area (target
and buffer together) rise during or after it, relative to the control? -- with
the same ratio-of-rate-ratio test the verdict's net effect uses
(:func:`spatial.evaluation.rate_ratios.ratio_test`), at level α without the
verdict's correction for its three tests: a watch is a screen that should
err towards flagging. Without a control (or one with no call-outs) it falls
back to the uncontrolled exact rate-ratio test and says so
(``comparison = "none"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spatial.evaluation.count_table import SMALL_COUNT
from spatial.evaluation.counting import EventArrays, MeasuredLayer, Placement
from spatial.evaluation.rate_ratio import rate_ratio_test
from spatial.evaluation.rate_ratios import ratio_test
from spatial.evaluation.windows import WINDOW_NAMES, Windows


def overdose_watch(events: EventArrays, placed: Placement, windows: Windows, layer: str, *,
                   alpha: float = 0.05,
                   locked_before: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Overdose call-outs in target + buffer, before, during and after, with rate tests.

    The during and after rates (events per day, exposure = effective window
    length) are each compared with the before rate by the exact conditional
    test of :func:`spatial.evaluation.rate_ratio.rate_ratio_test`
    (``tests["before_vs_during"]``, ``tests["before_vs_after"]``: the raw
    change), and, when the control recorded call-outs, relative to the
    control's change by the ratio-of-rate-ratio test
    (``tests["controlled_during"]``, ``tests["controlled_after"]``). The
    ``rise`` flag follows the controlled test when there is one
    (``comparison = "control"``), else the raw one (``"none"``). A disruption
    can raise harm (overdoses when purity becomes unpredictable), so this is
    watched whatever the crime figures say. ``rise_windows`` lists the
    windows (``during``, ``after``) with a rise; the service words them.
    """
    spec = MeasuredLayer(layer, "*", "outcome")
    mask = spec.matches(events.layer, events.category)
    if not mask.any() and locked_before is None:
        return {"available": False, "layer": layer,
                "reason": f"no '{layer}' events in any window: the overdose watch needs "
                          "ambulance call-outs"}
    month = bool((events.time_precision[mask] == "month").any())
    lengths = windows.lengths(month)
    counts: dict[str, dict[str, int]] = {}
    for area_i, area in ((0, "target"), (1, "buffer"), (2, "control")):
        counts[area] = {}
        for j, wn in enumerate(WINDOW_NAMES):
            counts[area][wn] = int((mask & (placed.area == area_i) & (placed.window == j)).sum())
    if locked_before is not None:
        for area in ("target", "buffer"):
            counts[area]["before"] = int(locked_before.get(area, counts[area]["before"]))
    total = {wn: counts["target"][wn] + counts["buffer"][wn] for wn in WINDOW_NAMES}
    control = counts.pop("control")
    controlled = control["before"] > 0
    tests: dict[str, Any] = {}
    rises: list[str] = []
    lb = lengths["before"]
    for wn in ("during", "after"):
        lw = lengths[wn]
        if lw is None:
            tests[f"before_vs_{wn}"] = tests[f"controlled_{wn}"] = None
            continue
        if not lb or not lw:
            tests[f"before_vs_{wn}"] = {"reason": "a window has no effective length"}
            tests[f"controlled_{wn}"] = None
            continue
        res = rate_ratio_test(total["before"], lb, total[wn], lw, alpha)
        tests[f"before_vs_{wn}"] = res.as_dict()
        rel = ratio_test("net", total["before"], total[wn], control["before"], control[wn],
                         alpha) if controlled else None
        tests[f"controlled_{wn}"] = None if rel is None else rel.as_dict()
        if (rel.direction > 0) if rel is not None else res.rise_flag:
            rises.append(wn)
    warnings = []
    if sum(total.values()) < SMALL_COUNT:
        warnings.append(f"only {sum(total.values())} overdose call-outs in all windows: the "
                        "watch cannot show anything but a very large change")
    return {"available": True, "layer": layer, "counts": counts, "total": total,
            "control": control, "comparison": "control" if controlled else "none",
            "lengths_days": lengths, "tests": tests, "rise": bool(rises), "rise_windows": rises,
            "alpha": alpha, "warnings": warnings}

