"""``remap displacement calc``: displacement statistics from counts you already have."""

from __future__ import annotations

from typing import Any

import click

from service.cli.common import echo_each, emit, handles_errors, json_option
from service.render.numbers import fixed, p_text, plain
from spatial.errors import ParameterError


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


AREA_WEIGHT_NAMES = ("target", "buffer", "control", "buffer_control")


def parse_area_weights(text: str) -> dict[str, float]:
    """``TARGET,BUFFER,CONTROL[,BUFFER_CONTROL]`` areas (e.g. km²)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ParameterError("area_weights", f"{text!r}: expected TARGET,BUFFER,CONTROL"
                                             "[,BUFFER_CONTROL] areas, e.g. 0.8,1.9,2.4")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise ParameterError("area_weights", f"{text!r}: areas must be numbers") from exc
    return dict(zip(AREA_WEIGHT_NAMES, values, strict=False))


def _print_displacement(r: dict[str, Any]) -> None:
    w = r["wdd"]
    ci = "n/a" if w["ci"] is None else f"[{fixed(w['ci'][0], 1)}, {fixed(w['ci'][1], 1)}]"
    click.echo(f"WDD {plain(w['estimate'], 6)}  SE {w['se']:.3f}  z "
               f"{'n/a' if w['z'] is None else fixed(w['z'], 2)}  {p_text(w['p'])}  "
               f"CI {ci}")
    for key in ("sm", "bdm", "wdq", "tne"):
        m = r[key]
        click.echo(f"{key.upper():<4} " + (plain(m["value"]) if m["value"] is not None
                                           else f"not computed: {m['reason']}")
                   + (f" ({m['label']})" if m.get("label") else ""))
    for name, t in r["ratio_tests"].items():
        if t["ratio"] is None:
            click.echo(f"{name} ratio: not tested: {t['reason']}")
            continue
        adjusted = ("" if t["p_adjusted"] in (None, t["p_value"])
                    else f", Holm {p_text(t['p_adjusted'])}")
        click.echo(f"{name} ratio {plain(t['ratio'], 3)}  CI [{plain(t['ci_low'], 3)}, "
                   f"{plain(t['ci_high'], 3)}]  {p_text(t['p_value'])}{adjusted}")
    click.echo(f"verdict: {r['verdict']['code']}\n{r['verdict']['sentence']}")
    echo_each("caveat: ", r["verdict"]["caveats"])
    echo_each("note: ", r["warnings"])


@click.group("displacement")
def displacement_group() -> None:
    """Displacement statistics from counts you already have."""


@displacement_group.command("calc")
@click.option("--target", required=True, help="BEFORE,AFTER counts in the target")
@click.option("--buffer", required=True, help="BEFORE,AFTER in the buffer")
@click.option("--control", required=True, help="BEFORE,AFTER in the control")
@click.option("--buffer-control", default=None, help="BEFORE,AFTER in the buffer's control")
@click.option("--time-weights", default=None, help="BEFORE,AFTER window lengths in days (rates are said per 30 days)")
@click.option("--area-weights", default=None,
              help="TARGET,BUFFER,CONTROL[,BUFFER_CONTROL] areas (e.g. km²): counts per area")
@click.option("--harm-weight", type=float, default=None)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--role", type=click.Choice(["outcome", "output"]), default="outcome",
              show_default=True,
              help="outcome (harm) or output (police activity, e.g. drug offences)")
@click.option("--displacement-size", type=float, default=0.3, show_default=True,
              help="buffer rise (fraction) the design must detect before the verdict says "
                   "'no displacement'")
@json_option
@handles_errors
def displacement_calc(target: str, buffer: str, control: str, buffer_control: str | None,
                      time_weights: str | None, area_weights: str | None,
                      harm_weight: float | None, alpha: float, role: str,
                      displacement_size: float, as_json: bool) -> None:
    """SM, BDM, WDQ, TNE, WDD (estimate, SE, z, p, CI) and a verdict."""
    from pydantic import ValidationError

    from service.app.displacement import calculate

    body: dict[str, Any] = {"target": parse_pair(target, "target"),
                            "buffer": parse_pair(buffer, "buffer"),
                            "control": parse_pair(control, "control"), "alpha": alpha,
                            "role": role, "displacement_size": displacement_size}
    if buffer_control:
        body["buffer_control"] = parse_pair(buffer_control, "buffer_control")
    if time_weights:
        body["time_weights"] = parse_pair(time_weights, "time_weights")
    if area_weights:
        body["area_weights"] = parse_area_weights(area_weights)
    if harm_weight is not None:
        body["harm_weights"] = harm_weight
    for area in ("target", "buffer", "control", "buffer_control"):
        for k, v in body.get(area, {}).items():
            if v < 0:
                raise ParameterError(f"{area}.{k}", "must be a count >= 0")
    try:
        result = calculate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParameterError(".".join(str(p) for p in err["loc"]), err["msg"]) from exc
    emit(result, as_json, _print_displacement)
