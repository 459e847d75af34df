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

# Event kinds by provider name and Windows event ID: Sysmon 1 and Security 4688 create a
# process; System 7045 and Security 4697 install a service.
EVENT_KINDS = {
    ("Microsoft-Windows-Sysmon", 1): "process_start",
    ("Microsoft-Windows-Security-Auditing", 4688): "process_start",
    ("Service Control Manager", 7045): "service_install",
    ("Microsoft-Windows-Security-Auditing", 4697): "service_install",
}


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
def evtx_kind_records(shared_data: Path) -> dict[Path, dict[str, Counter[int]]]:
    """Count process start and service install records by file, kind and record id.

    The count uses pyevtx-rs alone, on every non-empty `.evtx` file under the EVTX folder, and
    goes on past parser errors. It selects records by provider name and event ID (EVENT_KINDS)
    rather than by the channel that rmmhunt maps from, so it shares no logic with the reader.
    """
    counts: dict[Path, dict[str, Counter[int]]] = {}
    for path in sorted((shared_data / "evtx").rglob("*.evtx")):
        if path.stat().st_size == 0:
            continue
        by_kind: dict[str, Counter[int]] = {kind: Counter() for kind in EVENT_KINDS.values()}
        counts[path] = by_kind
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
            kind = EVENT_KINDS.get((provider, int(event_id)))
            if kind is not None:
                by_kind[kind][int(record["event_record_id"])] += 1
    return counts
