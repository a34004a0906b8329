"""Unintended-consequence watches (issue 12 item 5): a planted rise is flagged, no rise is
flagged at about alpha, and a watch without data says so rather than "no rise"."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.consequence_watch import (
    DEFAULT_WATCHES,
    consequence_watches,
    default_watches,
    simulated_flag_rate,
)
from spatial.evaluation.counting import EventArrays
from spatial.evaluation.windows import Window, Windows
from spatial.place import crs
from tests.spatial.evaluation.scenes import E0, N0, make_areas

WINDOWS = Windows(before=Window("before", date(2019, 1, 1), date(2019, 3, 31)),
                  during=Window("during", date(2019, 4, 1), date(2019, 4, 14)),
                  after=Window("after", date(2019, 4, 15), date(2019, 7, 13)))


def _areas():  # noqa: ANN202
    return make_areas()


def _events(spec: list[tuple[str, str, float, float, str, int, str | None]]
            ) -> tuple[EventArrays, list[str | None]]:
    """(layer, category, x, y, day, n, substance) rows to n identical events each."""
    rows = [r for r in spec for _ in range(r[5])]
    n = len(rows)
    x = np.array([E0 + r[2] for r in rows], dtype=float)
    y = np.array([N0 + r[3] for r in rows], dtype=float)
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    t = np.array([np.datetime64(r[4], "ns") for r in rows], dtype="datetime64[ns]")
    obj = lambda i: np.array([r[i] for r in rows], dtype=object)  # noqa: E731
    ev = EventArrays(x=x, y=y, lon=lon, lat=lat, time=t, layer=obj(0),
                     category=obj(1), time_precision=np.full(n, "day", dtype=object),
                     location_precision=np.full(n, "exact", dtype=object))
    return ev, [r[6] for r in rows]


def test_a_planted_rise_is_flagged_and_no_rise_is_not() -> None:
    v = "Violence and sexual offences"
    ev, subs = _events([
        ("crime", v, 0, 0, "2019-02-01", 40, None),     # target before
        ("crime", v, 0, 0, "2019-05-01", 90, None),     # target after: rise
        ("crime", v, 2000, 0, "2019-02-01", 80, None),    # control before
        ("crime", v, 2000, 0, "2019-05-01", 80, None),    # control after: flat
        ("crime", "Public order", 0, 0, "2019-02-01", 30, None),
        ("crime", "Public order", 0, 0, "2019-05-01", 30, None),
        ("crime", "Public order", 2000, 0, "2019-02-01", 60, None),
        ("crime", "Public order", 2000, 0, "2019-05-01", 60, None),
        ("ambulance", "Suspected overdose", 0, 0, "2019-02-01", 10, "heroin"),
        ("ambulance", "Suspected overdose", 0, 0, "2019-05-01", 40, "heroin"),
        ("ambulance", "Suspected overdose", 2000, 0, "2019-02-01", 20, "heroin"),
        ("ambulance", "Suspected overdose", 2000, 0, "2019-05-01", 20, "heroin"),
        ("ambulance", "Suspected overdose", 0, 0, "2019-02-01", 20, "cocaine"),
        ("ambulance", "Suspected overdose", 0, 0, "2019-05-01", 20, "cocaine"),
        ("ambulance", "Suspected overdose", 2000, 0, "2019-02-01", 20, "cocaine"),
        ("ambulance", "Suspected overdose", 2000, 0, "2019-05-01", 20, "cocaine"),
    ])
    held = {"crime": [v, "Public order", "Drugs"], "ambulance": ["Suspected overdose"]}
    out = consequence_watches(ev, _areas(), WINDOWS, default_watches("ambulance",
                                                                     ["heroin", "cocaine"]),
                              held=held, substance=subs)
    by = {w["name"]: w for w in out["watches"]}
    assert set(out["flagged"]) == {"violence", "overdoses", "overdoses: heroin"}
    assert by["violence"]["comparison"] == "control"
    assert by["violence"]["rise_windows"] == ["after"]
    assert by["violence"]["counts"]["target"] == {"before": 40, "during": 0, "after": 90}
    # the test is the net ratio of rate ratios: (90/40) / (80/80)
    assert by["violence"]["tests"]["controlled_after"]["ratio"] == pytest.approx(90 / 40)
    assert not by["public_disorder"]["rise"] and by["public_disorder"]["watched"]
    assert not by["overdoses: cocaine"]["rise"]
    assert by["overdoses: heroin"]["counts"]["target"]["after"] == 40
    # no 'Possession of weapons' in the store: not watched, not "no rise"
    assert not by["weapons"]["watched"] and "no data" in by["weapons"]["reason"]
    assert out["not_watched"] == ["weapons"]
    assert "W x alpha" in out["multiplicity"]


def test_watches_without_a_layer_are_not_watched() -> None:
    ev, _ = _events([("crime", "Public order", 0, 0, "2019-02-01", 3, None)])
    out = consequence_watches(ev, _areas(), WINDOWS, list(DEFAULT_WATCHES),
                              held={"crime": ["Public order"]})
    by = {w["name"]: w for w in out["watches"]}
    assert not by["overdoses"]["watched"] and "no 'ambulance' events" in by["overdoses"]["reason"]
    assert by["public_disorder"]["watched"] and by["public_disorder"]["comparison"] == "none"
    subs = consequence_watches(ev, _areas(), WINDOWS, default_watches("ambulance", ["x"]),
                               held={"crime": ["Public order"], "ambulance": ["Suspected"]})
    assert not {w["name"]: w for w in subs["watches"]}["overdoses: x"]["watched"]
    with pytest.raises(ParameterError):
        consequence_watches(ev, _areas(), WINDOWS, list(DEFAULT_WATCHES), held={},
                            substance=["a", "b"])


@pytest.mark.parametrize(("before", "control", "trend"), [(60, 240, 1.2), (200, 800, 0.8)])
def test_null_watch_flags_at_about_alpha(before: float, control: float, trend: float) -> None:
    rate = simulated_flag_rate(np.random.default_rng(11), 1500, before=before,
                               control_before=control, trend=trend)
    print(f"\nno rise, {before}:{control}, trend x{trend}: flagged in {rate:.3f}")
    # stated: at most about alpha (0.05); 1500 runs: Monte Carlo SE about 0.006
    assert rate <= 0.06


def test_a_doubling_is_flagged() -> None:
    rate = simulated_flag_rate(np.random.default_rng(12), 500, before=60, control_before=240,
                               rise=2.0, trend=1.2)
    assert rate >= 0.9
