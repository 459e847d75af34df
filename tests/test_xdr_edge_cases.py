"""Cortex XDR readers on bad and unusual input: located warnings, skip counts, whole-file errors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from rmmhunt.errors import InputError
from rmmhunt.readers.base import HEAD_SIZE, InputFile, Reader, ReadOptions, ReadStats
from rmmhunt.readers.xdr import (
    XdrApiReader,
    XdrCsvReader,
    XdrJsonReader,
    XdrNdjsonReader,
)
from rmmhunt.readers.xdr_json import ArraySyntaxError, iter_array
from rmmhunt.schema import Row

BASE = {"agent_hostname": "WS-01", "event_type": "PROCESS", "action_process_image_name": "a.exe"}
CSV_HEADER = "_time,agent_hostname,event_type,action_process_image_name"


def source_of(data: bytes, display: str = "export.dat") -> InputFile:
    return InputFile(display=display, stream=io.BytesIO(data), head=data[:HEAD_SIZE])


def read(
    reader: Reader, data: bytes, options: ReadOptions | None = None
) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    rows = list(reader.read(source_of(data), stats, options or ReadOptions()))
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    return rows, stats


def ndjson(*records: object) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


# Malformed records


def test_ndjson_malformed_line_is_skipped() -> None:
    data = ndjson({**BASE, "_time": 1}) + b'{"agent_hostname": "WS-02",\n' + ndjson(BASE)
    rows, stats = read(XdrNdjsonReader(), data)

    assert [row["source_record"] for row in rows] == ["1", "3"]
    assert stats.skipped["malformed_record"] == 1
    assert stats.warnings[0].startswith("export.dat:2: invalid JSON")


def test_ndjson_non_object_line_is_malformed() -> None:
    rows, stats = read(XdrNdjsonReader(), ndjson(BASE, [1, 2], BASE))

    assert len(rows) == 2
    assert stats.skipped["malformed_record"] == 1
    assert "export.dat:2:" in stats.warnings[0]
    assert "not an object" in stats.warnings[0]


def test_ndjson_invalid_utf8_value_is_malformed() -> None:
    data = ndjson(BASE) + b'{"agent_hostname": "WS-\xff", "event_type": "PROCESS"}\n'
    rows, stats = read(XdrNdjsonReader(), data)

    assert len(rows) == 1
    assert stats.skipped["malformed_record"] == 1
    assert "export.dat:2:" in stats.warnings[0]
    assert "agent_hostname is not valid UTF-8" in stats.warnings[0]


def test_csv_ragged_row_is_skipped() -> None:
    data = f"{CSV_HEADER}\n1,WS-01,PROCESS,a.exe\n2,WS-02,PROCESS\n3,WS-03,PROCESS,c.exe\n"
    rows, stats = read(XdrCsvReader(), data.encode())

    assert [row["agent_hostname"] for row in rows] == ["WS-01", "WS-03"]
    assert stats.skipped["malformed_record"] == 1
    assert stats.warnings[0].startswith("export.dat:3: row has 3 fields but the header has 4")


def test_array_syntax_error_keeps_earlier_rows() -> None:
    data = b'[\n{"agent_hostname": "WS-01", "event_type": "PROCESS"},\n{"agent_hostname": oops}\n]'
    rows, stats = read(XdrJsonReader(), data)

    assert len(rows) == 1
    assert stats.skipped["malformed_record"] == 1
    assert stats.warnings[0].startswith("export.dat:3:20: invalid JSON")


def test_array_non_object_element_is_skipped() -> None:
    data = json.dumps([BASE, "text", BASE]).encode()
    rows, stats = read(XdrJsonReader(), data)

    assert [row["source_record"] for row in rows] == ["1", "3"]
    assert stats.skipped["malformed_record"] == 1


def test_empty_record_is_counted() -> None:
    rows, stats = read(XdrNdjsonReader(), ndjson(BASE, {"agent_hostname": "-", "other": 1}, {}))

    assert len(rows) == 1
    assert stats.skipped["empty_record"] == 2
    assert stats.warning_count == 0


def test_invalid_integer_is_null_with_warning() -> None:
    rows, stats = read(XdrNdjsonReader(), ndjson({**BASE, "action_process_os_pid": "pid-12"}))

    assert "action_process_os_pid" not in rows[0]
    assert stats.warning_count == 1
    assert "invalid integer 'pid-12'" in stats.warnings[0]


# Encodings and line ends


@pytest.mark.parametrize(
    "reader, data",
    [
        (XdrNdjsonReader(), b"\xef\xbb\xbf" + ndjson(BASE, BASE)),
        (XdrJsonReader(), b"\xef\xbb\xbf" + json.dumps([BASE, BASE]).encode()),
        (
            XdrCsvReader(),
            f"\ufeff{CSV_HEADER}\n1,WS-01,PROCESS,a.exe\n2,WS-01,PROCESS,a.exe\n".encode(),
        ),
        (
            XdrApiReader(),
            b"\xef\xbb\xbf" + json.dumps({"reply": {"results": {"data": [BASE, BASE]}}}).encode(),
        ),
    ],
)
def test_byte_order_mark_is_ignored(reader: Reader, data: bytes) -> None:
    assert reader.detect(data[:HEAD_SIZE], "export.dat")

    rows, stats = read(reader, data)

    assert len(rows) == 2
    assert rows[0]["agent_hostname"] == "WS-01"
    assert not stats.skipped


def test_csv_bom_header_names_first_column() -> None:
    data = f"\ufeff{CSV_HEADER}\n2024-04-15T10:00:00Z,WS-01,PROCESS,a.exe\n".encode()
    rows, _ = read(XdrCsvReader(), data)

    assert rows[0]["_time"] == datetime(2024, 4, 15, 10, tzinfo=UTC)


def test_crlf_line_ends() -> None:
    ndjson_rows, _ = read(XdrNdjsonReader(), ndjson(BASE, BASE).replace(b"\n", b"\r\n"))
    csv_data = f"{CSV_HEADER}\r\n1,WS-01,PROCESS,a.exe\r\n2,WS-02,PROCESS,b.exe\r\n".encode()
    csv_rows, _ = read(XdrCsvReader(), csv_data)

    assert [row["source_record"] for row in ndjson_rows] == ["1", "2"]
    assert [row["action_process_image_name"] for row in csv_rows] == ["a.exe", "b.exe"]
    assert [row["source_record"] for row in csv_rows] == ["2", "3"]


def test_csv_quoted_field_with_comma_and_newline() -> None:
    data = (
        b"agent_hostname,event_type,action_process_image_command_line\r\n"
        b'WS-01,PROCESS,"cmd.exe /c ""echo a,b""\r\nnext"\r\n'
        b"WS-02,PROCESS,plain\r\n"
    )
    rows, _ = read(XdrCsvReader(), data)

    assert rows[0]["action_process_image_command_line"] == 'cmd.exe /c "echo a,b"\r\nnext'
    assert [row["source_record"] for row in rows] == ["2", "4"]


@pytest.mark.parametrize(
    "reader", [XdrNdjsonReader(), XdrJsonReader(), XdrCsvReader(), XdrApiReader()]
)
@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n"])
def test_empty_file_raises_naming_file(reader: Reader, data: bytes) -> None:
    with pytest.raises(InputError) as raised:
        list(reader.read(source_of(data, "case7/empty.json"), ReadStats(), ReadOptions()))

    assert raised.value.path == "case7/empty.json"
    assert "empty file" in str(raised.value)


# Times


def test_time_offset_is_applied() -> None:
    rows, _ = read(XdrNdjsonReader(), ndjson({**BASE, "_time": "2024-04-15T13:20:05-05:30"}))
    assert rows[0]["_time"] == datetime(2024, 4, 15, 18, 50, 5, tzinfo=UTC)


def test_input_tz_applies_to_zoneless_time() -> None:
    options = ReadOptions(input_tz=timedelta(hours=2))
    data = f"{CSV_HEADER}\n2024-04-15 11:09:27.123,WS-01,PROCESS,a.exe\n".encode()
    rows, _ = read(XdrCsvReader(), data, options)

    assert rows[0]["_time"] == datetime(2024, 4, 15, 9, 9, 27, 123000, tzinfo=UTC)


def test_input_tz_leaves_epoch_time_alone() -> None:
    options = ReadOptions(input_tz=timedelta(hours=2))
    rows, _ = read(XdrNdjsonReader(), ndjson({**BASE, "_time": 1713182400000}), options)

    assert rows[0]["_time"] == datetime(2024, 4, 15, 12, tzinfo=UTC)


def test_locale_time_is_invalid_time() -> None:
    data = f'{CSV_HEADER}\n"Apr 15, 2024 11:09:27 AM",WS-01,PROCESS,a.exe\n'.encode()
    rows, stats = read(XdrCsvReader(), data)

    assert rows == []
    assert stats.skipped["invalid_time"] == 1
    warning = stats.warnings[0]
    assert warning.startswith("export.dat:2: invalid _time 'Apr 15, 2024 11:09:27 AM'")
    assert "--input-time-format" in warning
    assert "--input-tz" in warning


def test_locale_time_read_with_format_and_tz() -> None:
    options = ReadOptions(input_time_format="%b %d, %Y %I:%M:%S %p", input_tz=timedelta(hours=-4))
    data = f'{CSV_HEADER}\n"Apr 15, 2024 11:09:27 PM",WS-01,PROCESS,a.exe\n'.encode()
    rows, stats = read(XdrCsvReader(), data, options)

    assert rows[0]["_time"] == datetime(2024, 4, 16, 3, 9, 27, tzinfo=UTC)
    assert not stats.skipped


def test_time_format_falls_back_to_iso() -> None:
    options = ReadOptions(input_time_format="%b %d, %Y %I:%M:%S %p")
    rows, _ = read(XdrNdjsonReader(), ndjson({**BASE, "_time": "2024-04-15T10:00:00Z"}), options)

    assert rows[0]["_time"] == datetime(2024, 4, 15, 10, tzinfo=UTC)


def test_missing_time_keeps_row_with_null() -> None:
    rows, stats = read(XdrNdjsonReader(), ndjson({**BASE, "_time": "-"}, BASE))

    assert len(rows) == 2
    assert all("_time" not in row for row in rows)
    assert not stats.skipped


# Values


def test_enum_prefix_and_case_are_normalised() -> None:
    record = {**BASE, "event_type": "enum.process", "agent_os_type": "ENUM.AGENT_OS_WINDOWS"}
    rows, _ = read(XdrNdjsonReader(), ndjson(record))

    assert rows[0]["event_type"] == "PROCESS"
    assert rows[0]["agent_os_type"] == "AGENT_OS_WINDOWS"


def test_name_not_derived_from_command_line() -> None:
    record = {"agent_hostname": "WS-01", "action_process_image_command_line": "AnyDesk.exe"}
    rows, _ = read(XdrNdjsonReader(), ndjson(record))

    assert "action_process_image_name" not in rows[0]
    assert "action_process_image_name_derived" not in rows[0]


def test_given_name_is_not_replaced_by_path() -> None:
    record = {**BASE, "action_process_image_path": "C:\\x\\renamed.exe"}
    rows, _ = read(XdrNdjsonReader(), ndjson(record))

    assert rows[0]["action_process_image_name"] == "a.exe"


def test_inner_quotes_of_path_are_kept() -> None:
    record = {**BASE, "action_process_image_path": '"C:\\a.exe" "b"'}
    rows, _ = read(XdrNdjsonReader(), ndjson(record))

    assert rows[0]["action_process_image_path"] == '"C:\\a.exe" "b"'


def test_provenance_keys_in_input_are_replaced() -> None:
    record = {**BASE, "source_file": "forged.evtx", "source_record": "999"}
    rows, _ = read(XdrNdjsonReader(), ndjson(record))

    assert rows[0]["source_file"] == "export.dat"
    assert rows[0]["source_record"] == "1"


# XQL API replies


def reply_bytes(reply: dict[str, object]) -> bytes:
    return json.dumps({"reply": reply}).encode()


def test_reply_with_stream_id_raises() -> None:
    data = reply_bytes(
        {"status": "SUCCESS", "number_of_results": 5000, "results": {"stream_id": "s1"}}
    )
    assert XdrApiReader().detect(data, "reply.json")

    with pytest.raises(InputError) as raised:
        read(XdrApiReader(), data)

    assert "get_query_results_stream" in str(raised.value)


def test_reply_pending_status_raises() -> None:
    data = reply_bytes({"status": "PENDING", "number_of_results": 0, "results": {"data": []}})
    with pytest.raises(InputError) as raised:
        read(XdrApiReader(), data)

    assert "'PENDING'" in str(raised.value)


def test_reply_count_mismatch_warns() -> None:
    data = reply_bytes({"status": "SUCCESS", "number_of_results": 3, "results": {"data": [BASE]}})
    rows, stats = read(XdrApiReader(), data)

    assert len(rows) == 1
    assert "number_of_results 3 but holds 1 rows" in stats.warnings[0]


def test_reply_bad_row_names_its_index() -> None:
    data = reply_bytes({"status": "SUCCESS", "results": {"data": [BASE, {**BASE, "_time": "x"}]}})
    rows, stats = read(XdrApiReader(), data)

    assert len(rows) == 1
    assert stats.skipped["invalid_time"] == 1
    assert stats.warnings[0].startswith("export.dat: row 2: invalid _time 'x'")


def test_reply_truncated_json_raises_with_line() -> None:
    data = reply_bytes({"status": "SUCCESS", "results": {"data": [BASE]}})[:-10]
    with pytest.raises(InputError) as raised:
        read(XdrApiReader(), data)

    assert raised.value.line == 1
    assert raised.value.path == "export.dat"


# The incremental array parser


def test_array_elements_across_small_chunks() -> None:
    records = [{"n": n, "text": "x" * (n * 7)} for n in range(50)]
    data = json.dumps(records, indent=1).encode()
    elements = list(iter_array(io.BytesIO(data), chunk_chars=16))

    assert [element.value for element in elements] == records
    assert elements[0].line == 2
    assert elements[1].line > elements[0].line


def test_array_number_split_at_chunk_edge() -> None:
    elements = list(iter_array(io.BytesIO(b"[12345678, 9]"), chunk_chars=4))
    assert [element.value for element in elements] == [12345678, 9]


def test_array_element_over_limit_is_error() -> None:
    data = json.dumps([{"text": "x" * 500}]).encode()
    with pytest.raises(ArraySyntaxError):
        list(iter_array(io.BytesIO(data), chunk_chars=16, max_element_chars=100))


def test_array_missing_separator_is_error() -> None:
    with pytest.raises(ArraySyntaxError) as raised:
        list(iter_array(io.BytesIO(b'[{"a": 1}\n{"b": 2}]')))
    assert raised.value.line == 2


def test_array_reader_does_not_close_stream() -> None:
    source = source_of(json.dumps([BASE]).encode())
    list(XdrJsonReader().read(source, ReadStats(), ReadOptions()))
    assert not source.stream.closed


def test_one_line_array_error_names_column() -> None:
    data = json.dumps([BASE, BASE]).encode()[:-1] + b', {"agent_hostname": oops}]'
    rows, stats = read(XdrJsonReader(), data)

    column = data.index(b"oops") + 1
    assert len(rows) == 2
    assert stats.warnings[0].startswith(f"export.dat:1:{column}: invalid JSON")


# Encodings and CSV limits


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_ndjson_detected_and_read(encoding: str) -> None:
    text = ndjson(BASE, dict(BASE, agent_hostname="WS-02")).decode().replace("\n", "\r\n")
    data = text.encode(encoding)
    reader = XdrNdjsonReader()

    assert reader.detect(data[:HEAD_SIZE], "export.ndjson")
    rows, stats = read(reader, data)

    assert [row["agent_hostname"] for row in rows] == ["WS-01", "WS-02"]
    assert not stats.skipped


def test_utf16_csv_detected_and_read() -> None:
    data = f"{CSV_HEADER}\r\n1,WS-01,PROCESS,a.exe\r\n".encode("utf-16")
    reader = XdrCsvReader()

    assert reader.detect(data[:HEAD_SIZE], "export.csv")
    rows, _ = read(reader, data)

    assert [row["action_process_image_name"] for row in rows] == ["a.exe"]


def test_utf16_json_array_read() -> None:
    data = json.dumps([BASE, BASE]).encode("utf-16")
    reader = XdrJsonReader()

    assert reader.detect(data[:HEAD_SIZE], "export.json")
    rows, _ = read(reader, data)

    assert len(rows) == 2


def test_csv_field_over_128_kib_is_read() -> None:
    command_line = "powershell -enc " + "A" * (200 * 1024)
    header = "_time,agent_hostname,event_type,action_process_image_command_line"
    data = f'{header}\n1,WS-01,PROCESS,"{command_line}"\n2,WS-02,PROCESS,b.exe\n'.encode()

    rows, stats = read(XdrCsvReader(), data)

    assert [row["agent_hostname"] for row in rows] == ["WS-01", "WS-02"]
    assert rows[0]["action_process_image_command_line"] == command_line
    assert not stats.skipped


def test_csv_unclosed_quote_counts_lines() -> None:
    lines = [CSV_HEADER, "1,WS-01,PROCESS,a.exe", '2,"WS-02,PROCESS,b.exe']
    lines += [f"{n},WS-0{n},PROCESS,c.exe" for n in range(3, 7)]
    rows, stats = read(XdrCsvReader(), ("\n".join(lines) + "\n").encode())

    assert [row["agent_hostname"] for row in rows] == ["WS-01"]
    assert stats.skipped["malformed_record"] == 5
    assert stats.warnings[0].startswith("export.dat:3: a quoted field opens on line 3")
    assert "runs unclosed to line 7" in stats.warnings[0]


def test_csv_multiline_field_still_read() -> None:
    data = f'{CSV_HEADER}\n1,WS-01,PROCESS,"a.exe\nsecond line"\n2,WS-02,PROCESS,b.exe\n'
    rows, stats = read(XdrCsvReader(), data.encode())

    assert len(rows) == 2
    assert not stats.skipped
