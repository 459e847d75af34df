"""Cortex XDR readers on the shared fixtures: every export shape gives the same rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE, InputFile, Reader, ReadOptions, ReadStats
from rmmhunt.readers.xdr import (
    XdrApiReader,
    XdrCsvReader,
    XdrJsonReader,
    XdrNdjsonReader,
    xdr_readers,
)
from rmmhunt.schema import COLUMN_NAMES, Row

ANYDESK_PATH = "C:\\Users\\jdoe\\Downloads\\AnyDesk.exe"
SCREENCONNECT_PATH = (
    "C:\\Program Files (x86)\\ScreenConnect Client (5f1c2a)\\ScreenConnect.ClientService.exe"
)
WINDOWS_START = {
    "event_type": "PROCESS",
    "event_sub_type": "PROCESS_START",
    "agent_os_type": "AGENT_OS_WINDOWS",
    "_product": "XDR agent",
    "_vendor": "PANW",
}

# The rows every fixture must normalise to, written out by hand from tests/fixtures/xdr/README.md.
EXPECTED_ROWS: list[Row] = [
    {
        **WINDOWS_START,
        "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0001",
        "agent_hostname": "WS-FIN-07",
        "agent_id": "9f2c1e0a5b7d4c3e8a1b2c3d4e5f6a7b",
        "action_process_image_name": "AnyDesk.exe",
        "action_process_image_path": ANYDESK_PATH,
        "action_process_image_command_line": f'"{ANYDESK_PATH}" --control',
        "action_process_image_sha256": (
            "4a9c8e4e1a7f0f1c2b3d4e5f60718293a4b5c6d7e8f90112233445566778899a"
        ),
        "action_process_os_pid": 4312,
        "actor_process_image_name": "explorer.exe",
        "actor_process_image_path": "C:\\Windows\\explorer.exe",
        "actor_process_os_pid": 2210,
        "actor_effective_username": "CORP\\jdoe",
    },
    {
        **WINDOWS_START,
        "_time": datetime(2024, 4, 15, 12, 0, 0, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0002",
        "agent_hostname": "SRV-APP-02",
        "agent_id": "1b2c3d4e5f60718293a4b5c6d7e8f901",
        "action_process_image_name": "ScreenConnect.ClientService.exe",
        "action_process_image_path": SCREENCONNECT_PATH,
        "action_process_image_command_line": (
            f'"{SCREENCONNECT_PATH}" '
            '"?e=Access&y=Guest&h=relay.example.net&p=8041&s=0c1d,k=BgIAAACk"'
        ),
        "action_process_os_pid": 7720,
        "actor_process_image_name": "services.exe",
        "actor_process_image_path": "C:\\Windows\\System32\\services.exe",
        "actor_process_os_pid": 0x2A8,
        "actor_effective_username": "NT AUTHORITY\\SYSTEM",
    },
    {
        **WINDOWS_START,
        "_time": datetime(2024, 4, 15, 11, 20, 5, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0003",
        "agent_hostname": "WS-FIN-07",
        "agent_id": "9f2c1e0a5b7d4c3e8a1b2c3d4e5f6a7b",
        "action_process_image_name": "cmd.exe",
        "action_process_image_path": "C:\\Windows\\System32\\cmd.exe",
        "action_process_image_command_line": "cmd.exe /c whoami",
        "action_process_os_pid": 5120,
        "actor_process_image_name": "AnyDesk.exe",
        "actor_process_image_path": ANYDESK_PATH,
        "actor_process_os_pid": 4312,
        "actor_process_command_line": f'"{ANYDESK_PATH}" --control',
        "causality_actor_process_command_line": (
            'powershell.exe -c "Start-Process a,b\nWrite-Output done"'
        ),
        "causality_actor_primary_username": "CORP\\jdoe",
        "actor_effective_username": "CORP\\jdoe",
    },
    {
        **WINDOWS_START,
        "agent_os_type": "AGENT_OS_LINUX",
        "_time": datetime(2024, 4, 15, 9, 0, 0, 123456, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0004",
        "agent_hostname": "build-01",
        "agent_id": "5e6f708192a3b4c5d6e7f8091a2b3c4d",
        "action_process_image_name": "anydesk",
        "action_process_image_path": "/usr/bin/anydesk",
        "action_process_image_command_line": "/usr/bin/anydesk --service",
        "action_process_os_pid": 991,
        "actor_process_image_name": "systemd",
        "actor_process_image_path": "/usr/lib/systemd/systemd",
        "actor_process_os_pid": 1,
        "actor_effective_username": "root",
    },
    {
        "_time": datetime(2024, 4, 15, 11, 9, 30, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0005",
        "event_type": "NETWORK",
        "event_sub_type": "NETWORK_STREAM_CONNECT",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": "WS-FIN-07",
        "agent_id": "9f2c1e0a5b7d4c3e8a1b2c3d4e5f6a7b",
        "actor_process_image_name": "AnyDesk.exe",
        "actor_process_image_path": ANYDESK_PATH,
        "actor_process_os_pid": 4312,
        "action_local_ip": "10.20.30.40",
        "action_local_port": 50433,
        "action_remote_ip": "203.0.113.25",
        "action_remote_port": 443,
        "action_external_hostname": "relay-1.net.anydesk.com",
        "action_network_protocol": "TCP",
        "_product": "XDR agent",
        "_vendor": "PANW",
    },
    {
        **WINDOWS_START,
        "_time": datetime(2024, 4, 15, 11, 15, 0, tzinfo=UTC),
        "event_id": "AAABjuNvQ1Qx0006",
        "agent_hostname": "WS-HR-11",
        "action_process_image_name": "SplashtopStreamer.exe",
        "action_process_image_name_derived": True,
        "action_process_image_path": "C:\\ProgramData\\Splashtop\\SplashtopStreamer.exe",
        "actor_process_image_name": "services.exe",
        "actor_process_image_path": "C:\\Windows\\System32\\services.exe",
    },
]

PROVENANCE = ("source_format", "source_file", "source_record")

CASES = [
    ("rows.json", XdrJsonReader(), "xdr-json", ["1", "2", "3", "4", "5", "6"]),
    ("rows.ndjson", XdrNdjsonReader(), "xdr-ndjson", ["1", "2", "3", "4", "5", "6"]),
    # Row 3 contains a quoted newline, so the records after it start one line later.
    ("rows.csv", XdrCsvReader(), "xdr-csv", ["2", "3", "4", "6", "7", "8"]),
    ("query_results_reply.json", XdrApiReader(), "xdr-api", ["1", "2", "3", "4", "5", "6"]),
    (
        "query_results_stream.ndjson",
        XdrNdjsonReader(),
        "xdr-ndjson",
        ["1", "2", "3", "4", "5", "6"],
    ),
]


def open_input(path: Path) -> InputFile:
    data = path.read_bytes()
    return InputFile(display=path.name, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read_all(reader: Reader, source: InputFile, options: ReadOptions | None = None) -> list[Row]:
    stats = ReadStats()
    rows = list(reader.read(source, stats, options or ReadOptions()))
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    return rows


def without_provenance(row: Row) -> Row:
    return {key: value for key, value in row.items() if key not in PROVENANCE}


@pytest.mark.parametrize(("name", "reader", "format_name", "records"), CASES)
def test_fixture_normalises_to_expected_rows(
    fixtures: Path, name: str, reader: Reader, format_name: str, records: list[str]
) -> None:
    rows = read_all(reader, open_input(fixtures / "xdr" / name))

    assert len(rows) == len(EXPECTED_ROWS)
    for row, expected in zip(rows, EXPECTED_ROWS, strict=True):
        assert without_provenance(row) == expected
    assert [row["source_record"] for row in rows] == records
    assert {row["source_format"] for row in rows} == {format_name}
    assert {row["source_file"] for row in rows} == {name}


@pytest.mark.parametrize(("name", "reader", "format_name", "records"), CASES)
def test_fixture_rows_use_only_dataset_columns(
    fixtures: Path, name: str, reader: Reader, format_name: str, records: list[str]
) -> None:
    for row in read_all(reader, open_input(fixtures / "xdr" / name)):
        assert set(row) <= COLUMN_NAMES
        assert None not in row.values()


@pytest.mark.parametrize(("name", "reader", "format_name", "records"), CASES)
def test_fixture_detected_by_one_reader(
    fixtures: Path, name: str, reader: Reader, format_name: str, records: list[str]
) -> None:
    source = open_input(fixtures / "xdr" / name)
    # Content decides, so a misleading name must not change the result.
    accepting = [r.format_name for r in xdr_readers() if r.detect(source.head, "export.txt")]
    assert accepting == [reader.format_name]


def test_fixture_times_are_aware_utc(fixtures: Path) -> None:
    rows = read_all(XdrCsvReader(), open_input(fixtures / "xdr" / "rows.csv"))
    for row in rows:
        moment = row["_time"]
        assert isinstance(moment, datetime)
        assert moment.utcoffset() is not None
        assert moment.utcoffset() == UTC.utcoffset(None)


def test_parent_only_anydesk_stays_actor(fixtures: Path) -> None:
    rows = read_all(XdrNdjsonReader(), open_input(fixtures / "xdr" / "rows.ndjson"))
    child = rows[2]
    assert child["action_process_image_name"] == "cmd.exe"
    assert child["actor_process_image_name"] == "AnyDesk.exe"


def test_unknown_key_is_ignored_without_count(fixtures: Path) -> None:
    stats = ReadStats()
    source = open_input(fixtures / "xdr" / "rows.json")
    rows = list(XdrJsonReader().read(source, stats, ReadOptions()))
    assert all("agent_ip_addresses" not in row for row in rows)
    assert stats.records_read == 6
    assert not stats.skipped
    assert stats.warning_count == 0
