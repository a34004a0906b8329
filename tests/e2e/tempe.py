"""Tempe's opioid overdose call-outs (../shared/data/ems), as the e2e tests import them."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app.importer import import_events
from service.store import Store
from spatial.io.mapping import ColumnMapping


def tempe_csv(shared_data: Path) -> Path:
    """The file, or a skip when the shared data is not on this machine."""
    path = shared_data / "ems" / "tempe_opioid_calls.csv"
    if not path.is_file():
        pytest.skip(f"the Tempe EMS calls are not at {path}")
    return path


def import_tempe(store: Store, path: Path) -> None:
    """Every call into layer ``ambulance``: day dates, positions rounded by the city."""
    import_events(store, [(path.name, path)], fmt="csv", layer="ambulance",
                  mapping=ColumnMapping.parse("time=incident_date,lon=longitude,lat=latitude"),
                  area_of_interest=None, location_precision="rounded", na_values=("NA",),
                  category_default="suspected opioid overdose", actor="test")
