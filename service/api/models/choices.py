"""Closed choices as :class:`enum.StrEnum`, each built from the one tuple the core
checks against, so the API offers exactly what the analysis accepts and
``/openapi.json`` lists the values.

The members are plain strings (``StrEnum``): handlers pass ``.value`` on to the
use cases, which keep their own checks for the CLI.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

from service.app.hotspots import METHODS
from service.store.operations import OPERATION_STATUSES
from spatial.disclosure import COUNTS, NOTHING, POINTS, PROTECTED_COUNTS
from spatial.events import SENSITIVITIES
from spatial.io.read import FORMATS
from spatial.stats.corrections import CORRECTIONS
from spatial.stats.kernels import KERNELS


def _choice(name: str, values: tuple[str, ...], doc: str) -> type[StrEnum]:
    enum = StrEnum(name, [(v.upper(), v) for v in values])  # type: ignore[misc]
    enum.__doc__ = doc
    return enum


if TYPE_CHECKING:  # built at run time from the tuples; to a type checker, string enums
    HotspotMethod: TypeAlias = StrEnum
    Correction: TypeAlias = StrEnum
    Kernel: TypeAlias = StrEnum
    ImportFormat: TypeAlias = StrEnum
    Sensitivity: TypeAlias = StrEnum
    Detail: TypeAlias = StrEnum
    OperationStatus: TypeAlias = StrEnum
    SortOrder: TypeAlias = StrEnum
else:
    #: ``method`` of /v1/hotspots (:data:`service.app.hotspots.METHODS`).
    HotspotMethod = _choice("HotspotMethod", METHODS,
                            "count, kernel density (kde), Getis-Ord Gi* (gistar) or local "
                            "Moran (lisa)")
    #: Multiple-testing corrections (:data:`spatial.stats.significance.CORRECTIONS`),
    #: Benjamini-Yekutieli (``fdr_by``) included.
    Correction = _choice("Correction", CORRECTIONS,
                         "multiple-testing correction: Benjamini-Hochberg (fdr_bh), "
                         "Benjamini-Yekutieli (fdr_by), Bonferroni, or none")
    #: KDE kernels (:data:`spatial.stats.density.KERNELS`).
    Kernel = _choice("Kernel", KERNELS, "kernel density kernel")
    #: Event file formats (:data:`spatial.io.read.FORMATS`).
    ImportFormat = _choice("ImportFormat", FORMATS, "event file format")
    #: Layer sensitivities (:data:`spatial.events.SENSITIVITIES`).
    Sensitivity = _choice("Sensitivity", SENSITIVITIES, "how sensitive a layer's events are")
    #: Detail levels a role receives of a layer (:mod:`spatial.disclosure`), finest first.
    Detail = _choice("Detail", (POINTS, COUNTS, PROTECTED_COUNTS, NOTHING),
                     "what a role receives of a layer")
    #: Operation statuses (:data:`service.store.operations.OPERATION_STATUSES`).
    OperationStatus = _choice("OperationStatus", OPERATION_STATUSES, "an operation's status")
    #: Sort order of the audit log by id.
    SortOrder = _choice("SortOrder", ("asc", "desc"), "by id: asc (oldest first) or desc")
