"""The shipped crime harm indices, for the API and the CLI.

The API reads shipped indices only, by name: a path would let a caller read files
on the server. The CLI also takes a force's own table by path
(:func:`spatial.evaluation.harm_index.load_harm_table`).
"""

from __future__ import annotations

from typing import Any

from spatial.errors import NotFoundError, ParameterError
from spatial.evaluation.harm_index import load_harm_table, shipped_names


def harm_index_list() -> list[dict[str, Any]]:
    """Summaries of the shipped indices."""
    return [load_harm_table(name).summary() for name in shipped_names()]


def harm_index_detail(name: str) -> dict[str, Any]:
    """A shipped index in full (404 for any other name)."""
    if name not in shipped_names():
        raise NotFoundError(f"harm index {name!r} does not exist; shipped: "
                            f"{', '.join(shipped_names())}")
    return load_harm_table(name).as_dict()


def check_shipped(harm_index: str | None) -> None:
    """Refuse anything but a shipped index's name (what the API may be asked for)."""
    if harm_index is not None and harm_index not in shipped_names():
        raise ParameterError("harm_index", f"{harm_index!r}: give one of "
                             f"{', '.join(shipped_names())} (a force's own table is read by "
                             "the CLI, by path)")
