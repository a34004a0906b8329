"""Disclosure control of ``GET /v1/profile`` on the synthetic town: dealing sites
only as the configured aggregate, and every count of a protected profile protected."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.settings import get_settings
from service.store import Store

MONTH = {"area": "boundary:beats", "start": "2019-01", "end": "2019-01"}


def _is_protected(v: Any) -> bool:
    return v == 0 or v == "<5" or (isinstance(v, int) and v >= 5 and v % 5 == 0)


def _shown_counts(p: dict[str, Any]) -> list[Any]:
    out = [p["events"], *p["trend"]["counts"]]
    if p["day_of_week"] is not None:
        out += p["day_of_week"]["counts"]
    return out + list(p["hour"] or [])


def test_dealing_sites_only_as_the_configured_aggregate(client: TestClient, keys,
                                                        town_store: Store,
                                                        monkeypatch) -> None:
    params = {"layer": "dealing_site", **MONTH}
    assert client.get("/v1/profile", headers=keys["partner"],
                      params={**params, "unit": "h3:6"}).status_code == 403
    analyst = client.get("/v1/profile", headers=keys["analyst"],
                         params={**params, "unit": "h3:6"}).json()
    assert analyst["repeat_locations"] is not None and analyst["withheld"] == []
    monkeypatch.setenv("REMAP_DISCLOSURE_RESTRICTED_H3_RESOLUTION", "6")
    get_settings.cache_clear()
    try:
        assert client.get("/v1/profile", headers=keys["partner"],
                          params={**params, "unit": "h3:7"}).status_code == 422
        r = client.get("/v1/profile", headers=keys["partner"], params={**params, "unit": "h3:6"})
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["repeat_locations"] is None and p["concentration"] is None and p["withheld"]
        assert all(_is_protected(v) for v in _shown_counts(p)), _shown_counts(p)
    finally:
        get_settings.cache_clear()


def test_ambulance_profile_counts_are_protected(client: TestClient, keys,
                                               town_store: Store) -> None:
    params = {"layer": "ambulance", "unit": "h3:8", **MONTH}
    exact = client.get("/v1/profile", headers=keys["analyst"], params=params).json()
    p = client.get("/v1/profile", headers=keys["viewer"], params=params).json()
    assert p["top_streets"] is None and p["concentration"] is None
    shown = _shown_counts(p)
    assert all(_is_protected(v) for v in shown), shown
    # protected, not merely copied: the analyst's exact figures are not all multiples of 5
    assert _shown_counts(exact) != shown
    assert exact["concentration"]["units"]["events"] == exact["events"]
