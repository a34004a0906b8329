"""An operation's definition from ``remap operation create|plan`` options.

The commands build the same JSON definition ``POST /v1/operations`` takes
(:class:`service.app.operations.OperationIn`), so the CLI and the API judge
it by the same rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from service.cli.common import stack
from spatial.errors import ParameterError


def parse_boundary_area(text: str, name: str) -> dict[str, Any]:
    """``boundary:SET[@VERSION]:U1,U2`` to an area of the definition."""
    kind, _, rest = text.partition(":")
    set_part, _, units = rest.partition(":")
    name_, _, version = set_part.partition("@")
    unit_ids = [u.strip() for u in units.split(",") if u.strip()]
    if kind != "boundary" or not name_ or not unit_ids:
        raise ParameterError(name, f"{text!r}: expected boundary:SET[@VERSION]:UNIT,UNIT")
    area: dict[str, Any] = {"type": "boundary", "set": name_, "units": unit_ids}
    if version:
        try:
            area["version"] = int(version)
        except ValueError as exc:
            raise ParameterError(name, f"version {version!r} is not a number") from exc
    return area


def _geojson_file(path: Path, name: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(name, f"{path}: not readable GeoJSON ({exc})") from exc
    return data


def _given_area(boundary: str | None, geojson: Path | None, name: str) -> dict[str, Any] | None:
    """The area given as ``boundary:SET:U1,U2`` or as a GeoJSON file, or None if neither."""
    if boundary is not None:
        return parse_boundary_area(boundary, name)
    if geojson is not None:
        return {"type": "geojson", "geometry": _geojson_file(geojson, name)}
    return None


def _window(text: str | None, name: str) -> dict[str, str] | None:
    if text is None:
        return None
    from spatial.evaluation.windows import parse_window

    w = parse_window(text, name)
    return {"start": w.start.isoformat(), "end": w.end.isoformat()}


def _target(target: str | None, target_geojson: Path | None, centre: str | None,
            radius: float | None) -> dict[str, Any]:
    given = [t for t in (target, target_geojson, centre) if t is not None]
    if len(given) != 1:
        raise ParameterError("target", "give one of --target boundary:SET:U1,U2, "
                                       "--target-geojson FILE or --centre LON,LAT --radius M")
    area = _given_area(target, target_geojson, "target")
    if area is not None:
        return area
    assert centre is not None
    if radius is None:
        raise ParameterError("radius", "--centre needs --radius in metres")
    try:
        lon, lat = (float(v) for v in centre.split(","))
    except ValueError as exc:
        raise ParameterError("centre", f"{centre!r}: expected LON,LAT") from exc
    return {"type": "circle", "centre": [lon, lat], "radius_m": radius}


def _buffer(buffer: str | None, buffer_geojson: Path | None) -> dict[str, Any]:
    if (buffer is None) == (buffer_geojson is None):
        raise ParameterError("buffer", "give --buffer 400[,800] (ring distances in metres) or "
                                       "--buffer-geojson FILE")
    if buffer is None:
        assert buffer_geojson is not None
        return {"geometry": _geojson_file(buffer_geojson, "buffer")}
    try:
        return {"rings_m": [float(v) for v in buffer.split(",") if v.strip()]}
    except ValueError as exc:
        raise ParameterError("buffer", f"{buffer!r}: expected metres, e.g. 400 or "
                                       "400,800") from exc


def _control(control: str | None, control_geojson: Path | None, suggest_control: bool,
             control_candidates: str | None, control_units: int,
             control_max_distance: float) -> dict[str, Any]:
    chosen = [c for c in (control, control_geojson) if c is not None]
    if len(chosen) + int(suggest_control) != 1:
        raise ParameterError("control", "give one of --control boundary:SET:U3,U4, "
                                        "--control-geojson FILE or --suggest-control")
    area = _given_area(control, control_geojson, "control")
    if area is not None:
        return area
    ctl: dict[str, Any] = {"type": "suggest", "max_units": control_units,
                           "max_distance_m": control_max_distance}
    if control_candidates:
        set_name, _, version = control_candidates.partition("@")
        ctl["set"] = set_name
        if version:
            ctl["version"] = int(version)
    return ctl


def _buffer_control(buffer_control: str | None,
                    buffer_control_geojson: Path | None) -> dict[str, Any] | None:
    return _given_area(buffer_control, buffer_control_geojson, "buffer_control")


def parse_phase(text: str, i: int, buffer: dict[str, Any]) -> dict[str, Any]:
    """``NAME:START/END[:boundary:SET:U1,U2]`` to a phase of the definition (a phase with
    its own target takes the operation's buffer; its control is the operation's)."""
    where = f"phases.{i}"
    name, _, rest = text.partition(":")
    window, _, target = rest.partition(":")
    if not name.strip() or not window.strip():
        raise ParameterError(where, f"{text!r}: expected NAME:START/END[:boundary:SET:U1,U2], "
                                    "e.g. 'Strike one:2019-01-01/2019-01-14'")
    w = _window(window, f"{where}.during")
    phase: dict[str, Any] = {"name": name.strip(), "during": w}
    if target:
        phase["target"] = parse_boundary_area(target, f"{where}.target")
        phase["buffer"] = buffer
    return phase


def build_definition(*, name: str, target: str | None, target_geojson: Path | None,
                     centre: str | None, radius: float | None, buffer: str | None,
                     buffer_geojson: Path | None, control: str | None,
                     control_geojson: Path | None, suggest_control: bool,
                     control_candidates: str | None, control_units: int,
                     control_max_distance: float, buffer_control: str | None,
                     buffer_control_geojson: Path | None, before: str | None,
                     during: str | None, after: str | None, layers: tuple[str, ...],
                     options: dict[str, Any], phases: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON definition (as ``POST /v1/operations`` takes it) from command-line options."""
    from spatial.evaluation.counting import MeasuredLayer

    for given, flag in ((before, "before"), (after, "after")):
        if given is None:
            raise ParameterError(flag, f"--{flag} is needed, e.g. 2018-10-01/2018-12-31 (or "
                                       "give the whole definition with --definition FILE)")

    tgt = _target(target, target_geojson, centre, radius)
    buf = _buffer(buffer, buffer_geojson)
    ctl = _control(control, control_geojson, suggest_control, control_candidates,
                   control_units, control_max_distance)
    bctl = _buffer_control(buffer_control, buffer_control_geojson)
    if not layers:
        raise ParameterError("layer", "give at least one --layer LAYER:CATEGORY:ROLE, e.g. "
                                      "crime:Drugs:output")
    specs = [MeasuredLayer.parse(text) for text in layers]
    definition: dict[str, Any] = {
        "name": name, "target": tgt, "buffer": buf, "control": ctl,
        "windows": {"before": _window(before, "before"), "during": _window(during, "during"),
                    "after": _window(after, "after")},
        "layers": [s.as_dict() for s in specs],
        "options": {k: v for k, v in options.items() if v is not None},
    }
    if bctl is not None:
        definition["buffer_control"] = bctl
    if phases:
        definition["phases"] = [parse_phase(text, i, buf) for i, text in enumerate(phases)]
    return definition


