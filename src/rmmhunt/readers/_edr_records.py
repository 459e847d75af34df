"""Record iteration shared by the EDR readers: CSV rows and JSON records, each with its location.

The EDR readers (Defender, CrowdStrike, OCSF and the field-map reader) all read either a CSV file
with a header line or JSON in one of three layouts: one object per line (NDJSON), a top-level
array, or one wrapper object that contains the records in a list. This module turns each layout into
a stream of RawRecord values, and `map_records` applies a reader's mapping with the accounting
that the reader contract requires.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from rmmhunt.errors import InputError
from rmmhunt.readers.base import InputFile, ReadStats
from rmmhunt.readers.csvtext import allow_large_fields, unclosed_quote_lines
from rmmhunt.readers.jsondecode import (
    MAX_JSON_DEPTH,
    JsonDepthError,
    contains_placeholder,
    loads,
    loads_document,
    raw_decode,
)
from rmmhunt.readers.textstream import wrapper_encoding
from rmmhunt.schema import Row

Unwrap = Callable[[dict[str, object]], list[object] | None]
"""Return the record list held by a wrapper object, or None when the object is itself a record."""


@dataclass(frozen=True)
class RawRecord:
    """One record as read from the file, before a reader maps it onto the dataset columns.

    Attributes:
        fields: the record's fields, or None when the record is malformed.
        index: the 1-based position of the record in the file.
        line: the 1-based line where the record starts, when the layout has lines.
        error: why the record is malformed, when it is.
    """

    fields: dict[str, object] | None
    index: int
    line: int | None = None
    error: str | None = None

    def provenance(self) -> str:
        """Format the record's position for the `source_record` column."""
        return str(self.line) if self.line is not None else f"record {self.index}"


