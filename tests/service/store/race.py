"""Run one action from two threads released together: a race on the database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def at_once(action: Callable[[str], object], names: Sequence[str]
            ) -> dict[str, BaseException | None]:
    """Call ``action(name)`` for every name in its own thread, all released at once.

    Returns each name's exception, or ``None`` where the call succeeded.
    """
    barrier = threading.Barrier(len(names))
    outcomes: dict[str, BaseException | None] = {}

    def run(name: str) -> None:
        barrier.wait()
        try:
            action(name)
            outcomes[name] = None
        except BaseException as exc:  # noqa: BLE001 - the caller judges it
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
