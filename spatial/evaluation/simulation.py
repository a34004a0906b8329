"""Simulated operations: Poisson counts with planted effects, for tests and planning checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
