"""Shared test fixtures: the path to the real public logs beside the repository."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import evtx
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Process creation events by provider name: Sysmon event 1 and Security event 4688.
PROCESS_CREATION_EVENTS = frozenset(
    {("Microsoft-Windows-Sysmon", 1), ("Microsoft-Windows-Security-Auditing", 4688)}
)


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


@pytest.fixture(scope="session")
def evtx_process_creations(shared_data: Path) -> dict[Path, Counter[int]]:
    """Count Sysmon 1 and Security 4688 records by file and record id with pyevtx-rs alone.

    Every non-empty `.evtx` file under the EVTX folder gets an entry. The count goes on past
    parser errors and selects records by provider name and event ID, not by the channel that
    rmmhunt maps from, so that it shares no logic with the reader under test.
    """
    counts: dict[Path, Counter[int]] = {}
    for path in sorted((shared_data / "evtx").rglob("*.evtx")):
        if path.stat().st_size == 0:
            continue
        counts[path] = Counter()
        records = evtx.PyEvtxParser(str(path)).records_json()
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except RuntimeError:
                continue
            system = json.loads(record["data"])["Event"]["System"]
            provider = ((system.get("Provider") or {}).get("#attributes") or {}).get("Name")
            event_id = system["EventID"]
            if isinstance(event_id, dict):
                event_id = event_id["#text"]
            if (provider, int(event_id)) in PROCESS_CREATION_EVENTS:
                counts[path][int(record["event_record_id"])] += 1
    return counts
