"""Geocoding: placing rows by postcode or address text against a supplied gazetteer.

Pure functions over arrays and frames (no store, no web):

* :mod:`spatial.geocode.postcode`: postcode normalisation, slip correction
  (reported), unit/sector/district lookups against a postcode directory;
* :mod:`spatial.geocode.address`: token-scored address matching against an
  address extract (UPRN, text, easting, northing);
* :mod:`spatial.geocode.gazetteer_files`: the published file layouts (ONS
  Postcode Directory CSV, Code-Point Open CSV, address extracts);
* :mod:`spatial.geocode.locate`: the hook the mapped-event readers call when a
  mapping names a ``postcode`` or ``address`` column.

Every position is British National Grid (EPSG:27700) metres.
"""

#: Location precision of a geocoded event, finest first (``point``: the row gave coordinates).
GEOCODE_PRECISIONS = ("point", "address", "postcode", "postcode_sector", "postcode_district")

#: Typical spread (metres) of the true locations around the point each precision gives.
#: Unit postcodes hold ~15 delivery points along one side of a street or block
#: (ONS, *Postcode Products User Guide*); sectors ~3,000 addresses and districts
#: ~10 sectors, a few km across in towns. Used only to warn, never to move points.
NOMINAL_SPREAD_M = {"point": 0.0, "address": 10.0, "postcode": 100.0,
                    "postcode_sector": 1500.0, "postcode_district": 4000.0}
