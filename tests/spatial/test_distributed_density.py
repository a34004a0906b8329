"""Tiled KDE with halos equals the single-machine KDE; exact order statistics."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import shapely

from spatial.distributed import counting, ingest
from spatial.distributed.density import order_statistics, tiled_kde
from spatial.io.policeuk import POLICEUK_COLUMNS
from spatial.place import crs
from spatial.place import units as unitsmod
from spatial.stats import density
from tests.dask_cluster import dask_client  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, dask_client) -> Path:  # noqa: F811
    tmp = tmp_path_factory.mktemp("kde")
    rng = np.random.default_rng(5)
    paths = []
    for f in range(3):
        path = tmp / f"2019-0{f + 1}-street.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(POLICEUK_COLUMNS)
            centres = [(-1.47, 53.38), (-1.40, 53.40), (-1.52, 53.36)]
            for i in range(1500):
                cx, cy = centres[i % 3]
                w.writerow(["", f"2019-0{f + 1}", "SYP", "SYP",
                            f"{cx + rng.normal(0, 0.01):.6f}", f"{cy + rng.normal(0, 0.006):.6f}",
                            "On or near X", "", "", "Drugs" if i % 2 else "Burglary", "", ""])
        paths.append(path)
    out = tmp / "ds"
    ingest.import_files(dask_client, paths, out, layer="crime")
    return out


def _single(folder: Path, sel: counting.Selection, units: unitsmod.UnitSet, **kw):
    import pandas as pd

    frames = [sel.read(p, ("time", "category", "lon", "lat", "x", "y", "crs_epsg", "h3"))
              for p in sel.parts(folder)]
    ev = pd.concat(frames, ignore_index=True)
    inside = counting.locate(units, ev).index >= 0
    polys = crs.geometry_to_metric(np.asarray(units.geometry.values, dtype=object), units.epsg)
    bounds = shapely.total_bounds(polys)
    cell = max(10.0, round(min(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 200.0))
    return density.kde(ev.loc[inside, "x"].to_numpy(), ev.loc[inside, "y"].to_numpy(),
                       cell_size_m=cell, bounds=tuple(bounds), **kw)


@pytest.mark.parametrize(("bandwidth", "kernel", "tile"), [
    ("silverman", "gaussian", 40), (400.0, "quartic", 64), ("scott", "gaussian", 1000)])
def test_tiled_kde_equals_single_machine(dask_client, dataset: Path, bandwidth,  # noqa: F811
                                         kernel, tile) -> None:
    sel = counting.Selection("crime", ("Drugs",))
    units = unitsmod.h3_units(shapely.box(-1.56, 53.33, -1.36, 53.43), 8)
    got, info = tiled_kde(dask_client, str(dataset), sel, units, bandwidth_m=bandwidth,
                          kernel=kernel, tile_cells=tile)
    want = _single(dataset, sel, units, bandwidth_m=bandwidth, kernel=kernel)
    assert info["tiles"] >= (1 if tile == 1000 else 4)
    assert got.bandwidth_m == pytest.approx(want.bandwidth_m, rel=1e-12)
    np.testing.assert_array_equal(got.x_edges, want.x_edges)
    assert got.density.shape == want.density.shape
    peak = want.density.max()
    assert np.abs(got.density - want.density).max() <= 1e-9 * peak
    big = want.density > 1e-6 * peak
    assert (np.abs(got.density - want.density)[big] / want.density[big]).max() < 1e-9


def test_order_statistics_are_exact(dask_client) -> None:  # noqa: F811
    rng = np.random.default_rng(3)
    parts_np = [(np.sort(rng.normal(400000, 3000, n)), np.sort(rng.normal(-5, 2, n)))
                for n in (1000, 1, 2500)]
    futures = [dask_client.scatter(p) for p in parts_np]
    xs = np.sort(np.concatenate([p[0] for p in parts_np]))
    ys = np.sort(np.concatenate([p[1] for p in parts_np]))
    ranks = [0, 1, 875, 3500]
    got = order_statistics(dask_client, futures, ranks + ranks, [0] * 4 + [1] * 4,
                           [xs[0]] * 4 + [ys[0]] * 4, [xs[-1]] * 4 + [ys[-1]] * 4)
    assert got.tolist() == [xs[r] for r in ranks] + [ys[r] for r in ranks]


def test_counts_equal_locating_every_event_at_once(dask_client, dataset: Path) -> None:  # noqa: F811
    import pandas as pd

    sel = counting.Selection("crime", ("Burglary",))
    units = unitsmod.grid_units(shapely.box(-1.50, 53.35, -1.42, 53.41), 250)
    tally = counting.count_units(dask_client, dataset, sel, units)
    ev = pd.concat([sel.read(p, ("time", "category", "lon", "lat", "x", "y", "crs_epsg", "h3"))
                    for p in sel.parts(dataset)], ignore_index=True)
    located = unitsmod.locate_points(units, ev["lon"].to_numpy(), ev["lat"].to_numpy(),
                                     ev["x"].to_numpy(), ev["y"].to_numpy())
    np.testing.assert_array_equal(tally.counts, unitsmod.count(units, located.index))
    assert tally.clipped == located.clipped > 0
    assert tally.selected == len(ev) == 2250
