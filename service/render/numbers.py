"""Numbers as people write them in a report: p-values, and no negative zero.

Light (standard library only), so the CLI's printers can use it without loading NumPy.
"""

from __future__ import annotations


def p_text(p: float | None) -> str:
    """A p-value as a report writes it: ``p < 0.001``, ``p = 0.004``, ``p = 0.03``."""
    if p is None:
        return "p not computable"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def plain(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, never ``-0`` (a rounded zero has no sign)."""
    text = f"{x:.{digits}g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
