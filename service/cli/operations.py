"""``remap operation``: define an operation, lock its baseline, plan and evaluate it.

The commands call the same use cases as the API (:mod:`service.app.operations`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    echo_each,
    emit,
    handles_errors,
    json_option,
    open_store,
    progress,
    stack,
)
from service.cli.operation_definition import definition_from_options, definition_options
from service.render.numbers import fixed, p_text, plain

log = logging.getLogger("remap.cli")


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
    resolved_phases = res.get("phases") or []
    for i, ph in enumerate(op["definition"].get("phases") or []):
        own = resolved_phases[i] if i < len(resolved_phases) else None
        where = f", own target {own['target']['description']}" if own else ""
        click.echo(f"  phase {i + 1} {ph['name']!r}: {ph['during']['start']}.."
                   f"{ph['during']['end']}{where}")
    echo_each("  warning: ", res.get("warnings", []))


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
            ci = (f"[{plain(w['ci_low'], 3)}, {plain(w['ci_high'], 3)}]"
                  if w.get("ci_low") is not None else "n/a")
            wdq = m["wdq"]["value"]
            click.echo(f"  WDD {plain(w['estimate'], 3)} (SE {plain(w['se'], 3)}, z "
                       f"{'n/a' if w['z'] is None else fixed(w['z'], 2)}, CI {ci}); WDQ "
                       f"{'n/a' if wdq is None else fixed(wdq, 2)}")
        click.echo(f"  {layer['verdict']['sentence']}")
        echo_each("  time context: ", (layer.get("time_context") or {}).get("sentences", {})
                  .values())
        echo_each("  caveat: ", layer["verdict"].get("caveats", []))
        echo_each("  note: ", layer["warnings"])
    if rep.get("phases"):
        _print_phases(rep["phases"])
    watch = rep["overdose_watch"]
    if watch.get("available"):
        click.echo(f"\noverdose watch ({watch['layer']}): "
                   + ("; ".join(watch["flags"]) if watch["rise"] else "no significant rise"))
        if watch.get("statement"):
            click.echo(f"  {watch['statement']}")
    cw = rep.get("consequence_watches")
    if cw:
        click.echo(f"\nunintended consequences: {cw['sentence']}")
        for w in cw["watches"]:
            click.echo(f"  {w['name']:<28} {w['sentence']}")
        click.echo(f"  multiplicity: {cw['multiplicity']}")
    sites = rep["dealing_sites"]
    if sites.get("available"):
        click.echo(f"\n{sites['sentence']}")
    hw = rep["harm_weighted_wdd"]
    if hw.get("total"):
        t = hw["total"]
        click.echo(f"\nharm-weighted WDD {plain(t['estimate'], 3)} (SE {plain(t['se'], 3)}, "
                   f"{p_text(t['p_value'])})")
    if rep.get("harm"):
        _print_harm(rep["harm"])
    for change in rep["baseline_lock"].get("changes", []):
        click.echo(f"baseline: {change['message']}")
    echo_each("warning: ", rep["warnings"])


def _print_phases(ph: dict[str, Any]) -> None:
    click.echo(f"\nphases (each against the before window; after = to the next strike): "
               f"{ph['sentence']}")
    cumulative = {c["key"]: c["code"] for c in ph["cumulative"]}
    for p in ph["phases"]:
        w = p["windows"]
        click.echo(f"  phase {p['index'] + 1} {p['name']!r}: strike {w['during']['start']}.."
                   f"{w['during']['end']}, after {w['after']['start']}..{w['after']['end']}"
                   + ("" if not p["own_target"] else f"; own target: {p['target']}"))
        for la in p["layers"]:
            c = la["counts"]
            click.echo(f"    {la['key']:<32} {la['verdict']['code']:<36} target "
                       f"{c['target']['before']} -> {c['target']['after']}, control "
                       f"{c['control']['before']} -> {c['control']['after']}")
        echo_each("    note: ", p["warnings"])
    click.echo("  cumulative (the whole operation): " + "; ".join(
        f"{k} {v}" for k, v in cumulative.items()))
    click.echo(f"  multiplicity: {ph['parameters']['correction']}")
    echo_each("  warning: ", ph["warnings"])


def _print_harm(h: dict[str, Any]) -> None:
    click.echo(f"\nharm: {h['title']}, {h['version']}")
    click.echo(f"  unit: {h['unit']}")
    for text in h["sentences"]:
        click.echo(f"  {text}")
    for w in h["weights"]:
        click.echo(f"  weight {w['key']}: {w['weight']:g}")
    echo_each("  not weighted: ", [f"{e['key']}: {e['reason']}" for e in h["excluded"]])
    echo_each("  note: ", h["notes"])


def _print_plan(plan: dict[str, Any]) -> None:
    click.echo(f"planning {plan['name']!r}")
    for layer in plan["layers"]:
        click.echo(f"  {layer['sentence']}")
    echo_each("  warning: ", plan["warnings"])


@click.group("operation")
def operation_group() -> None:
    """Operations: define, lock the baseline, evaluate (displacement, harm, overdoses)."""


def _definition_command(command_name: str, name_option: Callable[..., Any], use_case: str,
                        printer: Callable[[dict[str, Any]], None], doc: str) -> Callable[..., None]:
    """A command that reads an operation's definition from the options and hands it to
    ``use_case`` (a function of :mod:`service.app.operations`, imported when it runs)."""
    def command(name: str | None, as_json: bool, **kwargs: Any) -> None:
        from service.app import operations as opstore

        definition = definition_from_options(
            kwargs, name, "proposed operation" if command_name == "plan" else None)
        with progress(f"operation {command_name} {definition.get('name')!r}"):
            result = getattr(opstore, use_case)(open_store(), definition, actor="cli")
        emit(result, as_json, printer)

    command.__doc__ = doc
    return stack(operation_group.command(command_name), name_option, definition_options, json_option,
                 handles_errors)(command)  # type: ignore[no-any-return]


operation_create = _definition_command(
    "create", click.option("--name", default=None,
                           help="the operation's name (needed unless --definition gives it)"),
    "create_operation", _print_operation,
    "Create an operation (status planned).")
operation_plan = _definition_command(
    "plan", click.option("--name", default="proposed operation", show_default=True),
    "plan_operation", _print_plan,
    "Planning figures for a proposed operation: can its evaluation succeed?")


@operation_group.command("show")
@click.argument("op_id", type=int)
@json_option
@handles_errors
def operation_show(op_id: int, as_json: bool) -> None:
    """An operation's definition and status."""
    from service.app import operations as opstore

    emit(opstore.get_operation(open_store(), op_id), as_json, _print_operation)


