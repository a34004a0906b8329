"""A corpus of hostile text, a town whose stored text is that corpus, and checks on pages.

Used by ``tests/service/test_hostile_text.py`` (routes and CLI) and
``tests/e2e/test_hostile_text_browser.py`` (Chromium). Every template
expression below gives a text containing :data:`EVALUATED` when any engine
evaluates it, while the payload itself does not contain it; every script
payload sets ``window.__pwned`` or the document title.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import markupsafe
from jinja2.utils import htmlsafe_json_dumps

from service.api.dependencies import csv_list
from service.app.importer import ImportReport, import_boundaries, store_events
from service.render import assets
from service.render.safe_html import script_json
from service.store import Store
from spatial.synthetic.town import SyntheticTown, build_town

#: The output of an evaluated template expression of the corpus.
EVALUATED = "ZQXJ"
PWN = "window.__pwned=1"

TEMPLATES = [
    # Jinja2 / Twig / Nunjucks
    "{{1337*7}}",
    "{{ 'ZQ' ~ 'XJ' }}",
    "{{'ZQ'+'XJ'}}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config.items() }}",
    "{% set a = 'ZQ' %}{{ a }}XJ",
    "{% for x in ['ZQ'] %}{{ x }}XJ{% endfor %}",
    "{% if 1 %}ZQ{% endif %}XJ",
    "ZQ{# a comment #}XJ",
    "{% for %}",
    "{{",
    "{%",
    "}} {{ 'ZQ' ~ 'XJ'",
    "{% raw %}ZQ{% endraw %}XJ{% endraw %}",
    "{{ 6*7 }}",
    # other engines: JS template literals, Ruby/Pug, ERB/EJS, Angular, Thymeleaf, Razor, doT
    "${'ZQ'+'XJ'}",
    "#{'ZQ'+'XJ'}",
    "<%= 'ZQ'+'XJ' %>",
    "{{constructor.constructor('alert(1)')()}}",
    "[[${'ZQ'+'XJ'}]]",
    "@('ZQ'+'XJ')",
    "{{= 'ZQ'+'XJ' }}",
]
SCRIPTS = [
    f"<script>{PWN}</script>",
    f"</script><script>{PWN}</script>",
    f"</SCRIPT><script>{PWN}</script><!--",
    f"<img src=x onerror=\"{PWN}\">",
    f"<svg onload={PWN}>",
    f"<svg/onload={PWN}>",
    f"\"><img src=x onerror={PWN}>",
    f"'><img src=x onerror={PWN}>",
    f"javascript:{PWN}",
    f"<a href=\"javascript:{PWN}\">click</a>",
    f"<iframe src=\"javascript:{PWN}\"></iframe>",
    f"<details open ontoggle={PWN}>",
    f"<style>body{{display:none}}</style><b onmouseover={PWN}>",
    f"`${{{PWN}}}`",
    f"'; {PWN}; //",
    f"\"; {PWN}; //",
    f"\\'; {PWN}; //",
    f"<title>{PWN}</title>",
    "<![CDATA[ ]]> <!-- -->",
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#x3C;",
]
ODD = [
    "O'Brien's \"quoted\" beat",
    "back\\slash \\\\ \\n \\u003c",
    "line\u2028separator\u2029paragraph",
    "\u202eRTL override\u202c text",
    "emoji 🚓💊 \u200b zero\u200dwidth e\u0301",
    "null",
    "None",
    "undefined",
    "{{'ZQ'~'XJ'}}" + "x" * 10_000,
]
CORPUS: list[str] = TEMPLATES + SCRIPTS + ODD


def encodings(text: str) -> set[str]:
    """Forms in which ``text`` may be written into a page and still read as itself.

    HTML-escaped (html.escape or markupsafe), then possibly JSON in a script
    (folium's, Jinja's or remap's encoder), then possibly escaped again into a
    pack's ``srcdoc`` attribute.
    """
    def folium_json(t: str) -> str:
        return (json.dumps(t).replace("<", "\\u003c").replace(">", "\\u003e")
                .replace("&", "\\u0026").replace("'", "\\u0027"))

    escapes = (lambda t: t, lambda t: html.escape(t), lambda t: str(markupsafe.escape(t)))
    jsons = (lambda t: t, lambda t: folium_json(t)[1:-1],
             lambda t: str(htmlsafe_json_dumps(t))[1:-1], lambda t: script_json(t)[1:-1])
    frames = (lambda t: t, lambda t: html.escape(t))
    return {frame(js(esc(text))) for esc in escapes[1:] for js in jsons for frame in frames} \
        | {frame(js(text)) for js in jsons[1:] for frame in frames}


def dangerous(text: str) -> bool:
    """Whether the raw text must never appear in a page (it is markup)."""
    return any(c in text for c in "<>&")


def check_page(page: str, shown: Iterable[str], where: str) -> list[str]:
    """Problems of one page: evaluated expressions, raw markup, texts not shown literally.

    ``shown`` are the texts the page must show as they are.
    """
    problems = []
    body = assets.strip_vendored(page)  # vendored libraries are not remap's text
    if EVALUATED in body:
        at = body.index(EVALUATED)
        problems.append(f"{where}: an expression was evaluated: ...{body[at - 80:at + 40]!r}")
    for text in shown:
        if dangerous(text) and text in body:
            problems.append(f"{where}: raw markup {text[:60]!r}")
        if not any(e in body for e in encodings(text)):
            problems.append(f"{where}: {text[:60]!r} is not shown literally")
    return problems


def as_category(payload: str) -> list[str]:
    """What the service reads from ``category=payload`` (commas separate categories);
    nothing when a part is over the category limit (that request is a 422, tested in
    :func:`too_long`)."""
    cats = list(csv_list(payload))
    return [] if too_long(payload) else cats


def too_long(payload: str) -> bool:
    """Is a category of ``payload`` over the limit (the service answers 422)?"""
    from spatial.limits import MAX_CATEGORY

    return any(len(c) > MAX_CATEGORY for c in csv_list(payload))


def hostile_town(store: Store, folder: Path) -> SyntheticTown:
    """The small synthetic town with the corpus as stored text.

    Beat labels of boundary sets ``beats`` and ``beats_b`` are payloads (24
    each), crime and dealing-site categories cycle through the corpus.
    """
    town = build_town(7, scale=0.15, months=("2018-09", "2019-04"))
    n = len(town.beats)
    for set_name, offset in (("beats", 0), ("beats_b", n)):
        beats = town.beats.copy()
        beats["label"] = [CORPUS[(offset + i) % len(CORPUS)] for i in range(n)]
        path = folder / f"{set_name}.geojson"
        beats.to_file(path, driver="GeoJSON")
        import_boundaries(store, path, file_name=path.name, name=set_name, id_field="unit_id",
                          label_field="label", actor="test")
    for layer, frame in town.events.items():
        frame = frame.copy()
        if layer in ("crime", "dealing_site"):
            frame["category"] = [CORPUS[i % len(CORPUS)] for i in range(len(frame))]
        store_events(store, frame, ImportReport(layer=layer, format="synthetic"), timings={},
                     file_names=[layer], actor="test")
    return town


def operation_definition(town: SyntheticTown, name: str, category: str) -> dict[str, Any]:
    """An operation on the planted target whose name and outcome category are hostile."""
    return {
        "name": name,
        "target": {"type": "boundary", "set": "beats",
                   "units": list(town.operation.target_beats)},
        "buffer": {"rings_m": [400]},
        "control": {"type": "suggest", "max_units": 4},
        "windows": {"before": {"start": "2018-10-01", "end": "2018-12-31"},
                    "during": {"start": "2019-01-01", "end": "2019-01-14"},
                    "after": {"start": "2019-01-15", "end": "2019-04-30"}},
        "layers": [{"layer": "crime", "category": category, "role": "outcome"},
                   {"layer": "ambulance", "category": "*", "role": "outcome"}],
    }


def name_chunks(limit: int = 200) -> list[str]:
    """The corpus joined into operation names of at most ``limit`` characters."""
    chunks: list[str] = []
    current = ""
    for p in CORPUS:
        if len(p) > limit:
            continue
        if current and len(current) + 3 + len(p) > limit:
            chunks.append(current)
            current = ""
        current = f"{current} | {p}" if current else p
    if current:
        chunks.append(current)
    return chunks


__all__ = ["CORPUS", "EVALUATED", "PWN", "as_category", "check_page", "hostile_town",
           "name_chunks", "operation_definition"]
