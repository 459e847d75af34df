"""Tests for the CrowdStrike Falcon reader: process links, DNS, connections and times."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.readers._edr_records import RecordRejected
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.crowdstrike import CrowdStrikeReader, map_falcon_event
from rmmhunt.schema import Row

GOLDEN_TIME = datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)
GOLDEN_COMMAND = (
    r'"C:\Users\bob\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk"'
    " --start-with-win --silent"
)
GOLDEN_PATH = r"\Device\HarddiskVolume3\Users\bob\Downloads\AnyDesk.exe"


def open_input(path: Path) -> InputFile:
    data = path.read_bytes()
    return InputFile(display=path.name, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read_rows(path: Path) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    rows = list(CrowdStrikeReader().read(open_input(path), stats, ReadOptions()))
    return rows, stats


def by_event_id(rows: list[Row], suffix: str) -> Row:
    matches = [row for row in rows if str(row.get("event_id", "")).endswith(suffix)]
    assert len(matches) == 1
    return matches[0]


def test_detect_fdr_and_event_stream(fixtures: Path) -> None:
    reader = CrowdStrikeReader()
    for name in ("fdr.ndjson", "event_stream.json"):
        source = open_input(fixtures / "crowdstrike" / name)
        assert reader.detect(source.head, name)
    assert not reader.detect(b'{"EventID": 4688, "Channel": "Security"}\n', "x.json")


def test_golden_process_start(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    row = by_event_id(rows, "0002")
    assert row["_time"] == GOLDEN_TIME
    assert row["event_type"] == "PROCESS"
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["agent_hostname"] == "WS01"
    assert row["agent_id"] == "4d92d2adf9009775a446ce0fe2689915"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_path"] == GOLDEN_PATH
    assert row["action_process_image_command_line"] == GOLDEN_COMMAND
    assert row["action_process_os_pid"] == 4321
    assert row["action_process_instance_id"] == "100200300500"
    assert row["action_process_username"] == "bob"
    assert row["_vendor"] == "CrowdStrike"


def test_parent_filled_from_its_own_event(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    row = by_event_id(rows, "0002")
    assert row["actor_process_instance_id"] == "100200300400"
    assert row["actor_process_image_name"] == "explorer.exe"
    assert row["actor_process_image_path"] == r"\Device\HarddiskVolume3\Windows\explorer.exe"
    assert row["actor_process_command_line"] == r"C:\Windows\Explorer.EXE"
    assert row["actor_process_os_pid"] == 1234


def test_child_before_parent_still_linked(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    child = by_event_id(rows, "0003")
    assert child["action_process_image_name"] == "cmd.exe"
    assert child["actor_process_image_name"] == "AnyDesk.exe"
    assert child["actor_process_image_path"] == GOLDEN_PATH
    assert child["actor_process_command_line"] == GOLDEN_COMMAND


def test_parent_outside_file_keeps_base_name(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    explorer = by_event_id(rows, "0001")
    assert explorer["actor_process_image_name"] == "userinit.exe"
    assert "actor_process_image_path" not in explorer


def test_dns_request_columns(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    dns = by_event_id(rows, "0004")
    assert dns["event_type"] == "NETWORK"
    assert dns["event_sub_type"] == "DNS_QUERY"
    assert dns["dns_query_name"] == "relay-1.net.anydesk.com"
    assert dns["actor_process_instance_id"] == "100200300500"
    assert dns["actor_process_image_path"] == GOLDEN_PATH
    assert dns["_time"] == datetime(2024, 4, 15, 11, 9, 28, 50000, tzinfo=UTC)


def test_network_connect_columns(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    connection = by_event_id(rows, "0005")
    assert connection["event_sub_type"] == "NETWORK_CONNECTION"
    assert connection["action_remote_ip"] == "195.181.174.11"
    assert connection["action_remote_port"] == 443
    assert connection["action_local_ip"] == "10.0.0.15"
    assert connection["action_network_protocol"] == "TCP"
    assert connection["actor_process_image_name"] == "AnyDesk.exe"
    assert "action_process_image_name" not in connection


def test_accounting_unused_and_malformed(fixtures: Path) -> None:
    rows, stats = read_rows(fixtures / "crowdstrike" / "fdr.ndjson")
    assert len(rows) == 5
    assert stats.records_read == 7
    assert stats.skipped["event_not_used"] == 1
    assert stats.skipped["malformed_record"] == 1
    assert "fdr.ndjson:7:" in stats.warnings[0]


def test_event_stream_shape_matches_fdr(fixtures: Path) -> None:
    fdr = by_event_id(read_rows(fixtures / "crowdstrike" / "fdr.ndjson")[0], "0002")
    stream = by_event_id(read_rows(fixtures / "crowdstrike" / "event_stream.json")[0], "0002")
    for column in fdr:
        if not column.startswith("source_"):
            assert stream.get(column) == fdr[column], column


def test_timestamp_milliseconds_fallback() -> None:
    event = {"event_simpleName": "ProcessRollup2", "aid": "a", "timestamp": 1713179367123}
    row = map_falcon_event(event, {})
    assert row is not None
    assert row["_time"] == datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC)


def test_invalid_epoch_rejected() -> None:
    event = {"event_simpleName": "ProcessRollup2", "aid": "a", "ProcessStartTime": "soon"}
    with pytest.raises(RecordRejected, match="invalid epoch timestamp 'soon'"):
        map_falcon_event(event, {})


def test_non_windows_platform_not_windows() -> None:
    event = {
        "event_simpleName": "ProcessRollup2",
        "event_platform": "Lin",
        "ImageFileName": "/usr/bin/anydesk",
    }
    row = map_falcon_event(event, {})
    assert row is not None
    assert row["agent_os_type"] is None
    assert row["action_process_image_name"] == "anydesk"
