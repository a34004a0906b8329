"""What every ``remap`` command shares: the store, output, errors and common options.

Only click and the standard library are imported here at module level, so
that ``remap --help`` and ``remap --version`` start without loading pandas,
SQLAlchemy or pydantic; each command imports what it uses when it runs.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spatial.errors import RemapError
from spatial.roles import ROLES
from spatial.stats.corrections import CORRECTIONS

if TYPE_CHECKING:
    from service.settings import Settings
    from service.store import Store

EXIT_USER_ERROR = 2
EXIT_STORE_ERROR = 1
#: steps longer than this say so on stderr while they run (seconds)
PROGRESS_AFTER_S = 2.0

# the store a command opened (None: the configured one), named in every error
_store_in_use: str | None = None


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (``postgresql://u:***@host/db``)."""
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):\S*@", r"\1:***@", url)


def using_store(url: str | None) -> None:
    """Note the store a command works on, for its error messages."""
    global _store_in_use
    _store_in_use = url


def store_shown() -> str:
    """The URL of the store in use (password hidden), for error messages."""
    url = _store_in_use
    if url is None:
        try:
            from service.settings import get_settings

            url = get_settings().database_url
        except Exception as exc:  # the settings themselves are broken: say that instead
            return f"unknown (settings could not be read: {type(exc).__name__})"
    return redact_url(url)


def open_store(settings: Settings | None = None) -> Store:
    """The store named by ``REMAP_DATABASE_URL`` (migrated on opening)."""
    from service.settings import get_settings
    from service.store import Store

    settings = settings or get_settings()
    using_store(settings.database_url)
    return Store(settings.database_url, h3_resolution=settings.h3_resolution)


@contextmanager
def progress(step: str, *, after_s: float = PROGRESS_AFTER_S) -> Iterator[None]:
    """Say on stderr that ``step`` is running once it has taken ``after_s``, and when it ends.

    Quick steps print nothing; stdout (and so ``--json``) is never touched.
    """
    done = threading.Event()
    started = time.perf_counter()
    shown = threading.Event()

    def announce() -> None:
        if not done.wait(after_s):
            shown.set()
            click.echo(f"... {step} (running for {after_s:.0f} s)", err=True)

    ticker = threading.Thread(target=announce, daemon=True)
    ticker.start()
    outcome = "stopped after"  # an error: the error line follows
    try:
        yield
        outcome = "done in"
    finally:
        done.set()
        ticker.join()
        if shown.is_set():
            click.echo(f"... {step}: {outcome} {time.perf_counter() - started:.1f} s",
                       err=True)


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """``data`` as indented JSON with ``--json``, else through ``human``."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human(data)


def emit_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str],
              empty: str | None = None) -> None:
    """``rows`` as JSON with ``--json``, else one ``line`` each (``empty`` when there are none)."""
    def human(data: list[dict[str, Any]]) -> None:
        if not data and empty is not None:
            click.echo(empty)
        for row in data:
            click.echo(line(row))

    emit(rows, as_json, human)


def echo_each(prefix: str, items: Iterable[Any]) -> None:
    """One line per item (warnings, notes), each after ``prefix``."""
    for item in items:
        click.echo(f"{prefix}{item}")


def stack(*decorators: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """One decorator applying ``decorators`` as if written top to bottom above a function."""
    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def write_page(out: Path, page: str, kind: str, as_json: bool) -> None:
    """Write an HTML map or pack and say where."""
    out.write_text(page, encoding="utf-8")
    size = len(page.encode())
    emit({kind: str(out), "bytes": size}, as_json,
         lambda d: click.echo(f"{kind} written: {out} ({size / 1e6:.1f} MB)"))


def output_file_option(flag: str, dest: str, what: str) -> Callable[..., Any]:
    """``--FLAG FILE``: also write ``what`` to FILE (a file, not a folder; optional)."""
    return click.option(flag, dest, type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help=f"also write {what}")


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True,
                        help="machine-readable JSON on stdout")(f)


def handles_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become one line on stderr (or JSON) and exit code 2; a failing
    database one line and exit code 1. Each names the store in use."""

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        using_store(None)
        try:
            return f(*args, **kwargs)
        except RemapError as exc:
            if kwargs.get("as_json"):
                click.echo(json.dumps({**exc.as_dict(), "store": store_shown()},
                                      indent=2, default=str))
            else:
                click.echo(f"error: {exc.message} (store: {store_shown()})", err=True)
            sys.exit(EXIT_USER_ERROR)
        except Exception as exc:
            # a bad REMAP_ setting, or the database itself failing (unreachable, locked,
            # not a remap store): one line, not a traceback; anything else is a bug and
            # propagates (the modules are only looked up: loaded if the command used them)
            pd_core = sys.modules.get("pydantic_core")
            if pd_core is not None and isinstance(exc, pd_core.ValidationError) \
                    and exc.title == "Settings":
                problems = "; ".join(f"REMAP_{str(e['loc'][0]).upper()}: {e['msg']}"
                                     for e in exc.errors() if e["loc"])
                click.echo(f"error: settings: {problems}", err=True)
                sys.exit(EXIT_USER_ERROR)
            sa_exc = sys.modules.get("sqlalchemy.exc")
            if sa_exc is None or not isinstance(exc, sa_exc.SQLAlchemyError):
                raise
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            message = f"the store failed: {redact_url(cause)}"
            if kwargs.get("as_json"):
                click.echo(json.dumps({"error": "store_error", "message": message,
                                       "store": store_shown()}, indent=2))
            else:
                click.echo(f"error: {message} (store: {store_shown()})", err=True)
            sys.exit(EXIT_STORE_ERROR)

    return wrapper


