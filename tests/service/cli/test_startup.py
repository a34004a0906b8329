"""``remap --help`` and ``remap --version`` start without the heavy libraries.

Importing ``service.cli`` (what the ``remap`` entry point does before
parsing anything) must load click and the command modules only; each
command imports pandas, SQLAlchemy, FastAPI... when it runs. Checked in a
fresh interpreter through ``sys.modules``, not by timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

HEAVY = ("pandas", "numpy", "geopandas", "shapely", "pyproj", "pyogrio", "sqlalchemy",
         "psycopg", "pydantic", "pydantic_settings", "folium", "branca", "jinja2",
         "fastapi", "starlette", "uvicorn", "h3", "h3ronpy", "arro3", "scipy",
         "mapclassify", "esda", "libpysal", "numba")

PROBE = """
import json, sys
import service.cli
{extra}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded_after(extra: str = "") -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", PROBE.format(extra=extra)], env=env,
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after()
    assert "click" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_and_version_load_no_heavy_library() -> None:
    run = ("from click.testing import CliRunner\n"
           "for args in (['--help'], ['--version'], ['map', '--help'], ['operation', '--help']):\n"
           "    r = CliRunner().invoke(service.cli.main, args)\n"
           "    assert r.exit_code == 0, r.output\n")
    loaded = _loaded_after(run)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
