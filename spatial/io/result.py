"""What every event reader returns, and the array and input types they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from spatial.errors import Rejection
from spatial.events import empty_events_frame

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]
Bounds = tuple[float, float, float, float]
Source = str | Path | IO[bytes] | bytes


@dataclass
class ReadResult:
    """What a reader returns.

    Attributes
    ----------
    file : str
        The name rejections carry (``file_name`` or the path's base name).
    layer : str
        Layer the events belong to.
    rows_read : int
        Data rows (features) in the input, blank lines not counted;
        ``rows_accepted + rows_rejected == rows_read``.
    events : pandas.DataFrame
        Accepted rows, columns exactly :data:`spatial.events.EVENT_COLUMNS`.
    rejections : list of Rejection
        One per rejected row, in row order.
    timings : dict
        Seconds spent in ``"parse"`` (bytes to raw table) and ``"validate"``
        (everything after).
    warnings : list of Rejection
        Accepted rows with something to check (e.g. a corrected postcode).
    arrow : dict of str to pyarrow.Array
        Arrow forms of some text columns of ``events`` (the same rows and
        values; string or dictionary of string, null where ``events`` has
        None), made without a ``str`` per row, for writers that store Arrow;
        a column not here is taken from ``events``. May be empty.
    """

    file: str
    layer: str
    rows_read: int
    events: pd.DataFrame
    rejections: list[Rejection]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[Rejection] = field(default_factory=list)
    arrow: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def rows_accepted(self) -> int:
        return len(self.events)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejections)


def empty_result(file: str, layer: str,
                 attribute_columns: list[str] | None = None) -> ReadResult:
    """A read of no data rows (a chunk of only blank lines).

    ``attribute_columns``: the ``attr:<key>`` columns the reader gives in
    place of ``attributes`` (``None``: the ``attributes`` column).
    """
    events = empty_events_frame()
    events["time"] = events["time"].astype("datetime64[ns]")
    if attribute_columns is not None:
        events = events.drop(columns="attributes").assign(
            **{c: pd.Series(dtype=object) for c in attribute_columns})
    return ReadResult(file=file, layer=layer, rows_read=0, events=events, rejections=[])
