"""Numbers as a report writes them."""

from __future__ import annotations

from service.render.numbers import p_text, plain


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
