"""Simulated operations: Poisson counts with planted effects, for tests and planning checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from spatial.errors import ParameterError
from spatial.evaluation.count_table import AREA_NAMES, CountTable, check_count, check_positive


def simulate_operation(rng: np.random.Generator, baseline_rates: Mapping[str, float],
                       effects: Mapping[str, float] | None = None, *, time_ratio: float = 1.0,
                       trend: float = 1.0, before_length: float | None = None) -> CountTable:
    """Poisson counts for a simulated operation with planted multiplicative effects.

    Expected before count of area X is ``baseline_rates[X]``; expected after
    count is ``baseline_rates[X] · time_ratio · trend · effects.get(X, 1)``.
    ``trend`` is a force-wide change every area shares; ``effects`` plants
    the operation's effect (e.g. ``{"target": 0.5, "buffer": 1.3}``).

    Areas: ``target``, ``buffer``, ``control`` required; ``buffer_control``
    optional (absent → the control serves both). When ``time_ratio`` ≠ 1 or
    ``before_length`` is given, the table carries time weights
    (before_length or 1, before_length·time_ratio).
    """
    effects = dict(effects or {})
    for key in list(baseline_rates) + list(effects):
        if key not in AREA_NAMES:
            raise ParameterError("baseline_rates", f"unknown area {key!r}")
    for key in ("target", "buffer", "control"):
        if key not in baseline_rates:
            raise ParameterError("baseline_rates", f"missing {key!r}")
    check_positive("time_ratio", time_ratio)
    check_count("trend", trend)
    kwargs: dict[str, Any] = {}
    for area, rate in baseline_rates.items():
        check_count(f"baseline_rates[{area}]", rate)
        mult = effects.get(area, 1.0)
        check_count(f"effects[{area}]", mult)
        kwargs[f"{area}_before"] = int(rng.poisson(rate))
        kwargs[f"{area}_after"] = int(rng.poisson(rate * time_ratio * trend * mult))
    if time_ratio != 1.0 or before_length is not None:
        base = 1.0 if before_length is None else float(before_length)
        kwargs["before_length"] = base
        kwargs["after_length"] = base * time_ratio
    return CountTable(**kwargs)


@dataclass(frozen=True)
class Scenario:
    """A simulated operation design: baseline counts, planted effects, a shared trend,
    and the verdict codes that count as reading it right."""

    name: str
    baseline: Mapping[str, float]
    effects: Mapping[str, float]
    trend: float
    expected: tuple[str, ...]

    @property
    def null(self) -> bool:
        """No planted effect: any claim of a change is false."""
        return not self.effects


#: Codes that claim nothing.
NO_CLAIM: Final = ("no_significant_change", "insufficient_data")

#: A target with a quarter of its control's events, as when the control is
#: the rest of a division (issue 10's "1:4").
ONE_TO_FOUR: Final = {"target": 150.0, "buffer": 200.0, "control": 600.0}
_NO_DISPLACEMENT: Final = ("reduction_no_displacement", "reduction_displacement_not_detected")

#: The calibration study of the verdict (``benchmarks/verdict_calibration.py``
#: prints its table; ``tests/spatial/evaluation/test_calibration.py`` checks it).
SCENARIOS: Final = (
    Scenario("null, no trend", ONE_TO_FOUR, {}, 1.0, NO_CLAIM),
    Scenario("null, shared trend x1.2", ONE_TO_FOUR, {}, 1.2, NO_CLAIM),
    Scenario("null, shared trend x0.8", ONE_TO_FOUR, {}, 0.8, NO_CLAIM),
    Scenario("null, equal areas, x1.2", {"target": 300.0, "buffer": 300.0, "control": 300.0},
             {}, 1.2, NO_CLAIM),
    Scenario("null, small counts (30:120), x1.2",
             {"target": 30.0, "buffer": 40.0, "control": 120.0}, {}, 1.2, NO_CLAIM),
    Scenario("reduction x0.5, no displacement", ONE_TO_FOUR, {"target": 0.5}, 1.0,
             _NO_DISPLACEMENT),
    Scenario("reduction x0.5, no displacement, trend x1.2", ONE_TO_FOUR, {"target": 0.5}, 1.2,
             _NO_DISPLACEMENT),
    Scenario("reduction x0.5, diffusion x0.6", ONE_TO_FOUR, {"target": 0.5, "buffer": 0.6}, 1.0,
             ("reduction_with_diffusion",)),
    Scenario("reduction x0.5, diffusion x0.6, trend x0.8", ONE_TO_FOUR,
             {"target": 0.5, "buffer": 0.6}, 0.8, ("reduction_with_diffusion",)),
    Scenario("reduction x0.5, displacement x1.5", ONE_TO_FOUR, {"target": 0.5, "buffer": 1.5},
             1.0, ("reduction_with_displacement", "displacement_exceeds_reduction")),
    Scenario("increase x1.5", ONE_TO_FOUR, {"target": 1.5}, 1.0, ("increase",)),
    Scenario("buffer rise x1.5 only", ONE_TO_FOUR, {"buffer": 1.5}, 1.0, ("harm_signal",)),
)


@dataclass(frozen=True)
class ScenarioRate:
    """How often the verdict read a scenario right, and claimed anything at all."""

    scenario: Scenario
    runs: int
    right: float            # share of runs with a code in scenario.expected
    claimed: float          # share of runs with a code outside NO_CLAIM
    additive_claimed: float  # share where the additive local WDD test alone is significant
    codes: Mapping[str, int]


def verdict_calibration(rng: np.random.Generator, runs_null: int = 200,
                        runs_planted: int = 100,
                        scenarios: Sequence[Scenario] = SCENARIOS) -> list[ScenarioRate]:
    """Run :func:`spatial.evaluation.verdict.decide` on simulated operations of each scenario.

    For each null scenario the false-claim rate is ``claimed``; for a
    planted one, ``right`` is the recovery rate. ``additive_claimed`` is
    what a verdict resting on the additive local effect (Wheeler & Ratcliffe
    2018) alone would claim, for comparison under shared trends.
    """
    from spatial.evaluation.verdict import decide
    from spatial.evaluation.wdd import local_effect

    out = []
    for sc in scenarios:
        runs = runs_null if sc.null else runs_planted
        codes: Counter[str] = Counter()
        additive = 0
        for _ in range(runs):
            table = simulate_operation(rng, sc.baseline, sc.effects, trend=sc.trend)
            codes[decide(table).code] += 1
            additive += local_effect(table).direction != 0
        right = sum(n for c, n in codes.items() if c in sc.expected) / runs
        claimed = sum(n for c, n in codes.items() if c not in NO_CLAIM) / runs
        out.append(ScenarioRate(sc, runs, right, claimed, additive / runs, dict(codes)))
    return out


def simulate_phases(rng: np.random.Generator, baseline_rates: Mapping[str, float],
                    phase_effects: Sequence[Mapping[str, float]], *,
                    after_fractions: Sequence[float] | None = None,
                    trends: Sequence[float] | None = None) -> list[CountTable]:
    """Count tables of a simulated rolling operation: one shared before count per area,
    and one after count per phase.

    Expected before count of area X is ``baseline_rates[X]``; phase k's
    after count is ``baseline_rates[X] · after_fractions[k] · trends[k] ·
    phase_effects[k].get(X, 1)`` (the after windows between strikes are
    shorter than the before window: ``after_fractions`` are their relative
    lengths, default 1; ``trends`` a force-wide change every area shares in
    that phase, default 1). All phases share the before counts, as the
    phases of one operation share its before window (so their tests are
    correlated).
    """
    k = len(phase_effects)
    fractions = list(after_fractions) if after_fractions is not None else [1.0] * k
    shared = list(trends) if trends is not None else [1.0] * k
    if len(fractions) != k or len(shared) != k:
        raise ParameterError("after_fractions", "give one value per phase")
    for key in ("target", "buffer", "control"):
        if key not in baseline_rates:
            raise ParameterError("baseline_rates", f"missing {key!r}")
    before = {}
    for area, rate in baseline_rates.items():
        if area not in AREA_NAMES:
            raise ParameterError("baseline_rates", f"unknown area {area!r}")
        check_count(f"baseline_rates[{area}]", rate)
        before[area] = int(rng.poisson(rate))
    tables = []
    for effects, frac, trend in zip(phase_effects, fractions, shared, strict=True):
        check_positive("after_fractions", frac)
        check_count("trends", trend)
        kwargs: dict[str, Any] = {}
        for area, rate in baseline_rates.items():
            mult = effects.get(area, 1.0)
            check_count(f"phase_effects[{area}]", mult)
            kwargs[f"{area}_before"] = before[area]
            kwargs[f"{area}_after"] = int(rng.poisson(rate * frac * trend * mult))
        kwargs["before_length"] = 1.0
        kwargs["after_length"] = float(frac)
        tables.append(CountTable(**kwargs))
    return tables


@dataclass(frozen=True)
class PhaseScenario:
    """A simulated rolling operation: baseline, per-phase effects, trends, window lengths."""

    name: str
    baseline: Mapping[str, float]
    phase_effects: tuple[Mapping[str, float], ...]
    trends: tuple[float, ...]
    after_fractions: tuple[float, ...]

    @property
    def null(self) -> bool:
        return not any(self.phase_effects)


#: Null rolling operations for the calibration of the phase verdicts: no effect in
#: any phase, a shared trend (rising, or rising then falling), short intervals
#: between strikes (a third, a half of the before window).
PHASE_SCENARIOS: Final = (
    PhaseScenario("2 phases, null, shared trend x1.2", ONE_TO_FOUR, ({}, {}), (1.2, 1.2),
                  (0.5, 1.0)),
    PhaseScenario("3 phases, null, shared trend x1.2 / x1.1 / x0.8", ONE_TO_FOUR,
                  ({}, {}, {}), (1.2, 1.1, 0.8), (0.33, 0.33, 1.0)),
    PhaseScenario("6 phases, null, shared trend x1.2", ONE_TO_FOUR, ({},) * 6, (1.2,) * 6,
                  (0.25,) * 5 + (1.0,)),
    PhaseScenario("2 phases, halving in phase 2 only, trend x1.2", ONE_TO_FOUR,
                  ({}, {"target": 0.5}), (1.2, 1.2), (0.5, 1.0)),
)


@dataclass(frozen=True)
class PhaseRate:
    """How often the phase verdicts claimed a change, per phase and in any phase."""

    scenario: PhaseScenario
    runs: int
    any_claimed: float                 # share of runs where any phase claims a change
    claimed_by_phase: tuple[float, ...]
    uncorrected_any_claimed: float     # the same with each phase decided alone (Holm over 3)


def phase_calibration(rng: np.random.Generator, runs: int = 400,
                      scenarios: Sequence[PhaseScenario] = PHASE_SCENARIOS
                      ) -> list[PhaseRate]:
    """Run :func:`spatial.evaluation.verdict.decide_family` on simulated rolling operations.

    ``any_claimed`` on a null scenario is the family-wise false-claim rate
    of the phase verdicts; ``uncorrected_any_claimed`` is what deciding each
    phase alone would give (Holm within the phase only), for comparison.
    """
    from spatial.evaluation.verdict import decide, decide_family

    out = []
    for sc in scenarios:
        k = len(sc.phase_effects)
        by_phase = np.zeros(k)
        anyc = 0
        alone = 0
        for _ in range(runs):
            tables = simulate_phases(rng, sc.baseline, sc.phase_effects,
                                     after_fractions=sc.after_fractions, trends=sc.trends)
            verdicts = decide_family(list(tables))
            claims = np.array([v is not None and v.code not in NO_CLAIM for v in verdicts])
            by_phase += claims
            anyc += bool(claims.any())
            alone += any(decide(t).code not in NO_CLAIM for t in tables)
        out.append(PhaseRate(sc, runs, anyc / runs, tuple(float(x) for x in by_phase / runs),
                             alone / runs))
    return out
