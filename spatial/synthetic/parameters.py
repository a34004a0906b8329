"""The fixed parameters of the synthetic town: sizes, rates, multipliers, names.

Every number here is a choice made for a fictional town (see
:mod:`spatial.synthetic.town`), not an estimate of anything real.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]
Attributes = list[dict[Hashable, Any]]
TOWN_NAME: Final = "Remton"
DEFAULT_SEED: Final = 20181001
DEFAULT_MONTHS: Final = ("2018-07", "2019-06")
#: Fictional placement of the town centre in BNG metres (easting, northing).
CENTRE_BNG: Final = (440_000.0, 380_000.0)
#: Half the town's extent east-west and north-south, metres.
HALF_WIDTH_M: Final = 3_000.0
HALF_HEIGHT_M: Final = 2_500.0
BEAT_GRID: Final = (6, 4)  # columns, rows -> 24 beats
N_SNAP_POINTS: Final = 1_500
N_LSOAS: Final = 60
AMBULANCE_ROUNDING_M: Final = 400.0
#: Points are kept this far inside the town edge so that they are inside the
#: beats whichever CRS the containment test runs in.
EDGE_MARGIN_M: Final = 5.0
CRIME_PER_MONTH: Final = 2_500.0
OVERDOSES_PER_YEAR: Final = 600.0
DEALING_SITES: Final = 60
SEASONAL_AMPLITUDE: Final = 0.08
BUFFER_M: Final = 400.0
TARGET_MULTIPLIER: Final = 0.45
BUFFER_MULTIPLIER: Final = 1.6
OVERDOSE_MULTIPLIER: Final = 1.8
AFFECTED_CATEGORIES: Final = ("Drugs", "Anti-social behaviour")
STRIKE_DAYS: Final = 14
EFFECTS: Final = ("displacement", "diffusion", "reduction", "none")
#: police.uk crime types: (share of all crime, share near markets, share near
#: the town centre); the rest of each type is uniform background.
CRIME_CATEGORIES: Final[dict[str, tuple[float, float, float]]] = {
    "Anti-social behaviour": (0.30, 0.35, 0.15),
    "Violence and sexual offences": (0.28, 0.25, 0.20),
    "Drugs": (0.05, 0.65, 0.05),
    "Burglary": (0.06, 0.10, 0.00),
    "Shoplifting": (0.07, 0.05, 0.70),
    "Criminal damage and arson": (0.08, 0.20, 0.10),
    "Vehicle crime": (0.05, 0.10, 0.15),
    "Other theft": (0.05, 0.10, 0.40),
    "Public order": (0.05, 0.25, 0.25),
    "Possession of weapons": (0.01, 0.50, 0.15),
}
OUTCOMES: Final = (
    ("Investigation complete; no suspect identified", 0.40),
    ("Unable to prosecute suspect", 0.22),
    ("Under investigation", 0.10),
    ("Status update unavailable", 0.08),
    ("Local resolution", 0.07),
    ("Awaiting court outcome", 0.06),
    ("Offender given a caution", 0.04),
    ("Offender sent to prison", 0.03),
)
DRUG_OUTCOMES: Final = (
    ("Offender given a drugs possession warning", 0.30),
    ("Local resolution", 0.15),
    ("Awaiting court outcome", 0.20),
    ("Offender given a caution", 0.10),
    ("Under investigation", 0.10),
    ("Unable to prosecute suspect", 0.10),
    ("Offender sent to prison", 0.05),
)
SUBSTANCES: Final = (("heroin", 0.45, 0.60), ("crack", 0.30, 0.20), ("unknown", 0.25, 0.35))
MARKET_TYPES: Final = ("open street", "closed", "house", "arrange-to-meet", "crack house")
SITE_STATUSES: Final = ("active", "closed", "re-occupied")
MARKET_MIX: Final = (0.25, 0.20, 0.25, 0.15, 0.15)
TARGET_MARKET_MIX: Final = (0.35, 0.15, 0.20, 0.10, 0.20)
DISPLACED_MARKET_MIX: Final = (0.10, 0.10, 0.40, 0.30, 0.10)
STREET_STEMS: Final = (
    "Acacia", "Albion", "Ashby", "Beech", "Birch", "Bramble", "Brook", "Canal", "Castle",
    "Cedar", "Chapel", "Church", "Clarence", "Coronation", "Cromwell", "Dale", "Elm", "Forge",
    "Foundry", "George", "Glebe", "Granby", "Hawthorn", "Hazel", "Highfield", "Holly",
    "Jubilee", "King", "Laburnum", "Larch", "Lime", "Maple", "Market", "Meadow", "Mill",
    "Nelson", "Oak", "Orchard", "Park", "Priory", "Queen", "Railway", "Regent", "Rowan",
    "School", "Silver", "Spring", "Station", "Tanner", "Union", "Victoria", "Wharf", "Willow",
    "Windmill", "York",
)
STREET_SUFFIXES: Final = (
    "Street", "Road", "Lane", "Close", "Avenue", "Way", "Terrace", "Grove", "Crescent", "Walk",
    "Place", "Drive",
)
PLACES: Final = (
    "Parking Area", "Supermarket", "Petrol Station", "Shopping Area", "Nightclub",
    "Sports/Recreation Area", "Further/Higher Educational Building", "Hospital",
    "Conference/Exhibition Centre", "Theatre/Concert Hall",
)
BEAT_NAMES: Final = (
    "Remton Central", "Ashby Fields", "Brookside", "Castlegate", "Chapel End", "Dale Park",
    "Elmwood", "Forge Hill", "Foundry Quarter", "Glebe Farm", "Granby", "Hawthorn Rise",
    "Highfield", "Holly Bank", "Jubilee Park", "Kingsmead", "Larchwood", "Meadowside",
    "Mill Green", "Nelson Fields", "Orchard Vale", "Priory", "Railway Triangle", "Rowan Heath",
    "Silverdale", "Spring Bank", "Tanners Yard", "Wharfside", "Willow Brook", "Windmill Hill",
)
