"""The ground truth planted in a synthetic town: :class:`PlantedOperation`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from spatial.errors import ParameterError
from spatial.synthetic.parameters import EFFECTS


@dataclass(frozen=True)
class PlantedOperation:
    """The operation planted in a synthetic town, as ground truth.

    Attributes
    ----------
    name : str
        Operation name.
    target_beats : tuple of str
        ``unit_id`` of the beats making up the target area.
    buffer_m : float
        Width of the buffer ring around the union of the target beats, metres.
    before, during, after : tuple of (date, date)
        Inclusive windows: before the strike, the strike, after it.
    effect : str
        ``"displacement"``, ``"diffusion"``, ``"reduction"`` or ``"none"``.
    target_multiplier, buffer_multiplier : float
        Multipliers applied in the ``after`` window to the rates of the
        ``affected_categories`` of crime, in the target and the buffer.
    affected_categories : tuple of str
        Crime types the multipliers apply to.
    """

    name: str
    target_beats: tuple[str, ...]
    buffer_m: float
    before: tuple[date, date]
    during: tuple[date, date]
    after: tuple[date, date]
    effect: str
    target_multiplier: float
    buffer_multiplier: float
    affected_categories: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise ParameterError("effect", f"{self.effect!r} is not one of {EFFECTS}")
        if not self.target_beats:
            raise ParameterError("target_beats", "at least one beat is needed")
        if not (np.isfinite(self.buffer_m) and self.buffer_m > 0):
            raise ParameterError("buffer_m", "must be a positive number of metres")
        for name in ("target_multiplier", "buffer_multiplier"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ParameterError(name, "must be a finite number >= 0")
        for name in ("before", "during", "after"):
            start, end = getattr(self, name)
            if start > end:
                raise ParameterError(name, f"starts {start} after it ends {end}")
        if not (self.before[1] < self.during[0] and self.during[1] < self.after[0]):
            raise ParameterError("windows", "before, during and after must follow each other")
