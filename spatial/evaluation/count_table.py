"""The count table of a target / buffer / control evaluation, and checks on its numbers.

Notation (``docs/domain.md`` §4): R = target, B = buffer (the displacement
area D of Wheeler & Ratcliffe), C = control (Ct, the target's control), Cd =
the buffer's own control (the control serves both when absent); subscript
b = before, a = after; Δ = after − before.

Every measure in :mod:`spatial.evaluation` is a pure function of a
:class:`CountTable` (or of plain counts): no I/O, no frames. Each returns a
frozen dataclass with an ``as_dict()`` and none divides by zero. When a
measure cannot be computed its value is ``None`` and a ``reason`` says why,
in words a report can show (e.g. ``"control before count is 0: Rb/Cb
undefined"``).

References
----------
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11 (weights: each count x becomes x/w, its variance x/w²).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np

from spatial.errors import ParameterError

#: The four areas of an evaluation, in the order reports list them.
AREA_NAMES: Final = ("target", "buffer", "control", "buffer_control")
PERIODS: Final = ("before", "after")

#: Below this many events in either period of a cell the Poisson normal
#: approximation is poor and the exact interval should be read instead.
SMALL_COUNT: Final = 10


# --------------------------------------------------------------------------
# checks shared by every measure
# --------------------------------------------------------------------------


def check_count(name: str, value: float | None, *, integer: bool = False) -> None:
    """Raise :class:`~spatial.errors.ParameterError` unless ``value`` is a finite count ≥ 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(name, f"must be a number, got {value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise ParameterError(name, f"must be a finite count >= 0, got {value!r}")
    if integer and float(value) != math.floor(float(value)):
        raise ParameterError(name, f"must be a whole number of events, got {value!r}")


def check_positive(name: str, value: float | None) -> None:
    """Raise :class:`~spatial.errors.ParameterError` unless ``value`` is finite and > 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(name, f"must be a number, got {value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise ParameterError(name, f"must be a finite number > 0, got {value!r}")


def check_alpha(alpha: float) -> None:
    """Raise :class:`~spatial.errors.ParameterError` unless 0 < ``alpha`` < 1."""
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")


def jsonable(value: Any) -> Any:
    """Turn NaN into None, -0.0 into 0.0 and numpy scalars/arrays into Python values."""
    # the plain types first, by exact type (a report turns some thousands of values)
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return None if not math.isfinite(value) else 0.0 if value == 0 else value
    if kind is dict:
        return {k: jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value == 0:
        return 0.0  # a negative zero (0 times a negative weight) is printed "-0.0"
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# --------------------------------------------------------------------------
# the count table
# --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CountTable:
    """Event counts for a target/buffer/control design, before and after.

    Parameters
    ----------
    target_before, target_after : float
        R_b, R_a: counts in the target area (where the operation acted).
    buffer_before, buffer_after : float
        B_b, B_a: counts in the buffer / catchment around the target (the
        displacement area D).
    control_before, control_after : float
        C_b, C_a: counts in the control area (Wheeler & Ratcliffe's Ct).
    buffer_control_before, buffer_control_after : float, optional
        Cd_b, Cd_a: the buffer's own control. Both or neither. When absent the
        control serves both comparisons (see :func:`spatial.evaluation.wdd.wdd`
        for the variance).
    target_during, buffer_during, control_during, buffer_control_during : float, optional
        Counts in the strike window between before and after. Carried so a
        report can show them; no test here uses them (the domain guide asks
        for the strike window to be reported separately).
    before_length, after_length : float, optional
        Window lengths (e.g. days), both or neither. Wheeler & Ratcliffe
        (2018): each count x is divided by its weight w and its Poisson
        variance x by w², so effects become rates per unit of length.
    during_length : float, optional
        Length of the strike window (reported only).
    target_area, buffer_area, control_area, buffer_control_area : float, optional
        Area weights (e.g. km²). If any is given, target, buffer and control
        must all be given (and buffer_control when that area exists). The
        weight of a cell is ``time weight × area weight``.

    Notes
    -----
    Counts may be non-integers (e.g. already pro-rated), but must be finite
    and ≥ 0. Invalid input raises :class:`~spatial.errors.ParameterError`.
    """

    target_before: float
    target_after: float
    buffer_before: float
    buffer_after: float
    control_before: float
    control_after: float
    buffer_control_before: float | None = None
    buffer_control_after: float | None = None
    target_during: float | None = None
    buffer_during: float | None = None
    control_during: float | None = None
    buffer_control_during: float | None = None
    before_length: float | None = None
    after_length: float | None = None
    during_length: float | None = None
    target_area: float | None = None
    buffer_area: float | None = None
    control_area: float | None = None
    buffer_control_area: float | None = None

    def __post_init__(self) -> None:
        for area in AREA_NAMES:
            for period in ("before", "after", "during"):
                check_count(f"{area}_{period}", getattr(self, f"{area}_{period}"))
        if (self.buffer_control_before is None) != (self.buffer_control_after is None):
            raise ParameterError("buffer_control",
                                 "give both buffer_control_before and buffer_control_after, "
                                 "or neither")
        if (self.before_length is None) != (self.after_length is None):
            raise ParameterError("time_weights",
                                 "give both before_length and after_length, or neither")
        for name in ("before_length", "after_length", "during_length", "target_area",
                     "buffer_area", "control_area", "buffer_control_area"):
            check_positive(name, getattr(self, name))
        self._check_area_weights()

    def _check_area_weights(self) -> None:
        areas = [self.target_area, self.buffer_area, self.control_area]
        if all(a is None for a in areas + [self.buffer_control_area]):
            return
        if any(a is None for a in areas):
            raise ParameterError("area_weights",
                                 "give target_area, buffer_area and control_area together")
        if self.has_buffer_control and self.buffer_control_area is None:
            raise ParameterError("buffer_control_area",
                                 "required when area weights and a buffer control are given")
        if not self.has_buffer_control and self.buffer_control_area is not None:
            raise ParameterError("buffer_control_area",
                                 "given without buffer_control counts")

    # -- construction -----------------------------------------------------

    @classmethod
    def from_pairs(cls, *, target: Sequence[float], buffer: Sequence[float],
                   control: Sequence[float], buffer_control: Sequence[float] | None = None,
                   time_weights: Sequence[float] | None = None,
                   area_weights: Mapping[str, float] | None = None) -> CountTable:
        """Build from ``(before, after)`` pairs.

        ``time_weights`` is ``(before_length, after_length)``; ``area_weights``
        maps area name (``target``, ``buffer``, ``control``,
        ``buffer_control``) to its area.
        """
        kwargs: dict[str, Any] = {}
        pairs = {"target": target, "buffer": buffer, "control": control,
                 "buffer_control": buffer_control}
        for name, pair in pairs.items():
            if pair is None:
                continue
            if len(pair) != 2:
                raise ParameterError(name, f"expected (before, after), got {pair!r}")
            kwargs[f"{name}_before"], kwargs[f"{name}_after"] = pair[0], pair[1]
        if time_weights is not None:
            if len(time_weights) != 2:
                raise ParameterError("time_weights",
                                     f"expected (before_length, after_length), got {time_weights!r}")
            kwargs["before_length"], kwargs["after_length"] = time_weights
        if area_weights is not None:
            for name, value in area_weights.items():
                if name not in AREA_NAMES:
                    raise ParameterError("area_weights", f"unknown area {name!r}")
                kwargs[f"{name}_area"] = value
        return cls(**kwargs)

    # -- access -----------------------------------------------------------

    @property
    def has_buffer_control(self) -> bool:
        return self.buffer_control_before is not None

    @property
    def has_time_weights(self) -> bool:
        return self.before_length is not None

    @property
    def has_area_weights(self) -> bool:
        return self.target_area is not None

    def resolve(self, area: str) -> str:
        """The area whose counts stand for ``area`` (buffer_control → control if absent)."""
        if area == "buffer_control" and not self.has_buffer_control:
            return "control"
        return area

    def count(self, area: str, period: str) -> float:
        """Count in ``area`` × ``period`` (``before``/``after``)."""
        value = getattr(self, f"{self.resolve(area)}_{period}")
        return float(value)

    def area(self, area: str) -> float:
        """Area weight of ``area`` (1 when the table has no area weights)."""
        if not self.has_area_weights:
            return 1.0
        return float(getattr(self, f"{self.resolve(area)}_area"))

    def weight(self, area: str, period: str) -> float:
        """Weight w of a cell: window length × area (each 1 when not given)."""
        w = 1.0
        if self.has_time_weights:
            w *= float(getattr(self, f"{period}_length"))
        if self.has_area_weights:
            w *= float(getattr(self, f"{self.resolve(area)}_area"))
        return w

    def total(self, area: str) -> float:
        """Before + after count of ``area``."""
        return self.count(area, "before") + self.count(area, "after")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What the planning functions accept as a baseline: a table (its before
#: counts and area weights) or a mapping of area name → before count.
Baseline = CountTable | Mapping[str, float]
