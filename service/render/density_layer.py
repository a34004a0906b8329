"""A kernel density grid (``density``) as a PNG image overlay in Web Mercator.

The grid (:class:`service.render.map_inputs.DensityGrid`) is in a projected
CRS; it is resampled to Web Mercator and drawn as an image between panes of
tiles and vector layers. Difference surfaces use a diverging colour map
centred on zero.
"""

from __future__ import annotations

import base64
import math
from typing import Final

import branca.utilities
import folium
import numpy as np
import numpy.typing as npt
from markupsafe import Markup

from service.render.classify import format_value
from service.render.colours import DIV_STOPS, SEQ_STOPS, ramp
from service.render.features import MapContext
from service.render.legend import add_legend, join, note
from service.render.legend import ramp as ramp_legend
from service.render.map_inputs import DensityGrid, MapLayer
from spatial.place.crs import WGS84, transformer

#: Most pixels along either side of a density image.
MAX_IMAGE_SIDE: Final = 1_600
#: Leaflet pane of density images: above tiles (200), below vector layers (400).
DENSITY_PANE: Final = "remapDensity"
#: Cells below this share of the largest absolute value are transparent.
DENSITY_FLOOR: Final = 0.02


def density_rgba(grid: DensityGrid, max_side: int = MAX_IMAGE_SIDE
                 ) -> tuple[npt.NDArray[np.uint8], list[list[float]], float]:
    """The grid resampled to Web Mercator as an RGBA image.

    The grid is in a projected CRS (e.g. BNG), whose axes are not parallel
    to Web Mercator's, so the image is resampled (nearest neighbour) onto a
    Web Mercator-aligned raster that Leaflet can stretch linearly between
    its corners. Cells outside the grid, NaN cells and cells under
    :data:`DENSITY_FLOOR` of the largest absolute value are transparent.

    Returns
    -------
    rgba : ndarray of uint8, shape (h, w, 4)
        Row 0 is the north edge.
    bounds : [[south, west], [north, east]]
        Degrees, for :class:`folium.raster_layers.ImageOverlay`.
    scale : float
        The largest absolute value (the end of the colour ramp).
    """
    vals = np.asarray(grid.values, dtype=np.float64)
    ny, nx = vals.shape
    x0, y0, x1, y1 = grid.bounds
    to_merc = transformer(grid.epsg, 3857)
    k = 64
    ex = np.concatenate([np.linspace(x0, x1, k), np.full(k, x1), np.linspace(x1, x0, k),
                         np.full(k, x0)])
    ey = np.concatenate([np.full(k, y0), np.linspace(y0, y1, k), np.full(k, y1),
                         np.linspace(y1, y0, k)])
    mx, my = to_merc.transform(ex, ey)
    mx0, mx1, my0, my1 = float(np.min(mx)), float(np.max(mx)), float(np.min(my)), \
        float(np.max(my))
    # pixels: about one per source cell along the longer side, capped
    cell_m = max((x1 - x0) / nx, (y1 - y0) / ny)
    merc_per_m = (mx1 - mx0) / max(x1 - x0, 1e-9)
    px = cell_m * merc_per_m / 2.0  # half a cell: crisp cell edges after resampling
    w = int(min(max_side, max(2, math.ceil((mx1 - mx0) / px))))
    h = int(min(max_side, max(2, math.ceil((my1 - my0) / px))))
    cx = mx0 + (np.arange(w) + 0.5) * (mx1 - mx0) / w
    cy = my1 - (np.arange(h) + 0.5) * (my1 - my0) / h  # north first
    gx, gy = np.meshgrid(cx, cy)
    sx, sy = transformer(3857, grid.epsg).transform(gx.ravel(), gy.ravel())
    col = np.floor((np.asarray(sx) - x0) / (x1 - x0) * nx).astype(np.int64)
    row = np.floor((np.asarray(sy) - y0) / (y1 - y0) * ny).astype(np.int64)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    sample = np.full(col.shape, np.nan)
    sample[inside] = vals[row[inside], col[inside]]
    sample = sample.reshape(h, w)
    finite = np.isfinite(vals)
    scale = float(np.max(np.abs(vals[finite]))) if finite.any() else 0.0
    alpha = np.zeros((h, w), dtype=np.uint8)
    if scale > 0:
        t = sample / scale
        visible = np.isfinite(t) & (np.abs(np.nan_to_num(t)) >= DENSITY_FLOOR)
        rgb = ramp(t, DIV_STOPS if grid.diverging else SEQ_STOPS)
        alpha[visible] = 210
    else:
        rgb = np.zeros((h, w, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, alpha]).astype(np.uint8)
    to_ll = transformer(3857, WGS84)
    west, south = to_ll.transform(mx0, my0)
    east, north = to_ll.transform(mx1, my1)
    return rgba, [[float(south), float(west)], [float(north), float(east)]], scale


def _density_legend(grid: DensityGrid, scale: float) -> Markup:
    """The colour ramp from 0 (or -scale) to the largest value, with what it means."""
    stops = DIV_STOPS if grid.diverging else SEQ_STOPS
    lo = -1.0 if grid.diverging else 0.0
    offsets = [((p - lo) / (1 - lo), c) for p, c in stops]
    if grid.diverging:
        # an all-zero difference has one tick: "−0 0 +0" would read as signed findings
        ticks = ([f"−{format_value(scale)}", "0", f"+{format_value(scale)}"] if scale > 0
                 else ["0"])
        text = ("Blue: fewer than before / the comparison; red: more. Colours centred on 0; "
                f"cells within {DENSITY_FLOOR:.0%} of 0 are clear.")
    else:
        ticks = ["0", format_value(scale)]
        text = f"Cells under {DENSITY_FLOOR:.0%} of the maximum are clear."
    ramp_id = f"remap-ramp-{'div' if grid.diverging else 'seq'}"
    return join([ramp_legend(offsets, ticks, gradient_id=ramp_id), note(f"{grid.units}. {text}")])


def add_density(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """The grid as an image overlay in its own pane, with a colour-ramp legend."""
    grid = DensityGrid.coerce(layer.data, layer.name)
    rgba, bounds, scale = density_rgba(grid)
    png = branca.utilities.write_png(rgba, origin="upper")
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    folium.raster_layers.ImageOverlay(url, bounds=bounds, opacity=0.85, pixelated=True,
                                      interactive=False, control=False, name=layer.name,
                                      pane=DENSITY_PANE).add_to(group)
    (s, w), (n, e) = bounds
    ctx.bounds.append((w, s, e, n))
    if grid.parameters:
        ctx.layer_parameters[layer.name] = grid.parameters
    add_legend(ctx, group, layer, _density_legend(grid, scale))
