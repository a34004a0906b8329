"""Numbers as people write them in a report: p-values, and no negative zero.

A small negative value rounded for print (``-0.004`` to two decimals) has lost
its sign's meaning: ``-0.00``, ``-0`` or ``WDQ −0`` reads as a signed finding
where there is none. Every helper here drops the sign of a rounded zero.

Light (standard library only), so the CLI's printers can use it without loading NumPy.
"""

from __future__ import annotations

import math


def p_text(p: float | None) -> str:
    """A p-value as a report writes it: ``p < 0.001``, ``p = 0.004``, ``p = 0.03``."""
    if p is None:
        return "p not computable"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def _unsigned_zero(text: str) -> str:
    """``text`` without its minus sign when it reads as zero (``-0``, ``-0.00``, ``-0e+00``)."""
    mantissa = text[1:].partition("e")[0]
    if text.startswith("-") and mantissa and set(mantissa) <= set("0.,"):
        return text[1:]
    return text


def plain(x: float, digits: int = 4, *, grouping: bool = False) -> str:
    """``x`` to ``digits`` significant digits, never ``-0`` (a rounded zero has no sign).

    ``grouping``: thousands separated by commas (``12,300``). NaN and infinities
    are written ``nan``, ``inf`` and ``-inf``: callers decide what they mean.
    """
    return _unsigned_zero(f"{x:{',' if grouping else ''}.{digits}g}")


def fixed(x: float, decimals: int = 2) -> str:
    """``x`` with ``decimals`` decimals, never ``-0.00``: ``fixed(-0.004, 2) == "0.00"``,
    ``fixed(-0.004, 3) == "-0.004"``."""
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    return _unsigned_zero(f"{x:.{decimals}f}")


def rounded(x: float, ndigits: int = 2) -> float:
    """``round(x, ndigits)`` as a float without a negative zero (``round(-0.004, 2)``
    is ``-0.0``, which JSON and ``str`` print as ``-0.0``); NaN and infinities as they are."""
    if not math.isfinite(x):
        return x
    return round(x, ndigits) + 0.0  # IEEE: -0.0 + 0.0 == +0.0
