"""The page of a tasking pack: a map and tables, self-contained, for A4 print.

Rendered from ``templates/pack.html`` (autoescaped); the map is a whole page
of its own, escaped into the ``srcdoc`` of a sandboxed frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from service.render.html import Section, render


def pack_page(*, title: str, subtitle: str, map_html: str, sections: Sequence[Section],
              caveats: Sequence[str], parameters: dict[str, Any]) -> str:
    """One self-contained page: the map (inline, offline) and the tables, A4 print CSS."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render("pack.html", title=title, subtitle=subtitle, made=made, map_html=map_html,
                  sections=sections, caveats=caveats, parameters=parameters)
