"""Rolling operations: phase windows, their validation, and the phase verdicts' family.

Calibration (issue 12 item 3): on simulated rolling operations with no effect in any
phase and a shared trend, the phase verdicts claim a change in some phase in at most
5 % of operations, while deciding each phase alone would not hold that level.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.phases import (
    MAX_PHASES,
    PhaseSpec,
    check_phases,
    cumulative_windows,
    phase_windows,
)
from spatial.evaluation.rate_ratios import holm, operation_ratio_tests
from spatial.evaluation.simulation import PHASE_SCENARIOS, phase_calibration, simulate_phases
from spatial.evaluation.verdict import decide, decide_family
from spatial.evaluation.windows import Window, Windows

W = Windows(before=Window("before", date(2018, 10, 1), date(2018, 12, 31)),
            after=Window("after", date(2019, 3, 1), date(2019, 4, 30)))


def ph(name: str, a: str, b: str) -> PhaseSpec:
    return PhaseSpec(name, date.fromisoformat(a), date.fromisoformat(b))


def test_phase_windows_follow_the_rule() -> None:
    phases = [ph("one", "2019-01-01", "2019-01-14"), ph("two", "2019-02-01", "2019-02-10")]
    pws = phase_windows(W, phases)
    assert [p.windows.before for p in pws] == [W.before, W.before]
    assert pws[0].windows.during == Window("during", date(2019, 1, 1), date(2019, 1, 14))
    assert pws[0].windows.after == Window("after", date(2019, 1, 15), date(2019, 1, 31))
    assert pws[1].windows.after == W.after and pws[1].last and not pws[0].last
    cum = cumulative_windows(W, phases)
    assert cum.during == Window("during", date(2019, 1, 1), date(2019, 2, 10))
    assert cum.after == W.after and cum.before == W.before


@pytest.mark.parametrize(("phases", "field", "words"), [
    ([ph("a", "2019-01-01", "2019-01-20"), ph("b", "2019-01-10", "2019-01-30")],
     "phases.1.during.start", "overlaps phase 0"),
    ([ph("a", "2019-02-01", "2019-02-10"), ph("b", "2019-01-01", "2019-01-10")],
     "phases.1.during.start", "out of order"),
    ([ph("a", "2018-12-31", "2019-01-10")], "phases.0.during.start", "before window"),
    ([ph("a", "2019-01-01", "2019-03-01")], "phases.0.during.end", "after window"),
    ([ph("a", "2019-01-01", "2019-01-10"), ph("b", "2019-01-11", "2019-01-20")],
     "phases.1.during.start", "no after period"),
    ([ph("a", "2019-01-01", "2019-01-10"), ph("a", "2019-01-20", "2019-01-25")],
     "phases.1.name", "already the name"),
    ([ph(" ", "2019-01-01", "2019-01-10")], "phases.0.name", "needs a name"),
    ([ph("a", "2019-01-10", "2019-01-01")], "phases.0.during.end", "before it starts"),
    ([ph(f"p{i}", f"2019-01-{1 + 4 * i:02d}", f"2019-01-{2 + 4 * i:02d}")
      for i in range(MAX_PHASES + 1)], "phases", f"at most {MAX_PHASES}"),
])
def test_phase_errors_name_the_field(phases: list[PhaseSpec], field: str, words: str) -> None:
    with pytest.raises(ParameterError) as err:
        check_phases(W, phases)
    assert err.value.parameter == field and words in err.value.reason


def test_a_during_window_must_span_the_phases() -> None:
    w = Windows(before=W.before, after=W.after,
                during=Window("during", date(2019, 1, 1), date(2019, 1, 31)))
    with pytest.raises(ParameterError) as err:
        check_phases(w, [ph("a", "2019-01-01", "2019-01-10")])
    assert err.value.parameter == "windows.during"
    check_phases(w, [ph("a", "2019-01-01", "2019-01-10"), ph("b", "2019-01-20", "2019-01-31")])


def test_month_overlap_is_warned() -> None:
    from spatial.evaluation.phases import month_overlap_warnings

    pws = phase_windows(W, [ph("one", "2019-01-01", "2019-01-14"),
                            ph("two", "2019-02-19", "2019-02-25")])
    (warning,) = month_overlap_warnings(pws)
    assert "Feb 2019" in warning and "phase 1 (two)" in warning
    clean = phase_windows(W, [ph("one", "2019-01-01", "2019-01-14"),
                              ph("two", "2019-01-20", "2019-01-31")])
    assert month_overlap_warnings(clean) == []


def test_max_phases_allowed() -> None:
    phases = [ph(f"p{i}", f"2019-01-{1 + 4 * i:02d}", f"2019-01-{2 + 4 * i:02d}")
              for i in range(MAX_PHASES)]
    assert len(phase_windows(W, phases)) == MAX_PHASES


TABLE_A = CountTable(target_before=150, target_after=60, buffer_before=200, buffer_after=190,
                     control_before=600, control_after=610)
TABLE_B = CountTable(target_before=150, target_after=140, buffer_before=200, buffer_after=260,
                     control_before=600, control_after=590)


def test_one_table_family_is_decide() -> None:
    (v,) = decide_family([TABLE_A])
    assert v is not None
    ref = decide(TABLE_A)
    assert v.code == ref.code
    for name in ("local_ratio", "displacement_ratio", "net_ratio"):
        assert v.tests[name] == ref.tests[name]
    assert v.detectable_rise_pct == ref.detectable_rise_pct
    assert v.detectable_fall_pct == ref.detectable_fall_pct


def test_family_adjusts_over_every_phase_test() -> None:
    verdicts = decide_family([TABLE_A, None, TABLE_B])
    assert verdicts[1] is None
    family = {f"{i}/{k}": t for i, tab in ((0, TABLE_A), (2, TABLE_B))
              for k, t in operation_ratio_tests(tab).items()}
    adjusted = holm(family)
    # Holm by hand over the six p-values
    ps = sorted((t.p_value, k) for k, t in family.items())
    running, by_hand = 0.0, {}
    for j, (p, k) in enumerate(ps):
        running = max(running, min(1.0, (6 - j) * p))
        by_hand[k] = running
    for i, v in ((0, verdicts[0]), (2, verdicts[2])):
        assert v is not None
        for name in ("local", "displacement", "net"):
            got = v.tests[f"{name}_ratio"]["p_adjusted"]
            assert got == pytest.approx(by_hand[f"{i}/{name}"], abs=1e-12)
            assert got == pytest.approx(adjusted[f"{i}/{name}"].p_adjusted, abs=1e-12)
        assert v.tests["correction"] == "holm over the 6 ratio tests of 2 phases"
        assert v.tests["family_size"] == 6
        assert v.tests["detectable_fall"]["alpha"] == pytest.approx(0.05 / 6)
    assert verdicts[0] is not None and verdicts[0].code.startswith("reduction")


def test_simulated_phases_share_their_before_counts() -> None:
    tables = simulate_phases(np.random.default_rng(3), {"target": 50, "buffer": 60,
                                                       "control": 200}, [{}, {}, {}],
                             after_fractions=[0.5, 0.5, 1.0])
    assert len({t.count("target", "before") for t in tables}) == 1
    assert [t.after_length for t in tables] == [0.5, 0.5, 1.0]


def test_phase_verdicts_are_calibrated_on_null_data_with_a_shared_trend() -> None:
    rates = phase_calibration(np.random.default_rng(2026), runs=400)
    print()
    for r in rates:
        print(f"{r.scenario.name:52s} any phase claims {r.any_claimed:.3f} "
              f"(each alone: {r.uncorrected_any_claimed:.3f}); by phase "
              f"{', '.join(f'{x:.3f}' for x in r.claimed_by_phase)}")
    by = {r.scenario.name: r for r in rates}
    for r in rates:
        if r.scenario.null:
            assert r.any_claimed <= 0.05, r.scenario.name
    # six phases decided one by one would claim far more often than alpha
    assert by["6 phases, null, shared trend x1.2"].uncorrected_any_claimed > 0.08
    planted = by["2 phases, halving in phase 2 only, trend x1.2"]
    assert planted.claimed_by_phase[1] >= 0.9 and planted.claimed_by_phase[0] <= 0.05
    assert {r.scenario.name for r in rates} == {s.name for s in PHASE_SCENARIOS}
