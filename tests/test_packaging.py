"""The runtime dependencies in pyproject.toml are exactly what runtime code imports.

Every ``import`` in ``spatial/`` and ``service/`` (at the top of a module or
inside a function) is mapped to the distribution that provides it; each
must be declared in ``[project] dependencies``, and each declared runtime
dependency must be imported somewhere, unless it is loaded indirectly
(listed below with the reason). Test-only libraries (esda, libpysal, ...)
belong in the ``test`` extra.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.import_walk import imported_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("spatial", "service")

# declared but never imported by name: how each is loaded
LOADED_INDIRECTLY = {
    "uvicorn": "started by name by `remap serve` and the Dockerfile (also imported there)",
    "psycopg": "the driver SQLAlchemy loads for postgresql+psycopg:// URLs",
    "python-multipart": "FastAPI loads it to parse multipart uploads (POST /v1/imports)",
    "pyogrio": "geopandas' file engine for read_file/to_file (GeoPackage, shapefile, KML)",
    "mapclassify": "map classes in service/render (natural breaks, quantiles); also used "
                   "by geopandas' classification schemes",
    "httptools": "uvicorn's HTTP parser, chosen by uvicorn when installed (--http auto)",
    "uvloop": "uvicorn's event loop, chosen by uvicorn when installed (--loop auto)",
}


def _normalise(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_runtime() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(_normalise(match.group(0)))
    return names


def imported_top_level() -> dict[str, set[str]]:
    """Top-level third-party module name -> files importing it."""
    found: dict[str, set[str]] = {}
    for package in RUNTIME_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            for _, module in imported_modules(path.read_text(encoding="utf-8"), str(path)):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in RUNTIME_PACKAGES:
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def imported_distributions() -> dict[str, set[str]]:
    """Distribution (normalised) -> the modules of it that runtime code imports."""
    providers = packages_distributions()
    dists: dict[str, set[str]] = {}
    missing = []
    for module, files in imported_top_level().items():
        if module not in providers:
            missing.append(f"{module} (imported by {', '.join(sorted(files))})")
            continue
        for dist in providers[module]:
            dists.setdefault(_normalise(dist), set()).add(module)
    assert not missing, f"imported but not installed: {missing}"
    return dists


def test_every_imported_library_is_a_declared_runtime_dependency() -> None:
    undeclared = sorted(set(imported_distributions()) - declared_runtime())
    assert not undeclared, (f"runtime code imports {undeclared}; declare them in "
                            "[project] dependencies of pyproject.toml")


def test_every_declared_runtime_dependency_is_imported() -> None:
    unused = sorted(declared_runtime() - set(imported_distributions())
                    - {_normalise(n) for n in LOADED_INDIRECTLY})
    assert not unused, (f"{unused} declared as runtime dependencies but no module under "
                        f"{'/, '.join(RUNTIME_PACKAGES)}/ imports them: move them to an extra")


def test_test_only_libraries_are_not_runtime_dependencies() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    test_extra = {_normalise(re.split(r"[<>=\[ ;]", r)[0])
                  for r in project["optional-dependencies"]["test"]}
    assert {"esda", "libpysal"} <= test_extra
    assert not {"esda", "libpysal"} & declared_runtime()
