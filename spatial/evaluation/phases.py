r"""Rolling (multi-phase) operations: each strike phase evaluated on its own, and the whole.

A rolling operation strikes several times ("timed at regular intervals"),
sometimes at different targets. Each phase ``k`` has a name, its own strike
window ``during_k`` and optionally its own target (with its own buffer and
control). The operation keeps one ``before`` and one ``after`` window.

Windows of each evaluation
--------------------------
============  ====================  ====================  ====================================
evaluation    before                during                after
============  ====================  ====================  ====================================
phase k < K   the operation's       ``during_k``          day after ``during_k`` ends to the
                                                          day before ``during_{k+1}`` starts
phase K       the operation's       ``during_K``          the operation's after window
cumulative    the operation's       first phase's start   the operation's after window
                                    to last phase's end
============  ====================  ====================  ====================================

Why these windows:

* **One before window for every phase.** The before window is the
  baseline the operation was chosen and locked on (the baseline lock covers
  it); a later phase compared with the weeks after an earlier strike would
  measure the change since that strike, and an earlier strike's effect
  would be counted as the later phase's baseline. Every phase is therefore
  read as "this phase's after period against the pre-operation level",
  which is what a tasking meeting asks phase by phase.
* **A phase's after window ends where the next phase starts,** so its
  after period is not contaminated by the next strike. The intervals
  between strikes are short, so a phase's verdict has less power than the
  cumulative one; the minimum detectable change is reported beside it.
  Phases must leave at least one day between them: a phase that runs into
  the next has no after period of its own.
* **The last phase's after window is the operation's,** as a single
  operation's is (a gap between the last strike and the after window is
  left out of both, as it is for one strike).
* **The cumulative evaluation** is the whole operation, exactly as a
  single operation with ``during`` = first strike to last strike
  (including the intervals between them).

Month-precision layers (police.uk) count the whole months whose first day
lies in a window (:mod:`spatial.evaluation.windows`): an interval between
strikes that holds no first day of a month holds no month, so such a layer
has no after period for that phase and its verdict reads
``insufficient_data`` with the reason. The time context
(:mod:`spatial.evaluation.time_context`) of every evaluation uses that
evaluation's windows: the year-earlier windows and the placebo follow the
phase's dates.

Multiplicity
------------
Within one evaluation, the verdict is :func:`spatial.evaluation.verdict.decide`
(three ratio tests, Holm). Across phases, the phase verdicts of one layer
are one family: Holm's correction runs over **all** the phases' tests
(3 × K; :func:`spatial.evaluation.verdict.decide_family`), so when nothing
happened in any phase the chance that any phase claims a change is at most
α. The cumulative verdict is the operation's primary, pre-specified answer
and keeps its own level α, as a single operation's does. Read together,
the chance of any false claim among the cumulative verdict and the phase
verdicts of one layer is at most 2α (Bonferroni over the two families).
Layers are separate questions, each with its own family, as in a single
operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.counting import EventArrays, MeasuredLayer
from spatial.evaluation.evaluate import evaluate_operation
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.results import LayerEvaluation, OperationEvaluation
from spatial.evaluation.sites import SiteRecords
from spatial.evaluation.verdict import decide_family
from spatial.evaluation.windows import Window, Windows

#: Most phases an operation may have. Each phase is a full evaluation (with its
#: time context), and each adds three tests to the Holm family of its layer: at
#: six phases the first Holm step is at α/18, so a phase needs about a 30 %
#: larger effect to be detected than alone; more phases would leave most of them
#: unable to detect anything.
MAX_PHASES: Final = 6

#: Operation-level caveat added to every phase verdict.
PHASE_CAVEAT: Final = "phase_of_rolling_operation"


@dataclass(frozen=True)
class PhaseSpec:
    """A strike phase as the definition gives it: a name and its strike window."""

    name: str
    start: date
    end: date


@dataclass(frozen=True)
class PhaseWindows:
    """One phase's evaluation windows (see the module's table).

    Attributes
    ----------
    index : int
        0-based position of the phase.
    name : str
    windows : Windows
        before (the operation's), during (the strike), after (to the next
        strike, or the operation's after window for the last phase).
    last : bool
    """

    index: int
    name: str
    windows: Windows
    last: bool

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "last": self.last,
                "windows": self.windows.as_dict()}


def check_phases(windows: Windows, phases: Sequence[PhaseSpec]) -> None:
    """Refuse phases that cannot be evaluated, naming the field (``phases.1.during.start``).

    Rules: at most :data:`MAX_PHASES`; names unique and non-empty; each
    window's end not before its start; each phase after the before window
    and before the after window; phases in time order, not overlapping and
    with at least one day between them (a phase's after period); an
    operation ``during`` window, when given, spanning exactly the first
    strike's start to the last strike's end.
    """
    if len(phases) > MAX_PHASES:
        raise ParameterError("phases", f"at most {MAX_PHASES} phases, got {len(phases)}")
    seen: dict[str, int] = {}
    for i, ph in enumerate(phases):
        where = f"phases.{i}"
        if not ph.name.strip():
            raise ParameterError(f"{where}.name", "a phase needs a name")
        if ph.name in seen:
            raise ParameterError(f"{where}.name", f"{ph.name!r} is already the name of phase "
                                                  f"{seen[ph.name]}")
        seen[ph.name] = i
        if ph.end < ph.start:
            raise ParameterError(f"{where}.during.end", f"ends {ph.end} before it starts "
                                                        f"{ph.start}")
        if ph.start <= windows.before.end:
            raise ParameterError(f"{where}.during.start",
                                 f"{ph.start} is not after the before window, which ends "
                                 f"{windows.before.end}")
        if ph.end >= windows.after.start:
            raise ParameterError(f"{where}.during.end",
                                 f"{ph.end} is not before the after window, which starts "
                                 f"{windows.after.start}")
        if i == 0:
            continue
        prev = phases[i - 1]
        if ph.start < prev.start:
            raise ParameterError(f"{where}.during.start",
                                 f"phases are out of order: {ph.start} is before phase {i - 1} "
                                 f"({prev.name!r}) starts on {prev.start}; list them in time "
                                 "order")
        if ph.start <= prev.end:
            raise ParameterError(f"{where}.during.start",
                                 f"overlaps phase {i - 1} ({prev.name!r}), which ends "
                                 f"{prev.end}")
        if ph.start == prev.end + timedelta(days=1):
            raise ParameterError(f"{where}.during.start",
                                 f"starts the day after phase {i - 1} ({prev.name!r}) ends, "
                                 "leaving that phase no after period of its own; leave at "
                                 "least one day between phases, or merge them")
    if phases and windows.during is not None:
        lo, hi = phases[0].start, phases[-1].end
        if (windows.during.start, windows.during.end) != (lo, hi):
            raise ParameterError("windows.during",
                                 f"with phases, the during window is the first strike's start "
                                 f"to the last strike's end ({lo}..{hi}); leave it out or give "
                                 "exactly that")


def phase_windows(windows: Windows, phases: Sequence[PhaseSpec]) -> list[PhaseWindows]:
    """Each phase's before, during and after windows (checked by :func:`check_phases`)."""
    check_phases(windows, phases)
    out = []
    for i, ph in enumerate(phases):
        last = i == len(phases) - 1
        after = (windows.after if last else
                 Window("after", ph.end + timedelta(days=1),
                        phases[i + 1].start - timedelta(days=1)))
        out.append(PhaseWindows(i, ph.name, Windows(before=windows.before,
                                                    during=Window("during", ph.start, ph.end),
                                                    after=after), last))
    return out


def cumulative_windows(windows: Windows, phases: Sequence[PhaseSpec]) -> Windows:
    """The whole operation: during from the first strike's start to the last's end."""
    check_phases(windows, phases)
    if not phases:
        return windows
    return Windows(before=windows.before, after=windows.after,
                   during=Window("during", phases[0].start, phases[-1].end))


@dataclass(frozen=True)
class PhaseEvaluation:
    """One phase's evaluation.

    Attributes
    ----------
    phase : PhaseWindows
    own_areas : bool
        The phase has its own target (buffer, control); otherwise the
        operation's areas.
    evaluation : OperationEvaluation
        With every layer's verdict decided in the phases' Holm family
        (:func:`~spatial.evaluation.verdict.decide_family`).
    """

    phase: PhaseWindows
    own_areas: bool
    evaluation: OperationEvaluation


@dataclass(frozen=True)
class PhasedEvaluation:
    """A rolling operation's evaluation: the whole operation and each phase.

    Attributes
    ----------
    cumulative : OperationEvaluation
        The whole operation (the primary verdict, at level α).
    phases : tuple of PhaseEvaluation
    parameters : dict
        ``max_phases``, ``correction`` (how multiplicity across phases is
        handled), ``windows_rule`` and ``alpha``.
    warnings : tuple of str
    """

    cumulative: OperationEvaluation
    phases: tuple[PhaseEvaluation, ...]
    parameters: Mapping[str, Any]
    warnings: tuple[str, ...] = ()


CORRECTION_TEXT: Final = (
    "within a phase, the verdict's three ratio tests; across phases, Holm's correction over "
    "all the phases' tests of a layer (3 x phases), so that with no effect in any phase at "
    "most alpha of operations see any phase claim a change; the cumulative verdict keeps its "
    "own level alpha (the primary answer), so a false claim anywhere among one layer's "
    "cumulative and phase verdicts has probability at most 2 alpha")
WINDOWS_TEXT: Final = (
    "every phase is compared with the operation's before window; a phase's after window runs "
    "from the day after its strike to the day before the next strike (the last phase: the "
    "operation's after window); the cumulative evaluation's during window runs from the first "
    "strike's start to the last strike's end")


def regroup_phase_verdicts(evaluations: Sequence[OperationEvaluation], alpha: float,
                           displacement_size: float, min_count: int | None
                           ) -> list[OperationEvaluation]:
    """The phases' evaluations with each layer's verdict decided over all phases' tests.

    Layers are matched by key; each layer's tables across phases form one
    Holm family (:func:`~spatial.evaluation.verdict.decide_family`).
    """
    keys = [la.counts.spec.key for la in evaluations[0].layers] if evaluations else []
    new_layers: list[list[LayerEvaluation]] = [list(ev.layers) for ev in evaluations]
    for key in keys:
        rows = [next((la for la in ev.layers if la.counts.spec.key == key), None)
                for ev in evaluations]
        tables = [None if la is None or la.verdict is None else la.table for la in rows]
        caveats = [(*(la.caveats if la is not None else ()), PHASE_CAVEAT) for la in rows]
        role = next((la.counts.spec.role for la in rows if la is not None), "outcome")
        verdicts = decide_family(tables, alpha=alpha, min_count=min_count, caveats=caveats,
                                 role=role, displacement_size=displacement_size)
        for i, (la, v) in enumerate(zip(rows, verdicts, strict=True)):
            if la is None or v is None:
                continue
            idx = next(k for k, x in enumerate(new_layers[i]) if x.counts.spec.key == key)
            new_layers[i][idx] = replace(la, verdict=v, verdict_code=v.code, measures=v.tests,
                                         caveats=v.caveats)
    return [replace(ev, layers=tuple(new_layers[i])) for i, ev in enumerate(evaluations)]


def month_overlap_warnings(pws: Sequence[PhaseWindows]) -> list[str]:
    """Warnings where a phase's after window, read in whole months, holds the month in which
    the next strike starts: month-precision events of that strike would count as this
    phase's after period."""
    out = []
    for pw, nxt in zip(pws, pws[1:], strict=False):
        start = nxt.windows.during
        assert start is not None
        month = (start.start.year, start.start.month)
        if month in pw.windows.after.whole_months():
            out.append(f"month-precision layers: phase {pw.index} ({pw.name})'s after window "
                       f"holds {date(*month, 1):%b %Y}, the month in which phase {nxt.index} "
                       f"({nxt.name}) strikes, so events of that strike dated only to the "
                       "month count as this phase's after period")
    return out


def evaluate_phases(events: EventArrays, areas: OperationAreas, windows: Windows,
                    phases: Sequence[PhaseSpec], specs: Sequence[MeasuredLayer], *,
                    phase_areas: Sequence[OperationAreas | None] | None = None,
                    phase_events: Sequence[EventArrays | None] | None = None,
                    options: EvaluationOptions | None = None,
                    sites: SiteRecords | None = None,
                    locked: Mapping[str, Any] | None = None,
                    caveats: Sequence[str] = (),
                    coverage: Mapping[str, date | None] | None = None) -> PhasedEvaluation:
    """Evaluate a rolling operation: the whole operation and each phase.

    Every evaluation is :func:`spatial.evaluation.evaluate.evaluate_operation`
    on the windows of the module's table; the phases' verdicts are then
    re-decided as one Holm family per layer (:func:`regroup_phase_verdicts`).

    Parameters
    ----------
    events : EventArrays
        Events of the operation's areas, from the earliest day any time
        context needs to the after window's end.
    areas : OperationAreas
        The operation's areas (the cumulative evaluation's, and every
        phase's without its own).
    windows : Windows
        The operation's before and after windows (its during window, if
        any, must span the strikes).
    phases : sequence of PhaseSpec
        In time order, at most :data:`MAX_PHASES`.
    specs : sequence of MeasuredLayer
    phase_areas : sequence of OperationAreas or None, optional
        A phase's own areas (``None``: the operation's).
    phase_events : sequence of EventArrays or None, optional
        Events for a phase with its own areas (``None``: ``events``).
    options, sites, caveats, coverage
        As :func:`~spatial.evaluation.evaluate.evaluate_operation`.
    locked : mapping, optional
        The operation's baseline lock: used by the cumulative evaluation and
        by phases on the operation's areas (the before window is the same);
        a phase with its own areas uses the events as stored now, and a
        warning says so.

    Returns
    -------
    PhasedEvaluation
    """
    opts = options or EvaluationOptions()
    if not phases:
        raise ParameterError("phases", "give at least one phase")
    pws = phase_windows(windows, phases)
    own = list(phase_areas) if phase_areas is not None else [None] * len(phases)
    evs = list(phase_events) if phase_events is not None else [None] * len(phases)
    if len(own) != len(phases) or len(evs) != len(phases):
        raise ParameterError("phase_areas", "give one entry per phase")
    cumulative = evaluate_operation(events, areas, cumulative_windows(windows, phases), specs,
                                    options=opts, sites=sites, locked=locked, caveats=caveats,
                                    coverage=coverage)
    warnings = month_overlap_warnings(pws)
    singles = []
    for pw, pa, pe in zip(pws, own, evs, strict=True):
        if pa is not None and locked is not None:
            warnings.append(f"phase {pw.index} ({pw.name}) has its own target: the baseline "
                            "lock covers the operation's areas only, so its before counts are "
                            "the events as stored now")
        singles.append(evaluate_operation(
            pe if pe is not None else events, pa if pa is not None else areas, pw.windows,
            specs, options=opts, sites=sites, locked=locked if pa is None else None,
            caveats=caveats, coverage=coverage))
    regrouped = regroup_phase_verdicts(singles, opts.alpha, opts.displacement_size,
                                       opts.min_count)
    phases_out = tuple(PhaseEvaluation(pw, pa is not None, ev)
                       for pw, pa, ev in zip(pws, own, regrouped, strict=True))
    params = {"phases": len(phases), "max_phases": MAX_PHASES, "alpha": opts.alpha,
              "correction": CORRECTION_TEXT, "windows_rule": WINDOWS_TEXT,
              "phase_windows": [pw.as_dict() for pw in pws]}
    return PhasedEvaluation(cumulative, phases_out, params, tuple(warnings))
