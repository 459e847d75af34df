"""Tests for the Splunk JSON reader: `result` lines and `results` documents, XML and classic."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.splunk import SplunkJsonReader
from rmmhunt.schema import Row

GOLDEN: Row = {
    "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
    "agent_hostname": "WS01.corp.local",
    "event_id": "ws01/Microsoft-Windows-Sysmon/Operational/4242",
    "event_type": "PROCESS",
    "event_sub_type": "PROCESS_START",
    "action_process_image_path": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "action_process_image_name": "AnyDesk.exe",
    "action_process_image_command_line": (
        r"C:\Users\bob\Downloads\AnyDesk.exe --install C:\ProgramData\AnyDesk --silent"
    ),
    "action_process_os_pid": 6120,
    "action_process_username": r"CORP\bob",
    "actor_process_image_name": "explorer.exe",
    "actor_process_command_line": r"C:\Windows\Explorer.EXE",
    "actor_process_os_pid": 4312,
}

# A classic WinEventLog rendering of Security 4688 (Windows 10 field set), with the message
# labels of Microsoft's "4688(S): A new process has been created".
CLASSIC_4688 = "\n".join(
    [
        "04/15/2024 01:10:00 PM",
        "LogName=Security",
        "EventCode=4688",
        "ComputerName=WS01.corp.local",
        "SourceName=Microsoft Windows security auditing.",
        "RecordNumber=5001",
        "Message=A new process has been created.",
        "",
        "Creator Subject:",
        "\tSecurity ID:\t\tS-1-5-21-1-2-3-1001",
        "\tAccount Name:\t\tbob",
        "\tAccount Domain:\t\tCORP",
        "\tLogon ID:\t\t0x3E1A2B",
        "",
        "Target Subject:",
        "\tSecurity ID:\t\tS-1-0-0",
        "\tAccount Name:\t\t-",
        "\tAccount Domain:\t\t-",
        "\tLogon ID:\t\t0x0",
        "",
        "Process Information:",
        "\tNew Process ID:\t\t0x17e8",
        r"\tNew Process Name:\tC:\Program Files (x86)\AnyDesk\AnyDesk.exe",
        "\tToken Elevation Type:\t%%1938",
        "\tMandatory Label:\t\tS-1-16-8192",
        "\tCreator Process ID:\t0x10d8",
        r"\tCreator Process Name:\tC:\Windows\explorer.exe",
        r'\tProcess Command Line:\t"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --control',
    ]
).replace(r"\t", "\t")


def read_bytes(
    data: bytes, name: str = "export.json", options: ReadOptions | None = None
) -> tuple[list[Row], ReadStats]:
    source = InputFile(name, io.BytesIO(data), data[:HEAD_SIZE])
    stats = ReadStats()
    return list(SplunkJsonReader().read(source, stats, options or ReadOptions())), stats


def result_line(result: dict[str, object]) -> bytes:
    return json.dumps({"preview": False, "offset": 0, "result": result}).encode() + b"\n"


@pytest.mark.parametrize(
    "name", ["golden_sysmon1_classic_results.json", "golden_sysmon1_xml_export.json"]
)
def test_golden_sysmon1_each_shape(fixtures: Path, name: str) -> None:
    data = (fixtures / "splunk" / name).read_bytes()
    assert SplunkJsonReader().detect(data[:HEAD_SIZE], name)

    rows, stats = read_bytes(data, name)

    assert stats.records_read == 1
    assert len(rows) == 1
    for column, expected in GOLDEN.items():
        assert rows[0].get(column) == expected, column
    assert rows[0]["source_format"] == "splunk-json"


def test_detect_rejects_other_json() -> None:
    ecs = b'{"@timestamp": "2024-04-15T11:09:27Z", "winlog": {"channel": "Security"}}\n'
    assert not SplunkJsonReader().detect(ecs, "ecs.json")
    assert not SplunkJsonReader().detect(b'{"results": [{"a": 1}]}', "other.json")


def test_classic_4688_message_labels() -> None:
    data = result_line({"_raw": CLASSIC_4688, "_time": "2024-04-15T13:10:00.000+02:00"})

    [row], stats = read_bytes(data)

    assert stats.records_read == 1
    assert row["_time"] == datetime(2024, 4, 15, 11, 10, tzinfo=UTC)
    assert row["event_id"] == "ws01/Security/5001"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_os_pid"] == 0x17E8
    assert row["action_process_image_command_line"] == (
        r'"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --control'
    )
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_process_os_pid"] == 0x10D8
    assert row["actor_effective_username"] == r"CORP\bob"
    # The target account is `-`, a placeholder, so the new process's user stays NULL.
    assert row.get("action_process_username") is None


def test_classic_local_time_needs_format_and_zone() -> None:
    data = result_line({"_raw": CLASSIC_4688})

    [row], stats = read_bytes(data)

    assert row.get("_time") is None
    assert stats.warning_count == 1
    assert "ambiguous day and month order" in stats.warnings[0]


def test_classic_local_time_with_format_and_zone() -> None:
    data = result_line({"_raw": CLASSIC_4688})
    options = ReadOptions(input_tz=timedelta(hours=2), input_time_format="%m/%d/%Y %I:%M:%S %p")

    [row], stats = read_bytes(data, options=options)

    assert row["_time"] == datetime(2024, 4, 15, 11, 10, tzinfo=UTC)
    assert stats.warning_count == 0


def test_xml_system_time_seven_digits(fixtures: Path) -> None:
    text = (fixtures / "splunk" / "golden_sysmon1_xml_export.json").read_text()
    # Without UtcTime the time comes from SystemTime, which keeps 100 ns (seven digits).
    document = json.loads(text)
    raw = document["result"]["_raw"]
    start = raw.index('<Data Name="UtcTime">')
    end = raw.index("</Data>", start) + len("</Data>")
    document["result"]["_raw"] = raw[:start] + raw[end:]

    [row], _ = read_bytes(json.dumps(document).encode() + b"\n")

    assert row["_time"] == datetime(2024, 4, 15, 11, 9, 27, 125432, tzinfo=UTC)


def test_results_accounted_malformed_and_foreign() -> None:
    data = (
        result_line({"_raw": CLASSIC_4688, "_time": "2024-04-15T11:10:00Z"})
        + b'{"preview": false, "result": {"_raw": "<Event><System>"}}\n'
        + b'{"preview": false, "result": {"count": "12"}}\n'
        + b"{not json\n"
        + result_line({"_raw": "plain text that is not a Windows event"})
    )

    rows, stats = read_bytes(data)

    assert len(rows) == 1
    assert stats.records_read == 5
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    assert stats.skipped["malformed_record"] == 2
    assert stats.skipped["not_a_windows_event"] == 2
    assert stats.warnings[0].startswith("export.json:2: invalid XmlWinEventLog _raw")
    assert stats.warnings[1].startswith("export.json:4: invalid JSON")
