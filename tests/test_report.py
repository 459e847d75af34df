"""Renderers: times, CSV list values, and neutralising attacker-controlled text."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.safety import csv_cell, terminal_text
from rmmhunt.report.table import render_table

ALERT = {
    "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
    "agent_hostname": "WS01",
    "action_process_image_command_line": '=HYPERLINK("http://x.example")',
    "matched_on": ["name", "original_file_name"],
    "sources": [{"file": "a.evtx", "record": "7"}],
    "risk_score": 60,
}


def test_json_time_has_microseconds_and_z() -> None:
    [alert] = json.loads(render_json([ALERT]))

    assert alert["_time"] == "2024-04-15T11:09:27.123000Z"


def test_json_time_converted_to_utc() -> None:
    local = datetime(2024, 4, 15, 13, 9, 27, tzinfo=timezone(timedelta(hours=2)))

    [alert] = json.loads(render_json([{"_time": local}]))

    assert alert["_time"] == "2024-04-15T11:09:27.000000Z"


def test_ndjson_one_object_per_line() -> None:
    lines = render_ndjson([ALERT, ALERT]).splitlines()

    assert len(lines) == 2
    assert json.loads(lines[0])["agent_hostname"] == "WS01"


def test_csv_lists_as_json_and_formulas_neutralised() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv([ALERT]))))

    assert json.loads(rows[0]["matched_on"]) == ["name", "original_file_name"]
    assert rows[0]["action_process_image_command_line"].startswith("'=")
    assert rows[0]["risk_score"] == "60"


def test_csv_cell_prefixes_each_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\uff1d"):
        assert csv_cell(start + "1") == "'" + start + "1"
    assert csv_cell("AnyDesk.exe") == "AnyDesk.exe"


def test_csv_cell_escapes_carriage_return() -> None:
    assert csv_cell("\r=1") == "\\x0d=1"


def test_terminal_text_escapes_controls() -> None:
    text = terminal_text("a\x1b[2Jb\u202ec\nd")

    assert "\x1b" not in text
    assert "\u202e" not in text
    assert text == "a\\x1b[2Jb\\u202ec\\x0ad"


def test_table_escapes_attacker_text() -> None:
    table = render_table([{**ALERT, "action_process_image_path": "C:\\x\x1b]0;pwn\x07.exe"}])

    assert "\x1b" not in table
    assert "\x07" not in table


def test_csv_lone_carriage_return_stays_in_cell() -> None:
    hostile = {**ALERT, "agent_hostname": "WS01\r=cmd|' /C calc'!A0"}

    rows = list(csv.reader(io.StringIO(render_csv([hostile]))))

    assert len(rows) == 2
    assert rows[1][list(hostile).index("agent_hostname")] == "WS01\\x0d=cmd|' /C calc'!A0"


def test_csv_cell_escapes_terminal_controls() -> None:
    cell = csv_cell("a\x1b[2Jb\u202ec\x9bd")

    assert cell == "a\\x1b[2Jb\\u202ec\\x9bd"


def test_json_escapes_c1_and_bidi_but_keeps_value() -> None:
    value = "x\x9b31m\u202ey\x1b"
    hostile = {**ALERT, "agent_hostname": value}

    for text in (render_json([hostile]), render_ndjson([hostile])):
        assert "\x9b" not in text
        assert "\u202e" not in text
        assert "\x1b" not in text
        assert json.loads(text.splitlines()[0] if text.startswith("{") else text)
    assert json.loads(render_ndjson([hostile]))["agent_hostname"] == value
    assert json.loads(render_json([hostile]))[0]["agent_hostname"] == value


def test_table_escapes_line_separators() -> None:
    hostile = {**ALERT, "action_process_image_path": "C:\\x\u2028y\u2029z.exe"}

    table = render_table([hostile])

    assert "\u2028" not in table
    assert "\u2029" not in table
    assert "\\u2028" in table
