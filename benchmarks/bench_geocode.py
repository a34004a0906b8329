"""Benchmark: geocoding speed, postcodes and addresses (run by hand, not a test).

Usage::

    .venv/bin/python benchmarks/bench_geocode.py [--directory 2600000] [--queries 1000000]
        [--addresses-queries 20000] [--store]

Times, in one run on the same machine:

1. Postcodes: a synthetic ONS Postcode Directory of ``--directory`` rows (10 %
   terminated) is indexed (:class:`spatial.geocode.postcode.PostcodeDirectory`,
   sector and district centroids included), then ``--queries`` postcodes are
   placed by :func:`spatial.geocode.postcode.geocode_postcodes`: 80 % exact,
   10 % lower case / unspaced, 3 % sectors, 2 % districts, 3 % unknown, 2 %
   letter/digit slips. Peer: a per-row Python loop (one regex normalisation and
   one ``dict.get`` per postcode) over the same queries, the results compared
   for equality with remap's. Wall and CPU seconds are both shown: on a
   shared machine the wall time mostly measures the other processes. Goal (issue 14): at least
   1 million postcodes per minute against a 2.6-million-row directory.
2. Addresses: a synthetic extract (:func:`spatial.synthetic.gazetteer.address_set`)
   indexed, and ``--addresses-queries`` messy queries matched by
   :func:`spatial.geocode.address.match_addresses`; peer: the same function
   called once per query (what a per-row implementation of the same score costs)
   on a 100-query sample.
3. With ``--store``: the directory imported into a temporary SQLite store
   (:func:`service.app.geocoding.import_gazetteer`) and loaded back
   (:func:`service.app.geocoding.load_geocoder`), the cost a first geocoded
   import pays.

Prints markdown for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spatial.geocode.address import AddressIndex, match_addresses  # noqa: E402
from spatial.geocode.postcode import PostcodeDirectory, geocode_postcodes  # noqa: E402
from spatial.synthetic.gazetteer import address_set, postcode_directory  # noqa: E402

_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def queries(codes: np.ndarray, n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = pd.Series(codes[rng.integers(0, len(codes), n)], dtype=object)
    kind = rng.random(n)
    lower = kind < 0.10
    q[lower] = q[lower].str.lower().str.replace(" ", "", regex=False)
    sector = (kind >= 0.10) & (kind < 0.13)
    q[sector] = q[sector].str[:-2]
    district = (kind >= 0.13) & (kind < 0.15)
    q[district] = q[district].str.split(" ").str[0]
    unknown = (kind >= 0.15) & (kind < 0.18)
    q[unknown] = "ZZ" + pd.Series(rng.integers(1, 99, int(unknown.sum()))).astype(str).to_numpy() \
        + " 9ZZ"
    slip = (kind >= 0.18) & (kind < 0.20)
    q[slip] = q[slip].str[:-3] + q[slip].str[-3:].str.replace("0", "O", regex=False)
    return q.to_numpy(dtype=object)


def python_loop(values: np.ndarray, lookup: dict[str, tuple[float, float]]) -> list[object]:
    """The per-row baseline: normalise with one regex, one dict look-up per postcode."""
    out: list[object] = []
    for v in values:
        m = _FULL.match(re.sub(r"\s+", " ", str(v).upper().strip()))
        out.append(lookup.get(f"{m.group(1)} {m.group(2)}") if m else None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--directory", type=int, default=2_600_000)
    ap.add_argument("--queries", type=int, default=1_000_000)
    ap.add_argument("--addresses-queries", type=int, default=20_000)
    ap.add_argument("--store", action="store_true")
    args = ap.parse_args()
    print(f"## Geocoding ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"load average before {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")

    t0 = time.perf_counter()
    onspd = postcode_directory(args.directory, seed=1)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    directory = PostcodeDirectory.build(onspd["pcds"], onspd["oseast1m"], onspd["osnrth1m"],
                                        onspd["doterm"])
    t_build = time.perf_counter() - t0
    q = queries(onspd["pcds"].to_numpy(dtype=object), args.queries)
    t0, c0 = time.perf_counter(), time.process_time()
    m = geocode_postcodes(q, directory)
    t_geo, c_geo = time.perf_counter() - t0, time.process_time() - c0
    rate = args.queries / t_geo
    sample = q  # the same queries: both sides see the same load
    lookup = dict(zip(onspd["pcds"], zip(onspd["oseast1m"], onspd["osnrth1m"], strict=True),
                      strict=True))
    t0, c0 = time.perf_counter(), time.process_time()
    loop = python_loop(sample, lookup)
    t_loop, c_loop = time.perf_counter() - t0, time.process_time() - c0
    loop_rate = len(sample) / t_loop
    # the loop knows full postcodes only: compare where both placed a full postcode
    n_s = len(sample)
    plain = np.array([v is not None for v in loop])
    both = (m.precision[:n_s] == "postcode") & plain & ~pd.Series(m.flag[:n_s]).str.contains(
        "corrected").to_numpy(dtype=bool)
    agree = all(loop[i] == (m.easting[i], m.northing[i]) for i in np.flatnonzero(both))
    agree = agree and int(plain.sum()) == int(both.sum())
    print("| step | rows | seconds | CPU seconds | rows per second | per minute |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| synthetic ONSPD generated | {args.directory:,} | {t_gen:.2f} | | | |")
    print(f"| directory indexed (+ {len(directory.sectors):,} sector, "
          f"{len(directory.districts):,} district centroids) | {args.directory:,} | "
          f"{t_build:.2f} | | | |")
    print(f"| **geocode_postcodes** | {args.queries:,} | {t_geo:.2f} | {c_geo:.2f} | "
          f"{rate:,.0f} | {rate * 60:,.0f} |")
    print(f"| peer: Python loop, regex + dict.get | {len(sample):,} | {t_loop:.2f} | "
          f"{c_loop:.2f} | {loop_rate:,.0f} | {loop_rate * 60:,.0f} |")
    counts = pd.Series(m.precision, dtype=object).fillna("rejected").value_counts()
    print(f"\nratio remap / loop: {rate / loop_rate:.2f}x wall, {c_loop / c_geo:.2f}x CPU "
          "(the loop places full postcodes only: no sectors, districts, slips or reasons); "
          "placed: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"; loop and remap agree on every unflagged full postcode of the sample: {agree}")
    print(f"goal >= 1,000,000 per minute against {args.directory:,} rows: "
          f"{'met' if rate * 60 >= 1e6 else 'NOT met'} ({rate * 60:,.0f})\n")

    labelled = address_set(seed=11, streets=60, houses=300, queries=args.addresses_queries)
    ex = labelled.extract
    t0 = time.perf_counter()
    index = AddressIndex.build(ex["UPRN"], ex["ADDRESS"], ex["X_COORDINATE"],
                               ex["Y_COORDINATE"])
    t_ab = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    am = match_addresses(labelled.queries, index)
    t_am, c_am = time.perf_counter() - t0, time.process_time() - c0
    few = labelled.queries[:100]
    t0, c0 = time.perf_counter(), time.process_time()
    for text in few:
        match_addresses([text], index)
    t_one, c_one = time.perf_counter() - t0, time.process_time() - c0
    got = np.where(am.found, pd.Index(ex["UPRN"]).get_indexer(am.uprn), -2)
    wrong = int((am.found & (got != labelled.truth)).sum())
    a_rate = len(labelled.queries) / t_am
    one_rate = len(few) / t_one
    print("| addresses | rows | seconds | CPU seconds | rows per second |")
    print("|---|---:|---:|---:|---:|")
    print(f"| extract indexed | {len(ex):,} | {t_ab:.2f} | | |")
    print(f"| **match_addresses** (all at once) | {len(labelled.queries):,} | {t_am:.2f} | "
          f"{c_am:.2f} | {a_rate:,.0f} |")
    print(f"| peer: one query per call | {len(few):,} | {t_one:.2f} | {c_one:.2f} | "
          f"{one_rate:,.0f} |")
    print(f"\nratio {a_rate / one_rate:.1f}x wall, "
          f"{(c_one / len(few)) / (c_am / len(labelled.queries)):.1f}x CPU per query; accepted {int(am.found.sum()):,} of "
          f"{len(labelled.queries):,} ({int((labelled.truth >= 0).sum()):,} in the extract), "
          f"wrong matches {wrong}\n")

    if args.store:
        from service.app.geocoding import _CACHE, import_gazetteer, load_geocoder
        from service.store import Store

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "onspd.csv"
            onspd.to_csv(path, index=False)
            store = Store(f"sqlite:///{tmp}/bench.db")
            t0 = time.perf_counter()
            import_gazetteer(store, path, kind="onspd", file_name="onspd.csv")
            t_imp = time.perf_counter() - t0
            _CACHE.clear()
            t0 = time.perf_counter()
            load_geocoder(store, postcodes=True, addresses=False)
            t_load = time.perf_counter() - t0
            store.dispose()
        print(f"SQLite store: ONSPD import of {args.directory:,} rows {t_imp:.1f} s; "
              f"first load for geocoding {t_load:.1f} s (cached per version after that)\n")
    print(f"load average after {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
