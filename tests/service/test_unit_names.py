"""Places by name: unit names resolved with suggestions, streets of cells by groupby."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from service.app.unit_names import (
    cell_names,
    containing_labels,
    main_streets,
    resolve_unit_ids,
    street_of,
)
from spatial.errors import ParameterError

FRAME = pd.DataFrame({"unit_id": ["36", "37", "40", "41", "42"],
                      "label": ["Darnall", "Attercliffe", "Park Hill", "Burngreave",
                                "Park Hill"]})


def test_ids_and_names_resolve_case_insensitively() -> None:
    assert resolve_unit_ids(FRAME, ["Darnall"], "target", "nh") == ["36"]
    assert resolve_unit_ids(FRAME, ["  darnall "], "target", "nh") == ["36"]
    assert resolve_unit_ids(FRAME, ["ATTERCLIFFE", "41"], "target", "nh") == ["37", "41"]
    # an id and the name of the same unit count once
    assert resolve_unit_ids(FRAME, ["36", "Darnall"], "target", "nh") == ["36"]


def test_a_near_miss_is_refused_with_suggestions() -> None:
    with pytest.raises(ParameterError) as err:
        resolve_unit_ids(FRAME, ["Darnal"], "target", "nh")
    assert err.value.parameter == "target"
    assert "'Darnal' is neither a unit id nor a unit name" in err.value.reason
    assert "did you mean 'Darnall'" in err.value.reason
    with pytest.raises(ParameterError) as err:
        resolve_unit_ids(FRAME, ["ATTERCLIF"], "area", "nh")
    assert "'Attercliffe'" in err.value.reason  # a near miss in another case still suggests


def test_nothing_close_points_to_the_listing() -> None:
    with pytest.raises(ParameterError) as err:
        resolve_unit_ids(FRAME, ["Zzyzx"], "control", "nh")
    assert "remap boundaries units nh" in err.value.reason


def test_an_ambiguous_name_lists_its_ids() -> None:
    with pytest.raises(ParameterError) as err:
        resolve_unit_ids(FRAME, ["park hill"], "target", "nh")
    assert "'park hill' names 2 units (ids 40, 42); give the id" in err.value.reason


def test_street_of_police_uk_location() -> None:
    assert street_of("On or near Staniforth Road") == "Staniforth Road"
    assert street_of("on or near  Main Street ") == "Main Street"
    assert street_of("Supermarket") == "Supermarket"
    assert street_of("On or near ") is None
    assert street_of(None) is None


def test_main_street_of_each_unit_by_hand() -> None:
    index = np.array([0, 0, 0, 1, 1, 1, 1, -1, -1, 2, 2])
    locations = ["On or near A Road", "On or near B Road", "On or near A Road",
                 "On or near C Street", "On or near D Street", None, "On or near D Street",
                 "On or near A Road", "On or near A Road",  # outside every unit: not counted
                 "On or near Z Lane", "On or near Y Lane"]  # a tie: alphabetical first
    streets, counts = main_streets(index, locations, 4)
    assert streets.tolist() == ["A Road", "D Street", "Y Lane", None]
    assert counts.tolist() == [2, 2, 1, 0]


def test_main_streets_of_no_events() -> None:
    streets, counts = main_streets(np.array([], dtype=int), [], 2)
    assert streets.tolist() == [None, None] and counts.tolist() == [0, 0]


def test_cells_take_the_name_of_the_unit_holding_their_centre() -> None:
    boundaries = gpd.GeoDataFrame({"label": ["West", "East"]},
                                  geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                                  crs=4326)
    cells = np.array([shapely.box(0.1, 0.1, 0.3, 0.3), shapely.box(1.5, 0.5, 1.7, 0.7),
                      shapely.box(0.8, 0.4, 1.4, 0.6),  # centre 1.1: East
                      shapely.box(5, 5, 6, 6),  # touches nothing
                      shapely.box(0.5, 0.9, 0.7, 1.5),  # centred outside, overlapping West
                      shapely.box(0.9, 0.95, 1.3, 1.2)], dtype=object)  # more over East
    assert containing_labels(cells, boundaries).tolist() == ["West", "East", "East", None,
                                                             "West", "East"]
    names = cell_names(np.array(["West", None, "East", None], dtype=object),
                       np.array(["A Road", "B Road", None, None], dtype=object))
    assert names.tolist() == ["West · near A Road", "near B Road", "East", None]
