"""Where remap's own HTML pages are made: Jinja2 templates with autoescaping on.

Every page remap assembles (the tasking packs), and every piece of HTML in its
maps (tooltips, legends, the title, parameters and caveat boxes), is a template under
``service/render/templates/`` rendered by the one :data:`ENV` here, with
``autoescape=True``: every value from a request or the store is escaped
where it is placed, and no value is ever rendered as a template. Maps are
folium pages made by :mod:`service.render.map_base` (see :mod:`service.render.safe_html`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from service.render.numbers import plain


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Verdict:
    key: str
    role: str
    code: str
    sentence: str


@dataclass(frozen=True)
class Section:
    """One section of a pack: a heading, then verdicts, a table and a paragraph.

    ``figure`` is markup made by one of remap's own autoescaped templates
    (e.g. :func:`service.render.time_context.series_chart`), placed as is.
    """

    title: str
    table: Table | None = None
    text: str | None = None
    verdicts: Sequence[Verdict] = field(default_factory=tuple)
    figure: Markup | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: int | float) -> str:
    """A table number as the packs always showed it: 3 significant digits under 1,000."""
    if isinstance(value, float) and abs(value) < 1000:
        return plain(value, 3, grouping=True)
    return f"{value:,}"


def _attribute(value: str) -> Markup:
    """Text escaped for a double-quoted attribute as :func:`html.escape` does it.

    Autoescaping would also be safe; this keeps ``&quot;`` (not ``&#34;``) in the
    map embedded with ``srcdoc``, as packs always wrote it.
    """
    return Markup(html.escape(str(value), quote=True))


ENV = Environment(loader=PackageLoader("service.render", "templates"), autoescape=True,
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.tests["number"] = _is_number
ENV.filters["number"] = _number
ENV.filters["attribute"] = _attribute


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a file under ``service/render/templates``) with ``context``."""
    return ENV.get_template(template).render(**context)


def macros(template: str) -> Any:
    """The macros of ``template``, to call from Python: each returns escaped :class:`Markup`.

    E.g. ``macros("map_parts.html").note("text")``; the template module is built
    once and cached by Jinja.
    """
    return ENV.get_template(template).module
