"""constraints.txt pins every dependency pyproject.toml declares (runtime and extras),
each to one exact version that satisfies pyproject's range, and never remap itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, Version]:
    out: dict[str, Version] = {}
    for n, line in enumerate((REPO_ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"constraints.txt line {n}: {line!r} is not NAME==VERSION"
        name = _normalise(match.group(1))
        assert name not in out, f"constraints.txt line {n}: {name} pinned twice"
        out[name] = Version(match.group(2))
    return out


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        found += [Requirement(r) for r in extra]
    return found


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    missing, outside = [], []
    for req in declared():
        version = pinned.get(_normalise(req.name))
        if version is None:
            missing.append(req.name)
        elif not req.specifier.contains(version, prereleases=True):
            outside.append(f"{req.name}=={version} (pyproject: {req.specifier})")
    assert not missing, f"not pinned in constraints.txt: {missing}"
    assert not outside, f"pins outside pyproject's ranges: {outside}"


def test_remap_itself_is_not_pinned() -> None:
    assert "remap" not in pins()