class RecordRejected(Exception):
    """A record that a mapping cannot normalise, with the skip reason to count it under."""

    def __init__(self, reason: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.hint = hint


@contextmanager
def text_stream(source: InputFile) -> Iterator[io.TextIOWrapper]:
    """Open the binary stream as text from its start, leaving the stream open afterwards.

    The encoding is UTF-8, or UTF-16 when the head shows it (see `textstream.detect_encoding`).
    """
    source.stream.seek(0)
    # NOTE: undecodable bytes become U+FFFD so that one bad byte never stops the file. Detection
    # of these formats reads the head as UTF-8, so most UTF-16 exports still fail as unknown.
    encoding = wrapper_encoding(source.head)
    wrapper = io.TextIOWrapper(source.stream, encoding=encoding, errors="replace", newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()


def looks_like_json(head: bytes) -> bool:
    """Tell whether the first non-blank character of the input opens a JSON array or object."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] in (b"[", b"{")


def iter_csv(source: InputFile) -> Iterator[RawRecord]:
    """Yield one record per CSV row after the header line; blank lines are not records."""
    allow_large_fields()
    with text_stream(source) as text:
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except csv.Error as error:
            raise InputError(
                f"invalid CSV header: {error}",
                path=source.display,
                line=1,
                hint="check that the file is a CSV export with a header line",
            ) from error
        if not header:
            return
        names = [header_name(name) for name in header]
        yield from _csv_rows(reader, names)


class _CsvRows(Protocol):
    """The part of `csv.reader`'s result that row iteration uses."""

    @property
    def line_num(self) -> int: ...

    def __next__(self) -> list[str]: ...


def _csv_rows(reader: _CsvRows, names: list[str]) -> Iterator[RawRecord]:
    index = 0
    while True:
        start_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            index += 1
            yield RawRecord(None, index, start_line, f"invalid CSV row: {error}")
            continue
        if not values:
            continue

        swallowed = unclosed_quote_lines(values, len(names), start_line, reader.line_num)
        if swallowed:
            # Each swallowed line counts as one malformed record, and the first names the cause.
            message = (
                f"a quoted field opens on line {start_line} and runs unclosed to line "
                f"{reader.line_num}, so {swallowed} lines were read as one row"
            )
            for offset in range(swallowed):
                index += 1
                yield RawRecord(None, index, start_line + offset, message)
            continue

        index += 1
        if len(values) != len(names):
            message = f"expected {len(names)} fields as in the header, found {len(values)}"
            yield RawRecord(None, index, start_line, message)
            continue
        yield RawRecord(dict(zip(names, values, strict=True)), index, start_line)


def header_name(name: str) -> str:
    """Strip a CSV column name, and drop the ` [UTC]` suffix that Log Analytics exports add."""
    name = name.strip().strip('"').strip()
    if name.endswith("]") and " [" in name:
        name = name[: name.rindex(" [")]
    return name


def iter_json(source: InputFile, unwrap: Unwrap | None = None) -> Iterator[RawRecord]:
    """Yield the records of an NDJSON file, a JSON array or a wrapper object.

    A file whose first non-blank line is a complete JSON value is read as NDJSON, one value per
    line. Otherwise the whole file is one JSON document. `unwrap` expands wrapper objects (such
    as an API response with its rows in a list) into the records they contain.
    """
    if _first_line_is_json(source.head):
        yield from _ndjson_records(source, unwrap)
    else:
        yield from _document_records(source, unwrap)


def _first_line_is_json(head: bytes) -> bool:
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    first_line, newline, _ = text.partition("\n")
    if not newline and len(head) >= 64 * 1024:
        return False
    try:
        loads(first_line)
    except ValueError:
        return False
    return True


def _ndjson_records(source: InputFile, unwrap: Unwrap | None) -> Iterator[RawRecord]:
    index = 0
    with text_stream(source) as text:
        for line_number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                value = loads(line)
            except ValueError as error:
                index += 1
                yield RawRecord(None, index, line_number, f"invalid JSON: {error}")
                continue
            for item in _expand(value, unwrap):
                index += 1
                yield _record_from_value(item, index, line_number)


def _document_records(source: InputFile, unwrap: Unwrap | None) -> Iterator[RawRecord]:
    # NOTE: a JSON document is read into memory whole. NDJSON and CSV stream line by line, so
    # large exports should use those layouts.
    with text_stream(source) as stream:
        text = stream.read()
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] == "[":
        yield from _array_records(text, start + 1, unwrap)
        return

    try:
        value, replaced = loads_document(text)
    except ValueError as error:
        raise InputError(
            f"invalid JSON document: {error}",
            path=source.display,
            hint="check that the export is complete; a truncated document cannot be read",
        ) from error
    for index, item in enumerate(_expand(value, unwrap), start=1):
        if replaced and contains_placeholder(item):
            message = f"invalid JSON: a value nested more than {MAX_JSON_DEPTH} levels deep"
            yield RawRecord(None, index, None, message)
        else:
            yield _record_from_value(item, index, None)


def _array_records(text: str, position: int, unwrap: Unwrap | None) -> Iterator[RawRecord]:
    """Decode a top-level array element by element, so that each record keeps its line."""
    line, counted_to, index = 1, 0, 0
    while True:
        position = _skip_blank(text, position)
        if text[position : position + 1] in ("]", ""):
            return
        line += text.count("\n", counted_to, position)
        counted_to = position
        try:
            value, position = raw_decode(text, position)
        except JsonDepthError as error:
            index += 1
            if error.end is None:
                yield RawRecord(
                    None, index, line, f"invalid JSON, rest of the array not read: {error}"
                )
                return
            # The element's brackets balance, so reading resumes after it.
            yield RawRecord(None, index, line, f"invalid JSON: {error}")
            position = error.end
        except ValueError as error:
            # The array cannot be resynchronised after a syntax error, so the rest is not read.
            index += 1
            yield RawRecord(None, index, line, f"invalid JSON, rest of the array not read: {error}")
            return
        else:
            for item in _expand(value, unwrap):
                index += 1
                yield _record_from_value(item, index, line)

        position = _skip_blank(text, position)
        if text[position : position + 1] == ",":
            position += 1
        elif text[position : position + 1] != "]":
            index += 1
            yield RawRecord(None, index, line, "expected ',' or ']' after a record")
            return


def _skip_blank(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _expand(value: object, unwrap: Unwrap | None) -> list[object]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and unwrap is not None:
        inner = unwrap(value)
        if inner is not None:
            return inner
    return [value]


def _record_from_value(value: object, index: int, line: int | None) -> RawRecord:
    if not isinstance(value, dict):
        kind = type(value).__name__
        return RawRecord(None, index, line, f"expected a JSON object, found {kind}")
    return RawRecord(value, index, line)


Mapping = Callable[[dict[str, object], RawRecord], Row | None]
"""Map one record's fields onto dataset columns; None means the event type is not used."""


def map_records(
    records: Iterator[RawRecord],
    source: InputFile,
    stats: ReadStats,
    format_name: str,
    mapping: Mapping,
) -> Iterator[Row]:
    """Apply `mapping` to each record, with the reader contract's accounting and warnings.

    A malformed record is counted as `malformed_record`, a record the mapping rejects under the
    rejection's reason, and a record the mapping returns None for as `event_not_used`.
    """
    for record in records:
        if record.fields is None:
            _warn(stats, source, record, record.error or "malformed record", None)
            stats.skip("malformed_record")
            continue
        try:
            row = mapping(record.fields, record)
        except RecordRejected as rejection:
            _warn(stats, source, record, rejection.message, rejection.hint)
            stats.skip(rejection.reason)
            continue
        if row is None:
            stats.skip("event_not_used")
            continue

        stats.records_read += 1
        yield finish_row(row, source, format_name, record.provenance())


def _warn(
    stats: ReadStats, source: InputFile, record: RawRecord, message: str, hint: str | None
) -> None:
    if record.line is None:
        message = f"record {record.index}: {message}"
    stats.warn(InputError(message, path=source.display, line=record.line, hint=hint))


def finish_row(row: Row, source: InputFile, format_name: str, position: str) -> Row:
    """Drop NULL columns and add the provenance columns."""
    finished: Row = {name: value for name, value in row.items() if value is not None}
    finished["source_format"] = format_name
    finished["source_file"] = source.display
    finished["source_record"] = position
    return finished
