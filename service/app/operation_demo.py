"""The synthetic town's planted operation, evaluated end to end (``remap demo``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.app.operations import create_operation, operation_report, start_operation
from service.store import Store


def planted_definition(op: Any, layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The definition (as ``POST /v1/operations`` takes it) of the town's planted
    operation ``op``: its target beats, buffer ring, a suggested control of four
    beats and its windows, measuring ``layers``."""
    windows = {w: {"start": getattr(op, w)[0].isoformat(), "end": getattr(op, w)[1].isoformat()}
               for w in ("before", "during", "after")}
    return {"name": op.name,
            "target": {"type": "boundary", "set": "beats", "units": list(op.target_beats)},
            "buffer": {"rings_m": [op.buffer_m]},
            "control": {"type": "suggest", "set": "beats", "max_units": 4},
            "windows": windows, "layers": layers}


def _not_detected(pct: float | None) -> str:
    return ("could not be tested" if pct is None
            else f"not detected (could detect only >= {pct:.0f} %)")


def _fall(verdict: dict[str, Any]) -> str:
    pct = verdict.get("detectable_fall_pct")
    return ("even a complete stop could not be detected" if pct is None
            else f"could detect only a fall of >= {pct:.0f} %")


def layer_gloss(layer: dict[str, Any]) -> str:
    """A short reading of a layer's verdict code for the demo's summary: outputs as police
    activity, and a displacement the design could not see as "not detected (could
    detect only >= X %)"."""
    v = layer["verdict"]
    code, rise = v["code"], v.get("detectable_rise_pct")
    size = 100.0 * float(v.get("displacement_size") or 0.3)
    if code == "insufficient_data":
        return ": too few events for a verdict"
    if v.get("role") == "output":
        moved = ""
        if v.get("buffer") == "no_change" and (rise is None or rise > size):
            moved = f"; a move into the buffer {_not_detected(rise)}"
        elif v.get("buffer") == "rose":
            moved = "; recorded activity rose in the buffer"
        said = {"activity_fell": "recorded police activity fell",
                "activity_rose": "recorded police activity rose",
                "activity_rose_nearby": "recorded police activity rose nearby",
                "no_significant_change": "no significant change in recorded police activity "
                                         f"({_fall(v)})"}
        return f" (output: police activity): {said.get(code, code)}{moved}"
    if code == "reduction_displacement_not_detected":
        return f": displacement {_not_detected(rise)}"
    if code == "reduction_no_displacement":
        return f": no displacement (the design could detect >= {rise or 0:.0f} %)"
    if code == "no_significant_change":
        return f": {_fall(v)}"
    if code == "harm_signal":
        where = ("the buffer rose against its control" if v.get("harm_signal") == "buffer_rose"
                 else "target and buffer together rose against the control")
        return f": possible harm, {where}"
    return ""


def demo_operation(store: Store, town: Any, out_dir: Path, say: Callable[[str], None]
                   ) -> dict[str, Any]:
    """Evaluate the synthetic town's planted operation and write ``operation_report.json``.

    Expects the town's beats as boundary set ``beats`` and its events stored.
    """
    op = town.operation
    definition = planted_definition(op, [
        {"layer": "crime", "category": "Drugs", "role": "output"},
        {"layer": "crime", "category": "Anti-social behaviour", "role": "outcome",
         "harm_weight": 1.0},
        {"layer": "crime", "category": "+".join(op.affected_categories), "role": "outcome"},
        {"layer": "crime", "category": "Violence and sexual offences", "role": "outcome",
         "harm_weight": 3.0},
        {"layer": "ambulance", "category": "*", "role": "outcome"}])
    created = create_operation(store, definition, actor="demo")
    start_operation(store, created["id"], actor="demo")
    report = operation_report(store, created["id"], actor="demo")
    path = out_dir / "operation_report.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    say(f"  operation {op.name!r} (planted effect: {op.effect}); control "
        f"{created['resolved']['control']['description']}")
    verdicts = {}
    for layer in report["layers"]:
        verdicts[layer["key"]] = layer["verdict"]["code"]
        say(f"    {layer['key']:<40} {layer['verdict']['code']}{layer_gloss(layer)}")
    combined = f"crime/{'+'.join(op.affected_categories)}"
    recovered = verdicts.get(combined) in ("reduction_with_displacement",
                                           "displacement_exceeds_reduction")
    say(f"    planted {op.effect} of {' + '.join(op.affected_categories)} (target x"
        f"{op.target_multiplier:g}, buffer x{op.buffer_multiplier:g}): "
        + ("recovered" if recovered else f"NOT recovered ({verdicts.get(combined)})"))
    watch = report["overdose_watch"]
    if watch.get("available"):
        say(f"    overdose watch: {'rise flagged' if watch['rise'] else 'no significant rise'}"
            + (f". {watch['statement']}" if watch.get("statement") else ""))
    sites = report["dealing_sites"]
    if sites.get("available"):
        say(f"    {sites['sentence']}")
    say(f"  operation report: {path}")
    return {"id": created["id"], "report": str(path), "verdicts": verdicts,
            "planted_effect_recovered": recovered,
            "overdose_rise": bool(watch.get("rise")),
            "overdose_statement": watch.get("statement"),
            "new_sites_in_buffer": sites.get("new_in_buffer_possible_displacement")}


