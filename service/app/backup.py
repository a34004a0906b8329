"""``remap backup`` and ``remap restore``: a copy of the whole store with a manifest, and
back, refusing what would lose or corrupt data.

A backup is a folder (or a ``.tar`` of the same two files):

- the dump: ``remap.sqlite3`` (a SQLite copy made with the online backup API) or
  ``remap.pgdump`` (``pg_dump`` custom format);
- ``manifest.json``: remap's version, the schema version, the backend, the rows of
  every table and the SHA-256 of the dump.

Restore checks, in order: the manifest and the dump's checksum; the backend (a
SQLite copy goes into SQLite); the schema version (one newer than this remap knows
is refused: upgrade remap first); that the target store is empty (unless
``force``). Then it copies, opens the store (so a backup of an older schema is
migrated up to the current one) and checks that every table holds the rows the
manifest lists. Both are audited: the backup in the store backed up, the restore
in the restored store, after its check.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from service.store import Store
from service.store import backup as dumps
from spatial.errors import ConflictError, RemapError

MANIFEST = "manifest.json"
DUMP_NAMES = {"sqlite": "remap.sqlite3", "postgresql": "remap.pgdump"}
FORMAT = "remap-backup"
FORMAT_VERSION = 1


class BackupError(RemapError):
    """A backup that cannot be used: missing files, a bad manifest, a wrong checksum, a
    newer schema, another backend, or rows lost on the way."""

    code = "backup_invalid"


@dataclass(frozen=True)
class Manifest:
    format: str
    format_version: int
    remap_version: str
    schema_version: int
    backend: str
    created_at: str
    dump_file: str
    dump_bytes: int
    sha256: str
    row_counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RestoreOutcome:
    manifest: Manifest
    schema_version: int          # after migrating
    migrated_from: int | None    # the backup's schema, when it was older
    row_counts: dict[str, int]   # checked against the manifest, before the audit row


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_tar(path: Path) -> bool:
    return path.suffix == ".tar"


def backup(store: Store, path: Path, *, actor: str = "cli") -> Manifest:
    """Copy ``store`` to ``path`` (a new or empty folder, or a ``.tar`` file)."""
    if _is_tar(path):
        if path.exists():
            raise ConflictError(f"{path} exists: give a new file name")
        if not path.parent.is_dir():
            raise BackupError(f"folder {path.parent} does not exist")
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConflictError(f"{path} exists and is not an empty folder")
    backend = dumps.backend_of(store.url)
    with tempfile.TemporaryDirectory(prefix="remap-backup-",
                                     dir=path.parent if _is_tar(path) else None) as tmp:
        work = Path(tmp) if _is_tar(path) else path
        work.mkdir(parents=True, exist_ok=True)
        dump = work / DUMP_NAMES[backend]
        counts, schema = dumps.copy_store(store.engine, store.url, dump)
        manifest = Manifest(FORMAT, FORMAT_VERSION, version("remap"), schema, backend,
                            datetime.now(UTC).isoformat(timespec="seconds"), dump.name,
                            dump.stat().st_size, _sha256(dump), counts)
        (work / MANIFEST).write_text(json.dumps(manifest.as_dict(), indent=2) + "\n")
        if _is_tar(path):
            partial = path.with_name(path.name + ".partial")
            with tarfile.open(partial, "w") as tar:
                tar.add(work / MANIFEST, arcname=MANIFEST)
                tar.add(dump, arcname=dump.name)
            partial.replace(path)  # whole or not at all
    store.audit(None, actor, "backup", {"path": str(path), "sha256": manifest.sha256,
                                        "schema_version": schema,
                                        "rows": sum(counts.values())})
    return manifest


def read_manifest(folder: Path) -> Manifest:
    try:
        raw = json.loads((folder / MANIFEST).read_text())
        manifest = Manifest(**{k: raw[k] for k in Manifest.__dataclass_fields__})
    except FileNotFoundError as exc:
        raise BackupError(f"{folder}: no {MANIFEST}: not a remap backup") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{folder / MANIFEST}: not a remap backup manifest ({exc})") from exc
    if manifest.format != FORMAT or manifest.format_version > FORMAT_VERSION:
        raise BackupError(f"{folder / MANIFEST}: format {manifest.format!r} version "
                          f"{manifest.format_version} is not one this remap reads")
    if manifest.dump_file not in DUMP_NAMES.values() or manifest.backend not in DUMP_NAMES:
        raise BackupError(f"{folder / MANIFEST}: unknown dump {manifest.dump_file!r} or "
                          f"backend {manifest.backend!r}")
    return manifest


def _unpack(path: Path, into: Path) -> Path:
    """The folder holding the backup: ``path`` itself, or the two members of the tar
    extracted into ``into`` (nothing else is taken from it)."""
    if not _is_tar(path):
        if not path.is_dir():
            raise BackupError(f"{path}: no such backup folder or .tar")
        return path
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    wanted = {MANIFEST, *DUMP_NAMES.values()}
    with tarfile.open(path, "r") as tar:
        members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
        tar.extractall(into, members=members, filter="data")
    return into


def restore(path: Path, url: str, *, force: bool = False, h3_resolution: int = 11,
            actor: str = "cli") -> RestoreOutcome:
    """Restore the backup at ``path`` into the store at ``url`` (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="remap-restore-") as tmp:
        folder = _unpack(path, Path(tmp))
        manifest = read_manifest(folder)
        dump = folder / manifest.dump_file
        if not dump.is_file():
            raise BackupError(f"{path}: the dump {manifest.dump_file} is missing")
        if _sha256(dump) != manifest.sha256:
            raise BackupError(f"{path}: {manifest.dump_file} does not match the manifest's "
                              "SHA-256: the backup is damaged or was altered")
        backend = dumps.backend_of(url)
        if manifest.backend != backend:
            raise BackupError(f"{path} is a {manifest.backend} backup; the target store is "
                              f"{backend}: restore it into a {manifest.backend} store")
        if manifest.schema_version > dumps.LATEST_VERSION:
            raise BackupError(
                f"{path} is from schema version {manifest.schema_version} (remap "
                f"{manifest.remap_version}); this remap knows versions up to "
                f"{dumps.LATEST_VERSION}: upgrade remap, then restore")
        target = Store(url, h3_resolution=h3_resolution, migrate=False)
        try:
            if not force and not dumps.is_empty(target.engine):
                raise ConflictError(f"the target store {target.url.split('@')[-1]} is not "
                                    "empty: restore into an empty one, or give --force to "
                                    "replace everything in it")
        finally:
            target.dispose()
        dumps.restore_store(url, dump)
    restored = Store(url, h3_resolution=h3_resolution)  # migrates an older backup up
    try:
        counts = dumps.row_counts(restored.engine)
        lost = {t: (n, counts.get(t)) for t, n in manifest.row_counts.items()
                if t != "schema_migrations" and counts.get(t) != n}
        if lost:
            raise BackupError(f"restored rows differ from the manifest (table: backup, "
                              f"restored): {lost}")
        version_now = restored.schema_version()
        restored.audit(None, actor, "restore", {
            "path": str(path), "sha256": manifest.sha256, "created_at": manifest.created_at,
            "schema_version": manifest.schema_version, "migrated_to": version_now})
    finally:
        restored.dispose()
    return RestoreOutcome(manifest, version_now,
                          manifest.schema_version if manifest.schema_version < version_now
                          else None, counts)
