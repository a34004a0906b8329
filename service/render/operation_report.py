"""An operation's evaluation and the displacement calculator, in the words the API and CLI show.

:func:`spatial.evaluation.evaluate.evaluate_operation` and
:func:`spatial.evaluation.summary.displacement_summary` return numbers, codes and
tests; this module turns them into the JSON-able report: the same keys, values
and sentences for every client. Verdicts are decided once, by the evaluation
(:class:`~spatial.evaluation.verdict.Verdict` on each layer and summary), and
only worded here (:func:`service.render.sentences.render`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from service.render.numbers import p_text, plain
from service.render.sentences import CAVEAT_TEXT, Explanation, relative, render
from service.render.time_context import time_context_dict, time_context_parameters
from spatial.evaluation.cells import CellChange
from spatial.evaluation.count_table import AREA_NAMES, SMALL_COUNT, CountTable
from spatial.evaluation.harm_index import HarmSection
from spatial.evaluation.phases import PHASE_CAVEAT, PhasedEvaluation
from spatial.evaluation.results import (
    HarmWeighted,
    LayerEvaluation,
    Note,
    OperationEvaluation,
)
from spatial.evaluation.summary import DisplacementSummary, displacement_summary
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE, Verdict
from spatial.evaluation.wdd import EffectTest
from spatial.evaluation.windows import month_window_notes

ROLE_NOTES: Final = {
    "output": ("output: measures police activity (e.g. recorded drug offences rise when "
               "officers search more), not the size of the market or the harm it does"),
    "outcome": "outcome: a harm the operation aims to reduce",
}
#: Caveats of an operation's layers that the verdict's own list does not word.
LAYER_CAVEATS: Final = {
    "rounded_locations": ("locations are rounded (ambulance data to about 400 m), so events "
                          "near an area's edge may be counted in the neighbouring area"),
    PHASE_CAVEAT: ("one phase of a rolling operation: its after period runs to the next "
                   "strike, it is compared with the operation's before window, and its tests "
                   "are corrected with every other phase's (Holm)"),
}
SPPT_READING: Final = ("S = 1: the share of events in every cell is the same before and after "
                       "(the pattern did not move); lower S: more cells changed share. The "
                       "test compares distributions, not levels.")


def caveat_text(key: str) -> str:
    """A caveat key in words (any other text as written)."""
    return LAYER_CAVEATS.get(key) or CAVEAT_TEXT.get(key, key)


# --------------------------------------------------------------------------- the operation


def operation_report_dict(ev: OperationEvaluation) -> dict[str, Any]:
    """The evaluation report: ``parameters``, ``layers``, ``harm_weighted_wdd``,
    ``overdose_watch``, ``dealing_sites``, ``baseline_lock``, ``warnings``,
    ``time_context`` (its settings and methods; each layer's numbers and
    sentences are in the layer's own ``time_context``) and, with a harm index,
    ``harm`` (:func:`harm_dict`)."""
    lock: dict[str, Any] = {"locked": ev.baseline_lock.locked,
                            "changes": list(ev.baseline_lock.changes)}
    if not ev.baseline_lock.locked:
        lock["note"] = ("the operation has not been started, so no baseline is locked: the "
                        "figures use the events as stored now")
    if ev.dealing_sites is None:
        sites = {"available": False,
                 "reason": f"no '{ev.options.dealing_site_layer}' records"}
    else:
        sites = {**ev.dealing_sites,
                 "caveats": [caveat_text(k) for k in ev.dealing_sites["caveats"]]}
    warnings = [text for note in ev.notes for text in _operation_note(note, ev)]
    layers = [layer_dict(la, ev) for la in ev.layers]
    out = {"parameters": _parameters(ev), "layers": layers,
           "harm_weighted_wdd": _harm_dict(ev.harm_weighted),
           "overdose_watch": overdose_watch_dict(ev.overdose_watch, layers),
           "dealing_sites": sites, "baseline_lock": lock,
           "warnings": list(dict.fromkeys(warnings)),
           "time_context": (None if ev.time_context is None
                            else time_context_parameters(ev.time_context))}
    if ev.harm is not None:
        out["harm"] = harm_dict(ev.harm, ev)
    return out


AREA_WORDS: Final = {"target": "the target", "buffer": "the buffer", "control": "the control",
                     "buffer_control": "the buffer control"}


def _amount(x: float) -> str:
    """Harm as a report writes it: whole numbers with thousands separators from 100 up."""
    if abs(x) >= 100:
        text = f"{x:,.0f}"
        return "0" if text == "-0" else text
    return plain(x, 3)


def harm_dict(h: HarmSection, ev: OperationEvaluation) -> dict[str, Any]:
    """The harm section in numbers and words: the index and version, the weights used
    and how each was obtained, harm per area and window (and per day), the
    harm-weighted WDD, and every category left out with its reason."""
    t = h.table
    unit = t.get("unit") or "weight units"
    short_unit = unit.split(" (")[0]
    areas = [a for a in AREA_NAMES if ev.has_buffer_control or a != "buffer_control"]
    lengths = {w: v for w, v in (ev.layers[0].counts.lengths if ev.layers else {}).items()}
    sentences = []
    for a in areas:
        b, af = h.totals[a]["before"], h.totals[a]["after"]
        pb, pa = h.per_day[a]["before"], h.per_day[a]["after"]
        rate = (f" ({_amount(pb * 30)} → {_amount(pa * 30)} per 30 days)"
                if pb is not None and pa is not None and lengths.get("before") != lengths.get(
                    "after") else "")
        sentences.append(f"Harm in {AREA_WORDS[a]}: {_amount(b)} {short_unit} before, "
                         f"{_amount(af)} after{rate}.")
    wdd: dict[str, Any] | None = None
    if h.wdd is not None:
        tot = h.wdd.total
        per = ((" per day" if ev.time_weighted else "")
               + (" per km²" if ev.options.area_weights else ""))
        direction = ("harm fell relative to the controls" if tot.estimate < 0 and tot.significant
                     else "harm rose relative to the controls" if tot.significant
                     else "no significant change in harm relative to the controls")
        ci = ("" if tot.ci_low is None else
              f", {100 * (1 - tot.alpha):g} % CI {_amount(tot.ci_low)} to "
              f"{_amount(tot.ci_high or 0.0)}")
        wdd = {**h.wdd.as_dict(), "unit": f"{short_unit}{per}",
               "sentence": (f"Harm-weighted WDD {_amount(tot.estimate)} {short_unit}{per} "
                            f"(SE {_amount(tot.se)}{ci}, {p_text(tot.p_value)}): "
                            f"{direction}."),
               "reading": "Σ wᵢ·WDDᵢ over the weighted categories, variance Σ wᵢ²·Var(WDDᵢ) "
                          "(categories as independent Poisson counts; Wheeler & Ratcliffe "
                          "2018); negative: harm prevented relative to the controls"}
        sentences.append(wdd["sentence"])
    generated = [k for k, why in h.excluded.items() if why.startswith("police-generated")]
    if generated:
        sentences.append(f"Left out as police-generated (their counts measure police "
                         f"activity): {', '.join(generated)}.")
    elif h.include_police_generated:
        sentences.append("Police-generated categories (Drugs, Possession of weapons) are "
                         "included on request: their counts measure police activity as much "
                         "as harm.")
    return {
        "index": t.get("name"), "title": t.get("title"), "version": t.get("version"),
        "unit": unit, "source": t.get("source"), "citation": t.get("citation"),
        "shipped": t.get("shipped"),
        "include_police_generated": h.include_police_generated,
        "weights": [{"key": c.key, "weight": c.weight, "basis": c.basis} for c in h.categories],
        "excluded": [{"key": k, "reason": why} for k, why in h.excluded.items()],
        "totals": {a: dict(h.totals[a]) for a in areas},
        "per_day": {a: dict(h.per_day[a]) for a in areas},
        "by_category": [{"key": c.key, "weight": c.weight,
                         "counts": {a: dict(c.counts[a]) for a in areas},
                         "wdd": None if c.wdd is None else c.wdd.as_dict(),
                         "reason": c.reason} for c in h.categories],
        "harm_weighted_wdd": wdd,
        "sentences": sentences,
        "notes": list(h.notes),
    }


def _parameters(ev: OperationEvaluation) -> dict[str, Any]:
    opts = ev.options
    return {
        **ev.areas.parameters(),
        "windows": ev.windows.as_dict(),
        "effective_lengths_days": {la.counts.spec.key: la.counts.lengths for la in ev.layers},
        "time_weights": ("counts divided by the effective window length in days (effects are "
                         "events per day), because before and after lengths differ"
                         if ev.time_weighted else None),
        "area_weights": ({a: ev.areas.area_km2(a) for a in AREA_NAMES} if opts.area_weights
                         else None),
        "buffer_control": ("given" if ev.has_buffer_control else
                           "none: the control serves both comparisons (its variance enters "
                           "the total WDD with coefficient 4)"),
        "verdict_min_count": ev.verdict_min_count,
        "small_count": SMALL_COUNT,
        "sppt": {"h3_resolution": opts.h3_resolution, "cells": ev.sppt_cells,
                 "correction": "by (Benjamini-Yekutieli)"},
        "options": opts.as_dict(),
    }


def _operation_note(note: Note, ev: OperationEvaluation) -> list[str]:
    p = note.params
    if note.code == "month_windows":
        return month_window_notes(ev.windows)
    texts = {
        "area": lambda: p["text"],
        "no_sppt": lambda: f"no SPPT: {p['reason']}",
        "not_in_lock": lambda: (f"{p['key']} was not in the baseline lock: its current before "
                                "counts were used"),
        "baseline_changed": lambda: p["change"]["message"],
        "harm_without_wdd": lambda: (f"{p['key']} has a harm weight but no WDD, so it is left "
                                     "out of the harm-weighted WDD"),
    }
    return [texts[note.code]()]


def _harm_dict(hw: HarmWeighted) -> dict[str, Any]:
    if hw.result is None:
        return {"total": None, "reason": "no layer has a harm weight"}
    out = {**hw.result.as_dict(), "reading": "Σ wᵢ·WDDᵢ with SE √Σ wᵢ²·SEᵢ²; negative: "
                                             "harm prevented relative to the controls"}
    if hw.double_counted:
        out.setdefault("warnings", []).append(
            "a layer's '*' (all categories) and one of its categories are both "
            "weighted: those events are counted twice")
    if hw.output_weighted:
        out.setdefault("warnings", []).append(
            "an output layer is harm-weighted: outputs measure police activity, not harm")
    return out


# --------------------------------------------------------------------------- phases

#: Parts of a layer's report a phase keeps (maps, SPPT and density are the whole
#: operation's: a phase's short after window rarely supports them).
_PHASE_LAYER_KEYS: Final = ("key", "layer", "category", "role", "role_note", "counts",
                            "lengths_days", "month_precision", "count_table", "measures",
                            "verdict", "planning", "warnings")


def phases_dict(ph: PhasedEvaluation, resolved: list[dict[str, Any] | None]
                ) -> dict[str, Any]:
    """A rolling operation's phases: per phase its windows, target and each layer's
    counts and verdict (decided with every phase's tests, Holm), a table of one row per
    phase and layer, the cumulative verdicts beside them, and how windows and
    multiplicity are handled (``parameters``)."""
    phases = []
    rows = []
    for pe in ph.phases:
        ev = pe.evaluation
        res = resolved[pe.phase.index] if pe.phase.index < len(resolved) else None
        layers = []
        for la in ev.layers:
            full = layer_dict(la, ev)
            entry: dict[str, Any] = {k: full[k] for k in _PHASE_LAYER_KEYS if k in full}
            tc = full.get("time_context")
            if tc:
                entry["time_context_sentences"] = tc["sentences"]
            layers.append(entry)
            rows.append(_phase_row(pe.phase.index, pe.phase.name, entry))
        phases.append({
            "index": pe.phase.index, "name": pe.phase.name, "last": pe.phase.last,
            "windows": ev.windows.as_dict(), "own_target": pe.own_areas,
            "target": (res or {}).get("target", {}).get("description") if pe.own_areas
            else "the operation's target",
            "layers": layers,
            "warnings": list(dict.fromkeys(text for note in ev.notes
                                           for text in _operation_note(note, ev))),
        })
    cumulative = [{"key": la.counts.spec.key, "code": la.verdict_code}
                  for la in ph.cumulative.layers]
    return {"parameters": dict(ph.parameters), "phases": phases, "table": rows,
            "cumulative": cumulative, "warnings": list(ph.warnings),
            "sentence": phases_sentence(ph)}


def _phase_row(index: int, name: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    local = (entry.get("measures") or {}).get("local_ratio") or {}
    v = entry["verdict"]
    return {"phase": index, "name": name, "key": entry["key"], "role": entry["role"],
            "counts": {a: {w: c.get(w) for w in ("before", "after")}
                       for a, c in entry["counts"].items()},
            "lengths_days": entry.get("lengths_days"),
            "local_ratio": local.get("ratio"), "p_adjusted": local.get("p_adjusted"),
            "code": v["code"], "sentence": v["sentence"],
            "detectable_fall_pct": v.get("detectable_fall_pct")}


def phases_sentence(ph: PhasedEvaluation) -> str:
    """One sentence: how many phases and which of them any layer's verdict claims in."""
    claimed = sorted({pe.phase.name for pe in ph.phases for la in pe.evaluation.layers
                      if la.verdict_code not in ("no_significant_change", "insufficient_data")})
    k = len(ph.phases)
    if not claimed:
        return (f"{k} phases evaluated one by one against the operation's before window; no "
                "phase's verdict claims a change once corrected for every phase's tests.")
    names = ", ".join(claimed)
    return (f"{k} phases evaluated one by one against the operation's before window; a "
            f"change is claimed in: {names} (corrected for every phase's tests).")


# --------------------------------------------------------------------------- one layer


def layer_dict(layer: LayerEvaluation, ev: OperationEvaluation) -> dict[str, Any]:
    """One layer/category of the report, with its verdict sentence and warnings."""
    lc, spec = layer.counts, layer.counts.spec
    entry: dict[str, Any] = {
        "key": spec.key, **spec.as_dict(), "role_note": ROLE_NOTES[spec.role],
        "counts": {a: v for a, v in lc.areas.items()
                   if layer.has_buffer_control or a != "buffer_control"},
        "lengths_days": lc.lengths, "month_precision": lc.month_precision,
        "location_precisions": lc.location_precisions,
    }
    sentence = ""
    if layer.table is None or layer.verdict is None:
        entry.update({"count_table": None, "measures": None,
                      "verdict": {"code": "insufficient_data", "role": spec.role,
                                  "sentence": f"No conclusion can be drawn for {spec.what()}: "
                                              f"{layer.reason}.", "caveats": []}})
    else:
        # the evaluation decided once; this only words its Verdict
        v = render(layer.verdict, layer.table, what=spec.what(), time_unit="day",
                   caveat_words=LAYER_CAVEATS)
        sentence = v.sentence
        entry["count_table"] = layer.table.as_dict()
        entry["measures"] = layer.measures
        entry["verdict"] = verdict_dict(layer.verdict, v)
        entry["buffer_rings"] = [
            {"inner_m": r.inner_m, "outer_m": r.outer_m, **r.counts,
             "displacement_effect": r.displacement_effect.as_dict()}
            for r in layer.rings or ()]
    entry["distance_decay"] = {**layer.distance_decay.as_dict(),
                               "measured_from": "the target's edge"}
    entry["sppt"] = None if layer.sppt is None else sppt_dict(layer.sppt)
    entry["density_change"] = (
        {**layer.density_change, "note": "the density surfaces use the events as stored now, "
                                         "not the locked baseline"}
        if layer.density_uses_current_events else layer.density_change)
    entry["planning"] = layer.planning
    entry["warnings"] = [_layer_note(n, sentence) for n in layer.notes]
    if ev.time_context is not None:
        tc = time_context_dict(ev.time_context.layer(spec.key))
        entry["time_context"] = tc
        # beside the verdict: what the design would claim anyway
        if tc["placebo"]["found_effect"]:
            entry["warnings"].append(tc["sentences"]["placebo"])
        if tc["regression_to_mean"]["well_above"]:
            entry["warnings"].append(tc["sentences"]["regression_to_mean"])
        # the verdict's tests assume Poisson noise; month-to-month extra noise widens them
        if any((d.get("factor") or 0) > 1 and (d.get("p_value") or 1) < 0.05
               for area, d in tc["dispersion"].items() if area in ("target", "control")):
            entry["warnings"].append(tc["sentences"]["dispersion"])
    return entry


def verdict_dict(verdict: Verdict, said: Explanation) -> dict[str, Any]:
    """The verdict as a report shows it: code, sentence, caveats and what decided it."""
    tests = verdict.tests
    return {"code": verdict.code, "sentence": said.sentence, "caveats": list(said.caveats),
            "role": verdict.role, "harm_signal": verdict.harm_signal,
            "buffer": verdict.buffer,
            "decided_by": tests.get("decided_by"), "correction": tests.get("correction"),
            "displacement_size": tests.get("displacement_size"),
            "detectable_rise_pct": verdict.detectable_rise_pct,
            "detectable_fall_pct": said.detectable_fall_pct,
            "additive": said.additive}


def _layer_note(note: Note, sentence: str) -> str:
    p = note.params
    if note.code == "count_note":
        return str(p["text"])
    if note.code == "no_measures":
        return f"no measures computed: {p['reason']}"
    if note.code == "measure_not_computed":
        return f"{p['measure'].replace('_', ' ')} not computed: {p['reason']}"
    if note.code == "effect_not_tested":
        return f"{p['effect'].replace('_', ' ')} not tested: {p['reason']}"
    if note.code == "small_counts":
        cells = ", ".join(f"{a.replace('_', ' ')} {w} ({n})" for a, w, n in p["cells"])
        return (f"counts below {SMALL_COUNT} (too small for the normal approximation to be "
                f"reliable) in: {cells}")
    if note.code == "too_few_for_verdict":
        return f"too few events for a verdict: {sentence}"
    raise ValueError(f"unknown layer note {note.code!r}")


def sppt_dict(change: CellChange) -> dict[str, Any]:
    """The SPPT over H3 cells: global S and the cells whose share changed."""
    res = change.result
    changed = [{"cell": str(change.cell_ids[i]), "before": int(res.before[i]),
                "after": int(res.after[i]),
                "share_before": float(res.p_before[i]), "share_after": float(res.p_after[i]),
                "p_adjusted": float(res.p_adjusted[i]),
                "direction": "larger share after" if res.p_after[i] > res.p_before[i]
                else "smaller share after"}
               for i in change.changed.tolist()]
    return {"global_s": res.global_s, "global_s_robust": res.global_s_robust,
            "n_units": res.n_units, "n_units_with_events": res.n_units_robust,
            "changed_cells": changed, "method": res.method, "correction": res.correction,
            "reason": res.reason, "reading": SPPT_READING,
            "h3_resolution": change.h3_resolution, **sppt_too_few(res)}


def sppt_too_few(res: Any) -> dict[str, Any]:
    """``too_few`` and its words, when the SPPT result reports them (older results do not)."""
    too_few = getattr(res, "too_few", None)
    if too_few is None:
        return {}
    least = getattr(res, "min_unit_events", None)
    out: dict[str, Any] = {"too_few": bool(too_few), "min_unit_events": least}
    if too_few:
        need = (f": no single cell's change could reach significance after the correction "
                f"unless it held at least {least} events" if least is not None else "")
        out["sentence"] = f"Too few events to tell whether the pattern moved{need}."
    return out


# --------------------------------------------------------------------------- the calculator


def effect_dict(t: EffectTest) -> dict[str, Any]:
    """``{estimate, se, variance, z, p, ci, significant, alpha, reason}`` of a test."""
    ci = None if t.ci_low is None else [t.ci_low, t.ci_high]
    return {"estimate": t.estimate, "se": t.se, "variance": t.variance, "z": t.z,
            "p": t.p_value, "ci": ci, "significant": t.significant, "alpha": t.alpha,
            "reason": t.reason}


def displacement_summary_report(table: CountTable, *, alpha: float = 0.05,
                                harm_weight: float | None = None,
                                min_count: int | None = None, role: str = "outcome",
                                displacement_size: float = DEFAULT_DISPLACEMENT_SIZE
                                ) -> dict[str, Any]:
    """The calculator's report of one count table (see :func:`summary_dict`)."""
    return summary_dict(displacement_summary(table, alpha=alpha, harm_weight=harm_weight,
                                             min_count=min_count, role=role,
                                             displacement_size=displacement_size))


def summary_dict(s: DisplacementSummary) -> dict[str, Any]:
    """``sm``, ``bdm``, ``wdq``, ``tne``, ``wdd``, ``local_effect``,
    ``displacement_effect``, ``ratio_tests`` (local, displacement, net: the tests the
    verdict rests on), ``detectable_rise``, ``verdict``, ``counts``
    [, ``harm_weighted_wdd``], ``parameters`` and ``warnings``."""
    table, tests = s.table, s.measures
    v = render(s.verdict, table)
    out: dict[str, Any] = {
        "sm": tests["success_measure"],
        "bdm": tests["buffer_displacement_measure"],
        "wdq": tests["wdq"],
        "tne": tests["total_net_effect"],
        "wdd": effect_dict(s.wdd),
        "local_effect": effect_dict(s.local_effect),
        "displacement_effect": effect_dict(s.displacement_effect),
        "ratio_tests": {name: tests[f"{name}_ratio"] for name in ("local", "displacement", "net")},
        "detectable_rise": tests.get("detectable_rise"),
        "verdict": verdict_dict(s.verdict, v),
        "counts": table.as_dict(),
    }
    if s.harm_weighted is not None:
        out["harm_weighted_wdd"] = effect_dict(s.harm_weighted)
    out["parameters"] = _summary_parameters(s)
    out["warnings"] = _summary_warnings(out, s)
    return out


def _summary_warnings(out: Mapping[str, Any], s: DisplacementSummary) -> list[str]:
    warnings = []
    for key in ("sm", "bdm", "wdq", "tne"):
        if out[key].get("value") is None:
            warnings.append(f"{key} not computed: {out[key].get('reason')}")
    for key in ("wdd", "local_effect", "displacement_effect"):
        if out[key]["reason"]:
            warnings.append(f"{key} not tested: {out[key]['reason']}")
    if s.small_cells:
        warnings.append(f"counts below {SMALL_COUNT} in: "
                        f"{', '.join(f'{a} {p}' for a, p in s.small_cells)}; the normal "
                        "approximation is rough there")
    return warnings


def _summary_parameters(s: DisplacementSummary) -> dict[str, Any]:
    table = s.table
    return {
        "alpha": s.alpha,
        "time_weights": ({"before": table.before_length, "after": table.after_length}
                         if table.has_time_weights else None),
        "area_weights": ({a: getattr(table, f"{a}_area") for a in AREA_NAMES}
                         if table.has_area_weights else None),
        "harm_weight": s.harm_weight,
        "buffer_control": ("given" if table.has_buffer_control else
                           "absent: the control serves both comparisons, so its counts enter "
                           "the WDD variance with coefficient 4"),
        "verdict_min_count": s.measures["min_count"],
        "role": s.verdict.role,
        "displacement_size": s.measures.get("displacement_size"),
        "decided_by": ("ratio of rate ratios (Ta/Tb)/(Ca/Cb), Wald test on the log scale, for "
                       "the local, displacement and net effects, Holm-corrected over the three"),
        "correction": s.measures.get("correction"),
        "variance": "Poisson: the sum of the counts, each divided by its weight squared",
    }


# --------------------------------------------------------------------------- consequence watches

#: What each standard watch watches, in words.
WATCH_WORDS: Final = {"violence": "violence and sexual offences",
                      "weapons": "weapons possession offences",
                      "public_disorder": "public order offences",
                      "overdoses": "overdose call-outs"}


def watch_words(watch: Mapping[str, Any]) -> str:
    """``violence and sexual offences``; ``overdose call-outs (suspected heroin)``."""
    if watch.get("substance"):
        return f"overdose call-outs (suspected {watch['substance']})"
    return WATCH_WORDS.get(str(watch.get("name")), str(watch.get("name")))


def consequence_flags(watch: Mapping[str, Any]) -> list[str]:
    """One watch's rises in words, with its numbers (analysts): against the control, the
    relative change with interval and p; without one, rates per 30 days."""
    tests = watch.get("tests") or {}
    what = watch_words(watch)
    flags = []
    for wn in watch.get("rise_windows", []):
        controlled = tests.get(f"controlled_{wn}")
        if watch.get("comparison") == "control" and controlled:
            flags.append(f"{what} in the target and buffer {wn} the operation "
                         f"{relative(controlled, 'the control', verb=True)}")
            continue
        t = tests.get(f"before_vs_{wn}") or {}
        if t.get("rate_before") is None:
            continue
        flags.append(f"{what} in the target and buffer rose {wn} the operation, from "
                     f"{30 * t['rate_before']:.1f} to {30 * t['rate_after']:.1f} per 30 days "
                     f"with no control to compare ({p_text(t.get('p_value'))})")
    return flags


def consequence_flags_without_numbers(watch: Mapping[str, Any]) -> list[str]:
    """The same flags with no number: rates over known windows would give counts back."""
    against = " relative to the control" if watch.get("comparison") == "control" else ""
    return [f"{watch_words(watch)} in the target and buffer rose {wn} the operation{against}"
            for wn in watch.get("rise_windows", [])]


def consequence_watches_dict(result: Mapping[str, Any]) -> dict[str, Any]:
    """The consequence watches with a sentence each and the flags in words."""
    watches = []
    for w in result["watches"]:
        entry = dict(w)
        what = watch_words(w)
        if not w["watched"]:
            entry["sentence"] = f"Not watched: {what}: {w['reason']}."
        elif w.get("rise"):
            entry["flags"] = consequence_flags(w)
            entry["sentence"] = ("RISE flagged: " + "; ".join(entry["flags"]) + "."
                                 if entry["flags"] else f"RISE flagged: {what}.")
        else:
            against = ("against the control" if w.get("comparison") == "control"
                       else "no control comparison: the control recorded none before")
            entry["sentence"] = (f"No significant rise in {what} in the target and buffer "
                                 f"({against}).")
        if w.get("police_generated") and w.get("watched"):
            entry["note"] = ("weapons possession is police-generated: a rise may show more "
                             "searches rather than more weapons")
        watches.append(entry)
    flagged = [w for w in watches if w.get("rise")]
    return {"watches": watches, "flagged": list(result["flagged"]),
            "not_watched": list(result["not_watched"]),
            "flags": [f for w in flagged for f in w.get("flags", [])],
            "alpha": result["alpha"], "multiplicity": result["multiplicity"],
            "comparison_rule": result["comparison_rule"],
            "sentence": (f"Rise flagged in: {', '.join(watch_words(w) for w in flagged)}."
                         if flagged else
                         "No unintended-consequence watch flags a rise.")}


# --------------------------------------------------------------------------- the overdose watch

#: Verdict codes that claim overdose call-outs rose in the target or buffer.
_RISE_CODES: Final = ("increase", "harm_signal", "displacement_exceeds_reduction")


def overdose_watch_dict(watch: Mapping[str, Any], layers: list[dict[str, Any]]
                        ) -> dict[str, Any]:
    """The overdose watch with one ``statement`` beside the overdose layer's verdict.

    The watch and the layer's verdict test different things: the watch
    compares target + buffer call-outs after with before (against the
    control when its ``comparison`` is ``control``), each test at level α
    without correction; the verdict compares target, buffer and both
    together with the control and corrects for its three tests (Holm).
    When both exist the report says in one statement whether they agree,
    and if not, how they differ, so "RISE flagged" never stands unexplained
    beside "no significant change".
    """
    if not watch.get("available"):
        return dict(watch)
    out = dict(watch)
    out["flags"] = watch_flags(watch) if watch.get("rise") else []
    layer = _overdose_layer(watch, layers)
    if layer is None:
        return out
    code = layer["verdict"]["code"]
    net = (layer.get("measures") or {}).get("net_ratio")
    layer_rise = code in _RISE_CODES or bool(net and (net.get("direction") or 0) > 0)
    watch_rise = bool(watch.get("rise"))
    agrees = watch.get("agrees")
    if agrees is None:
        agrees = code != "insufficient_data" and watch_rise == layer_rise
        out["agrees"] = agrees
    out["statement"] = _watch_statement(watch, layer["key"], code, net, watch_rise, layer_rise,
                                        bool(agrees))
    return out


def watch_flags(watch: Mapping[str, Any]) -> list[str]:
    """The watch's rises in words: rates per 30 days (the windows differ in length), the
    ratio with its interval and p as reports write it; against the control when the watch
    is controlled."""
    tests = watch.get("tests") or {}
    conf = f"{100 * (1 - float(watch.get('alpha', 0.05))):g} %"
    flags = []
    for wn in ("during", "after"):
        controlled = tests.get(f"controlled_{wn}")
        if watch.get("comparison") == "control" and controlled:
            if (controlled.get("direction") or 0) > 0:
                flags.append(f"overdose call-outs in the target and buffer {wn} the operation "
                             f"{relative(controlled, 'the control', verb=True)}")
            continue
        t = tests.get(f"before_vs_{wn}")
        if not t or not t.get("rise_flag"):
            continue
        ratio = ("unbounded" if t.get("rate_ratio") is None
                 else f"{t['rate_ratio']:.2f}")
        ci = ("" if t.get("ci_low") is None else
              f", {conf} CI {t['ci_low']:.2f} to "
              f"{'unbounded' if t.get('ci_high') is None else format(t['ci_high'], '.2f')}")
        flags.append(f"overdose call-outs in the target and buffer rose {wn} the operation, "
                     f"from {30 * t['rate_before']:.1f} to {30 * t['rate_after']:.1f} per 30 "
                     f"days (rate ratio {ratio}{ci}, {p_text(t.get('p_value'))})")
    return flags


def _overdose_layer(watch: Mapping[str, Any], layers: list[dict[str, Any]]
                    ) -> dict[str, Any] | None:
    given = watch.get("layer_verdict") or {}
    for la in layers:
        if given and la["key"] == given.get("key"):
            return la
    matches = [la for la in layers if la.get("layer") == watch.get("layer")]
    whole = [la for la in matches if la.get("category") == "*"]
    found = whole or matches
    return found[0] if found else None


def _watch_test(watch: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    """What the watch tested, in words, and its most telling test."""
    tests = watch.get("tests") or {}
    controlled = watch.get("comparison") == "control"
    names = (("controlled_during", "controlled_after") if controlled
             else ("before_vs_during", "before_vs_after"))
    ran = [t for t in (tests.get(n) for n in names) if t and t.get("p_value") is not None]
    best = min(ran, key=lambda t: t["p_value"]) if ran else None
    how = ("target and buffer call-outs against the control's, during and after the "
           "operation" if controlled else
           "target and buffer call-outs during and after the operation with those before, "
           "with no control")
    return how, best


def _watch_statement(watch: Mapping[str, Any], key: str, code: str,
                     net: Mapping[str, Any] | None, watch_rise: bool, layer_rise: bool,
                     agrees: bool) -> str:
    alpha = float(watch.get("alpha", 0.05))
    how, best = _watch_test(watch)
    watch_p = f", {p_text(best['p_value'])}" if best else ""
    level = f"{100 * alpha:g} %"
    if code == "insufficient_data":
        return (f"The overdose watch {'flags a rise' if watch_rise else 'finds no significant rise'}"
                f" (it compares {how}{watch_p}); the {key} layer has too few call-outs for a "
                f"verdict of its own, so only the watch speaks.")
    net_text = ("" if not net or net.get("ratio") is None else
                f"; target and buffer together {relative(net, 'the control', verb=True)}")
    if agrees:
        said = ("overdose call-outs rose" if watch_rise else
                "no significant rise in overdose call-outs")
        return (f"The overdose watch and the {key} verdict ({code}) agree: {said} in the "
                f"target and buffer (watch{watch_p}{net_text}).")
    differ = (f"The watch compares {how}, at the {level} level without correction{watch_p}; "
              f"the verdict compares the target, the buffer and both together with the "
              f"control and corrects for its three tests (Holm){net_text}")
    if watch_rise:
        return (f"The overdose watch flags a rise that the {key} verdict ({code}) does not "
                f"claim, because they test differently. {differ}. Read the flag as a signal "
                f"to watch, not an established change.")
    return (f"The {key} verdict ({code}) finds a rise that the overdose watch does not flag, "
            f"because they test differently. {differ}.")