def phased_definition(op: Any, layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The town's planted operation as a two-phase rolling operation: the planted strike
    (phase 1) and a second, shorter strike five weeks after it ends (phase 2), each
    evaluated against the before window; the operation's after window starts the month
    after phase 2 ends."""
    from datetime import timedelta

    d = planted_definition(op, layers)
    s1, e1 = op.during
    s2 = e1 + timedelta(days=36)
    e2 = s2 + timedelta(days=6)
    after_start = (e2.replace(day=1) + timedelta(days=32)).replace(day=1)
    d["name"] = f"{op.name} (rolling)"
    d["windows"] = {"before": d["windows"]["before"],
                    "after": {"start": after_start.isoformat(),
                              "end": op.after[1].isoformat()}}
    d["phases"] = [{"name": "Strike one", "during": {"start": s1.isoformat(),
                                                     "end": e1.isoformat()}},
                   {"name": "Strike two", "during": {"start": s2.isoformat(),
                                                     "end": e2.isoformat()}}]
    return d


def demo_phases(store: Store, town: Any, out_dir: Path, say: Callable[[str], None]
                ) -> dict[str, Any]:
    """Create, start and evaluate a two-phase rolling operation on the synthetic town and
    write ``operation_phases_report.json``: each phase against the before window (its
    after period runs to the next strike), the whole operation cumulatively, and the
    unintended-consequence watches.

    Expects the town's beats as boundary set ``beats`` and its events stored.
    """
    op = town.operation
    definition = phased_definition(op, [
        {"layer": "crime", "category": "+".join(op.affected_categories), "role": "outcome"},
        {"layer": "crime", "category": "Drugs", "role": "output"},
        {"layer": "ambulance", "category": "*", "role": "outcome"}])
    created = create_operation(store, definition, actor="demo")
    start_operation(store, created["id"], actor="demo")
    report = operation_report(store, created["id"], actor="demo")
    path = out_dir / "operation_phases_report.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    ph = report["phases"]
    say(f"  rolling operation {definition['name']!r}: {ph['sentence']}")
    by_phase: dict[str, dict[str, str]] = {}
    for p in ph["phases"]:
        w = p["windows"]
        say(f"    phase {p['index'] + 1} {p['name']!r} (strike {w['during']['start']}.."
            f"{w['during']['end']}, after {w['after']['start']}..{w['after']['end']}):")
        by_phase[p["name"]] = {}
        for la in p["layers"]:
            by_phase[p["name"]][la["key"]] = la["verdict"]["code"]
            say(f"      {la['key']:<40} {la['verdict']['code']}{layer_gloss(la)}")
    cumulative = {la["key"]: la["verdict"]["code"] for la in report["layers"]}
    say("    cumulative: " + "; ".join(f"{k} {v}" for k, v in cumulative.items()))
    cw = report.get("consequence_watches") or {}
    if cw:
        say(f"    unintended consequences: {cw['sentence']}"
            + (f" Not watched (no data): {', '.join(cw['not_watched'])}."
               if cw.get("not_watched") else ""))
    say(f"  rolling operation report: {path}")
    return {"id": created["id"], "report": str(path), "phases": by_phase,
            "cumulative": cumulative, "correction": ph["parameters"]["correction"],
            "consequences_flagged": list(cw.get("flagged", [])),
            "consequences_not_watched": list(cw.get("not_watched", []))}
