"""Tests for the Elastic Common Schema reader: Winlogbeat and Elastic Agent documents."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.ecs import EcsJsonReader
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


def read_path(path: Path) -> tuple[list[Row], ReadStats]:
    data = path.read_bytes()
    source = InputFile(path.name, io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(EcsJsonReader().read(source, stats, ReadOptions())), stats


@pytest.mark.parametrize(
    "name",
    [
        "golden_sysmon1_winlogbeat.ndjson",
        "golden_sysmon1_bulk_source.ndjson",
        "golden_sysmon1_search_hits.json",
    ],
)
def test_golden_sysmon1_each_shape(fixtures: Path, name: str) -> None:
    path = fixtures / "ecs" / name
    assert EcsJsonReader().detect(path.read_bytes()[:HEAD_SIZE], name)

    rows, stats = read_path(path)

    assert stats.records_read == 1
    assert stats.warnings == []
    assert len(rows) == 1
    for column, expected in GOLDEN.items():
        assert rows[0].get(column) == expected, column
    assert rows[0]["action_process_original_file_name"] == "AnyDesk.exe"
    assert rows[0]["action_process_image_sha256"] == (
        "4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
    )


def test_event_data_fills_missing_ecs_fields(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "ecs" / "ecs_fallback_and_security.ndjson")
    row = rows[0]

    assert row["action_process_image_path"] == r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe"
    assert row["action_process_os_pid"] == 6200
    assert row["actor_process_image_name"] == "services.exe"
    assert row["actor_effective_username"] == r"NT AUTHORITY\SYSTEM"
    assert row["_time"] == datetime(2024, 4, 15, 11, 9, 28, tzinfo=UTC)


def test_ecs_fields_override_event_data(fixtures: Path) -> None:
    document = json.loads((fixtures / "ecs" / "golden_sysmon1_winlogbeat.ndjson").read_text())
    document["winlog"]["event_data"]["Image"] = r"C:\stale\value.exe"
    data = (json.dumps(document) + "\n").encode()
    source = InputFile("override.ndjson", io.BytesIO(data), data[:HEAD_SIZE])

    rows = list(EcsJsonReader().read(source, ReadStats(), ReadOptions()))

    assert rows[0]["action_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"


def test_security_4688_from_ecs_process(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "ecs" / "ecs_fallback_and_security.ndjson")
    row = rows[1]

    assert row["event_sub_type"] == "PROCESS_START"
    assert row["action_evtlog_event_id"] == 4688
    assert row["action_process_image_name"] == "SRServer.exe"
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_process_os_pid"] == 4312
    assert row["actor_effective_username"] == r"CORP\bob"
    assert row["event_id"] == "ws01/Security/5001"


def test_malformed_and_foreign_documents_counted(fixtures: Path) -> None:
    rows, stats = read_path(fixtures / "ecs" / "ecs_fallback_and_security.ndjson")

    assert stats.records_read == 4
    assert len(rows) == 2
    assert stats.skipped["malformed_record"] == 1
    assert stats.skipped["not_a_windows_event"] == 1
    assert stats.warnings[0].startswith("ecs_fallback_and_security.ndjson:3: invalid JSON")


def test_real_winlogbeat_sample_accounted(shared_data: Path) -> None:
    path = shared_data / "json" / "variants" / "winlogbeat_sysmon_sample.json"
    documents = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected_starts = sum(1 for d in documents if d["winlog"]["event_id"] in ("1", 1))

    rows, stats = read_path(path)

    assert stats.records_read == len(documents)
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    assert sum(1 for r in rows if r.get("event_sub_type") == "PROCESS_START") == expected_starts
    assert {row["action_evtlog_event_id"] for row in rows} == {11, 13}
    file_create = next(row for row in rows if row["action_evtlog_event_id"] == 11)
    # Winlogbeat keeps TargetFilename only in the ECS field file.path.
    assert (
        file_create["action_file_path"] == r"C:\Windows\ServiceState\EventLog\Data\lastalive1.dat"
    )


def test_elastic_defend_process_start(fixtures: Path) -> None:
    path = fixtures / "golden" / "elastic_defend_process.ndjson"
    assert EcsJsonReader().detect(path.read_bytes()[:HEAD_SIZE], path.name)

    rows, stats = read_path(path)

    assert stats.records_read == 2
    assert stats.skipped["event_not_used"] == 1
    [row] = rows
    assert row["event_id"] == "NkKpJ8Bm3cQ4Zx7A++++4242"
    assert row["agent_hostname"] == "WS01"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["action_process_original_file_name"] == "AnyDesk.exe"
    assert row["action_process_instance_id"] == "NWFhOGVjMjktMWIyYy02NjFkLTNhMDQ"
    assert row["action_process_username"] == r"CORP\bob"
    assert row["actor_process_instance_id"] == "NWFhOGVjMjktMGYxMi02NjFkLThjMDE"
    assert row["actor_effective_username"] == r"CORP\bob"
    assert row["_vendor"] == "Elastic"


def endpoint_document(**overrides: object) -> dict[str, object]:
    document: dict[str, object] = {
        "@timestamp": "2024-04-15T11:09:27.123Z",
        "event": {"category": "process", "type": "start", "id": "e1"},
        "host": {"name": "ws02", "os": {"type": "windows"}},
        "process": {"command_line": r'"C:\Tools\rustdesk.exe" --service', "pid": 7},
    }
    document.update(overrides)
    return document


def read_documents(*documents: dict[str, object]) -> tuple[list[Row], ReadStats]:
    data = b"".join(json.dumps(document).encode() + b"\n" for document in documents)
    source = InputFile("endpoint.ndjson", io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(EcsJsonReader().read(source, stats, ReadOptions())), stats


def test_elastic_defend_name_derived_from_command_line() -> None:
    [row], _ = read_documents(endpoint_document())

    assert row["action_process_image_name"] == "rustdesk.exe"
    assert row["action_process_image_name_derived"] is True
    assert row.get("actor_effective_username") is None


def test_elastic_defend_invalid_time_rejected() -> None:
    rows, stats = read_documents(endpoint_document(**{"@timestamp": "15/04/2024 11:09"}))

    assert rows == []
    assert stats.records_read == 1
    assert stats.skipped["invalid_time"] == 1
    assert stats.warnings[0].startswith("endpoint.ndjson:1: invalid timestamp")


def test_ecs_without_process_not_an_event() -> None:
    rows, stats = read_documents(
        endpoint_document(), {"@timestamp": "2024-04-15T11:09:27Z", "message": "hello"}
    )

    assert len(rows) == 1
    assert stats.skipped["not_a_windows_event"] == 1
