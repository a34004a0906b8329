"""Settings of an operation's evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spatial.errors import ParameterError
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE


@dataclass(frozen=True)
class EvaluationOptions:
    """Settings of :func:`spatial.evaluation.evaluate.evaluate_operation` (all are reported).

    Attributes
    ----------
    alpha : float
        Two-sided significance level of every test.
    power : float
        Power for the planning figures.
    planned_reduction : float
        Fractional reduction for "after window needed".
    min_count : int, optional
        The verdict's floor on target events (default
        :func:`spatial.evaluation.verdict.minimum_events`, 35 at α = 0.05).
    area_weights : bool
        Weight counts by area (km²), so effects are densities.
    h3_resolution : int
        H3 resolution of the SPPT cells.
    kde_cell_m, kde_bandwidth_m : float
        Dual kernel density grid and Gaussian bandwidth, metres.
    include_surface : bool
        Put the density difference grid itself in the report.
    overdose_layer, dealing_site_layer : str
        Layers for the overdose watch and the site re-map.
    harm_index : str, optional
        ``cchi``, ``css`` or the path of a force's harm table
        (:mod:`spatial.evaluation.harm_index`): adds the harm section.
    harm_include_police_generated : bool
        Weight police-generated categories (Drugs, Possession of weapons) too;
        by default they are excluded from harm, and the report says so.
    displacement_size : float
        The buffer rise (fraction) the design must be able to detect before
        a verdict says "no displacement"
        (:data:`spatial.evaluation.verdict.DEFAULT_DISPLACEMENT_SIZE`).
    """

    alpha: float = 0.05
    power: float = 0.8
    planned_reduction: float = 0.3
    min_count: int | None = None
    area_weights: bool = False
    h3_resolution: int = 9
    kde_cell_m: float = 50.0
    kde_bandwidth_m: float = 200.0
    include_surface: bool = False
    overdose_layer: str = "ambulance"
    dealing_site_layer: str = "dealing_site"
    harm_index: str | None = None
    harm_include_police_generated: bool = False
    displacement_size: float = DEFAULT_DISPLACEMENT_SIZE

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1):
            raise ParameterError("alpha", f"must be strictly between 0 and 1, got {self.alpha!r}")
        if not (0 < self.power < 1):
            raise ParameterError("power", f"must be strictly between 0 and 1, got {self.power!r}")
        if not (0 < self.planned_reduction <= 1):
            raise ParameterError("planned_reduction", "must be in (0, 1]")
        if not (0 <= self.h3_resolution <= 15):
            raise ParameterError("h3_resolution", "must be 0-15")
        if not (0 < self.displacement_size <= 10):
            raise ParameterError("displacement_size", "must be a fraction in (0, 10]")
        if not (self.kde_cell_m > 0 and self.kde_bandwidth_m > 0):
            raise ParameterError("kde", "cell size and bandwidth must be positive metres")
        if self.harm_index is not None and not self.harm_index.strip():
            raise ParameterError("harm_index", "give cchi, css or the path of a harm table CSV")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
