"""``remap operation`` and ``remap displacement``: the operations API on the command line.

Registered on the main group by one line at the end of :mod:`service.cli`.
The commands build the same definition the API takes
(:class:`service.app.operation_definitions.OperationIn`) and call the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from service.app import operations as opstore
from spatial.errors import ParameterError
from spatial.evaluation.counting import MeasuredLayer
from spatial.evaluation.windows import parse_window

# --------------------------------------------------------------------------- parsing


def parse_pair(text: str, name: str) -> dict[str, float]:
    """``BEFORE,AFTER`` counts."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ParameterError(name, f"{text!r}: expected BEFORE,AFTER, e.g. 207,110")
    try:
        before, after = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise ParameterError(name, f"{text!r}: counts must be numbers") from exc
    return {"before": before, "after": after}


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


def _window(text: str | None, name: str) -> dict[str, str] | None:
    if text is None:
        return None
    w = parse_window(text, name)
    return {"start": w.start.isoformat(), "end": w.end.isoformat()}


def build_definition(*, name: str, target: str | None, target_geojson: Path | None,
                     centre: str | None, radius: float | None, buffer: str | None,
                     buffer_geojson: Path | None, control: str | None,
                     control_geojson: Path | None, suggest_control: bool,
                     control_candidates: str | None, control_units: int,
                     control_max_distance: float, buffer_control: str | None,
                     buffer_control_geojson: Path | None, before: str, during: str | None,
                     after: str, layers: tuple[str, ...],
                     options: dict[str, Any]) -> dict[str, Any]:
    """The JSON definition (as ``POST /v1/operations`` takes it) from command-line options."""
    given = [t for t in (target, target_geojson, centre) if t is not None]
    if len(given) != 1:
        raise ParameterError("target", "give one of --target boundary:SET:U1,U2, "
                                       "--target-geojson FILE or --centre LON,LAT --radius M")
    if target is not None:
        tgt = parse_boundary_area(target, "target")
    elif target_geojson is not None:
        tgt = {"type": "geojson", "geometry": _geojson_file(target_geojson, "target")}
    else:
        assert centre is not None
        if radius is None:
            raise ParameterError("radius", "--centre needs --radius in metres")
        try:
            lon, lat = (float(v) for v in centre.split(","))
        except ValueError as exc:
            raise ParameterError("centre", f"{centre!r}: expected LON,LAT") from exc
        tgt = {"type": "circle", "centre": [lon, lat], "radius_m": radius}

    if (buffer is None) == (buffer_geojson is None):
        raise ParameterError("buffer", "give --buffer 400[,800] (ring distances in metres) or "
                                       "--buffer-geojson FILE")
    if buffer is not None:
        try:
            buf: dict[str, Any] = {"rings_m": [float(v) for v in buffer.split(",") if v.strip()]}
        except ValueError as exc:
            raise ParameterError("buffer", f"{buffer!r}: expected metres, e.g. 400 or "
                                           "400,800") from exc
    else:
        assert buffer_geojson is not None
        buf = {"geometry": _geojson_file(buffer_geojson, "buffer")}

    chosen = [c for c in (control, control_geojson) if c is not None]
    if len(chosen) + int(suggest_control) != 1:
        raise ParameterError("control", "give one of --control boundary:SET:U3,U4, "
                                        "--control-geojson FILE or --suggest-control")
    if control is not None:
        ctl = parse_boundary_area(control, "control")
    elif control_geojson is not None:
        ctl = {"type": "geojson", "geometry": _geojson_file(control_geojson, "control")}
    else:
        ctl = {"type": "suggest", "max_units": control_units,
               "max_distance_m": control_max_distance}
        if control_candidates:
            set_name, _, version = control_candidates.partition("@")
            ctl["set"] = set_name
            if version:
                ctl["version"] = int(version)
    bctl = None
    if buffer_control is not None:
        bctl = parse_boundary_area(buffer_control, "buffer_control")
    elif buffer_control_geojson is not None:
        bctl = {"type": "geojson",
                "geometry": _geojson_file(buffer_control_geojson, "buffer_control")}
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
    return definition


