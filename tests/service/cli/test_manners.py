"""CLI manners: categories in any case, unknown ones refused, layers list categories,
errors name the store, progress on stderr for long steps."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from service.cli import common
from service.store import Store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def crime(run) -> None:
    run("import", "policeuk", str(FIXTURES / "policeuk_small.csv"))


def _counted(r) -> int:
    assert r.exit_code == 0, r.output
    return int(json.loads(r.stdout)["parameters"]["events_counted"])


def test_category_matches_in_any_case(run, crime) -> None:
    exact = _counted(run("counts", "--layer", "crime", "--category", "Drugs", "--unit", "h3:7",
                         "--json"))
    lower = run("counts", "--layer", "crime", "--category", "drugs", "--unit", "h3:7", "--json")
    assert exact == _counted(lower) == 3
    assert json.loads(lower.stdout)["parameters"]["categories"] == ["Drugs"]


def test_unknown_category_is_an_error_with_suggestions_and_the_store(run, crime,
                                                                      store: Store) -> None:
    r = run("hotspots", "--layer", "crime", "--category", "drug", "--unit", "h3:7")
    assert r.exit_code == 2
    assert "category:" in r.stderr and "'drug'" in r.stderr and "'Drugs'" in r.stderr
    assert f"store: {common.redact_url(store.url)}" in r.stderr
    r = run("counts", "--layer", "crime", "--category", "Drugz", "--unit", "h3:7", "--json")
    err = json.loads(r.stdout)
    assert r.exit_code == 2 and err["details"]["parameter"] == "category"
    assert err["store"] == common.redact_url(store.url)


def test_layers_lists_categories_with_counts(run, crime) -> None:
    r = run("layers")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("crime") and "5 events" in lines[0]
    assert [ln.split(None, 1) for ln in lines[1:]] == [["3", "Drugs"],
                                                         ["2", "Anti-social behaviour"]]
    assert json.loads(run("layers", "--json").stdout)[0]["categories"] == {
        "Anti-social behaviour": 2, "Drugs": 3}


def test_password_is_never_shown() -> None:
    url = "postgresql+psycopg://remap:s3cr@t/x@db.force.local:5432/remap"
    assert common.redact_url(url) == "postgresql+psycopg://remap:***@db.force.local:5432/remap"
    assert common.redact_url("sqlite:///remap.db") == "sqlite:///remap.db"


def test_unreachable_store_is_one_line_naming_it_without_password(monkeypatch) -> None:
    from service.cli.app import main
    from service.settings import get_settings

    # nothing listens on port 9 (discard): the connection is refused at once
    monkeypatch.setenv("REMAP_DATABASE_URL",
                       "postgresql+psycopg://remap:hunter2@127.0.0.1:9/remap")
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(main, ["layers"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == common.EXIT_STORE_ERROR, r.output
    assert "store: postgresql+psycopg://remap:***@127.0.0.1:9/remap" in r.stderr
    assert "hunter2" not in r.output and "Traceback" not in r.output


def test_progress_goes_to_stderr_only_for_long_steps() -> None:
    @click.command()
    @click.option("--seconds", type=float)
    def slow(seconds: float) -> None:
        with common.progress("the slow step", after_s=0.2):
            time.sleep(seconds)
        click.echo('{"ok": true}')

    quick = CliRunner().invoke(slow, ["--seconds", "0"])
    assert quick.stderr == "" and json.loads(quick.stdout) == {"ok": True}
    long = CliRunner().invoke(slow, ["--seconds", "0.6"])
    assert json.loads(long.stdout) == {"ok": True}
    assert "the slow step (running for" in long.stderr
    assert "the slow step: done in 0." in long.stderr


def test_a_bad_setting_is_one_line_naming_it(monkeypatch) -> None:
    from service.cli.app import main
    from service.settings import get_settings

    monkeypatch.setenv("REMAP_BASEMAP", "https://tiles.force.local/{z}/{x}.png")
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(main, ["layers"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == common.EXIT_USER_ERROR, r.output
    assert r.stderr.startswith("error: settings: REMAP_BASEMAP: ") and "lacks {y}" in r.stderr