_GEOJSON_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def definition_options(f: Any) -> Any:
    """The options of ``operation create`` and ``operation plan``."""
    opts = [
        click.option("--target", default=None, help="boundary:SET[@VERSION]:U1,U2: unit ids or names, e.g. "
                     "boundary:sheffield_nhood:Darnall (`remap boundaries units SET`)"),
        click.option("--target-geojson", type=_GEOJSON_FILE, default=None),
        click.option("--centre", default=None, help="LON,LAT of a circular target"),
        click.option("--radius", type=float, default=None, help="radius of the circle, metres"),
        click.option("--buffer", default=None,
                     help="ring outer distances from the target's edge, metres: 400 or 400,800"),
        click.option("--buffer-geojson", type=_GEOJSON_FILE, default=None),
        click.option("--control", default=None, help="boundary:SET[@VERSION]:U3,U4 (ids or names)"),
        click.option("--control-geojson", type=_GEOJSON_FILE, default=None),
        click.option("--suggest-control", is_flag=True,
                     help="choose the control from a boundary set: similar baseline, nearby, "
                          "not touching the buffer"),
        click.option("--control-candidates", default=None,
                     help="boundary set to suggest from (default: the target's)"),
        click.option("--control-units", type=int, default=5, show_default=True),
        click.option("--control-max-distance", type=float, default=5000.0, show_default=True,
                     help="metres from the target"),
        click.option("--buffer-control", default=None,
                     help="a separate control for the buffer: boundary:SET:U5,U6"),
        click.option("--buffer-control-geojson", type=_GEOJSON_FILE, default=None),
        click.option("--definition", "definition_file", type=_GEOJSON_FILE, default=None,
                     help="the whole definition as a JSON file, as POST /v1/operations takes "
                          "it (phases included); --name, if given, replaces its name"),
        click.option("--before", default=None,
                     help="YYYY-MM-DD/YYYY-MM-DD or YYYY-MM/YYYY-MM (inclusive)"),
        click.option("--during", default=None, help="the strike window (optional; with "
                                                     "--phase, the span of the strikes)"),
        click.option("--after", default=None),
        click.option("--phase", "phases", multiple=True,
                     metavar="NAME:START/END[:boundary:SET:U1,U2]",
                     help="a strike phase of a rolling operation, repeated in time order (at "
                          "most 6, at least a day apart); with a target, the phase has its "
                          "own target and takes --buffer"),
        click.option("--layer", "layers", multiple=True,
                     help="LAYER:CATEGORY:ROLE[:HARM_WEIGHT], e.g. crime:Drugs:output, "
                          "'crime:Anti-social behaviour:outcome', ambulance:*:outcome; "
                          "join categories with + to sum them"),
        click.option("--alpha", type=float, default=None, help="significance level (0.05)"),
        click.option("--reduction", type=float, default=None,
                     help="planned reduction for 'after window needed' (0.3)"),
        click.option("--displacement-size", type=float, default=None,
                     help="buffer rise (fraction) the design must detect before a verdict "
                          "says 'no displacement' (0.3)"),
        click.option("--area-weights", is_flag=True, default=False,
                     help="weight counts by area (densities)"),
        click.option("--h3-resolution", type=int, default=None, help="SPPT cells (9)"),
        click.option("--decay-step", type=float, default=None, help="distance-decay ring (100 m)"),
        click.option("--decay-max", type=float, default=None,
                     help="distance-decay extent (default twice the buffer, at least 500 m)"),
    ]
    return stack(*opts)(f)


