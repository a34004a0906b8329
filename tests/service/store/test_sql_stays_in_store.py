"""No SQL outside ``service/store``: no other module under ``service/`` imports SQLAlchemy
or the table definitions; they call the repository methods of :class:`Store`.

Every ``.py`` file is parsed with :mod:`ast`, so imports inside functions count too,
and so do ``importlib.import_module`` and ``__import__`` calls with a literal name.
"""

from __future__ import annotations

from pathlib import Path

from tests import import_walk

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "service"
STORE = SERVICE / "store"
#: Modules only the store may import (a package also forbids its submodules).
FORBIDDEN = ("sqlalchemy", "service.store.tables")


def sql_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """``(line, module)`` of every import of a :data:`FORBIDDEN` module in ``source``."""
    return import_walk.forbidden_imports(source, FORBIDDEN, filename)


def test_no_module_outside_the_store_imports_sqlalchemy_or_the_tables() -> None:
    files = [p for p in sorted(SERVICE.rglob("*.py")) if STORE not in p.parents]
    assert len(files) > 50, "the walk found too few modules: is SERVICE right?"
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in files
           for line, module in sql_imports(path.read_text(encoding="utf-8"), str(path))]
    assert not bad, "SQL belongs in a repository of service/store:\n" + "\n".join(bad)


def test_the_check_sees_every_form_of_import() -> None:
    source = '''
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from service.store import tables
from service.store.tables import events
from service.store import Store, EventFilter
import sqlalchemyish


def f():
    import importlib
    importlib.import_module("sqlalchemy.orm")
    __import__("sqlalchemy")
'''
    assert sql_imports(source) == [
        (2, "sqlalchemy"), (3, "sqlalchemy.exc"), (4, "service.store.tables"),
        (5, "service.store.tables"), (12, "sqlalchemy.orm"), (13, "sqlalchemy")]
