"""Tests for the OCSF reader: JSON, NDJSON and Security Lake Parquet."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rmmhunt.cli import main
from rmmhunt.errors import InputError
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.ocsf import OcsfReader, map_ocsf_event
from rmmhunt.schema import Row

GOLDEN_TIME = datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)
GOLDEN_COMMAND = (
    r'"C:\Users\bob\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk"'
    " --start-with-win --silent"
)
PROCESS_COLUMNS = [
    "event_type",
    "event_sub_type",
    "agent_hostname",
    "agent_id",
    "agent_os_type",
    "event_id",
    "action_process_image_name",
    "action_process_image_path",
    "action_process_image_command_line",
    "action_process_image_sha256",
    "action_process_os_pid",
    "action_process_username",
    "actor_process_image_name",
    "actor_process_image_path",
    "actor_process_command_line",
    "actor_effective_username",
]


def open_input(path: Path) -> InputFile:
    data = path.read_bytes()
    return InputFile(display=path.name, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read_rows(path: Path) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    rows = list(OcsfReader().read(open_input(path), stats, ReadOptions()))
    return rows, stats


def write_security_lake(events: list[dict[str, object]], root: Path) -> Path:
    """Write events as one zstd Parquet file in the Security Lake partition layout."""
    folder = root / "region=eu-west-1" / "accountId=123456789012" / "eventDay=20240415"
    folder.mkdir(parents=True)
    path = folder / "part-0001.parquet"
    pq.write_table(pa.Table.from_pylist(events), path, compression="zstd", row_group_size=2)
    return path


def test_golden_process_launch(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "ocsf" / "process_activity.json")
    row = rows[0]
    assert row["_time"] == GOLDEN_TIME
    assert row["event_type"] == "PROCESS"
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["agent_hostname"] == "WS01"
    assert row["event_id"] == "evt-0001"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"
    assert row["action_process_image_command_line"] == GOLDEN_COMMAND
    assert row["action_process_image_sha256"] == "4a5b0e8f" + row["action_process_image_sha256"][8:]
    assert row["action_process_image_md5"] == "0123456789abcdef0123456789abcdef"
    assert row["action_process_os_pid"] == 4321
    assert row["action_process_instance_id"] == "proc-anydesk"
    assert row["action_process_username"] == r"WS01\bob"
    assert row["actor_process_image_name"] == "explorer.exe"
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_process_os_pid"] == 1234
    assert row["_product"] == "Example EDR"


def test_rmm_only_as_parent_keeps_roles(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "ocsf" / "process_activity.json")
    child = next(row for row in rows if row["event_id"] == "evt-0002")
    assert child["action_process_image_name"] == "cmd.exe"
    assert child["actor_process_image_name"] == "AnyDesk.exe"
    assert child["_time"] == datetime(2024, 4, 15, 11, 10, 2, 500000, tzinfo=UTC)


def test_terminate_activity_not_used(fixtures: Path) -> None:
    rows, stats = read_rows(fixtures / "ocsf" / "process_activity.json")
    assert len(rows) == 2
    assert stats.skipped["event_not_used"] == 1
    assert stats.records_read == 3


def test_network_and_dns_rows(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "ocsf" / "events.ndjson")
    network = next(row for row in rows if row["event_id"] == "evt-0004")
    assert network["event_sub_type"] == "NETWORK_CONNECTION"
    assert network["action_remote_ip"] == "195.181.174.11"
    assert network["action_remote_port"] == 443
    assert network["action_local_ip"] == "10.0.0.15"
    assert network["action_external_hostname"] == "relay-1.net.anydesk.com"
    assert network["action_network_protocol"] == "TCP"
    assert network["actor_process_image_name"] == "AnyDesk.exe"

    dns = next(row for row in rows if row["event_id"] == "evt-0005")
    assert dns["event_sub_type"] == "DNS_QUERY"
    assert dns["dns_query_name"] == "relay-1.net.anydesk.com"
    assert dns["actor_process_command_line"] == GOLDEN_COMMAND


def test_inbound_connection_swaps_sides() -> None:
    event = {
        "class_uid": 4001,
        "activity_id": 1,
        "src_endpoint": {"ip": "203.0.113.7", "port": 40000},
        "dst_endpoint": {"ip": "10.0.0.15", "port": 7070},
        "connection_info": {"direction_id": 1},
    }
    row = map_ocsf_event(event, ReadOptions())
    assert row is not None
    assert row["action_remote_ip"] == "203.0.113.7"
    assert row["action_local_port"] == 7070


def test_parquet_matches_json(fixtures: Path, tmp_path: Path) -> None:
    events = json.loads((fixtures / "ocsf" / "process_activity.json").read_text())
    path = write_security_lake(events, tmp_path)
    source = open_input(path)
    assert OcsfReader().detect(source.head, str(path))

    parquet_rows, stats = read_rows(path)
    json_rows, _ = read_rows(fixtures / "ocsf" / "process_activity.json")
    assert stats.records_read == 3
    assert len(parquet_rows) == 2
    assert parquet_rows[0]["_time"] == GOLDEN_TIME
    for column in PROCESS_COLUMNS:
        assert parquet_rows[0].get(column) == json_rows[0].get(column), column
    assert parquet_rows[0]["source_record"] == "record 1"


def test_truncated_parquet_raises(fixtures: Path, tmp_path: Path) -> None:
    events = json.loads((fixtures / "ocsf" / "process_activity.json").read_text())
    path = write_security_lake(events, tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="invalid Parquet file"):
        read_rows(path)


def test_time_without_time_dt_is_milliseconds() -> None:
    event = {"class_uid": 1007, "activity_id": 1, "time": 1713179367123, "process": {"pid": 1}}
    row = map_ocsf_event(event, ReadOptions())
    assert row is not None
    assert row["_time"] == datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC)


def test_detect_rejects_non_ocsf_json() -> None:
    assert not OcsfReader().detect(b'{"event_simpleName": "DnsRequest", "aid": "x"}\n', "a.json")


def test_hunt_security_lake_partitions(fixtures: Path, tmp_path: Path) -> None:
    # Here `time_dt` is a Parquet timestamp column rather than text. The hunt walks the
    # partition tree as it finds it, including a day folder whose file has no rows.
    events = json.loads((fixtures / "golden" / "ocsf_process_activity.json").read_text())
    table = pa.Table.from_pylist(events)
    time_dt = pa.array([GOLDEN_TIME.replace(microsecond=123000)], pa.timestamp("ms", tz="UTC"))
    table = table.append_column("time_dt", time_dt)
    root = tmp_path / "lake" / "ext" / "example-edr" / "1.0"
    for day in ("20240414", "20240415"):
        folder = root / "region=eu-west-1" / "accountId=123456789012" / f"eventDay={day}"
        folder.mkdir(parents=True)
        rows = table if day == "20240415" else table.slice(0, 0)
        pq.write_table(rows, folder / f"{day}-0001.zstd.parquet", compression="zstd")
    output = tmp_path / "alerts.json"
    summary = tmp_path / "summary.json"
    arguments = ["hunt", str(tmp_path / "lake"), "--format", "json", "--output", str(output)]

    code = main([*arguments, "--summary-json", str(summary)])

    assert code == 0
    [alert] = json.loads(output.read_text())
    assert alert["tool"] == "AnyDesk"
    assert alert["_time"] == "2024-04-15T11:09:27.123000Z"
    counts = json.loads(summary.read_text())
    assert counts["formats"] == {"ocsf": 2}
    assert counts["records_read"] == 1
