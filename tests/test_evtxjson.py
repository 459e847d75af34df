"""Tests for the evtx_dump JSON and `Get-WinEvent | ConvertTo-Json` readers."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE, InputFile, Reader, ReadOptions, ReadStats
from rmmhunt.readers.evtxjson import EvtxJsonReader, GetWinEventJsonReader
from rmmhunt.schema import Row

GOLDEN: Row = {
    "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
    "agent_hostname": "WS01.corp.local",
    "event_id": "ws01/Microsoft-Windows-Sysmon/Operational/4242",
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


def read_path(reader: Reader, path: Path) -> tuple[list[Row], ReadStats]:
    data = path.read_bytes()
    source = InputFile(path.name, io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(reader.read(source, stats, ReadOptions())), stats


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        (EvtxJsonReader(), "golden_sysmon1_evtx_dump.json"),
        (EvtxJsonReader(), "golden_sysmon1_evtx_dump.jsonl"),
        (EvtxJsonReader(), "golden_sysmon1_array.json"),
        (GetWinEventJsonReader(), "golden_sysmon1_getwinevent_ps51.json"),
        (GetWinEventJsonReader(), "golden_sysmon1_getwinevent_ps7.json"),
    ],
)
def test_golden_sysmon1_each_shape(fixtures: Path, reader: Reader, name: str) -> None:
    path = fixtures / "evtxjson" / name
    assert reader.detect(path.read_bytes()[:HEAD_SIZE], name)

    rows, stats = read_path(reader, path)

    assert stats.records_read == 1
    assert stats.warnings == []
    assert len(rows) == 1
    for column, expected in GOLDEN.items():
        assert rows[0].get(column) == expected, column
    assert rows[0]["action_process_image_sha256"] == (
        "4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
    )


def test_detectors_do_not_overlap(fixtures: Path) -> None:
    evtx_head = (fixtures / "evtxjson" / "golden_sysmon1_evtx_dump.json").read_bytes()
    winevent_head = (fixtures / "evtxjson" / "golden_sysmon1_getwinevent_ps51.json").read_bytes()

    assert not GetWinEventJsonReader().detect(evtx_head, "a.json")
    assert not EvtxJsonReader().detect(winevent_head, "a.json")


def test_record_separator_stream_with_malformed_record(fixtures: Path) -> None:
    rows, stats = read_path(
        EvtxJsonReader(), fixtures / "evtxjson" / "evtx_dump_malformed_record.json"
    )

    assert stats.records_read == 3
    assert stats.skipped["malformed_record"] == 1
    assert stats.skipped["event_not_used"] == 1
    assert len(rows) == 1
    assert stats.warnings[0].startswith("evtx_dump_malformed_record.json:41: invalid JSON")
    assert "at line 43" in stats.warnings[0]


def test_unnamed_data_named_by_template(fixtures: Path) -> None:
    rows, _ = read_path(EvtxJsonReader(), fixtures / "evtxjson" / "evtx_dump_malformed_record.json")
    row = rows[0]

    assert row["action_evtlog_event_id"] == 7045
    assert row["action_service_name"] == "AnyDesk Service"
    assert row["action_service_account"] == "LocalSystem"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["_time"] == datetime(2024, 4, 15, 11, 12, 0, 123456, tzinfo=UTC)


def test_getwinevent_4688_positions_and_offset(fixtures: Path) -> None:
    rows, stats = read_path(
        GetWinEventJsonReader(), fixtures / "evtxjson" / "getwinevent_4688_layouts.json"
    )

    assert stats.records_read == 2
    assert len(rows) == 1
    row = rows[0]
    assert row["_time"] == datetime(2024, 4, 15, 11, 10, 0, 500000, tzinfo=UTC)
    assert row["action_process_image_name"] == "SRServer.exe"
    assert row["action_process_os_pid"] == 6120
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_process_os_pid"] == 4312
    assert row["actor_effective_username"] == r"CORP\bob"


def test_getwinevent_short_property_list_not_named(fixtures: Path) -> None:
    _, stats = read_path(
        GetWinEventJsonReader(), fixtures / "evtxjson" / "getwinevent_4688_layouts.json"
    )

    # Five values fit no 4688 layout, so they stay unnamed and the process name is missing.
    assert stats.skipped["missing_required_field"] == 1


def test_eventid_object_with_qualifiers(fixtures: Path) -> None:
    text = (fixtures / "evtxjson" / "golden_sysmon1_evtx_dump.jsonl").read_text()

    assert '"Qualifiers"' in text
    rows, _ = read_path(EvtxJsonReader(), fixtures / "evtxjson" / "golden_sysmon1_evtx_dump.jsonl")
    assert rows[0]["action_evtlog_event_id"] == 1


def test_real_evtx_json_sample_accounted(shared_data: Path) -> None:
    path = shared_data / "json" / "variants" / "sample_events.json"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected_starts = sum(
        1
        for line in lines
        if line["Event"]["System"]["EventID"] == 1
        and line["Event"]["System"]["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    )

    rows, stats = read_path(EvtxJsonReader(), path)

    assert stats.records_read == len(lines)
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    starts = [row for row in rows if row.get("event_sub_type") == "PROCESS_START"]
    assert len(starts) == expected_starts
    assert expected_starts > 0
