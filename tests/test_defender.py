"""Tests for the Defender reader: every export shape, roles, and the normalisation rules."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmmhunt.errors import InputError
from rmmhunt.pipeline import load_inputs
from rmmhunt.readers._edr_records import RecordRejected
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.defender import DefenderReader, map_defender_record
from rmmhunt.schema import Row

GOLDEN_TIME = datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)
GOLDEN_COMMAND = (
    r'"C:\Users\bob\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk"'
    " --start-with-win --silent"
)
SHAPES = [
    "process_events.csv",
    "advanced_hunting_export.json",
    "api_response.json",
    "graph_response.json",
    "event_hub.json",
]
PROCESS_COLUMNS = [
    "_time",
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
    "action_process_original_file_name",
    "actor_process_image_name",
    "actor_process_image_path",
    "actor_process_command_line",
    "actor_process_os_pid",
    "actor_effective_username",
]


def open_input(path: Path) -> InputFile:
    data = path.read_bytes()
    return InputFile(display=path.name, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read_rows(path: Path, options: ReadOptions | None = None) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    rows = list(DefenderReader().read(open_input(path), stats, options or ReadOptions()))
    return rows, stats


def golden_row(rows: list[Row]) -> Row:
    matches = [row for row in rows if row.get("event_id", "").endswith(":10021")]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("shape", SHAPES)
def test_detect_accepts_every_shape(fixtures: Path, shape: str) -> None:
    source = open_input(fixtures / "defender" / shape)
    assert DefenderReader().detect(source.head, shape)


def test_detect_rejects_other_csv_and_json() -> None:
    reader = DefenderReader()
    assert not reader.detect(b"EventID,Channel,Image\n1,Security,x\n", "a.csv")
    assert not reader.detect(b'{"EventID": 1, "Channel": "Security"}\n', "a.json")


def test_golden_row_columns(fixtures: Path) -> None:
    row = golden_row(read_rows(fixtures / "defender" / "process_events.csv")[0])
    assert row["_time"] == GOLDEN_TIME
    assert row["event_type"] == "PROCESS"
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["agent_hostname"] == "WS01"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"
    assert row["action_process_image_command_line"] == GOLDEN_COMMAND
    assert row["action_process_image_name_derived"] is False
    assert row["action_process_image_sha256"] == row["action_process_image_sha256"].lower()
    assert row["action_process_os_pid"] == 4321
    assert row["action_process_username"] == r"ws01\bob"
    assert row["action_process_original_file_name"] == "AnyDesk.exe"
    assert row["actor_process_image_name"] == "explorer.exe"
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["actor_process_os_pid"] == 1234
    assert row["actor_effective_username"] == r"ws01\bob"
    assert row["_product"] == "Microsoft Defender for Endpoint"
    assert row["source_format"] == "defender"
    assert row["source_file"] == "process_events.csv"
    assert row["source_record"] == "2"


def test_golden_row_same_in_every_shape(fixtures: Path) -> None:
    expected = golden_row(read_rows(fixtures / "defender" / SHAPES[0])[0])
    for shape in SHAPES[1:]:
        row = golden_row(read_rows(fixtures / "defender" / shape)[0])
        for column in PROCESS_COLUMNS:
            assert row.get(column) == expected.get(column), f"{shape}: {column}"


def test_rmm_only_as_parent_keeps_roles(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "defender" / "process_events.csv")
    child = next(row for row in rows if row["event_id"].endswith(":10022"))
    assert child["action_process_image_name"] == "cmd.exe"
    assert child["actor_process_image_name"] == "AnyDesk.exe"
    assert child["actor_process_command_line"] == GOLDEN_COMMAND


def test_placeholders_become_null(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "defender" / "process_events.csv")
    child = next(row for row in rows if row["event_id"].endswith(":10022"))
    assert "action_process_image_sha256" not in child
    assert "action_process_image_md5" not in child


def test_csv_accounting_and_warnings(fixtures: Path) -> None:
    rows, stats = read_rows(fixtures / "defender" / "process_events.csv")
    assert len(rows) == 2
    assert stats.records_read == 4
    assert stats.skipped["malformed_record"] == 1
    assert stats.skipped["invalid_time"] == 1
    assert any("process_events.csv:4:" in warning for warning in stats.warnings)
    assert any("'Apr 15, 2024 11:09:27 AM'" in warning for warning in stats.warnings)


def test_locale_time_read_with_input_tz(fixtures: Path) -> None:
    options = ReadOptions(input_tz=timedelta(hours=2))
    rows, stats = read_rows(fixtures / "defender" / "process_events.csv", options)
    locale = next(row for row in rows if row["event_id"].endswith(":10023"))
    assert locale["_time"] == datetime(2024, 4, 15, 9, 9, 27, tzinfo=UTC)
    assert stats.skipped["invalid_time"] == 0


def test_numeric_time_needs_format() -> None:
    event = {"Timestamp": "04/05/2024 10:00:00", "ActionType": "ProcessCreated"}
    with pytest.raises(RecordRejected, match="invalid timestamp"):
        map_defender_record(event, ReadOptions())

    options = ReadOptions(input_time_format="%d/%m/%Y %H:%M:%S")
    row = map_defender_record(event, options)
    assert row is not None
    assert row["_time"] == datetime(2024, 5, 4, 10, 0, tzinfo=UTC)


def test_network_row_columns(fixtures: Path) -> None:
    rows, _ = read_rows(fixtures / "defender" / "advanced_hunting_export.json")
    network = next(row for row in rows if row["event_type"] == "NETWORK")
    assert network["event_sub_type"] == "NETWORK_CONNECTION"
    assert network["_time"] == datetime(2024, 4, 15, 11, 9, 28, tzinfo=UTC)
    assert network["action_remote_ip"] == "195.181.174.11"
    assert network["action_remote_port"] == 443
    assert network["action_external_hostname"] == "relay-1.net.anydesk.com"
    assert network["action_local_port"] == 50123
    assert network["actor_process_image_name"] == "AnyDesk.exe"
    assert "action_process_image_name" not in network


def test_unused_rows_counted(fixtures: Path) -> None:
    rows, stats = read_rows(fixtures / "defender" / "advanced_hunting_export.json")
    assert len(rows) == 3
    assert stats.skipped["event_not_used"] == 2
    assert stats.records_read == 5


def test_event_hub_unused_category(fixtures: Path) -> None:
    rows, stats = read_rows(fixtures / "defender" / "event_hub.json")
    assert [row["event_type"] for row in rows] == ["PROCESS", "NETWORK"]
    assert stats.skipped["event_not_used"] == 1


def test_folder_path_without_file_name() -> None:
    event = {
        "ActionType": "ProcessCreated",
        "FileName": "AnyDesk.exe",
        "FolderPath": "C:\\Users\\bob\\Downloads\\",
    }
    row = map_defender_record(event, ReadOptions())
    assert row is not None
    assert row["action_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"


def test_image_name_derived_from_command_line() -> None:
    event = {"ActionType": "ProcessCreated", "ProcessCommandLine": GOLDEN_COMMAND}
    row = map_defender_record(event, ReadOptions())
    assert row is not None
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_name_derived"] is True


def test_truncated_json_document_raises(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"Results": [{"ActionType": "ProcessCreated", "DeviceId": "x"')
    with pytest.raises(InputError, match="invalid JSON document"):
        read_rows(path)


def test_json_array_bad_element_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n{"ActionType": "ProcessCreated", "DeviceId": "d", "FileName": "a.exe"},\n'
        '{"ActionType": oops}\n]\n'
    )
    rows, stats = read_rows(path)
    assert len(rows) == 1
    assert stats.skipped["malformed_record"] == 1
    assert "bad.json:3:" in stats.warnings[0]


def test_csv_unclosed_quote_counts_lines(fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / "defender" / "process_events.csv").read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    width = header.count(",") + 1
    plain = ",".join(["x"] * width)
    broken = '"' + plain
    path = tmp_path / "broken.csv"
    path.write_text("\n".join([header, broken, plain, plain, plain]) + "\n", encoding="utf-8")

    loaded = load_inputs([str(path)])
    loaded.dataset.close()

    assert loaded.stats.records_normalised == 0
    assert loaded.stats.skipped["malformed_record"] == 4
    assert "a quoted field opens on line 2 and runs unclosed to line 5" in loaded.stats.warnings[0]
