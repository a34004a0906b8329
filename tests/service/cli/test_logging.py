"""``remap --verbose``: the start and end of long steps on stderr, never a key."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_verbose_logs_the_import_on_stderr_and_json_stays_clean(run) -> None:
    path = str(FIXTURES / "policeuk_small.csv")
    quiet = run("import", "policeuk", path, "--json")
    assert quiet.stderr == ""
    loud = run("-v", "import", "policeuk", path, "--json")
    assert loud.exit_code == 0, loud.output
    assert json.loads(loud.stdout)["duplicates"] == 5
    lines = loud.stderr.splitlines()
    assert any(" INFO remap.cli import policeuk: 1 file(s) into layer crime" in x for x in lines)
    assert any(" INFO remap.cli import policeuk done in " in x for x in lines)


def test_verbose_never_logs_a_key(run) -> None:
    r = run("--verbose", "keys", "create", "--role", "analyst", "--json")
    key = json.loads(r.stdout)["key"]
    assert key not in r.stderr
