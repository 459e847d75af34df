"""Checks that the XQL compiler makes before any input is read: names, numbers, time, types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rmmhunt.cli import main
from rmmhunt.xql import XqlError, compile_query

NOW = datetime(2025, 3, 15, tzinfo=UTC)

RESERVED_NAMES = [
    # (second line of the query, column, construct)
    ("| comp count() as __rmmhunt_order by agent_hostname", 8, "comp ... as"),
    ("| comp count() as __RMMHUNT_x", 8, "comp ... as"),
    ("| fields agent_hostname as __rmmhunt_order, _time", 10, "fields ... as"),
    ("| alter __rmmhunt_order = 1", 9, "alter"),
]


@pytest.mark.parametrize(("second_line", "column", "construct"), RESERVED_NAMES)
def test_reserved_prefix_rejected(second_line: str, column: int, construct: str) -> None:
    with pytest.raises(XqlError, match="reserved") as caught:
        compile_query(f"dataset = xdr_data\n{second_line}", now=NOW)

    assert caught.value.construct == construct
    assert caught.value.line == 2
    assert caught.value.column == column


LOCATED_ERRORS = [
    # (query, now, line, column, part of the message)
    ("dataset = xdr_data\n| limit ²", NOW, 2, 9, "unexpected character"),
    ("dataset = xdr_data\n| limit 99999999999999999999999", NOW, 2, 9, "maximum"),
    ("config timeframe = 9999y\n| fields _time", NOW, 1, 1, "years 1-9999"),
    ("config timeframe = 1d\n| comp count()", datetime(1, 1, 1, tzinfo=UTC), 1, 1, "1-9999"),
    ('config timeframe between "begin" and "+9999y"', NOW, 1, 1, "years 1-9999"),
]


@pytest.mark.parametrize(("query", "now", "line", "column", "message"), LOCATED_ERRORS)
def test_out_of_range_values_located(
    query: str, now: datetime, line: int, column: int, message: str
) -> None:
    with pytest.raises(XqlError, match=message) as caught:
        compile_query(query, now=now)

    assert caught.value.line == line
    assert caught.value.column == column


@pytest.mark.parametrize(
    "query", ["limit ²", "config timeframe = 9999y | fields _time", "limit 99999999999999999999999"]
)
def test_cli_out_of_range_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    events = tmp_path / "empty.ndjson"
    events.write_text("", encoding="utf-8")

    code = main(["xql", query, str(events)])

    assert code == 2
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.parametrize(("argument", "column"), [("_time", 17), ("agent_hostname = null", 32)])
def test_len_rejects_time_and_boolean(argument: str, column: int) -> None:
    with pytest.raises(XqlError, match="len") as caught:
        compile_query(f"dataset = xdr_data\n| alter n = len({argument})", now=NOW)

    assert caught.value.line == 2
    assert caught.value.column == column


@pytest.mark.parametrize("output_format", ["json", "ndjson"])
def test_json_writes_null_for_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "xdr"
    query = "alter z = divide(0, 0), w = divide(1, 0), v = divide(-1, 0) | fields z, w, v | limit 1"

    code = main(["xql", query, str(examples), "--format", output_format, "-q"])
    text = capsys.readouterr().out

    assert code == 0
    assert "NaN" not in text
    assert "Infinity" not in text
    rows = json.loads(text) if output_format == "json" else [json.loads(text)]
    assert rows == [{"z": None, "w": None, "v": None}]


TYPE_AND_REGEX_ERRORS = [
    # (second line of the query, column, construct)
    ('| filter action_process_image_name ~= "(F)\\1"', 39, "regular expression"),
    ('| filter action_process_image_name ~= "F(?=I)"', 39, "regular expression"),
    ('| filter action_process_image_name ~= "a{1001}"', 39, "regular expression"),
    ('| alter x = regextract(agent_hostname, "F(?=I)")', 40, "regextract"),
    ('| filter action_remote_port > "abc"', 31, "comparison '>'"),
    ('| filter action_remote_port = "abc"', 31, "comparison '='"),
    ("| filter _time = 5", 16, "comparison '='"),
    ("| alter x = if(agent_hostname, 1, 2)", 16, "if"),
    ('| alter x = add("a", 1)', 17, "add"),
    ("| fields - *", 3, "fields -"),
]


@pytest.mark.parametrize(("second_line", "column", "construct"), TYPE_AND_REGEX_ERRORS)
def test_type_and_regex_errors_located(second_line: str, column: int, construct: str) -> None:
    with pytest.raises(XqlError) as caught:
        compile_query(f"dataset = xdr_data\n{second_line}", now=NOW)

    assert caught.value.construct == construct
    assert caught.value.line == 2
    assert caught.value.column == column


def test_valid_regex_and_numbers_compile() -> None:
    query = (
        'dataset = xdr_data\n| filter action_process_image_name ~= "^any(desk)?\\\\.exe$"'
        ' and action_remote_port > "442" and action_remote_port = 443'
        '\n| alter x = add(action_remote_port, "1")'
    )

    compiled = compile_query(query, now=NOW)

    assert "regexp_matches" in compiled.sql


def test_runtime_error_names_construct(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "xdr"
    query = 'alter x = json_extract_scalar(agent_hostname, "$.a")'

    code = main(["xql", query, str(examples), "-q"])
    error = capsys.readouterr().err

    assert code == 2
    assert "json_extract" in error
    assert "exists" not in error
