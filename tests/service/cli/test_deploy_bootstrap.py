"""The first admin key (``remap keys bootstrap`` / REMAP_BOOTSTRAP_ADMIN_KEY_FILE) and the
clear failure on a store folder the server's user cannot write."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from service.store import Store

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_bootstrap_writes_one_admin_key_to_a_0600_file_never_to_stdout_and_is_idempotent(
        run, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "secrets" / "admin.key"
    key_file.parent.mkdir()
    monkeypatch.setenv("REMAP_BOOTSTRAP_ADMIN_KEY_FILE", str(key_file))
    first = run("keys", "bootstrap")
    assert first.exit_code == 0, first.output
    secret = key_file.read_text().strip()
    assert secret.startswith("rmp_") and secret not in first.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert store.role_for_key(secret) is not None
    assert store.role_for_key(secret)[1] == "admin"  # type: ignore[index]
    # again: an admin key exists, nothing made, the file untouched
    again = run("keys", "bootstrap")
    assert again.exit_code == 0 and "nothing written" in again.output
    assert key_file.read_text().strip() == secret
    admins = [k for k in store.list_keys() if k["role"] == "admin"]
    assert len(admins) == 1
    made = store.audit_entries("key_bootstrap")
    assert len(made) == 1 and made[0]["detail"]["file"] == str(key_file)
    assert secret not in str(store.audit_entries())


def test_bootstrap_makes_a_new_key_once_every_admin_key_is_revoked(
        run, store: Store, tmp_path: Path) -> None:
    old = store.create_key("admin", "old")
    store.revoke_key(int(store.role_for_key(old)[0]))  # type: ignore[index]
    key_file = tmp_path / "admin.key"
    assert run("keys", "bootstrap", "--file", str(key_file)).exit_code == 0
    assert store.role_for_key(key_file.read_text().strip()) is not None


def test_bootstrap_without_a_file_says_what_to_set(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMAP_BOOTSTRAP_ADMIN_KEY_FILE", raising=False)
    result = run("keys", "bootstrap")
    assert result.exit_code == 2
    assert "REMAP_BOOTSTRAP_ADMIN_KEY_FILE" in result.output


def test_bootstrap_into_a_missing_folder_makes_no_key(run, store: Store, tmp_path: Path) -> None:
    result = run("keys", "bootstrap", "--file", str(tmp_path / "nowhere" / "admin.key"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "nowhere" in result.output
    assert store.list_keys() == []


def _as_uid_1000() -> list[str]:
    if os.getuid() != 0:
        pytest.skip("needs root, to run the command as uid 1000 (the image's user)")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) not found")
    return [setpriv, "--reuid=1000", "--regid=1000", "--clear-groups"]


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "9"]])
def test_a_store_folder_uid_1000_cannot_write_fails_in_one_line_naming_it_and_the_uid(
        command: list[str]) -> None:
    prefix = _as_uid_1000()
    # under /tmp itself (pytest's own folder is root's alone, and stays so): root's,
    # readable by all, not writable by uid 1000, as a bind-mounted host folder often is
    outer = Path(tempfile.mkdtemp(prefix="remap-uid-test-", dir="/tmp"))
    try:
        outer.chmod(0o755)
        folder = outer / "bind-mount"
        folder.mkdir(mode=0o755)
        env = {**os.environ, "REMAP_DATABASE_URL": f"sqlite:///{folder}/remap.db",
               "HOME": str(outer)}
        result = subprocess.run([*prefix, sys.executable, "-m", "service.cli", *command],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        made = (folder / "remap.db").exists()
    finally:
        shutil.rmtree(outer, ignore_errors=True)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert str(folder) in lines[0] and "uid 1000" in lines[0] and "not writable" in lines[0]
    assert not made
