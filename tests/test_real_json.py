"""The whole public JSON sample folder through the hunt's loader, against independent counts.

The counts here come from the json and xml.etree modules alone, never from rmmhunt's readers:
every record in every file, and the process starts among them (Sysmon 1 and Security 4688).
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from rmmhunt.pipeline import LoadResult, load_inputs

SYSMON = "microsoft-windows-sysmon/operational"
XML_NAMESPACE = "{http://schemas.microsoft.com/win/2004/08/events/event}"
PCAP_MAGIC = b"\xd4\xc3\xb2\xa1"


def json_records(data: bytes) -> list[Any]:
    """Decode a JSON array, or NDJSON with one record per non-blank line."""
    text = data.decode("utf-8-sig")
    if text.lstrip().startswith("["):
        records: list[Any] = json.loads(text)
        return records
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def identity(record: dict[str, Any]) -> tuple[str, int]:
    """Return the channel and event ID of a flat, evtx_dump or Winlogbeat record."""
    if "winlog" in record:
        return str(record["winlog"]["channel"]), int(record["winlog"]["event_id"])
    if "Event" in record:
        system = record["Event"]["System"]
        event_id = system["EventID"]
        if isinstance(event_id, dict):
            event_id = event_id["#text"]
        return str(system["Channel"]), int(event_id)
    return str(record.get("Channel", "")), int(record["EventID"])


def xml_identities(data: bytes) -> list[tuple[str, int]]:
    root = ElementTree.fromstring(b"<Events>" + data + b"</Events>")
    found = []
    for event in root.iter(f"{XML_NAMESPACE}Event"):
        channel = event.findtext(f"{XML_NAMESPACE}System/{XML_NAMESPACE}Channel") or ""
        event_id = event.findtext(f"{XML_NAMESPACE}System/{XML_NAMESPACE}EventID") or "0"
        found.append((channel.strip(), int(event_id)))
    return found


def file_contents(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Yield each file and each zip member that a hunt reads, with its bytes."""
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        if path.suffix != ".zip":
            yield str(path), path.read_bytes()
            continue
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.startswith("__MACOSX/") or member.endswith("/"):
                    continue
                yield f"{path}!{member}", archive.read(member)


def independent_counts(folder: Path) -> Counter[str]:
    """Count files, packet captures, records and process starts without rmmhunt."""
    counts: Counter[str] = Counter()
    for _, data in file_contents(folder):
        if data.startswith(PCAP_MAGIC):
            counts["captures"] += 1
            continue
        counts["files"] += 1
        if data.lstrip().startswith(b"<"):
            identities = xml_identities(data)
        else:
            identities = [identity(record) for record in json_records(data)]
        counts["records"] += len(identities)
        for channel, event_id in identities:
            sysmon_start = channel.casefold() == SYSMON and event_id == 1
            security_start = channel.casefold() == "security" and event_id == 4688
            counts["process_starts"] += sysmon_start or security_start
    return counts


@pytest.fixture(scope="module")
def json_folder(shared_data: Path) -> Path:
    return shared_data / "json"


@pytest.fixture(scope="module")
def expected(json_folder: Path) -> Counter[str]:
    return independent_counts(json_folder)


@pytest.fixture(scope="module")
def loaded(json_folder: Path) -> LoadResult:
    # Duplicate merging is off, so that every process start read stays a row to count.
    return load_inputs([str(json_folder)], dedup=False)


def test_every_record_accounted(expected: Counter[str], loaded: LoadResult) -> None:
    stats = loaded.stats

    assert loaded.files_read == expected["files"]
    assert stats.records_read == expected["records"]
    assert stats.records_read == stats.records_normalised + sum(stats.skipped.values())
    assert loaded.dataset.count_rows() == stats.records_normalised
    assert set(stats.skipped) <= {"event_not_used"}
    assert stats.warning_count == 0


def test_process_starts_match_independent_count(expected: Counter[str], loaded: LoadResult) -> None:
    starts = loaded.dataset.count_rows(
        "event_type = 'PROCESS' AND event_sub_type = 'PROCESS_START'"
    )

    assert expected["process_starts"] > 1000
    assert starts == expected["process_starts"]


def test_only_packet_captures_fail(expected: Counter[str], loaded: LoadResult) -> None:
    failures = loaded.discovery.failures

    assert len(failures) == expected["captures"]
    for failure in failures:
        assert failure.path.endswith(".cap"), failure.path
        assert "packet capture (pcap)" in failure.reason, failure.reason
