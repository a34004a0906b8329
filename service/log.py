"""Logging for the ``remap`` command and the server it starts: standard library only.

One handler on the ``remap`` logger writes ``time level logger message``
lines to standard error. Without ``--verbose`` only warnings pass, so the
command's own output (and ``--json`` on stdout) is unchanged; with it the
start and end of long steps (imports, hotspots, maps, operation reports)
are shown on ``remap.cli``. ``remap serve`` also lets ``remap.request``
print its one line per request. No log line carries a key or a restricted
value: they log names, counts, parameters and durations.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record.

    Test runners (and click's ``CliRunner``) swap ``sys.stderr`` per call;
    a handler holding the stream of its first call would write into a
    closed buffer afterwards.
    """

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure(verbose: bool, *, request_log: bool = False) -> None:
    """Send the ``remap`` loggers to standard error; safe to call more than once.

    Parameters
    ----------
    verbose
        Show debug and info lines (``--verbose``); otherwise warnings only.
    request_log
        Also show the ``remap.request`` line per HTTP request (``remap serve``).
    """
    logger = logging.getLogger("remap")
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    # the logger's level is only raised for --verbose: left unset otherwise, so
    # that whoever configured the root logger (a test, an embedding app) still decides
    logger.setLevel(logging.DEBUG if verbose else logging.NOTSET)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if request_log:
        logging.getLogger("remap.request").setLevel(logging.DEBUG if verbose else logging.INFO)
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