#: Options that make a definition; with --definition FILE none may be given.
_DEFINITION_FLAGS = ("target", "target_geojson", "centre", "radius", "buffer", "buffer_geojson",
                     "control", "control_geojson", "control_candidates", "buffer_control",
                     "buffer_control_geojson", "before", "during", "after", "alpha",
                     "reduction", "displacement_size", "h3_resolution", "decay_step",
                     "decay_max")


def definition_from_options(kwargs: dict[str, Any], name: str | None,
                            default_name: str | None = None) -> dict[str, Any]:
    """``build_definition`` from the keyword arguments of :func:`definition_options`, or the
    definition file of ``--definition`` (then no other definition option may be given)."""
    path: Path | None = kwargs.pop("definition_file", None)
    if path is not None:
        given = [f for f in _DEFINITION_FLAGS if kwargs.get(f) is not None]
        given += [f for f in ("layers", "phases") if kwargs.get(f)]
        given += [f for f in ("suggest_control", "area_weights") if kwargs.get(f)]
        if given:
            flags = ", ".join("--" + f.replace("_", "-").removesuffix("s")
                              if f in ("layers", "phases") else "--" + f.replace("_", "-")
                              for f in given)
            raise ParameterError("definition", f"give either --definition FILE or the "
                                               f"definition options, not both (also got "
                                               f"{flags})")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError("definition", f"{path}: not readable JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ParameterError("definition", f"{path}: expected a JSON object")
        if name is not None:
            data["name"] = name
        return data
    name = name if name is not None else default_name
    if name is None:
        raise ParameterError("name", "--name is needed (or give --definition FILE)")
    options = {"alpha": kwargs.pop("alpha"), "planned_reduction": kwargs.pop("reduction"),
               "area_weights": kwargs.pop("area_weights"),
               "displacement_size": kwargs.pop("displacement_size"),
               "h3_resolution": kwargs.pop("h3_resolution"),
               "decay_step_m": kwargs.pop("decay_step"), "decay_max_m": kwargs.pop("decay_max")}
    return build_definition(name=name, options=options, **kwargs)
