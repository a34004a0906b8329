"""Content-derived event keys stay those of pandas' row hashes (re-imports must match)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spatial.io.assemble import _HASH_KEYS, derived_keys


def _reference(frame: pd.DataFrame) -> list[str]:
    """The key recipe written out with pandas' own hashes of the frame as it is."""
    h1 = pd.util.hash_pandas_object(frame, index=False, hash_key=_HASH_KEYS[0]).to_numpy()
    h2 = pd.util.hash_pandas_object(frame, index=False, hash_key=_HASH_KEYS[1]).to_numpy()
    seen: dict[tuple[int, int], int] = {}
    out = []
    for a, b in zip(h1.tolist(), h2.tolist(), strict=True):
        n = seen.get((a, b), 0)
        seen[(a, b)] = n + 1
        out.append(f"{a:016x}{b:016x}-{n}")
    return out


def test_text_columns_hash_as_pandas_hashes_them() -> None:
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame({
        "Crime ID": [f"{i:064x}" if i % 3 else "" for i in rng.integers(0, 10**9, n)],
        "Month": rng.choice(["2018-10", "2018-11"], n),
        "Location": rng.choice(["On or near Park Road", "é \"q\"", ""], n),
    }, dtype=object)
    frame.index = np.arange(100, 100 + n)  # not the default index
    assert derived_keys(frame).tolist() == _reference(frame)
    as_str = frame.astype("str")
    assert derived_keys(as_str).tolist() == _reference(frame)


def test_other_dtypes_and_missing_cells_hash_as_pandas_hashes_them() -> None:
    frame = pd.DataFrame({
        "n": [1, 2, 2, 1], "f": [0.5, np.nan, np.nan, 0.5],
        "s": ["a", None, None, "a"], "t": pd.to_datetime(["2019-01-01"] * 4),
        "c": pd.Categorical(["x", "y", "y", "x"]),
    })
    keys = derived_keys(frame).tolist()
    assert keys == _reference(frame)
    assert keys[0].endswith("-0") and keys[3].endswith("-1")  # identical rows, distinct keys
