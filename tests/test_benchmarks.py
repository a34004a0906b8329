"""The one-command benchmark suite names scripts that exist, each once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.run_all import STAGES

ROOT = Path(__file__).resolve().parents[1]


def test_every_stage_runs_a_script_that_exists() -> None:
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names))
    for stage in STAGES:
        assert (ROOT / "benchmarks" / stage.script).is_file(), stage.script
        assert stage.peer  # each stage says what it is measured against


def test_the_suite_lists_its_stages() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--list"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert [line.split()[0] for line in done.stdout.splitlines()] == [s.name for s in STAGES]
