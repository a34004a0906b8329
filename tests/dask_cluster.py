"""A small in-process Dask cluster for tests of the batch path (2 thread workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    from spatial.distributed.cluster import connect

    with connect("local", processes=False) as client:
        yield client
