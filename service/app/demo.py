"""``remap demo``: a demo store built from the seeded synthetic town, end to end.

Real data cannot be bundled, so the demo generates Remton
(:mod:`spatial.synthetic`), imports it through the same pipeline as real
files, and writes what an analyst would look at into one folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from service.app.analysis import AreaSpec, CountsRequest, UnitSpec, counts_collection
from service.app.emerging import demo_emerging
from service.app.hotspots import HotspotOptions, hotspots_collection
from service.app.importer import ImportReport, import_boundaries, store_events
from service.app.near_repeat import demo_near_repeat
from service.app.operation_demo import demo_operation, demo_phases
from service.app.watches import demo_watch
from service.render.area_pack import area_pack_html
from service.render.hotspot_page import hotspot_map_html
from service.render.operation_map import operation_map_html
from service.render.operation_pack import operation_pack_html
from service.store import Store
from spatial.synthetic.town import SyntheticTown, build_town

Echo = Callable[[str], None]


def run_demo(out_dir: Path, *, seed: int = 20181001, echo: Echo | None = None
             ) -> dict[str, Any]:
    """Build ``out_dir/remap-demo.db`` from the synthetic town and write outputs."""
    say: Echo = echo or (lambda _msg: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "remap-demo.db"
    for stale in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm")):
        stale.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    summary: dict[str, Any] = {"store": str(db), "seed": seed, "outputs": {}}

    town = build_town(seed)
    say(f"remap demo: synthetic town {town.name} (seed {seed}); fictional, see "
        f"{out_dir / 'town.txt'}")
    (out_dir / "town.txt").write_text(town.description + "\n")
    summary["layers"] = _import_town(store, town, out_dir, say)
    _write_counts(store, out_dir, summary["outputs"], say)
    _write_hotspots(store, out_dir, summary["outputs"], seed, say)
    summary["operation"] = demo_operation(store, town, out_dir, say)
    summary["watch"] = demo_watch(store, out_dir, say)
    summary["rolling_operation"] = demo_phases(store, town, out_dir, say)
    say("patterns in time:")
    summary["emerging_hot_spots"] = demo_emerging(store, out_dir, say)
    summary["near_repeat"] = demo_near_repeat(store, out_dir, say)
    _write_pages(store, out_dir, summary, seed, say)
    store.dispose()
    say(f"outputs in {out_dir}/ ; explore the store with "
        f"REMAP_DATABASE_URL=sqlite:///{db} remap layers")
    return summary


def _import_town(store: Store, town: SyntheticTown, out_dir: Path, say: Echo
                 ) -> dict[str, int]:
    """The beats and every layer of the town, through the import pipeline."""
    beats_path = out_dir / "beats.geojson"
    town.beats.to_file(beats_path, driver="GeoJSON")
    b = import_boundaries(store, beats_path, file_name=str(beats_path), name="beats",
                          id_field="unit_id", label_field="label", actor="demo")
    say(f"  boundary set 'beats' v{b.version}: {b.units} beats")

    layers: dict[str, int] = {}
    for layer, frame in town.events.items():
        report = ImportReport(layer=layer, format="synthetic", h3_resolution=store.h3_resolution)
        store_events(store, frame, report, timings={}, file_names=[f"synthetic:{layer}"],
                     actor="demo")
        layers[layer] = report.inserted
        say(f"  layer {layer}: {report.inserted} events stored")
    return layers


def _write_json(out_dir: Path, name: str, value: Any) -> Path:
    path = out_dir / name
    path.write_text(json.dumps(value, default=str))
    return path


def _write_counts(store: Store, out_dir: Path, outputs: dict[str, str], say: Echo) -> None:
    """Drugs offences per beat and per H3 res-9 cell."""
    drugs = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="boundary:beats")
    fc = counts_collection(store, drugs, role="analyst")
    outputs["drugs_per_beat"] = str(_write_json(out_dir, "drugs_per_beat.geojson", fc))
    top = sorted(fc["features"], key=lambda f: -f["properties"]["count"])[:5]
    say("  Drugs offences per beat, top 5: " + ", ".join(
        f"{f['properties']['label']} {f['properties']['count']}" for f in top))

    h3req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                                area="boundary:beats")
    fc9 = counts_collection(store, h3req, role="analyst")
    path = _write_json(out_dir, "drugs_per_h3_res9.geojson", fc9)
    outputs["drugs_per_h3_res9"] = str(path)
    p = fc9["parameters"]
    say(f"  Drugs offences on {p['units']} H3 res-9 cells over the town "
        f"({p['zero_units']} with none): {path}")


def _write_hotspots(store: Store, out_dir: Path, outputs: dict[str, str], seed: int,
                    say: Echo) -> None:
    """Gi* on H3 cells and local Moran on beats, Drugs and anti-social behaviour."""
    gi_req = CountsRequest.parse(layer="crime", categories=["Drugs", "Anti-social behaviour"],
                                 unit="h3:9", area="boundary:beats", start="2018-07",
                                 end="2018-12")
    gi = hotspots_collection(store, gi_req, HotspotOptions(method="gistar", seed=seed),
                             role="analyst")
    path = _write_json(out_dir, "hotspots_gistar_h3_res9.geojson", gi)
    outputs["hotspots_gistar"] = str(path)
    bins = [f["properties"]["Gi_Bin"] for f in gi["features"]]
    gp = gi["parameters"]
    say(f"  Getis-Ord Gi* (H3 res 9, Drugs + ASB, 2018-07..12, {gp['gi_permutations']:,} "
        f"permutations, seed {gp['gi_seed']}, {gp['gi_correction']}, two-sided): "
        f"{sum(b == 3 for b in bins)} cells hot at 99 %, {sum(b > 0 for b in bins)} hot in all, "
        f"{sum(b < 0 for b in bins)} cold: {path}")
    beats_req = replace(gi_req, unit=UnitSpec.parse("boundary:beats"), area=AreaSpec.parse(None))
    lisa = hotspots_collection(store, beats_req,
                               HotspotOptions(method="lisa", seed=seed),
                               role="analyst")
    path = _write_json(out_dir, "hotspots_lisa_beats.geojson", lisa)
    outputs["hotspots_lisa"] = str(path)
    hh = [f["properties"]["label"] for f in lisa["features"]
          if f["properties"]["cluster"] == "HH"]
    lp = lisa["parameters"]
    say(f"  Local Moran (beats, {lp['lisa_permutations']:,} permutations, seed "
        f"{lp['lisa_seed']}, {lp['lisa_correction']}): high-high beats: "
        f"{', '.join(hh) or 'none'}: {path}")


def _write_pages(store: Store, out_dir: Path, summary: dict[str, Any], seed: int,
                 say: Echo) -> None:
    """Hotspot maps for an analyst and a partner, an area pack, the operation's pages."""
    outputs = summary["outputs"]
    map_req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                                  area="boundary:beats")
    map_opts = HotspotOptions(seed=seed)
    for role in ("analyst", "partner"):
        path = out_dir / f"map_hotspots_{role}.html"
        path.write_text(hotspot_map_html(store, map_req, map_opts, role=role), encoding="utf-8")
        outputs[f"map_hotspots_{role}"] = str(path)
    path = out_dir / "pack_area_partner.html"
    path.write_text(area_pack_html(store, map_req, map_opts, role="partner"), encoding="utf-8")
    outputs["pack_area_partner"] = str(path)
    say(f"  maps (open in any browser, offline): {out_dir / 'map_hotspots_analyst.html'}, "
        f"{out_dir / 'map_hotspots_partner.html'} (partner view: aggregated, suppressed)")
    say(f"  tasking pack (prints to A4): {path}")
    op_id = summary["operation"].get("id") if isinstance(summary["operation"], dict) else None
    if op_id is not None:
        path = out_dir / "map_operation.html"
        path.write_text(operation_map_html(store, op_id, role="analyst", actor="demo"),
                        encoding="utf-8")
        outputs["map_operation"] = str(path)
        pack = out_dir / "pack_operation.html"
        pack.write_text(operation_pack_html(store, op_id, role="analyst", actor="demo"),
                        encoding="utf-8")
        outputs["pack_operation"] = str(pack)
        say(f"  operation map and pack: {path}, {pack}")
