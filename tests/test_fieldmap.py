"""Tests for the field-map reader: map validation, CSV and JSON records, conversions."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.errors import InputError
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.fieldmap import FieldMapReader, load_field_map
from rmmhunt.schema import Row

GOLDEN_COMMAND = (
    r'"C:\Users\bob\Downloads\AnyDesk.exe" --install "C:\Program Files (x86)\AnyDesk"'
    " --start-with-win --silent"
)


def open_input(path: Path) -> InputFile:
    data = path.read_bytes()
    return InputFile(display=path.name, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read_rows(map_path: Path, data_path: Path) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    reader = FieldMapReader(map_path)
    rows = list(reader.read(open_input(data_path), stats, ReadOptions()))
    return rows, stats


def test_csv_golden_row(fixtures: Path) -> None:
    folder = fixtures / "fieldmap"
    rows, _ = read_rows(folder / "process_csv.yaml", folder / "process.csv")
    row = rows[0]
    assert row["_time"] == datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)
    assert row["event_type"] == "PROCESS"
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["agent_hostname"] == "WS01"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"
    assert row["action_process_image_command_line"] == GOLDEN_COMMAND
    assert row["action_process_image_name_derived"] is False
    assert row["action_process_os_pid"] == 4321
    assert row["actor_process_image_path"] == r"C:\Windows\explorer.exe"
    assert row["_product"] == "Example SIEM"
    assert row["source_format"] == "fieldmap"


def test_csv_name_derived_from_command_line(fixtures: Path) -> None:
    folder = fixtures / "fieldmap"
    rows, _ = read_rows(folder / "process_csv.yaml", folder / "process.csv")
    row = rows[1]
    assert "action_process_image_path" not in row
    assert row["action_process_image_name"] == "tool.exe"
    assert row["action_process_image_name_derived"] is True
    assert row["actor_process_image_path"] == r"C:\Users\bob\Downloads\AnyDesk.exe"


def test_csv_invalid_integer_counted(fixtures: Path) -> None:
    folder = fixtures / "fieldmap"
    rows, stats = read_rows(folder / "process_csv.yaml", folder / "process.csv")
    assert len(rows) == 2
    assert stats.skipped["malformed_record"] == 1
    assert "process.csv:4:" in stats.warnings[0]
    assert "'not-a-pid'" in stats.warnings[0]


def test_json_dotted_paths(fixtures: Path) -> None:
    folder = fixtures / "fieldmap"
    rows, stats = read_rows(folder / "process_json.yaml", folder / "process.ndjson")
    golden = rows[0]
    assert golden["_time"] == datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)
    assert golden["agent_id"] == "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
    assert golden["event_id"] == "e1"
    assert golden["action_process_image_name"] == "AnyDesk.exe"
    assert golden["actor_process_command_line"] == r"C:\Windows\Explorer.EXE"

    second = rows[1]
    assert second["_time"] == datetime(2024, 4, 15, 11, 9, 27, tzinfo=UTC)
    assert second["action_process_os_pid"] == 0x15B3
    assert stats.skipped["malformed_record"] == 1


def test_unknown_column_names_line(fixtures: Path) -> None:
    path = fixtures / "fieldmap" / "unknown_column.yaml"
    with pytest.raises(InputError) as caught:
        load_field_map(path)
    assert caught.value.line == 4
    assert "action_proces_image_path" in caught.value.message
    assert caught.value.hint == "did you mean 'action_process_image_path'?"


def test_extra_key_rejected(fixtures: Path) -> None:
    path = fixtures / "fieldmap" / "extra_key.yaml"
    with pytest.raises(InputError) as caught:
        load_field_map(path)
    assert caught.value.line == 4
    assert "timezone" in caught.value.message


def test_invalid_format_rejected(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("format: xml\nfields:\n  _time: t\n")
    with pytest.raises(InputError) as caught:
        load_field_map(path)
    assert caught.value.line == 1


def test_provenance_column_rejected(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("format: csv\nfields:\n  source_file: f\n")
    with pytest.raises(InputError, match="unknown xdr_data column 'source_file'"):
        load_field_map(path)


def test_detect_follows_map_format(fixtures: Path) -> None:
    csv_reader = FieldMapReader(fixtures / "fieldmap" / "process_csv.yaml")
    json_reader = FieldMapReader(fixtures / "fieldmap" / "process_json.yaml")
    assert csv_reader.detect(b"When,Host\n", "a.csv")
    assert not csv_reader.detect(b'{"ts": 1}\n', "a.json")
    assert json_reader.detect(b'{"ts": 1}\n', "a.json")
    assert not json_reader.detect(b"When,Host\n", "a.csv")


def test_invalid_time_rejected(tmp_path: Path) -> None:
    map_path = tmp_path / "map.yaml"
    map_path.write_text("format: csv\nfields:\n  _time: When\n")
    data_path = tmp_path / "data.csv"
    data_path.write_text("When\n04/05/2024 10:00\n")
    rows, stats = read_rows(map_path, data_path)
    assert rows == []
    assert stats.skipped["invalid_time"] == 1
