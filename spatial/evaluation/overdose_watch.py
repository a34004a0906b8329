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

import numpy as np
import numpy.typing as npt

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

    This is the ``overdoses`` watch of
    :mod:`spatial.evaluation.consequence_watch`, which watches other
    unintended consequences (violence, weapons, public disorder, overdoses by
    substance) by the same rule (:func:`rise_watch`).
    """
    spec = MeasuredLayer(layer, "*", "outcome")
    return rise_watch(events, placed, windows, spec, alpha=alpha, locked_before=locked_before,
                      empty_reason=f"no '{layer}' events in any window: the overdose watch "
                                   "needs ambulance call-outs", noun="overdose call-outs")


def rise_watch(events: EventArrays, placed: Placement, windows: Windows, spec: MeasuredLayer,
               *, alpha: float = 0.05, locked_before: Mapping[str, int] | None = None,
               mask: npt.NDArray[np.bool_] | None = None, empty_reason: str | None = None,
               noun: str = "events") -> dict[str, Any]:
    """Did events of ``spec`` (and ``mask``) in target + buffer rise during or after, against
    the control? See :func:`overdose_watch` for the tests and fields; ``layer`` is
    ``spec.layer`` and ``category`` ``spec.category``.
    """
    m = spec.matches(events.layer, events.category)
    if mask is not None:
        m &= mask
    if not m.any() and locked_before is None:
        return {"available": False, "layer": spec.layer, "category": spec.category,
                "reason": empty_reason or f"no {noun} in any window"}
    month = bool((events.time_precision[m] == "month").any())
    lengths = windows.lengths(month)
    # target, buffer, control x before, during, after in one bincount
    hit = m & (placed.area >= 0) & (placed.area <= 2) & (placed.window >= 0)
    grid = np.bincount(placed.area[hit] * 3 + placed.window[hit], minlength=9).reshape(3, 3)
    counts: dict[str, dict[str, int]] = {
        area: {wn: int(grid[area_i, j]) for j, wn in enumerate(WINDOW_NAMES)}
        for area_i, area in enumerate(("target", "buffer", "control"))}
    if locked_before is not None:
        for area in ("target", "buffer"):
            counts[area]["before"] = int(locked_before.get(area, counts[area]["before"]))
    total = {wn: counts["target"][wn] + counts["buffer"][wn] for wn in WINDOW_NAMES}
    control = counts.pop("control")
    tests, rises, controlled = rise_tests(total, control, lengths, alpha)
    warnings = []
    if sum(total.values()) < SMALL_COUNT:
        warnings.append(f"only {sum(total.values())} {noun} in all windows: the "
                        "watch cannot show anything but a very large change")
    return {"available": True, "layer": spec.layer, "category": spec.category,
            "counts": counts, "total": total,
            "control": control, "comparison": "control" if controlled else "none",
            "lengths_days": lengths, "tests": tests, "rise": bool(rises), "rise_windows": rises,
            "alpha": alpha, "warnings": warnings}


def rise_tests(total: Mapping[str, int], control: Mapping[str, int],
               lengths: Mapping[str, float | None], alpha: float
               ) -> tuple[dict[str, Any], list[str], bool]:
    """The watch's tests on counts: ``(tests, rise_windows, controlled)``.

    ``total`` and ``control`` map ``before``/``during``/``after`` to counts
    (target + buffer, and the control); ``lengths`` are the windows'
    effective lengths in days (``during`` may be ``None``). A window
    rises when the controlled ratio test (the control recorded something
    before) is significantly above 1 at two-sided level α, else when the
    uncontrolled exact rate test flags a rise.
    """
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
    return tests, rises, controlled