def _definition_options(f: Any) -> Any:
    opts = [
        click.option("--target", default=None, help="boundary:SET[@VERSION]:U1,U2 (beats)"),
        click.option("--target-geojson", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path), default=None),
        click.option("--centre", default=None, help="LON,LAT of a circular target"),
        click.option("--radius", type=float, default=None, help="radius of the circle, metres"),
        click.option("--buffer", default=None,
                     help="ring outer distances from the target's edge, metres: 400 or 400,800"),
        click.option("--buffer-geojson", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path), default=None),
        click.option("--control", default=None, help="boundary:SET[@VERSION]:U3,U4"),
        click.option("--control-geojson", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path), default=None),
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
        click.option("--buffer-control-geojson", type=click.Path(exists=True, dir_okay=False,
                                                                 path_type=Path), default=None),
        click.option("--before", required=True,
                     help="YYYY-MM-DD/YYYY-MM-DD or YYYY-MM/YYYY-MM (inclusive)"),
        click.option("--during", default=None, help="the strike window (optional)"),
        click.option("--after", required=True),
        click.option("--layer", "layers", multiple=True,
                     help="LAYER:CATEGORY:ROLE[:HARM_WEIGHT], e.g. crime:Drugs:output, "
                          "'crime:Anti-social behaviour:outcome', ambulance:*:outcome; "
                          "join categories with + to sum them"),
        click.option("--alpha", type=float, default=None, help="significance level (0.05)"),
        click.option("--reduction", type=float, default=None,
                     help="planned reduction for 'after window needed' (0.3)"),
        click.option("--area-weights", is_flag=True, default=False,
                     help="weight counts by area (densities)"),
        click.option("--h3-resolution", type=int, default=None, help="SPPT cells (9)"),
        click.option("--decay-step", type=float, default=None, help="distance-decay ring (100 m)"),
        click.option("--decay-max", type=float, default=None,
                     help="distance-decay extent (default twice the buffer, at least 500 m)"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _collect(kwargs: dict[str, Any], name: str) -> dict[str, Any]:
    options = {"alpha": kwargs.pop("alpha"), "planned_reduction": kwargs.pop("reduction"),
               "area_weights": kwargs.pop("area_weights"),
               "h3_resolution": kwargs.pop("h3_resolution"),
               "decay_step_m": kwargs.pop("decay_step"), "decay_max_m": kwargs.pop("decay_max")}
    return build_definition(name=name, options=options, **kwargs)


# --------------------------------------------------------------------------- printing


def _print_operation(op: dict[str, Any]) -> None:
    res = op["resolved"]
    click.echo(f"operation {op['id']} {op['name']!r}: {op['status']}"
               + (", shared with partners" if op.get("shared") else "")
               + (f" (baseline locked {op['started_at']}, sha256 "
                  f"{op['baseline_fingerprint'][:12]}...)" if op["baseline_fingerprint"] else ""))
    click.echo(f"  target:  {res['target']['description']}")
    rings = res["buffer"].get("rings_m")
    click.echo("  buffer:  " + (f"rings to {', '.join(f'{r:g}' for r in rings)} m" if rings
                                else "polygon"))
    click.echo(f"  control: {res['control']['description']}")
    if res.get("buffer_control"):
        click.echo(f"  buffer control: {res['buffer_control']['description']}")
    w = op["definition"]["windows"]
    click.echo("  windows: " + "; ".join(f"{k} {v['start']}..{v['end']}" for k, v in w.items()
                                         if v))
    for warning in res.get("warnings", []):
        click.echo(f"  warning: {warning}")


def _print_report(rep: dict[str, Any]) -> None:
    op = rep["operation"]
    click.echo(f"operation {op['id']} {op['name']!r} ({op['status']})")
    for layer in rep["layers"]:
        c = layer["counts"]
        click.echo(f"\n{layer['key']} [{layer['role']}]: {layer['verdict']['code']}")
        click.echo("  counts before/during/after: " + "; ".join(
            f"{a} {v['before']}/{v['during']}/{v['after']}" for a, v in c.items()))
        m = layer.get("measures")
        if m:
            w = m["wdd"]
            ci = (f"[{w['ci_low']:.3g}, {w['ci_high']:.3g}]" if w.get("ci_low") is not None
                  else "n/a")
            click.echo(f"  WDD {w['estimate']:.3g} (SE {w['se']:.3g}, z "
                       f"{w['z'] if w['z'] is None else round(w['z'], 2)}, CI {ci}); WDQ "
                       f"{m['wdq']['value'] if m['wdq']['value'] is None else round(m['wdq']['value'], 2)}")
        click.echo(f"  {layer['verdict']['sentence']}")
        for warning in layer["warnings"]:
            click.echo(f"  note: {warning}")
    watch = rep["overdose_watch"]
    if watch.get("available"):
        click.echo(f"\noverdose watch ({watch['layer']}): "
                   + ("; ".join(watch["flags"]) if watch["rise"] else "no significant rise"))
    sites = rep["dealing_sites"]
    if sites.get("available"):
        click.echo(f"\n{sites['sentence']}")
    hw = rep["harm_weighted_wdd"]
    if hw.get("total"):
        t = hw["total"]
        click.echo(f"\nharm-weighted WDD {t['estimate']:.3g} (SE {t['se']:.3g}, p "
                   f"{t['p_value'] if t['p_value'] is None else round(t['p_value'], 3)})")
    for change in rep["baseline_lock"].get("changes", []):
        click.echo(f"baseline: {change['message']}")
    for warning in rep["warnings"]:
        click.echo(f"warning: {warning}")


def _print_plan(plan: dict[str, Any]) -> None:
    click.echo(f"planning {plan['name']!r}")
    for layer in plan["layers"]:
        click.echo(f"  {layer['sentence']}")
    for warning in plan["warnings"]:
        click.echo(f"  warning: {warning}")


# --------------------------------------------------------------------------- commands


def register(main: click.Group) -> None:
    """Add ``operation`` and ``displacement`` to the ``remap`` command.

    The commands are built here, not at import, so that this module does not
    import :mod:`service.cli` while that module is still loading (it calls
    this at its end, also under ``python -m service.cli``).
    """
    from service.cli import emit, handles_errors, json_option, open_store

    @click.group("operation")
    def operation_group() -> None:
        """Operations: define, lock the baseline, evaluate (displacement, harm, overdoses)."""


    @operation_group.command("create")
    @click.option("--name", required=True)
    @_definition_options
    @json_option
    @handles_errors
    def operation_create(name: str, as_json: bool, **kwargs: Any) -> None:
        """Create an operation (status planned)."""
        definition = _collect(kwargs, name)
        op = opstore.create_operation(open_store(), definition, actor="cli")
        emit(op, as_json, _print_operation)


    @operation_group.command("plan")
    @click.option("--name", default="proposed operation", show_default=True)
    @_definition_options
    @json_option
    @handles_errors
    def operation_plan(name: str, as_json: bool, **kwargs: Any) -> None:
        """Planning figures for a proposed operation: can its evaluation succeed?"""
        definition = _collect(kwargs, name)
        plan = opstore.plan_operation(open_store(), definition, actor="cli")
        emit(plan, as_json, _print_plan)


    @operation_group.command("show")
    @click.argument("op_id", type=int)
    @json_option
    @handles_errors
    def operation_show(op_id: int, as_json: bool) -> None:
        """An operation's definition and status."""
        emit(opstore.get_operation(open_store(), op_id), as_json, _print_operation)


    @operation_group.command("start")
    @click.argument("op_id", type=int)
    @json_option
    @handles_errors
    def operation_start(op_id: int, as_json: bool) -> None:
        """Mark an operation started and lock its baseline."""
        emit(opstore.start_operation(open_store(), op_id, actor="cli"), as_json, _print_operation)


    @operation_group.command("share")
    @click.argument("op_id", type=int)
    @click.option("--withdraw", is_flag=True, help="stop sharing it")
    @json_option
    @handles_errors
    def operation_share(op_id: int, withdraw: bool, as_json: bool) -> None:
        """Share an operation with partners and viewers (they see it once started)."""
        emit(opstore.share_operation(open_store(), op_id, shared=not withdraw, actor="cli"),
             as_json, _print_operation)

    @operation_group.command("report")
    @click.argument("op_id", type=int)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="write the JSON report here")
    @json_option
    @handles_errors
    def operation_report(op_id: int, out: Path | None, as_json: bool) -> None:
        """The evaluation report, per layer."""
        rep = opstore.operation_report(open_store(), op_id, actor="cli")
        if out is not None:
            out.write_text(json.dumps(rep, indent=1, default=str))
        emit(rep, as_json, _print_report)
        if out is not None and not as_json:
            click.echo(f"written {out}")


    @click.group("displacement")
    def displacement_group() -> None:
        """Displacement statistics from counts you already have."""


    @displacement_group.command("calc")
    @click.option("--target", required=True, help="BEFORE,AFTER counts in the target")
    @click.option("--buffer", required=True, help="BEFORE,AFTER in the buffer")
    @click.option("--control", required=True, help="BEFORE,AFTER in the control")
    @click.option("--buffer-control", default=None, help="BEFORE,AFTER in the buffer's control")
    @click.option("--time-weights", default=None, help="BEFORE,AFTER window lengths (e.g. days)")
    @click.option("--harm-weight", type=float, default=None)
    @click.option("--alpha", type=float, default=0.05, show_default=True)
    @json_option
    @handles_errors
    def displacement_calc(target: str, buffer: str, control: str, buffer_control: str | None,
                          time_weights: str | None, harm_weight: float | None, alpha: float,
                          as_json: bool) -> None:
        """SM, BDM, WDQ, TNE, WDD (estimate, SE, z, p, CI) and a verdict."""
        from service.app.displacement import calculate

        body: dict[str, Any] = {"target": parse_pair(target, "target"),
                                "buffer": parse_pair(buffer, "buffer"),
                                "control": parse_pair(control, "control"), "alpha": alpha}
        if buffer_control:
            body["buffer_control"] = parse_pair(buffer_control, "buffer_control")
        if time_weights:
            body["time_weights"] = parse_pair(time_weights, "time_weights")
        if harm_weight is not None:
            body["harm_weights"] = harm_weight
        for area in ("target", "buffer", "control", "buffer_control"):
            for k, v in body.get(area, {}).items():
                if v < 0:
                    raise ParameterError(f"{area}.{k}", "must be a count >= 0")
        from pydantic import ValidationError

        try:
            result = calculate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ParameterError(".".join(str(p) for p in err["loc"]), err["msg"]) from exc

        def human(r: dict[str, Any]) -> None:
            w = r["wdd"]
            ci = "n/a" if w["ci"] is None else f"[{w['ci'][0]:.1f}, {w['ci'][1]:.1f}]"
            click.echo(f"WDD {w['estimate']:g}  SE {w['se']:.3f}  z "
                       f"{'n/a' if w['z'] is None else format(w['z'], '.2f')}  p "
                       f"{'n/a' if w['p'] is None else format(w['p'], '.4f')}  CI {ci}")
            for key in ("sm", "bdm", "wdq", "tne"):
                m = r[key]
                click.echo(f"{key.upper():<4} " + (f"{m['value']:.4g}" if m["value"] is not None
                                                   else f"not computed: {m['reason']}")
                           + (f" ({m['label']})" if m.get("label") else ""))
            click.echo(f"verdict: {r['verdict']['code']}\n{r['verdict']['sentence']}")
            for warning in r["warnings"]:
                click.echo(f"note: {warning}")

        emit(result, as_json, human)

    main.add_command(operation_group)
    main.add_command(displacement_group)
