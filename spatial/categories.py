"""Matching requested event categories to the categories a layer holds.

police.uk spells categories with capitals (``Drugs``, ``Anti-social
behaviour``); a request written ``drugs`` means the same thing. An unknown
category is an error with suggestions: filtering on it would count zeros
everywhere, which reads as "no crime" rather than "typo".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from spatial.errors import ParameterError

MAX_SUGGESTIONS = 3


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def suggest_categories(wanted: str, known: Iterable[str]) -> list[str]:
    """Known categories close to ``wanted`` (case-blind), best first, at most three.

    Close means a similar spelling (:func:`difflib.get_close_matches`, cut-off
    0.6) or containing ``wanted`` (``drug`` suggests ``Drugs``).
    """
    by_key = {_key(k): k for k in known}
    key = _key(wanted)
    close = difflib.get_close_matches(key, list(by_key), n=MAX_SUGGESTIONS, cutoff=0.6)
    contains = [k for k in sorted(by_key) if key and key in k and k not in close]
    return [by_key[k] for k in (close + contains)[:MAX_SUGGESTIONS]]


def match_categories(requested: Iterable[str], known: Iterable[str], *,
                     layer: str, parameter: str = "category") -> tuple[str, ...]:
    """``requested`` spelled as the layer stores them, matched ignoring case and spacing.

    Parameters
    ----------
    requested
        Categories as a user wrote them (``drugs``).
    known
        The layer's stored categories (``Drugs``, ...).
    layer
        The layer's name, for the error message.
    parameter
        The request field named in an error.

    Returns
    -------
    tuple of str
        The stored spellings, in the requested order, without repeats.

    Raises
    ------
    ParameterError
        A requested category matching none of ``known``: the message names
        it, the layer, up to three suggestions and the known categories.
    """
    known = list(known)
    by_key: dict[str, str] = {}
    for k in known:
        # an exact spelling wins over another differing only by case
        by_key.setdefault(_key(k), k)
    exact = set(known)
    out: list[str] = []
    for want in requested:
        got = want if want in exact else by_key.get(_key(want))
        if got is None:
            hints = suggest_categories(want, known)
            hint = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
            shown = ", ".join(sorted(known)[:20]) + (", ..." if len(known) > 20 else "")
            raise ParameterError(parameter, f"layer {layer!r} has no category {want!r}{hint} "
                                            f"(its categories: {shown or 'none'}; "
                                            "`remap layers` or GET /v1/layers lists them)")
        if got not in out:
            out.append(got)
    return tuple(out)
