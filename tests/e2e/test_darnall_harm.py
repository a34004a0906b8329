"""Harm-weighted evaluation of the Darnall pseudo-operation on the real police.uk data
(South Yorkshire, 2018-10..2019-02) with the Cambridge Crime Harm Index and the ONS Crime
Severity Score (issue 10, item 6 must-show).

The operation is set up as in :mod:`tests.e2e.test_darnall_operation` (its module
fixture, imported here). Skips with a message when ``../shared/data`` is absent.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from service.app.operations import operation_report
from service.store import Store
from spatial.evaluation.harm_index import POLICE_GENERATED, load_harm_table
from tests.e2e.test_darnall_operation import darnall  # noqa: F401 - the module fixture

pytestmark = pytest.mark.realdata

Darnall = tuple[Store, dict[str, Any], dict[str, Any], str]


@pytest.mark.parametrize("index", ["cchi", "css"])
def test_darnall_harm_weighted(darnall: Darnall, index: str) -> None:  # noqa: F811
    store, op, plain, _code = darnall
    rep = operation_report(store, op["id"], actor="test", harm_index=index)
    json.dumps(rep, allow_nan=False)
    harm = rep["harm"]
    table = load_harm_table(index)
    assert harm["index"] == index and harm["version"] == table.version
    assert harm["source"] == table.meta["source"] and harm["shipped"] is True

    # the police.uk categories of the Darnall events: every one is weighted or left out
    # with its reason; police-generated ones and anti-social behaviour are left out
    weights = {w["key"]: w["weight"] for w in harm["weights"]}
    excluded = {e["key"]: e["reason"] for e in harm["excluded"]}
    for cat, why in POLICE_GENERATED.items():
        assert excluded[f"crime/{cat}"] == why
    assert "not notifiable" in excluded["crime/Anti-social behaviour"]
    assert weights, "Darnall has weighted crime"
    for key, w in weights.items():
        assert w == table.categories[key.split("/", 1)[1]].weight
    assert not set(weights) & set(excluded)

    # harm per category uses the same (locked) counts as the per-layer evaluation
    by_cat = {c["key"]: c for c in harm["by_category"]}
    for layer in rep["layers"]:
        if layer["key"] in by_cat:
            assert by_cat[layer["key"]]["counts"] == layer["counts"], layer["key"]
    for area in ("target", "buffer", "control"):
        for window in ("before", "after"):
            want = sum(c["weight"] * c["counts"][area][window] for c in by_cat.values())
            assert harm["totals"][area][window] == pytest.approx(want, rel=1e-12)
    assert harm["totals"]["target"]["before"] > 0

    # the harm-weighted WDD is Σ w·WDD with variance Σ w²·Var over the categories
    hw = harm["harm_weighted_wdd"]
    assert hw is not None
    est = sum(c["weight"] * c["wdd"]["estimate"] for c in by_cat.values() if c["wdd"])
    var = sum(c["weight"] ** 2 * c["wdd"]["variance"] for c in by_cat.values() if c["wdd"])
    assert hw["total"]["estimate"] == pytest.approx(est, rel=1e-12)
    assert hw["total"]["variance"] == pytest.approx(var, rel=1e-12)
    assert math.isfinite(hw["total"]["p_value"])
    assert "per day" in hw["unit"]  # 92 days before, 59 after
    text = " ".join(harm["sentences"])
    assert "Harm in the target" in text and "per 30 days" in text
    assert "Left out as police-generated" in text

    # the report without a harm index is unchanged
    assert "harm" not in plain
    assert [la["verdict"]["code"] for la in rep["layers"]] == [
        la["verdict"]["code"] for la in plain["layers"]]

    print(f"\nDarnall pseudo-operation, harm with {index} ({table.version}; "
          f"{harm['unit'].split(' (')[0]}):")
    for c in by_cat.values():
        cnt = c["counts"]
        print(f"  {c['key']:<38} w {c['weight']:>9.4g}  T {cnt['target']['before']}->"
              f"{cnt['target']['after']}  B {cnt['buffer']['before']}->{cnt['buffer']['after']}"
              f"  C {cnt['control']['before']}->{cnt['control']['after']}")
    for line in harm["sentences"]:
        print("  " + line)
