"""Generate a large police.uk-format street-crime CSV for scale benchmarks.

Rows are drawn (with replacement, seeded) from the 15 real police.uk files
in the shared data: every text field (location, LSOA, crime type, outcome)
is a real row's, the month is moved to one of ``years`` consecutive years,
positions are moved by up to ``jitter_m`` metres (about; in degrees at
53.4 N) so that anti-social-behaviour rows, which carry no Crime ID, stay
distinct, and every row with a Crime ID gets a new random 64-hex ID. Rows
without coordinates stay without them, so the share rejected on import is
the real files' (about 5.5 %). Written in chunks with Arrow's CSV writer:
memory stays bounded whatever ``rows`` is.

    .venv/bin/python benchmarks/policeuk_generator.py OUT.csv --rows 20000000 [--seed 1]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))
POLICEUK = SHARED / "policeuk"
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
          "Context"]
CHUNK_ROWS = 1_000_000
#: metres per degree of latitude / of longitude at 53.4 N
M_PER_DEG_LAT = 111_200.0
M_PER_DEG_LON = 66_400.0


def real_rows(folder: Path = POLICEUK) -> pd.DataFrame:
    """The 15 real files, every column as text (empty strings kept)."""
    files = sorted(folder.glob("*-street.csv"))
    if not files:
        raise SystemExit(f"no police.uk files in {folder} (set REMAP_SHARED_DATA)")
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
                     ignore_index=True)[HEADER]


def generate(out: Path, rows: int, *, seed: int = 1, years: int = 10,
             jitter_m: float = 40.0, first_year: int = 2015) -> int:
    """Write ``rows`` police.uk rows to ``out``; returns the rows written."""
    src = real_rows()
    rng = np.random.default_rng(seed)
    lon = pd.to_numeric(src["Longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(src["Latitude"], errors="coerce").to_numpy()
    month_of_year = src["Month"].str[5:7].to_numpy()
    has_id = (src["Crime ID"] != "").to_numpy()
    text = {c: src[c].to_numpy(dtype=object) for c in HEADER
            if c not in ("Crime ID", "Month", "Longitude", "Latitude")}
    written = 0
    tmp = out.with_name(out.name + ".part")
    with pacsv.CSVWriter(tmp, pa.schema([(c, pa.string()) for c in HEADER])) as writer:
        while written < rows:
            n = min(CHUNK_ROWS, rows - written)
            pick = rng.integers(0, len(src), n)
            year = first_year + rng.integers(0, years, n)
            month = pd.Series(year.astype(str)).str.cat(month_of_year[pick], sep="-")
            dx = rng.uniform(-jitter_m, jitter_m, n) / M_PER_DEG_LON
            dy = rng.uniform(-jitter_m, jitter_m, n) / M_PER_DEG_LAT
            x, y = lon[pick] + dx, lat[pick] + dy
            hex_ids = np.frombuffer(rng.bytes(32 * n).hex().encode(), dtype="S64").astype(str)
            ids = np.where(has_id[pick], hex_ids, "")
            columns = {
                "Crime ID": ids,
                "Month": month.to_numpy(dtype=object),
                "Longitude": np.where(np.isnan(x), "", np.char.mod("%.6f", x)),
                "Latitude": np.where(np.isnan(y), "", np.char.mod("%.6f", y)),
            }
            for c, values in text.items():
                columns[c] = values[pick]
            writer.write_table(pa.table({c: pa.array(columns[c], pa.string())
                                         for c in HEADER}))
            written += n
    os.replace(tmp, out)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", type=int, default=10)
    a = ap.parse_args()
    n = generate(a.out, a.rows, seed=a.seed, years=a.years)
    print(f"{a.out}: {n:,} rows, {a.out.stat().st_size / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
