"""Cortex XDR detection: accept xdr_data exports by content, reject other vendors' exports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE
from rmmhunt.readers.xdr import XdrCsvReader, xdr_readers


def accepting(head: bytes, name: str = "export.json") -> list[str]:
    return [reader.format_name for reader in xdr_readers() if reader.detect(head[:HEAD_SIZE], name)]


ECS_EVENT = {
    "@timestamp": "2024-02-13T06:56:24.223Z",
    "event": {"code": "1", "kind": "event"},
    "process": {"name": "AnyDesk.exe", "executable": "C:\\a\\AnyDesk.exe"},
    "host": {"name": "ws-01"},
    "agent": {"id": "3400037", "type": "winlogbeat"},
}
DEFENDER_EVENT = {
    "Timestamp": "2024-04-15T11:09:27Z",
    "DeviceName": "ws-01",
    "ActionType": "ProcessCreated",
    "FileName": "AnyDesk.exe",
    "InitiatingProcessFileName": "explorer.exe",
}
NXLOG_EVENT = {
    "EventTime": "2020-05-01 22:55:23",
    "Hostname": "ws-01",
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Image": "C:\\a\\AnyDesk.exe",
}
# A Splunk export shares `_time` with xdr_data, but only that one detection key.
SPLUNK_RESULT = {"_time": "2024-04-15T11:09:27.000+00:00", "host": "ws-01", "EventCode": "4688"}


@pytest.mark.parametrize("event", [ECS_EVENT, DEFENDER_EVENT, NXLOG_EVENT, SPLUNK_RESULT])
def test_other_vendor_json_rejected(event: dict[str, object]) -> None:
    assert accepting(json.dumps([event]).encode()) == []
    assert accepting((json.dumps(event) + "\n").encode()) == []
    assert accepting(json.dumps({"reply": {"results": {"data": [event]}}}).encode()) == []


def test_other_vendor_csv_rejected() -> None:
    assert accepting(b"Timestamp,DeviceName,FileName\n2024-04-15,ws-01,AnyDesk.exe\n") == []
    assert accepting(b"_time,host,EventCode\n2024-04-15,ws-01,4688\n") == []


def test_one_detection_key_is_not_enough() -> None:
    assert accepting(json.dumps([{"agent_hostname": "ws-01", "other": 1}]).encode()) == []


def test_two_detection_keys_are_enough() -> None:
    record = {"agent_id": "a1", "actor_process_image_name": "AnyDesk.exe"}
    assert accepting(json.dumps([record]).encode()) == ["xdr-json"]
    assert accepting((json.dumps(record) + "\n").encode()) == ["xdr-ndjson"]
    assert accepting(b"agent_id,actor_process_image_name\na1,AnyDesk.exe\n") == ["xdr-csv"]


def test_pretty_printed_object_is_not_ndjson() -> None:
    record = {"agent_id": "a1", "event_type": "PROCESS"}
    assert accepting(json.dumps(record, indent=2).encode()) == []


def test_reply_without_rows_needs_xql_keys() -> None:
    other_api = json.dumps({"reply": {"total_count": 0, "alerts": []}}).encode()
    stream_reply = json.dumps(
        {"reply": {"status": "SUCCESS", "number_of_results": 9000, "results": {"stream_id": "s"}}}
    ).encode()

    assert accepting(other_api) == []
    assert accepting(stream_reply) == ["xdr-api"]


def test_reply_with_row_past_head_is_detected() -> None:
    long_row = {"agent_id": "a1", "event_type": "PROCESS", "cmd": "x" * HEAD_SIZE}
    reply = {
        "reply": {"status": "SUCCESS", "number_of_results": 1, "results": {"data": [long_row]}}
    }
    assert accepting(json.dumps(reply).encode()) == ["xdr-api"]


def test_name_does_not_decide(fixtures: Path) -> None:
    head = (fixtures / "xdr" / "rows.ndjson").read_bytes()
    assert accepting(head, "rows.csv") == ["xdr-ndjson"]
    assert accepting(head, "rows.evtx") == ["xdr-ndjson"]


def test_shared_json_variants_rejected(shared_data: Path) -> None:
    variants = sorted((shared_data / "json" / "variants").iterdir())
    assert variants, "no files in json/variants"
    for path in variants:
        assert accepting(path.read_bytes(), path.name) == [], path.name


def test_shared_security_datasets_rejected(shared_data: Path) -> None:
    archives = sorted((shared_data / "json" / "Security-Datasets").rglob("*.zip"))[:10]
    assert archives, "no zip archives in json/Security-Datasets"
    for archive in archives:
        with zipfile.ZipFile(archive) as opened:
            member = opened.namelist()[0]
            with opened.open(member) as stream:
                head = stream.read(HEAD_SIZE)
        assert accepting(head, member) == [], f"{archive.name}!{member}"


def test_csv_detection_rejects_binary_line() -> None:
    # A bare carriage return inside the first line makes the csv module raise an error.
    head = b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\rcap\x00\x00\n"

    assert XdrCsvReader().detect(head, "capture.cap") is False
