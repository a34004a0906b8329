"""Start-up time of ``remap --help`` and ``remap --version``: best of N fresh processes.

Usage: ``.venv/bin/python benchmarks/bench_cli_start.py [--root CHECKOUT] [--runs 10]``.
Each run is a new interpreter doing what the ``remap`` entry point does
(``from service.cli import main; main()``) with ``CHECKOUT`` first on the
path, so two checkouts (before/after a change) can be compared on one
machine. Also prints the five slowest imports of ``service.cli``
(``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ENTRY = "import sys; sys.argv[0] = 'remap'; from service.cli import main; main()"


def wall_times(root: Path, args: list[str], runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", ENTRY, *args], env=env, cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def slowest_imports(root: Path, n: int = 5) -> list[tuple[float, str]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import service.cli"],
                         env=env, cwd=root, capture_output=True, text=True, check=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=10)
    a = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, root {a.root}")
    for args in (["--help"], ["--version"]):
        t = wall_times(a.root, args, a.runs)
        print(f"remap {args[0]:<10} best {min(t):.3f} s  median {sorted(t)[len(t) // 2]:.3f} s"
              f"  ({a.runs} fresh processes)")
    for seconds, name in slowest_imports(a.root):
        print(f"  import {name.strip():<40} {seconds:.3f} s cumulative")


if __name__ == "__main__":
    main()
