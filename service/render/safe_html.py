"""Folium pages in which no text is ever a template, and JSON that is safe in a script.

branca (folium's base) renders each element's ``header``/``html``/``script``
macros and wraps the *output* in ``Element(output)``, whose argument is a
Jinja **template**: the page is then rendered a second time, so every
``{{ ... }}`` or ``{% ... %}`` inside data that reached the output (a
category, a unit label, an operation name, a tooltip) is evaluated on the
server (code execution with a crafted expression), and an unbalanced one
raises ``TemplateSyntaxError`` (HTTP 500 for every map of that data).

:func:`install` replaces those renders with ones that wrap the output in
:class:`RawHtml`, whose template prints a pre-built string: Jinja never
re-evaluates the output of an expression. :mod:`service.render.map_base` installs it on
import, and remap's own HTML goes into pages only through :class:`RawHtml`.
"""

from __future__ import annotations

import json
from typing import Any, Final

import branca.element
import folium.map
from branca.element import Figure, MacroElement
from jinja2 import Template


class RawHtml(branca.element.Element):
    """HTML (or CSS, or script) built and escaped by remap, written out as it is.

    Its template outputs one attribute, so the text itself is never parsed
    as a template (``folium.Element(text)`` would parse it).
    """

    _template = Template("{{ this.raw_html }}")

    def __init__(self, raw_html: str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.raw_html = str(raw_html)


def _add_macros(self: MacroElement | branca.element.Div, figure: Figure, kwargs: dict[str, Any]) -> None:
    """Add the element's ``header``, ``html`` and ``script`` macros to the figure, once."""
    module = self._template.module.__dict__
    for part, target in (("header", figure.header), ("html", figure.html),
                         ("script", figure.script)):
        macro = module.get(part)
        if macro is not None:
            target.add_child(RawHtml(macro(self, kwargs)), name=self.get_name())


def _macro_render(self: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` without rendering the output a second time."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    _add_macros(self, figure, kwargs)
    for element in list(self._children.values()):
        element.render(**kwargs)


def _div_render(self: branca.element.Div, **kwargs: Any) -> None:
    """``Div.render`` (same double rendering as MacroElement) without it."""
    figure = self._parent
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    for element in list(self._children.values()):
        element.render(**kwargs)
    for name, element in self.header._children.items():
        figure.header.add_child(element, name=name)
    for name, element in self.script._children.items():
        figure.script.add_child(element, name=name)
    _add_macros(self, figure, kwargs)


def _popup_render(self: folium.map.Popup, **kwargs: Any) -> None:
    """``Popup.render`` without rendering its script a second time."""
    for element in list(self._children.values()):
        element.render(**kwargs)
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    figure.script.add_child(RawHtml(self._template.render(this=self, kwargs=kwargs)),
                            name=self.get_name())


def install() -> None:
    """Make folium/branca output text once, never as a template (idempotent)."""
    MacroElement.render = _macro_render  # type: ignore[method-assign]
    branca.element.Div.render = _div_render  # type: ignore[method-assign]
    folium.map.Popup.render = _popup_render  # type: ignore[method-assign]


#: Characters that must not appear raw in JSON inside ``<script>`` or an HTML attribute:
#: ``</script>`` and ``<!--`` break out of a script block, ``&`` starts an entity in
#: attributes, U+2028/U+2029 end a line in older JavaScript, ``'`` ends a quoted attribute.
_SCRIPT_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """``value`` as JSON that can be placed in a script block or an attribute as it is."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