@operation_group.command("start")
@click.argument("op_id", type=int)
@json_option
@handles_errors
def operation_start(op_id: int, as_json: bool) -> None:
    """Mark an operation started and lock its baseline."""
    from service.app import operations as opstore

    emit(opstore.start_operation(open_store(), op_id, actor="cli"), as_json, _print_operation)


@operation_group.command("share")
@click.argument("op_id", type=int)
@click.option("--withdraw", is_flag=True, help="stop sharing it")
@json_option
@handles_errors
def operation_share(op_id: int, withdraw: bool, as_json: bool) -> None:
    """Share an operation with partners and viewers (they see it once started)."""
    from service.app import operations as opstore

    emit(opstore.share_operation(open_store(), op_id, shared=not withdraw, actor="cli"),
         as_json, _print_operation)


@operation_group.command("report")
@click.argument("op_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the JSON report here")
@click.option("--harm-index", default=None, metavar="cchi|css|FILE",
              help="add harm on a standard scale: the Cambridge Crime Harm Index, the ONS "
                   "Crime Severity Score, or a force's own table (see remap harm-index)")
@click.option("--include-police-generated", is_flag=True, default=None,
              help="weight Drugs and Possession of weapons too (left out of harm by default)")
@json_option
@handles_errors
def operation_report(op_id: int, out: Path | None, harm_index: str | None,
                     include_police_generated: bool | None, as_json: bool) -> None:
    """The evaluation report, per layer (and harm with --harm-index)."""
    from service.app import operations as opstore

    log.info("operation %d report: evaluating", op_id)
    t0 = time.perf_counter()
    with progress(f"operation {op_id} report"):
        rep = opstore.operation_report(open_store(), op_id, actor="cli", harm_index=harm_index,
                                       include_police_generated=include_police_generated)
    log.info("operation %d report done in %.1f s: %d layer(s)", op_id,
             time.perf_counter() - t0, len(rep["layers"]))
    if out is not None:
        out.write_text(json.dumps(rep, indent=1, default=str))
    emit(rep, as_json, _print_report)
    if out is not None and not as_json:
        click.echo(f"written {out}")
