"""``/v1/operations``: an operation's record, its plan and its evaluation report.

The definition as given is echoed back (``definition``); the resolved areas, the
per-layer evaluation, the watches and the plan are report blobs made by
:mod:`service.app.operations` and :mod:`spatial.evaluation`, typed at their top
level here and open below it (their members are documented with the code that
makes them, and differ by layer role, control kind and available data).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from service.api.models.choices import OperationStatus
from service.api.models.common import Closed

#: A report section: a JSON object documented by the code that makes it.
Blob = dict[str, Any]


class OperationSummary(Closed):
    id: int
    name: str
    status: OperationStatus
    created_at: str | None
    created_by: str = Field(description="e.g. key:3, cli")
    started_at: str | None
    baseline_fingerprint: str | None = Field(description="sha256 of the locked baseline")
    shared: bool = Field(description="visible to partners and viewers once started")


class Operation(OperationSummary):
    """An operation's record as the caller's role may see it."""

    definition: Blob = Field(description="the definition as given (OperationIn)")
    resolved: Blob = Field(description="target, buffer, control (and buffer control) as "
                                       "resolved: units, areas, outline, warnings")


class Plan(Closed):
    """Planning figures for a proposed operation."""

    name: str
    layers: list[Blob] = Field(description="per layer: baseline counts, window lengths, the "
                                           "minimum detectable change and a sentence")
    parameters: Blob
    control_suggestion: Blob | None
    geometry: Blob = Field(description="target, buffer, control, rings as GeoJSON geometries")
    warnings: list[str]


class ConcurrentOperation(Closed):
    id: int
    name: str
    status: OperationStatus


class OperationReport(Closed):
    """The evaluation of an operation."""

    parameters: Blob
    layers: list[Blob] = Field(description="per layer: counts, SM/BDM/WDQ/TNE, WDD with SE, "
                                           "z, p and CI, the verdict, rings, distance decay, "
                                           "SPPT, density change, planning, time context (the "
                                           "same windows a year earlier, a 24-month series, "
                                           "seasonally expected counts, a placebo evaluation, "
                                           "regression to the mean, dispersion)")
    harm_weighted_wdd: Blob | None
    harm: Blob | None = Field(None, description="harm on a standard scale (CCHI, CSS) when a "
                                                "harm index is asked for: index and version, "
                                                "weights and their basis, harm per area and "
                                                "window, the harm-weighted WDD, exclusions")
    phases: Blob | None = Field(
        None, description="a rolling operation's phases (absent for a single operation): "
                          "per phase its windows (after = to the next strike), target and "
                          "each layer's counts and verdict (Holm over every phase's tests), "
                          "a table of one row per phase and layer, and the rules "
                          "(parameters.correction, parameters.windows_rule)")
    overdose_watch: Blob
    consequence_watches: Blob | None = Field(
        None, description="unintended-consequence watches (violence, weapons, public "
                          "disorder, overdoses and overdoses by suspected substance): per "
                          "watch whether it is watched (else the reason: no data), the "
                          "counts, the ratio-of-rate-ratio test against the control "
                          "(comparison), rise_windows and a sentence; flags; multiplicity")
    dealing_sites: Blob
    baseline_lock: Blob
    warnings: list[str]
    time_context: Blob | None = Field(
        description="settings and methods of every layer's time context (months of the "
                    "series, long run, seasonal years, alpha, the span of events loaded)")
    operation: OperationSummary
    definition: Blob
    geometry: Blob
    control_suggestion: Blob | None
    concurrent_operations: list[ConcurrentOperation]
