"""A seeded synthetic town, Remton, for ``remap demo`` and for tests.

:mod:`spatial.synthetic.town` builds it (:func:`~spatial.synthetic.town.build_town`)
from :mod:`~spatial.synthetic.geography` (outline, beats, markets, planted
target), :mod:`~spatial.synthetic.layers` (crime, ambulance, dealing sites),
:mod:`~spatial.synthetic.months` (windows) and
:mod:`~spatial.synthetic.parameters`, and describes it in plain text
(:mod:`~spatial.synthetic.description`).
"""
