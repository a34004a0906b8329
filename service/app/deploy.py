"""Running remap as a deployed service: a store folder the server can write, and the
first admin key.

The image runs as uid 1000; a bind-mounted folder owned by someone else is the
commonest first-start failure, so it is checked before anything opens the store
and reported in one line naming the folder and the uid.

The first key (:func:`bootstrap_admin_key`) is made only while no active admin
key exists, and its plaintext goes to one file, created with mode 0600; it is
never returned to the caller, logged or printed. Making it is audited
(``key_create`` by the store, then ``key_bootstrap`` naming the file).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spatial.errors import RemapError

if TYPE_CHECKING:
    from service.store import Store

#: Label of the key :func:`bootstrap_admin_key` makes.
BOOTSTRAP_LABEL = "first admin key (bootstrap)"


class NotWritableError(RemapError):
    """A folder remap must write (the SQLite store's, the first key's) is not writable by
    the user remap runs as."""

    code = "not_writable"


def sqlite_file(database_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for other databases and in-memory SQLite."""
    if not database_url.startswith("sqlite"):
        return None
    _, _, rest = database_url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def _who() -> str:
    return f"uid {os.getuid()} (gid {os.getgid()})"


def check_writable_folder(folder: Path, what: str) -> None:
    """Raise :class:`NotWritableError` unless the current user can create files in
    ``folder``: names the folder, the uid and the usual fix."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise NotWritableError(f"{what}: folder {folder} does not exist ({_who()})",
                               details={"path": str(folder), "uid": os.getuid()})
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NotWritableError(
            f"{what}: folder {folder} is not writable by {_who()}, the user remap runs as; "
            f"make it theirs (on the host: chown -R {os.getuid()} <the bind-mounted folder>) "
            "or use a named volume",
            details={"path": str(folder), "uid": os.getuid()})


def check_store_writable(database_url: str) -> None:
    """For a SQLite store: its folder (and the file, if it exists) writable by this user.
    Other databases are checked by connecting."""
    path = sqlite_file(database_url)
    if path is None:
        return
    check_writable_folder(path.parent, "the SQLite store")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise NotWritableError(
            f"the SQLite store: file {path.resolve()} is not readable and writable by "
            f"{_who()}, the user remap runs as; chown it to {os.getuid()}",
            details={"path": str(path.resolve()), "uid": os.getuid()})


@dataclass(frozen=True)
class BootstrapOutcome:
    created: bool
    file: str
    key_id: int | None  # the new key's id, or the existing admin key's
    prefix: str | None  # the first characters, as `remap keys list` shows them


def _write_secret(path: Path, secret: str) -> None:
    """``secret`` into ``path`` with mode 0600 from the start (a temporary file in the same
    folder, renamed over ``path``), so it is never readable by others, even briefly."""
    fd, tmp = tempfile.mkstemp(prefix=".remap-key-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bootstrap_admin_key(store: Store, key_file: Path, *, actor: str = "bootstrap"
                        ) -> BootstrapOutcome:
    """Make the first admin key and write it to ``key_file`` (mode 0600), if no active
    admin key exists; otherwise change nothing. Idempotent; the key is never returned."""
    active = [k for k in store.list_keys() if k["role"] == "admin" and not k["revoked_at"]]
    if active:
        return BootstrapOutcome(False, str(key_file), int(active[0]["id"]),
                                str(active[0]["prefix"]))
    check_writable_folder(key_file.parent, "the first admin key's file")
    secret = store.create_key("admin", BOOTSTRAP_LABEL)
    key = next(k for k in store.list_keys() if k["prefix"] == secret[:10]
               and k["label"] == BOOTSTRAP_LABEL and not k["revoked_at"])
    try:
        _write_secret(key_file, secret)
    except OSError as exc:
        store.revoke_key(int(key["id"]))  # a key nobody can read must not stay valid
        raise NotWritableError(f"the first admin key's file {key_file}: {exc.strerror} "
                               f"({_who()}); the key made was revoked",
                               details={"path": str(key_file), "uid": os.getuid()}) from exc
    store.audit(None, actor, "key_bootstrap", {"key_id": int(key["id"]),
                                                "prefix": key["prefix"],
                                                "file": str(key_file)})
    return BootstrapOutcome(True, str(key_file), int(key["id"]), str(key["prefix"]))
