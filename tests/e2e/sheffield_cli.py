"""A CLI on a store of real South Yorkshire police.uk months and the Sheffield
neighbourhoods, shared by the real-data CLI tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.app.importer import import_boundaries, import_events
from service.cli import main
from service.settings import get_settings
from service.store import Store


def policeuk_files(shared: Path, months: Sequence[str]) -> list[Path]:
    return [shared / "policeuk" / f"{m}-south-yorkshire-street.csv" for m in months]


def sheffield_cli(shared: Path, folder: Path, months: Sequence[str]) -> Iterator[CliRunner]:
    """Yield a CliRunner whose ``remap`` uses a new store in ``folder``."""
    url = f"sqlite:///{folder / 'remap.db'}"
    store = Store(url)
    import_events(store, [(f.name, f) for f in policeuk_files(shared, months)],
                  fmt="policeuk", layer="crime")
    path = shared / "boundaries" / "sheffield" / "sheffield_nhood.geojson"
    import_boundaries(store, path, file_name=path.name, name="sheffield_nhood",
                      id_field="nhood_code", label_field="nhood_name")
    store.dispose()
    mp = pytest.MonkeyPatch()
    mp.setenv("REMAP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield CliRunner()
    finally:
        mp.undo()
        get_settings.cache_clear()


def run_cli(cli: CliRunner, *args: str) -> str:
    """``remap ARGS``'s stdout; progress notices go to stderr."""
    r = cli.invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout
