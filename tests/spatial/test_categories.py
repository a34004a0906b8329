"""Requested categories matched to a layer's stored spellings."""

from __future__ import annotations

import pytest

from spatial.categories import match_categories, suggest_categories
from spatial.errors import ParameterError

KNOWN = ["Anti-social behaviour", "Burglary", "Drugs", "Violence and sexual offences"]


def test_case_and_spacing_are_ignored_and_stored_spelling_returned() -> None:
    got = match_categories(["drugs", "ANTI-SOCIAL  behaviour", "Drugs"], KNOWN, layer="crime")
    assert got == ("Drugs", "Anti-social behaviour")


def test_an_exact_spelling_wins_over_a_case_variant() -> None:
    assert match_categories(["drugs"], ["Drugs", "drugs"], layer="x") == ("drugs",)
    assert match_categories(["DRUGS"], ["Drugs", "drugs"], layer="x") == ("Drugs",)


def test_unknown_category_names_field_layer_and_suggestions() -> None:
    with pytest.raises(ParameterError) as err:
        match_categories(["Drugz"], KNOWN, layer="crime")
    assert err.value.parameter == "category"
    msg = err.value.message
    assert "'Drugz'" in msg and "'crime'" in msg and "did you mean 'Drugs'" in msg
    assert "Burglary" in msg  # the known categories are listed


def test_suggestions_include_containing_names() -> None:
    assert suggest_categories("violence", KNOWN) == ["Violence and sexual offences"]
    assert suggest_categories("zzz", KNOWN) == []
