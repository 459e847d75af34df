"""Tests for the flat JSON reader: NXLog and the OTRF Security-Datasets exports."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.flatjson import FlatJsonReader
from rmmhunt.schema import Row

GOLDEN: Row = {
    "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
    "agent_hostname": "WS01.corp.local",
    "action_evtlog_event_id": 1,
    "event_type": "PROCESS",
    "event_sub_type": "PROCESS_START",
    "action_process_image_path": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "action_process_image_name": "AnyDesk.exe",
    "action_process_image_command_line": (
        r"C:\Users\bob\Downloads\AnyDesk.exe --install C:\ProgramData\AnyDesk --silent"
    ),
    "action_process_os_pid": 6120,
    "action_process_username": r"CORP\bob",
    "actor_process_image_path": r"C:\Windows\explorer.exe",
    "actor_process_image_name": "explorer.exe",
    "actor_process_command_line": r"C:\Windows\Explorer.EXE",
    "actor_process_os_pid": 4312,
    "actor_effective_username": r"CORP\bob",
}
GOLDEN_EVENT_ID = "ws01/Microsoft-Windows-Sysmon/Operational/4242"


def read_bytes(
    data: bytes, name: str, options: ReadOptions | None = None
) -> tuple[list[Row], ReadStats]:
    source = InputFile(name, io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(FlatJsonReader().read(source, stats, options or ReadOptions())), stats


def read_path(path: Path, options: ReadOptions | None = None) -> tuple[list[Row], ReadStats]:
    return read_bytes(path.read_bytes(), path.name, options)


@pytest.mark.parametrize(
    "name",
    ["golden_sysmon1_nxlog.jsonl", "golden_sysmon1_nxlog_array.json", "golden_sysmon1_otrf.jsonl"],
)
def test_golden_sysmon1_each_shape(fixtures: Path, name: str) -> None:
    path = fixtures / "flatjson" / name
    assert FlatJsonReader().detect(path.read_bytes()[:HEAD_SIZE], name)

    rows, stats = read_path(path)

    assert stats.records_read == 1
    assert stats.warnings == []
    assert len(rows) == 1
    for column, expected in GOLDEN.items():
        assert rows[0].get(column) == expected, column


def test_golden_event_id_from_record_number(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "flatjson" / "golden_sysmon1_nxlog.jsonl")

    assert rows[0]["event_id"] == GOLDEN_EVENT_ID


def test_event_id_without_record_number_from_content(fixtures: Path) -> None:
    # The OTRF exports drop RecordNumber, so the id must still differ between events.
    text = (fixtures / "flatjson" / "golden_sysmon1_otrf.jsonl").read_text()
    second = text.replace('"ProcessId": "6120"', '"ProcessId": "6121"')

    rows, _ = read_bytes((text + second).encode(), "two.jsonl")

    assert str(rows[0]["event_id"]).startswith("ws01/Microsoft-Windows-Sysmon/Operational/sha256:")
    assert rows[0]["event_id"] != rows[1]["event_id"]


def test_nxlog_eventtime_zone_rules(fixtures: Path) -> None:
    rows, stats = read_path(fixtures / "flatjson" / "nxlog_4688_time_zones.jsonl")
    times = {row["evtlog_record_id"]: row["_time"] for row in rows}
    expected = datetime(2024, 4, 15, 11, 10, tzinfo=UTC)

    assert times[5001] == expected  # offset from EventReceivedTime against @timestamp
    assert times[5002] == expected  # offset written in EventTime
    assert times[5003] is None  # no zone and no way to find it
    assert times[5005] == expected + timedelta(milliseconds=250)  # TimeCreated is UTC
    assert any("EventTime '2024-04-15 07:10:00' has no time zone" in w for w in stats.warnings)


def test_nxlog_eventtime_input_tz_applied(fixtures: Path) -> None:
    options = ReadOptions(input_tz=timedelta(hours=-4))

    rows, _ = read_path(fixtures / "flatjson" / "nxlog_4688_time_zones.jsonl", options)
    times = {row["evtlog_record_id"]: row["_time"] for row in rows}

    assert times[5003] == datetime(2024, 4, 15, 11, 10, tzinfo=UTC)


def test_malformed_line_located_rest_read(fixtures: Path) -> None:
    rows, stats = read_path(fixtures / "flatjson" / "nxlog_4688_time_zones.jsonl")

    assert stats.records_read == 6
    assert len(rows) == 4
    assert stats.skipped["malformed_record"] == 1
    assert stats.skipped["not_a_windows_event"] == 1
    assert any(w.startswith("nxlog_4688_time_zones.jsonl:4: invalid JSON") for w in stats.warnings)


def test_security_4688_flat_fields(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "flatjson" / "nxlog_4688_time_zones.jsonl")
    row = rows[0]

    assert row["action_process_image_name"] == "SRServer.exe"
    assert row["action_process_os_pid"] == 0x17E8
    assert row["actor_process_os_pid"] == 0x10D8
    assert row["actor_effective_username"] == r"CORP\bob"


def test_hayabusa_nxlog_samples_accounted(shared_data: Path) -> None:
    for name in ("hayabusa-nxlog-test.json", "hayabusa-nxlog-test.jsonl"):
        path = shared_data / "json" / "variants" / name

        rows, stats = read_path(path)

        assert stats.records_read == 2, name
        assert stats.records_read == len(rows) + sum(stats.skipped.values()), name
        assert stats.warnings == [], name


def _independent_process_starts(data: bytes) -> tuple[int, int]:
    """Count records and Sysmon 1 or Security 4688 events with a plain loop over the lines."""
    records = starts = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        records += 1
        event = json.loads(line)
        channel = str(event.get("Channel", "")).casefold()
        sysmon = channel == "microsoft-windows-sysmon/operational" and event["EventID"] == 1
        security = channel == "security" and event["EventID"] == 4688
        starts += sysmon or security
    return records, starts


def test_security_datasets_accounted(shared_data: Path) -> None:
    archives = sorted((shared_data / "json" / "Security-Datasets").rglob("*.zip"))
    assert len(archives) == 69
    members_read = 0

    for archive in archives:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                if member.startswith("__MACOSX/") or not member.endswith(".json"):
                    continue
                data = zipped.read(member)
                label = f"{archive.name}!{member}"
                assert FlatJsonReader().detect(data[:HEAD_SIZE], member), label

                rows, stats = read_bytes(data, label)
                records, starts = _independent_process_starts(data)

                assert stats.records_read == records, label
                assert stats.records_read == len(rows) + sum(stats.skipped.values()), label
                assert stats.skipped["malformed_record"] == 0, label
                process_starts = [r for r in rows if r.get("event_sub_type") == "PROCESS_START"]
                assert len(process_starts) == starts, label
                members_read += 1

    assert members_read == 63
