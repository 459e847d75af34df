"""Shared test fixtures: the path to the real public logs beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ../shared/data, which CI always has; elsewhere skip when it is missing."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI"):
        pytest.fail(f"the real public logs are missing at {SHARED_DATA}; CI must provide them")
    pytest.skip(f"real public logs not found at {SHARED_DATA}; clone the repository beside shared/")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Return the directory of the project's own small test fixtures."""
    return FIXTURES
