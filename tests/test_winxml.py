"""Tests for the Windows XML event reader: wevtutil and Event Viewer exports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from rmmhunt.errors import InputError
from rmmhunt.readers import winxml
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.textstream import iter_text_chunks
from rmmhunt.readers.winxml import WindowsXmlReader, parse_event_xml
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


def read_path(path: Path, options: ReadOptions | None = None) -> tuple[list[Row], ReadStats]:
    data = path.read_bytes()
    source = InputFile(path.name, io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    rows = list(WindowsXmlReader().read(source, stats, options or ReadOptions()))
    return rows, stats


def read_text(text: str) -> tuple[list[Row], ReadStats]:
    data = text.encode("utf-8")
    source = InputFile("inline.xml", io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(WindowsXmlReader().read(source, stats, ReadOptions())), stats


@pytest.mark.parametrize(
    "name",
    [
        "golden_sysmon1_wevtutil.xml",
        "golden_sysmon1_eventviewer.xml",
        "golden_sysmon1_unnamed_data.xml",
    ],
)
def test_golden_sysmon1_each_shape(fixtures: Path, name: str) -> None:
    path = fixtures / "winxml" / name
    assert WindowsXmlReader().detect(path.read_bytes()[:HEAD_SIZE], name)

    rows, stats = read_path(path)

    assert stats.records_read == 1
    assert stats.warnings == []
    assert len(rows) == 1
    for column, expected in GOLDEN.items():
        assert rows[0].get(column) == expected, column
    assert rows[0]["source_format"] == "windows-xml"
    assert rows[0]["source_record"].startswith("line ")


def test_eventviewer_export_utf16_detected(fixtures: Path) -> None:
    head = (fixtures / "winxml" / "golden_sysmon1_eventviewer.xml").read_bytes()[:HEAD_SIZE]

    assert head.startswith(b"\xff\xfe")
    assert WindowsXmlReader().detect(head, "export.xml")


def test_doctype_rejected(fixtures: Path) -> None:
    with pytest.raises(InputError, match="document type declarations"):
        read_path(fixtures / "winxml" / "doctype_rejected.xml")


def test_entity_in_event_is_malformed() -> None:
    text = (
        "<Event><System><EventID>1</EventID><Computer>&xxe;</Computer></System></Event>\n"
        "<Event><System><EventID>2</EventID><Channel>Application</Channel></System></Event>\n"
    )

    rows, stats = read_text(text)

    assert rows == []
    assert stats.skipped["malformed_record"] == 1
    assert stats.skipped["event_not_used"] == 1
    assert "inline.xml:1" in stats.warnings[0]


def test_malformed_event_located_rest_read(fixtures: Path) -> None:
    rows, stats = read_path(fixtures / "winxml" / "malformed_middle.xml")

    assert stats.records_read == 4
    assert stats.skipped["malformed_record"] == 2
    assert [row["action_evtlog_event_id"] for row in rows] == [4688, 7045]
    assert stats.warnings[0].startswith("malformed_middle.xml:2: invalid XML")
    assert stats.warnings[1].startswith("malformed_middle.xml:5: Event element not closed")


def test_security_4688_fields(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "winxml" / "malformed_middle.xml")
    row = rows[0]

    assert row["_time"] == datetime(2024, 4, 15, 11, 10, tzinfo=UTC)
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["action_process_image_name"] == "SRServer.exe"
    assert row["action_process_os_pid"] == 0x17E8
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_effective_username"] == r"CORP\bob"
    assert row["action_process_username"] is None


def test_service_install_time_without_zone_is_utc(fixtures: Path) -> None:
    rows, _ = read_path(fixtures / "winxml" / "malformed_middle.xml")
    row = rows[1]

    assert row["_time"] == datetime(2024, 4, 15, 11, 12, 0, 123456, tzinfo=UTC)
    assert row["action_service_name"] == "AnyDesk Service"
    assert row["event_id"] == "ws01/System/77"


def test_userdata_values_read(fixtures: Path) -> None:
    text = (fixtures / "winxml" / "userdata_log_cleared.xml").read_text()
    start = text.index("<Event ")
    end = text.index("</Event>") + len("</Event>")

    parsed = parse_event_xml(text[start:end])

    assert parsed.event.event_id == 1102
    assert parsed.event.data["SubjectUserName"] == "bob"
    assert parsed.system_time == "2024-04-15T11:20:00.5000000Z"


def test_event_split_across_chunks(fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def seven_byte_chunks(stream: BinaryIO, head: bytes) -> Iterator[str]:
        return iter_text_chunks(stream, head, 7)

    monkeypatch.setattr(winxml, "iter_text_chunks", seven_byte_chunks)

    rows, stats = read_path(fixtures / "winxml" / "malformed_middle.xml")

    assert [row["action_evtlog_event_id"] for row in rows] == [4688, 7045]
    assert stats.skipped["malformed_record"] == 2
    assert stats.warnings[1].startswith("malformed_middle.xml:5:")


def test_json_not_detected() -> None:
    assert not WindowsXmlReader().detect(b'{"Event": {"System": {}}}', "a.xml")
    assert not WindowsXmlReader().detect(b"<html><body>Event</body></html>", "a.xml")


def test_real_xml_sample_accounted(shared_data: Path) -> None:
    path = shared_data / "json" / "variants" / "xml_events_sample.xml"
    text = path.read_text(encoding="utf-8")
    expected_events = text.count("</Event>")

    rows, stats = read_path(path)

    assert stats.records_read == expected_events
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    assert stats.warnings == []
