"""The Dask path: batch work over partitioned Parquet, on one machine or a cluster.

Everything here runs the single-machine functions of :mod:`spatial` on pieces
of the data, on Dask workers, and combines their results:

* :mod:`~spatial.distributed.ingest` reads police.uk / mapped CSV files in
  byte-range chunks with :func:`spatial.io.read.read_events` (the same
  validation, keys and placement as the single-machine importer) and writes
  the accepted events as Parquet partitioned by layer and month
  (:mod:`~spatial.distributed.dataset`).
* :mod:`~spatial.distributed.counting` counts events per unit (H3, grid,
  boundary polygons) and window: each partition is located with
  :func:`spatial.place.units.locate_points` and the per-unit counts are summed,
  so the counts are exactly the single-machine ones.
* :mod:`~spatial.distributed.density` computes the kernel density of
  :func:`spatial.stats.density.kde` tile by tile, each tile from the points of
  the tile and a halo of the kernel's support.
* :mod:`~spatial.distributed.hotspots` gathers the unit counts and runs
  :func:`spatial.stats.getis_ord.gi_star` / :func:`spatial.stats.moran.local_moran`.

Where work runs is a :class:`distributed.Client` (:mod:`~spatial.distributed.cluster`):
a ``LocalCluster`` here or any scheduler by address. No service imports.
"""
