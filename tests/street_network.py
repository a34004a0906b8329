"""A generated road network in the OS Open Roads GeoPackage layout, and events near it.

A lattice of ``n`` x ``n`` junctions ``spacing`` metres apart in EPSG:27700 (in
Sheffield), joined by links along rows and columns; a few links are written as
MultiLineStrings and one diagonal crosses the lattice. Links have the columns
of OS Open Roads' ``road_link``: ``identifier``, ``name_1``,
``road_classification``, ``road_function``, ``start_node``, ``end_node``,
``length``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ORIGIN = (435_000.0, 387_000.0)  # BNG metres, Sheffield


def network_frame(n: int = 6, spacing: float = 100.0,
                  names: dict[int, str] | None = None) -> gpd.GeoDataFrame:
    x0, y0 = ORIGIN
    rows = []
    k = 0

    def node(i: int, j: int) -> str:
        return f"N{i:02d}{j:02d}"

    for j in range(n):  # east-west links, street "Row j Road"
        for i in range(n - 1):
            rows.append((f"L{k:04d}", f"Row {j} Road", "Unclassified", "Local Road",
                         node(i, j), node(i + 1, j),
                         shapely.LineString([(x0 + i * spacing, y0 + j * spacing),
                                             (x0 + (i + 1) * spacing, y0 + j * spacing)])))
            k += 1
    for i in range(n):  # north-south links, street "Column i Street"
        for j in range(n - 1):
            line = shapely.LineString([(x0 + i * spacing, y0 + j * spacing),
                                       (x0 + i * spacing, y0 + (j + 1) * spacing)])
            if (i + j) % 5 == 0:  # some written as MultiLineStrings of two parts
                mid = (x0 + i * spacing, y0 + (j + 0.5) * spacing)
                line = shapely.MultiLineString([[(x0 + i * spacing, y0 + j * spacing), mid],
                                                [mid, (x0 + i * spacing,
                                                       y0 + (j + 1) * spacing)]])
            rows.append((f"L{k:04d}", f"Column {i} Street", "B Road", "B Road",
                         node(i, j), node(i, j + 1), line))
            k += 1
    # an isolated lane 1 km east: no event reaches it (a zero), no neighbour (an island)
    rows.append((f"L{k:04d}", "Far Lane", "Unclassified", "Local Road", "F0", "F1",
                 shapely.LineString([(x0 + 1000 + n * spacing, y0),
                                     (x0 + 1000 + n * spacing, y0 + spacing)])))
    k += 1
    # a diagonal crossing the lattice, unnamed (touches links where it crosses them)
    rows.append((f"L{k:04d}", None, "A Road", "A Road", "D0", "D1",
                 shapely.LineString([(x0 + 0.5 * spacing, y0 - 0.5 * spacing),
                                     (x0 + (n - 1.5) * spacing, y0 + (n - 0.5) * spacing)])))
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["identifier", "name_1", "road_classification",
                                    "road_function", "start_node", "end_node", "geometry"]),
        geometry="geometry", crs=27700)
    frame["length"] = frame.geometry.length
    if names:
        for pos, nm in names.items():
            frame.loc[pos, "name_1"] = nm
    return frame


def write_network(path: Path, frame: gpd.GeoDataFrame | None = None,
                  layer: str = "road_link") -> Path:
    frame = network_frame() if frame is None else frame
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def events_near(n_events: int = 2_000, seed: int = 14, n: int = 6,
                spacing: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Points over the lattice and a margin around it (some farther than 30 m from
    every link), BNG metres."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    x = rng.uniform(x0 - 80, x0 + (n - 1) * spacing + 80, n_events)
    y = rng.uniform(y0 - 80, y0 + (n - 1) * spacing + 80, n_events)
    return x, y
