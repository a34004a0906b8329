"""Unintended-consequence watches: did harm the operation did not aim at rise around it?

A closure can push dealers into turf disputes (violence, weapons), draw
crowds or unrest (public disorder), and make supply and purity unpredictable
(overdoses). Each watch asks the overdose watch's question
(:func:`spatial.evaluation.overdose_watch.rise_watch`) of its own events:
did they rise in the target and buffer together, during or after the
operation, relative to the control? The test is the ratio of rate ratios
against the control (``comparison = "control"``), or, when the control
recorded none of those events before, the uncontrolled exact rate test
(``comparison = "none"``); ``rise_windows`` names the windows that rose.

Watches (:data:`DEFAULT_WATCHES`): ``violence`` (police.uk *Violence and
sexual offences*), ``weapons`` (*Possession of weapons*, police-generated:
a rise may be more searches), ``public_disorder`` (*Public order*) and
``overdoses`` (every ambulance call-out), and one ``overdoses: SUBSTANCE``
watch per suspected substance when the ambulance layer records one
(``suspected_substance``). A watch whose layer or category the store does
not hold is listed as not watched, with the reason, never as "no rise".

Multiplicity
------------
Each watch is a screen that errs towards flagging, as the overdose watch
does: each of its two windows is tested at two-sided level α without
correction, and only a rise flags, so with no change a watch flags in at
most about α of operations (two one-sided tails of α/2). Across the W
watches of an operation no correction is made either: with no change
anywhere, the chance that at least one watch flags is at most W·α (about
1 − (1 − α)^W when they are independent: 26 % for six watches at α = 0.05).
A flag is a signal to look, not an established change; the verdicts of the
evaluated layers (Holm-corrected) are what establish changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.count_table import check_alpha
from spatial.evaluation.counting import EventArrays, MeasuredLayer, place_events
from spatial.evaluation.overdose_watch import rise_watch
from spatial.evaluation.windows import Windows


@dataclass(frozen=True)
class WatchSpec:
    """One consequence to watch.

    Attributes
    ----------
    name : str
        ``violence``, ``weapons``, ``public_disorder``, ``overdoses`` or
        ``overdoses: SUBSTANCE``.
    layer, category : str
        The events watched (``category`` ``"*"``: every category).
    substance : str or None
        Only events whose suspected substance is this (ambulance layer).
    police_generated : bool
        Counts that rise when police look harder (weapons possession).
    """

    name: str
    layer: str
    category: str
    substance: str | None = None
    police_generated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layer": self.layer, "category": self.category,
                "substance": self.substance, "police_generated": self.police_generated}


#: The substance attribute of an ambulance call-out (the synthetic town's, and the
#: key a force's import keeps).
SUBSTANCE_ATTRIBUTE: Final = "suspected_substance"

#: The standard watches (before substances are added).
DEFAULT_WATCHES: Final = (
    WatchSpec("violence", "crime", "Violence and sexual offences"),
    WatchSpec("weapons", "crime", "Possession of weapons", police_generated=True),
    WatchSpec("public_disorder", "crime", "Public order"),
    WatchSpec("overdoses", "ambulance", "*"),
)

MULTIPLICITY: Final = (
    "each watch tests its during and after windows at two-sided level alpha without "
    "correction and flags only a rise, so with no change a watch flags in at most about "
    "alpha of operations; no correction across watches either, so with W watches at least "
    "one false flag has probability up to W x alpha: a watch is a screen that errs towards "
    "flagging, and a flag is a signal to look, not an established change")


def default_watches(overdose_layer: str = "ambulance",
                    substances: Sequence[str] = ()) -> list[WatchSpec]:
    """:data:`DEFAULT_WATCHES` (overdoses on ``overdose_layer``) and one overdose watch per
    substance, in sorted order."""
    out = [w if w.name != "overdoses" else WatchSpec("overdoses", overdose_layer, "*")
           for w in DEFAULT_WATCHES]
    out += [WatchSpec(f"overdoses: {s}", overdose_layer, "*", substance=s)
            for s in sorted({str(s) for s in substances})]
    return out


def consequence_watches(events: EventArrays, areas: OperationAreas, windows: Windows,
                        watches: Sequence[WatchSpec], *,
                        held: Mapping[str, Sequence[str] | None],
                        substance: npt.ArrayLike | None = None,
                        alpha: float = 0.05,
                        locked_before: Mapping[str, Mapping[str, int]] | None = None
                        ) -> dict[str, Any]:
    """Evaluate each consequence watch on ``events`` around the operation.

    Parameters
    ----------
    events : EventArrays
        Events of the watched layers (any window; placed here).
    areas : OperationAreas
        Must have a control.
    windows : Windows
    watches : sequence of WatchSpec
    held : mapping of layer to its categories
        What the store holds (``None`` or absent: the layer is not held),
        so that a watch without data is "not watched", not "no rise".
    substance : array-like of str or None, optional
        Each event's suspected substance (``None`` where unknown), aligned
        with ``events``; required for a watch with a ``substance``.
    alpha : float
        Two-sided level of each watch's tests (no correction: a screen).
    locked_before : mapping of watch name to ``{"target": n, "buffer": n}``, optional
        Locked before counts (the overdose watch's baseline lock).

    Returns
    -------
    dict
        ``watches`` (one entry per watch: ``name``, ``watched``, the
        :func:`~spatial.evaluation.overdose_watch.rise_watch` fields or a
        ``reason``), ``flagged`` (names with a rise), ``not_watched``,
        ``alpha`` and ``multiplicity``.
    """
    check_alpha(alpha)
    if areas.control is None:
        raise ParameterError("control", "a consequence watch needs a control area")
    subs = None
    if substance is not None:
        subs = np.asarray(substance, dtype=object)
        if subs.shape != (len(events),):
            raise ParameterError("substance", "give one substance per event")
    placed = place_events(events, areas, windows)
    # each distinct substance value folded once, not every event's per watch
    sub_codes, sub_folded = _folded(subs) if subs is not None else (None, [])
    out = []
    for w in watches:
        cats = held.get(w.layer)
        base = w.as_dict()
        if cats is None:
            out.append({**base, "watched": False,
                        "reason": f"no data: the store holds no '{w.layer}' events"})
            continue
        if w.category != "*" and w.category not in set(cats):
            out.append({**base, "watched": False,
                        "reason": f"no data: the '{w.layer}' layer holds no "
                                  f"'{w.category}' events"})
            continue
        mask = None
        if w.substance is not None:
            if subs is None:
                out.append({**base, "watched": False,
                            "reason": "no data: no suspected substance is recorded"})
                continue
            assert sub_codes is not None
            wanted = w.substance.casefold()
            hit = np.array([f == wanted for f in sub_folded] + [False], dtype=bool)
            mask = hit[sub_codes]  # code -1 (no value) takes the last entry: False
        spec = MeasuredLayer(w.layer, w.category, "outcome")
        res = rise_watch(events, placed, windows, spec, alpha=alpha, mask=mask,
                         locked_before=(locked_before or {}).get(w.name),
                         empty_reason="no such events in the areas in any window",
                         noun="events")
        out.append({**base, "watched": bool(res["available"]), **res})
    return {"watches": out,
            "flagged": [w["name"] for w in out if w.get("rise")],
            "not_watched": [w["name"] for w in out if not w["watched"]],
            "alpha": alpha, "multiplicity": MULTIPLICITY,
            "comparison_rule": ("the ratio of rate ratios of target + buffer against the "
                                "control (the net test of the verdict), or the exact rate test "
                                "without a control when the control recorded none before")}


def _folded(values: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Each value's index into the distinct values (``-1`` for a missing one: ``None``,
    NaN, NA) and those values as casefolded text: what
    ``Series(values).astype("string").str.casefold()`` gives each event, once per
    distinct value."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    if all(isinstance(v, str) for v in uniq):
        return np.asarray(codes, dtype=np.intp), [v.casefold() for v in uniq]
    # other objects (numbers: 1, 1.0 and True hash alike) are converted event by event
    text = pd.Series(values, dtype=object).astype("string").str.casefold()
    text_codes, text_uniq = pd.factorize(text, use_na_sentinel=True)
    return np.asarray(text_codes, dtype=np.intp), [str(v) for v in text_uniq]


def simulated_flag_rate(rng: np.random.Generator, runs: int, *, before: float,
                        control_before: float, rise: float = 1.0, trend: float = 1.0,
                        alpha: float = 0.05) -> float:
    """Share of simulated operations in which one watch flags a rise.

    Poisson counts: target + buffer ``before`` expected in each of the three
    windows (lengths 90, 14 and 90 days scaled), times ``trend`` (shared with
    the control) and ``rise`` (the watched area only) during and after; the
    control ``control_before``. Uses :func:`~spatial.evaluation.overdose_watch.rise_tests`,
    the watch's own decision.
    """
    from spatial.evaluation.overdose_watch import rise_tests

    lengths = {"before": 90.0, "during": 14.0, "after": 90.0}
    flagged = 0
    for _ in range(runs):
        total = {wn: int(rng.poisson(before * lengths[wn] / 90.0
                                     * (1.0 if wn == "before" else trend * rise)))
                 for wn in lengths}
        control = {wn: int(rng.poisson(control_before * lengths[wn] / 90.0
                                       * (1.0 if wn == "before" else trend)))
                   for wn in lengths}
        _, rises, _ = rise_tests(total, control, {k: v for k, v in lengths.items()}, alpha)
        flagged += bool(rises)
    return flagged / runs
