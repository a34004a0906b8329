"""Shared fixtures: where the real public data lives, and skipping when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``REMAP_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("REMAP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "policeuk").is_dir():
        pytest.skip(f"real public data not found at {path} (set REMAP_SHARED_DATA)")
    return path
