"""Numbers as a report writes them."""

from __future__ import annotations

import math

import pytest

from service.render.numbers import fixed, p_text, plain, rounded


def test_p_values_as_people_write_them() -> None:
    assert p_text(2.29e-05) == "p < 0.001"
    assert p_text(0.0029) == "p = 0.003"
    assert p_text(0.0312) == "p = 0.03"
    assert p_text(0.9) == "p = 0.90"
    assert p_text(None) == "p not computable"


def test_a_rounded_zero_has_no_sign() -> None:
    assert plain(-0.0) == "0" and plain(-1e-9) == "-1e-09" and plain(-0.00001, 2) == "-1e-05"
    assert plain(-0.83) == "-0.83" and plain(0.0) == "0"
    assert plain(-0.00004, 1) == "-4e-05"


@pytest.mark.parametrize("x", [-0.004, -0.0, -1e-12, -0.0049])
def test_small_negatives_never_print_as_negative_zero(x: float) -> None:
    # fixed point at every precision that rounds x to zero
    zeros = {0: "0", 1: "0.0", 2: "0.00"}
    for decimals, text in zeros.items():
        assert fixed(x, decimals) == text, (x, decimals)
    # significant digits keep a non-zero value's sign, and drop a zero's
    for digits in (1, 2, 3, 4, 6):
        assert plain(x, digits) == ("0" if x == 0 else f"{x:.{digits}g}")
        assert plain(x, digits, grouping=True) == ("0" if x == 0 else f"{x:,.{digits}g}")
    assert str(rounded(x, 2)) == "0.0" and str(rounded(x, 0)) == "0.0"


def test_fixed_and_rounded_keep_real_signs() -> None:
    assert fixed(-0.004, 3) == "-0.004" and fixed(-0.005, 2) == "-0.01"
    assert fixed(-0.0049, 3) == "-0.005" and fixed(-12345.678, 1) == "-12345.7"
    assert fixed(0.004, 2) == "0.00" and fixed(2.5, 0) == "2"
    assert rounded(-0.006, 2) == -0.01 and rounded(1.234, 1) == 1.2
    assert plain(-1234.5, 3, grouping=True) == "-1.23e+03"
    assert plain(-0.0, 3, grouping=True) == "0" and plain(-999.4, 3, grouping=True) == "-999"
    # NaN and infinities are left to the caller, with their sign
    assert fixed(float("-inf"), 2) == "-inf" and plain(float("nan")) == "nan"
    assert math.isnan(rounded(float("nan"))) and rounded(float("-inf")) == float("-inf")
    with pytest.raises(ValueError):
        fixed(1.0, -1)


def test_a_flat_difference_surface_has_no_signed_zero_ticks() -> None:
    import numpy as np

    from service.render.density_layer import _density_legend
    from service.render.map_inputs import DensityGrid

    grid = DensityGrid(values=np.zeros((3, 4)), bounds=(0.0, 0.0, 200.0, 150.0), epsg=27700,
                       diverging=True)
    legend = str(_density_legend(grid, 0.0))
    assert "<span>0</span>" in legend and "−0" not in legend and "+0" not in legend
    assert "<span>−2.50</span>" in str(_density_legend(grid, 2.5))
