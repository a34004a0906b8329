"""The roles of remap's users: one list, importable without NumPy or SQLAlchemy.

``admin`` does everything; ``analyst`` analyses, imports and sees points;
``partner`` and ``viewer`` receive aggregated, disclosure-controlled reads only
(:mod:`spatial.disclosure` decides what). The store's API keys, the API's role
enum and the CLI's ``--role`` choices are all this list.
"""

from __future__ import annotations

from typing import Final

#: Every role, most privileged first.
ROLES: Final = ("admin", "analyst", "partner", "viewer")
#: Roles that analyse: import, create operations, save results.
ANALYST_ROLES: Final = ("admin", "analyst")
#: Roles that may receive events at point level and every statistic.
POINT_LEVEL_ROLES: Final = frozenset(ANALYST_ROLES)
#: Roles that receive disclosure-controlled aggregates only.
CONTROLLED_ROLES: Final = frozenset({"partner", "viewer"})
