"""Every colour of remap's maps, the labels that go with them, and colour ramps.

ColorBrewer schemes (Brewer, Harrower & Woodruff; colorbrewer2.org) for counts,
aggregated points, categories and density surfaces; the ArcGIS Hot Spot
Analysis colours for Getis-Ord Gi* bins; GeoDa's colours for LISA clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

#: ArcGIS Hot Spot Analysis colours and labels for ``Gi_Bin``.
GI_BIN_COLOURS: Final[dict[int, str]] = {
    -3: "#4575b4", -2: "#91bfdb", -1: "#e0f3f8", 0: "#d9d9d9",
    1: "#fee090", 2: "#fc8d59", 3: "#d73027",
}
GI_BIN_LABELS: Final[dict[int, str]] = {
    -3: "Cold spot 99 % confidence", -2: "Cold spot 95 % confidence",
    -1: "Cold spot 90 % confidence", 0: "Not significant",
    1: "Hot spot 90 % confidence", 2: "Hot spot 95 % confidence",
    3: "Hot spot 99 % confidence",
}

#: GeoDa's LISA cluster colours.
LISA_COLOURS: Final[dict[str, str]] = {
    "HH": "#e31a1c", "HL": "#f4a6a6", "LH": "#a6bddb", "LL": "#1f4e9c", "ns": "#d9d9d9",
}
LISA_LABELS: Final[dict[str, str]] = {
    "HH": "High-High (hot spot)", "HL": "High-Low (high outlier)",
    "LH": "Low-High (low outlier)", "LL": "Low-Low (cold spot)", "ns": "Not significant",
}

#: ColorBrewer OrRd (counts) and Purples (aggregated points), 5 classes.
SEQUENTIAL: Final[tuple[str, ...]] = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
PURPLES: Final[tuple[str, ...]] = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
ZERO_COLOUR: Final = "#ffffff"
MISSING_COLOUR: Final = "#bdbdbd"
HATCH_ID: Final = "remap-hatch"
#: SVG fill of the suppressed class (a hatch pattern defined in the page).
SUPPRESSED_FILL: Final = f"url(#{HATCH_ID})"
#: Categorical colours for point categories (ColorBrewer Dark2).
CATEGORICAL: Final[tuple[str, ...]] = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                       "#66a61e", "#e6ab02", "#a6761d", "#666666")
#: Colour of single events when no category colours them.
POINT_COLOUR: Final = "#6a3d9a"
#: Outline of units in classified layers.
BORDER: Final = "#737373"

#: Styles of operation areas by role: outlines in black, purple and green with no fill, so
#: they never read as a class of the red = more (OrRd, RdBu) scales drawn under them.
AREA_STYLES: Final[dict[str, dict[str, Any]]] = {
    "target": {"color": "#111111", "weight": 3, "dashArray": None, "fillOpacity": 0.0},
    "buffer": {"color": "#762a83", "weight": 2.5, "dashArray": "8 6", "fillOpacity": 0.0},
    "ring": {"color": "#c2a5cf", "weight": 1.5, "dashArray": "3 5", "fillOpacity": 0.0},
    "control": {"color": "#1b7837", "weight": 2.5, "dashArray": "12 6 2 6",
                "fillOpacity": 0.0},
    "other": {"color": "#4d4d4d", "weight": 1.5, "dashArray": "2 4", "fillOpacity": 0.0},
}
AREA_LABELS: Final[dict[str, str]] = {
    "target": "Target area (where the operation acted)",
    "buffer": "Buffer / catchment (displacement would show here)",
    "ring": "Distance ring", "control": "Control area (comparison)", "other": "Other area",
}

#: Density ramps: ColorBrewer YlOrRd (sequential) and RdBu (diverging, centred on 0).
SEQ_STOPS: Final = ((0.0, "#ffffb2"), (0.25, "#fecc5c"), (0.5, "#fd8d3c"),
                    (0.75, "#f03b20"), (1.0, "#bd0026"))
DIV_STOPS: Final = ((-1.0, "#2166ac"), (-0.5, "#92c5de"), (0.0, "#f7f7f7"),
                    (0.5, "#f4a582"), (1.0, "#b2182b"))


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as integer red, green, blue (0..255)."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def palette(colours: Sequence[str], n: int) -> list[str]:
    """``n`` colours along a sequential palette, darkest last.

    Fewer classes than colours skip the palette's near-white first colour
    (kept apart from the white zero class); more are interpolated in RGB.
    """
    if n <= 0:
        return []
    if n == len(colours):
        return list(colours)
    if n == 1:
        return [colours[-1]]
    start = 1.0 if n < len(colours) else 0.0
    rgb = np.array([hex_rgb(c) for c in colours], dtype=np.float64)
    out = []
    for pos in np.linspace(start, len(colours) - 1, n):
        lo = int(np.floor(pos))
        hi = min(lo + 1, len(colours) - 1)
        mix = rgb[lo] + (rgb[hi] - rgb[lo]) * (pos - lo)
        out.append("#" + "".join(f"{int(round(v)):02x}" for v in mix))
    return out


def ramp(t: npt.NDArray[np.float64], stops: Sequence[tuple[float, str]]
         ) -> npt.NDArray[np.uint8]:
    """Linear interpolation of colour stops at positions ``t`` -> uint8 RGB."""
    xs = np.array([s[0] for s in stops])
    rgb = np.array([hex_rgb(s[1]) for s in stops], dtype=np.float64)
    out = np.empty((*t.shape, 3), dtype=np.uint8)
    tt = np.clip(np.nan_to_num(t, nan=0.0), xs[0], xs[-1])
    for ch in range(3):
        out[..., ch] = np.round(np.interp(tt, xs, rgb[:, ch])).astype(np.uint8)
    return out