def RoleChoice() -> click.Choice:  # type: ignore[type-arg]
    """The roles (:data:`spatial.roles.ROLES`) as a click choice."""
    return click.Choice(ROLES)


def cli_cost_check(store: Store, req: Any, opts: Any, analysis: str) -> None:
    """The API's cost estimate, judged by the analyst limits (``REMAP_MAX_*_ANALYST``)."""
    from service.app.cost import check_cost, check_hotspot_cost, limits_for
    from service.settings import get_settings

    limits = limits_for(get_settings(), "cli")
    if opts is None:
        check_cost(store, req, limits, analysis=analysis)
    else:
        check_hotspot_cost(store, req, opts, limits, analysis=analysis)


UNIT_HELP = ("h3:RES | boundary:SET[@VERSION] | grid:CELL_METRES | "
             "street:NETWORK[@VERSION][:SNAP_METRES] | street:policeuk")


def request_options(unit_help: str = UNIT_HELP) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of a counts request (layer, categories, window, unit, study area), for
    the commands that take one plainly (counts, profile)."""
    opts = [
        click.option("--layer", required=True),
        click.option("--category", "categories", multiple=True, help="repeat for several"),
        click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--unit", required=True, help=unit_help),
        click.option("--area", default=None,
                     help="study area: boundary:SET[@VERSION][:UNIT,UNIT] | bbox:minlon,minlat,"
                          "maxlon,maxlat (default: the unit's boundary set, or the events' "
                          "extent)"),
    ]

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            f = opt(f)
        return f
    return apply


def analysis_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by hotspots, autocorrelation, hotspot maps and area packs."""
    opts = [
        click.option("--layer", required=True),
        click.option("--category", "categories", multiple=True, help="repeat for several"),
        click.option("--start", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--end", default=None, help="YYYY-MM or YYYY-MM-DD (inclusive)"),
        click.option("--unit", required=True,
                     help=UNIT_HELP),
        click.option("--area", default=None,
                     help="boundary:SET[:UNIT,...] (ids or names) | "
                          "bbox:minlon,minlat,maxlon,maxlat"),
        click.option("--k", default=1, show_default=True, help="H3 neighbour ring"),
        click.option("--permutations", type=int, default=None,
                     help="Gi*/LISA: up to 49,999 conditional permutations by default "
                          "(999 for every unit, more only where p can still be small); 0 "
                          "for normal-theory p-values; Moran's I: 999"),
        click.option("--seed", type=int, default=None, help="drawn and reported if omitted"),
        click.option("--correction", default="fdr_bh", show_default=True,
                     type=click.Choice(CORRECTIONS)),
        click.option("--alpha", default=0.05, show_default=True),
    ]
    return stack(*opts)(f)
