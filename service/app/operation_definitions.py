"""An operation's definition as the API and the CLI take it: pydantic models and validation.

:class:`OperationIn` holds target, buffer, control, windows, layers and
options; :func:`windows_of` and :func:`specs_of` turn it into the analysis
core's :class:`~spatial.evaluation.windows.Windows` and
:class:`~spatial.evaluation.counting.MeasuredLayer`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spatial.errors import ParameterError
from spatial.evaluation.counting import MeasuredLayer
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.phases import MAX_PHASES, PhaseSpec, check_phases
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE
from spatial.evaluation.windows import Window, Windows


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_Model):
    """An inclusive date window."""

    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> WindowIn:
        if self.end < self.start:
            raise ValueError(f"ends {self.end} before it starts {self.start}")
        return self


class WindowsIn(_Model):
    before: WindowIn
    during: WindowIn | None = None
    after: WindowIn


class AreaIn(_Model):
    """An area: ``boundary`` (units of a stored boundary set), ``geojson`` (a WGS84
    polygon), ``circle`` (target only: centre lon/lat and radius in metres) or
    ``suggest`` (control only: chosen from a boundary set's units)."""

    type: Literal["boundary", "geojson", "circle", "suggest"]
    set: str | None = Field(None, description="boundary set name")
    version: int | None = Field(None, ge=1, description="boundary set version (default latest)")
    units: list[str] = Field(default_factory=list,
                             description="units of the set, by id or by name (case-insensitive)")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON, WGS84")
    centre: tuple[float, float] | None = Field(None, description="(lon, lat)")
    radius_m: float | None = Field(None, gt=0, le=50_000)
    max_units: int = Field(5, ge=1, le=50, description="suggest: most units in the control")
    max_distance_m: float = Field(5_000.0, gt=0, le=100_000,
                                  description="suggest: farthest a unit may be from the target")
    match_on: list[str] | None = Field(None, description="suggest: layer/category keys whose "
                                                         "baseline counts are matched "
                                                         "(default: every evaluated layer)")

    @model_validator(mode="after")
    def _fields(self) -> AreaIn:
        if self.type == "boundary" and (not self.set or not self.units):
            raise ValueError("a boundary area needs 'set' and at least one of its 'units'")
        if self.type == "geojson" and self.geometry is None:
            raise ValueError("a geojson area needs 'geometry'")
        if self.type == "circle" and (self.centre is None or self.radius_m is None):
            raise ValueError("a circle needs 'centre' [lon, lat] and 'radius_m'")
        return self


class BufferIn(_Model):
    """Rings of the given outer distances (m) from the target's edge, or a polygon."""

    rings_m: list[float] | None = Field(None, min_length=1, max_length=10)
    geometry: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> BufferIn:
        if (self.rings_m is None) == (self.geometry is None):
            raise ValueError("give either 'rings_m' (e.g. [400]) or a 'geometry'")
        if self.rings_m is not None:
            if any(not (0 < r <= 20_000) for r in self.rings_m):
                raise ValueError("ring distances must be in (0, 20000] metres")
            if any(b <= a for a, b in zip(self.rings_m, self.rings_m[1:], strict=False)):
                raise ValueError("ring distances must be strictly increasing")
        return self


class LayerIn(_Model):
    layer: str = Field(min_length=1, max_length=64)
    category: str = Field("*", min_length=1, max_length=200)
    role: Literal["output", "outcome"]
    harm_weight: float | None = Field(None, ge=0, allow_inf_nan=False)


class OptionsIn(_Model):
    alpha: float = Field(0.05, ge=1e-6, le=0.5,
                         description="significance level (1e-6 to 0.5)")
    power: float = Field(0.8, gt=0, lt=1)
    planned_reduction: float = Field(0.3, gt=0, le=1)
    min_count: int | None = Field(None, ge=0)
    area_weights: bool = False
    h3_resolution: int = Field(9, ge=5, le=11)
    kde_cell_m: float = Field(50.0, ge=5, le=1000)
    kde_bandwidth_m: float = Field(200.0, ge=10, le=5000)
    include_surface: bool = False
    decay_step_m: float = Field(100.0, ge=10, le=5000)
    decay_max_m: float | None = Field(None, gt=0, le=20_000)
    overdose_layer: str = "ambulance"
    dealing_site_layer: str = "dealing_site"
    harm_index: str | None = Field(None, min_length=1, max_length=500,
                                   description="cchi or css (a shipped harm index; the CLI "
                                               "also takes the path of a force's table)")
    harm_include_police_generated: bool = False
    displacement_size: float = Field(
        DEFAULT_DISPLACEMENT_SIZE, gt=0, le=10, allow_inf_nan=False,
        description="the buffer rise (fraction, 0.3 = 30 %) the design must be able to "
                    "detect before a verdict says 'no displacement'")

    def evaluation(self) -> EvaluationOptions:
        return EvaluationOptions(
            alpha=self.alpha, power=self.power, planned_reduction=self.planned_reduction,
            min_count=self.min_count, area_weights=self.area_weights,
            h3_resolution=self.h3_resolution, kde_cell_m=self.kde_cell_m,
            kde_bandwidth_m=self.kde_bandwidth_m, include_surface=self.include_surface,
            overdose_layer=self.overdose_layer, dealing_site_layer=self.dealing_site_layer,
            harm_index=self.harm_index,
            harm_include_police_generated=self.harm_include_police_generated,
            displacement_size=self.displacement_size)


class PhaseIn(_Model):
    """A strike phase of a rolling operation: its name, its strike window and, optionally,
    its own target (then with its own buffer, and its own control or the operation's)."""

    name: str = Field(min_length=1, max_length=100)
    during: WindowIn
    target: AreaIn | None = None
    buffer: BufferIn | None = None
    control: AreaIn | None = None

    @model_validator(mode="after")
    def _areas(self) -> PhaseIn:
        if self.target is None and (self.buffer is not None or self.control is not None):
            raise ValueError("a phase's own buffer or control needs its own 'target'")
        if self.target is not None and self.buffer is None:
            raise ValueError("a phase with its own 'target' needs its own 'buffer' (rings_m "
                             "or a geometry)")
        if self.target is not None and self.target.type == "suggest":
            raise ValueError("target: 'suggest' is only for a control")
        if self.control is not None and self.control.type == "circle":
            raise ValueError("control: a circle is only for a target")
        return self


class OperationIn(_Model):
    """An operation's definition (``POST /v1/operations``).

    ``phases`` makes it a rolling operation (:mod:`spatial.evaluation.phases`):
    at most :data:`~spatial.evaluation.phases.MAX_PHASES` strike phases in time
    order, each evaluated on its own and the whole operation cumulatively; with
    no phases it is a single operation as before.
    """

    name: str = Field(min_length=1, max_length=200)
    target: AreaIn
    buffer: BufferIn
    control: AreaIn
    buffer_control: AreaIn | None = None
    windows: WindowsIn
    layers: list[LayerIn] = Field(min_length=1, max_length=30)
    options: OptionsIn = Field(default_factory=lambda: OptionsIn.model_validate({}))
    phases: list[PhaseIn] | None = Field(
        None, min_length=1, max_length=MAX_PHASES,
        description=f"strike phases of a rolling operation (at most {MAX_PHASES}), in time "
                    "order, between the before and after windows, at least one day apart")

    @model_validator(mode="after")
    def _kinds(self) -> OperationIn:
        if self.target.type == "suggest":
            raise ValueError("target: 'suggest' is only for a control")
        if self.control.type == "circle":
            raise ValueError("control: a circle is only for a target")
        if self.buffer_control is not None and self.buffer_control.type in ("circle", "suggest"):
            raise ValueError("buffer_control: must be 'boundary' or 'geojson'")
        keys = [f"{la.layer}/{la.category}" for la in self.layers]
        if len(set(keys)) != len(keys):
            raise ValueError("layers: a layer/category is listed twice")
        return self


class PlanIn(OperationIn):
    """A proposed operation (``POST /v1/operations/plan``): the name is optional."""

    name: str = Field("proposed operation", min_length=1, max_length=200)


def validate_definition(data: Any, model: type[OperationIn] = OperationIn) -> OperationIn:
    """Validate a definition from the CLI or a file; errors name the field."""
    if isinstance(data, OperationIn):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise ParameterError(loc or "definition", str(err.get("msg", "invalid"))) from exc


def windows_of(req: OperationIn) -> Windows:
    """The operation's windows; with phases, these are checked too
    (:func:`spatial.evaluation.phases.check_phases`, errors name the field, e.g.
    ``phases.1.during.start``) and the during window spans the strikes."""
    w = req.windows
    windows = Windows(
        before=Window("before", w.before.start, w.before.end),
        during=Window("during", w.during.start, w.during.end) if w.during else None,
        after=Window("after", w.after.start, w.after.end))
    phases = phases_of(req)
    if phases:
        check_phases(windows, phases)
        windows = Windows(before=windows.before, after=windows.after,
                          during=Window("during", phases[0].start, phases[-1].end))
    return windows


def phases_of(req: OperationIn) -> list[PhaseSpec]:
    """The definition's strike phases (empty for a single operation)."""
    return [PhaseSpec(p.name, p.during.start, p.during.end) for p in req.phases or []]


def specs_of(req: OperationIn) -> list[MeasuredLayer]:
    return [MeasuredLayer(la.layer, la.category, la.role, la.harm_weight)
            for la in req.layers]
