"""The multiple-testing corrections remap offers: one list, importable without NumPy.

:func:`spatial.stats.significance.adjust` implements them (Benjamini & Hochberg 1995,
Benjamini & Yekutieli 2001 through :func:`scipy.stats.false_discovery_control`;
Bonferroni); the API's enum and the CLI's ``--correction`` choice are built from
:data:`CORRECTIONS`. Kept free of heavy imports so that ``remap --help`` starts fast.
"""

from __future__ import annotations

#: Multiple-testing corrections :func:`spatial.stats.significance.adjust` knows.
CORRECTIONS: tuple[str, ...] = ("fdr_bh", "fdr_by", "bonferroni", "none")
#: Other spellings accepted for the same corrections (R's ``p.adjust`` and scipy's
#: ``false_discovery_control`` names).
CORRECTION_ALIASES: dict[str, str] = {"bh": "fdr_bh", "by": "fdr_by"}
