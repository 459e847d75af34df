"""Readers for exports of the Cortex XDR `xdr_data` dataset, whose keys are the dataset's columns.

Shapes read, each detected from content:

- `xdr-json`: a JSON array of row objects, parsed incrementally (see `xdr_json.iter_array`).
- `xdr-ndjson`: one row object per line. The body of the XQL API's `get_query_results_stream`
  has this shape, so it reads as `xdr-ndjson` once decompressed.
- `xdr-csv`: a header row of column names, then one row per record (RFC 4180 quoting).
- `xdr-api`: the `{"reply": {...}}` response of the XQL API's `get_query_results`, with the rows
  in `reply.results.data`.

API shapes are from the Cortex XDR REST API reference, "Get XQL Query Results"
(https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-XQL-Query-Results) and
"Get XQL Query Results Stream"
(https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR-REST-API/Get-XQL-Query-Results-Stream).
A reply contains at most 1,000 rows. Larger result sets come back as `results.stream_id`, and their
rows must be fetched with `get_query_results_stream`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

from rmmhunt.errors import InputError
from rmmhunt.readers.base import InputFile, Reader, ReadOptions, ReadStats
from rmmhunt.readers.csvtext import allow_large_fields, unclosed_quote_lines
from rmmhunt.readers.jsondecode import (
    MAX_JSON_DEPTH,
    contains_placeholder,
    loads,
    loads_document,
)
from rmmhunt.readers.textstream import wrapper_encoding
from rmmhunt.readers.xdr_common import (
    emit_row,
    empty_file_error,
    has_xdr_keys,
    is_empty,
    text_wrapper,
    unreadable_error,
    xdr_head_text,
)
from rmmhunt.readers.xdr_json import (
    UTF8_BOM,
    ArraySyntaxError,
    first_object,
    inspect_reply_head,
    iter_array,
)
from rmmhunt.schema import COLUMN_NAMES, Row

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

MAX_REPLY_BYTES: Final = 256 * 1024 * 1024
"""Maximum size of an XQL API reply, which is loaded whole (the API caps it at 1,000 rows)."""


class XdrJsonReader:
    """Reads a JSON array of `xdr_data` row objects."""

    format_name = "xdr-json"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept a JSON array whose first object has `xdr_data` column names as keys."""
        text = xdr_head_text(head).lstrip()
        if not text.startswith("["):
            return False
        record = first_object(text)
        return record is not None and has_xdr_keys(record)

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per array element; `source_record` is the element's 1-based index."""
        if is_empty(source):
            raise empty_file_error(source, "JSON array")
        if not xdr_head_text(source.head).lstrip().startswith("["):
            raise unreadable_error(source, "a JSON array")

        try:
            for element in iter_array(source.stream, encoding=wrapper_encoding(source.head)):
                if element.error is not None:
                    located = InputError(
                        f"element {element.index}: {element.error}",
                        path=source.display,
                        line=element.line,
                        hint="the element is skipped",
                    )
                    stats.warn(located)
                    stats.skip("malformed_record")
                    continue
                row = emit_row(
                    element.value,
                    element.index,
                    element.line,
                    source,
                    stats,
                    options,
                    self.format_name,
                )
                if row is not None:
                    yield row
        except ArraySyntaxError as error:
            # NOTE: an array cannot be resynchronised after a syntax error, so the elements after
            # it are not read and are not counted.
            stats.warn(
                InputError(
                    f"{error.message}; the rest of the file is not read",
                    path=source.display,
                    line=error.line,
                    column=error.column,
                    hint="fix the JSON at that line, or export the rows again as NDJSON",
                )
            )
            stats.skip("malformed_record")


class XdrNdjsonReader:
    """Reads NDJSON with one `xdr_data` row object per line, as the XQL results stream sends."""

    format_name = "xdr-ndjson"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept NDJSON whose first line is an object with `xdr_data` column names as keys."""
        text = xdr_head_text(head).lstrip()
        if not text.startswith("{"):
            return False
        record = first_object(text)
        return record is not None and has_xdr_keys(record)

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per non-blank line; `source_record` is the 1-based line number."""
        if is_empty(source):
            raise empty_file_error(source, "NDJSON")

        # Only LF ends a line, as in the binary file, so a stray CR stays inside its line.
        wrapper = text_wrapper(source, newline="\n")
        try:
            yield from self._read_lines(wrapper, source, stats, options)
        finally:
            wrapper.detach()  # the caller owns the binary stream and closes it

    def _read_lines(
        self, lines: Iterable[str], source: InputFile, stats: ReadStats, options: ReadOptions
    ) -> Iterator[Row]:
        for line_number, raw_line in enumerate(lines, start=1):
            text = raw_line.strip()
            if not text:
                continue

            try:
                record = loads(text)
            except json.JSONDecodeError as error:
                stats.warn(
                    InputError(
                        f"invalid JSON: {error.msg} at column {error.colno}",
                        path=source.display,
                        line=line_number,
                        hint="the line is skipped; each line must be one complete JSON object",
                    )
                )
                stats.skip("malformed_record")
                continue

            row = emit_row(
                record, line_number, line_number, source, stats, options, self.format_name
            )
            if row is not None:
                yield row


class XdrCsvReader:
    """Reads CSV whose header row names `xdr_data` columns, as the Cortex console exports it."""

    format_name = "xdr-csv"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept text whose first line is a CSV header with `xdr_data` column names."""
        text = xdr_head_text(head).lstrip("\r\n")
        if text.lstrip().startswith(("[", "{")):
            return False
        first_line = text.splitlines()[0] if text else ""
        try:
            header = next(csv.reader([first_line]), [])
        except csv.Error:
            # Binary content, such as a packet capture or a macOS resource fork, is no CSV header.
            return False
        return has_xdr_keys(header)

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per CSV record; `source_record` is the line the record starts on."""
        if is_empty(source):
            raise empty_file_error(source, "CSV")

        # The csv module needs newline="" to read line breaks inside quoted fields.
        allow_large_fields()
        text = text_wrapper(source, newline="")
        try:
            yield from self._read_rows(csv.reader(text), source, stats, options)
        finally:
            text.detach()  # the caller owns the binary stream and closes it

    def _read_rows(
        self,
        records: CsvReader,
        source: InputFile,
        stats: ReadStats,
        options: ReadOptions,
    ) -> Iterator[Row]:
        header = [name.strip() for name in next(records, [])]
        if not COLUMN_NAMES.intersection(header):
            raise unreadable_error(source, "a CSV export of xdr_data (no column names in header)")

        while True:
            start_line = records.line_num + 1
            try:
                fields = next(records)
            except StopIteration:
                return
            except csv.Error as error:
                self._warn_malformed(source, stats, start_line, f"invalid CSV: {error}")
                continue

            if not fields:
                continue  # a blank line is no record
            swallowed = unclosed_quote_lines(fields, len(header), start_line, records.line_num)
            if swallowed:
                message = (
                    f"a quoted field opens on line {start_line} and runs unclosed to line "
                    f"{records.line_num}, so {swallowed} lines were read as one row"
                )
                self._warn_malformed(source, stats, start_line, message, count=swallowed)
                continue
            if len(fields) != len(header):
                message = f"row has {len(fields)} fields but the header has {len(header)}"
                self._warn_malformed(source, stats, start_line, message)
                continue

            record = dict(zip(header, fields, strict=True))
            row = emit_row(record, start_line, start_line, source, stats, options, self.format_name)
            if row is not None:
                yield row

    @staticmethod
    def _warn_malformed(
        source: InputFile, stats: ReadStats, line: int, message: str, count: int = 1
    ) -> None:
        hint = "the row is skipped; check its quoting and field count"
        if count > 1:
            hint = f"the {count} lines are counted as skipped rows; check the quoting"
        stats.warn(InputError(message, path=source.display, line=line, hint=hint))
        stats.skip("malformed_record", count)


class XdrApiReader:
    """Reads the `{"reply": ...}` response of the XQL API's `get_query_results`."""

    format_name = "xdr-api"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept a reply whose first row has `xdr_data` keys, or an XQL reply with no row in view.

        The second case covers replies whose rows are in a stream or start past the head, so
        that reading them reports what is wrong rather than leaving the file unrecognised.
        """
        reply = inspect_reply_head(xdr_head_text(head))
        if reply is None:
            return False
        if reply.first_row is not None:
            return has_xdr_keys(reply.first_row)
        return reply.has_xql_keys

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per entry of `reply.results.data`; `source_record` is its 1-based index.

        Raises:
            InputError: the file is not a successful XQL reply, or its rows are in a stream.
        """
        if is_empty(source):
            raise empty_file_error(source, "XQL API reply")

        rows, replaced = self._load_rows(source, stats)
        for number, record in enumerate(rows, start=1):
            if replaced and contains_placeholder(record):
                message = (
                    f"row {number}: invalid JSON: a value nested more than {MAX_JSON_DEPTH} levels"
                )
                stats.warn(InputError(message, path=source.display, hint="the row is skipped"))
                stats.skip("malformed_record")
                continue
            row = emit_row(record, number, None, source, stats, options, self.format_name)
            if row is not None:
                yield row

    def _load_rows(self, source: InputFile, stats: ReadStats) -> tuple[list[object], int]:
        reply, replaced = _load_reply(source)
        status = reply.get("status")
        if status is not None and str(status).upper() != "SUCCESS":
            raise InputError(
                f"XQL query status is {status!r}, so the reply contains no complete results",
                path=source.display,
                hint="call get_query_results until its status is SUCCESS, and save that reply",
            )

        results = reply.get("results")
        if isinstance(results, Mapping) and "data" not in results and "stream_id" in results:
            raise InputError(
                f"the rows are in XQL results stream {results['stream_id']!r}, not in this reply",
                path=source.display,
                hint="fetch them with get_query_results_stream and read its NDJSON body",
            )
        data = results.get("data") if isinstance(results, Mapping) else None
        if not isinstance(data, list):
            raise InputError(
                "the XQL reply has no reply.results.data array of rows",
                path=source.display,
                hint="save the whole response of get_query_results, with its results",
            )

        expected = reply.get("number_of_results")
        if isinstance(expected, int) and expected != len(data):
            message = f"reply states number_of_results {expected} but holds {len(data)} rows"
            stats.warn(InputError(message, path=source.display))
        return data, replaced


def _load_reply(source: InputFile) -> tuple[Mapping[str, object], int]:
    """Decode the reply; also return how many too-deep values were replaced (see loads_document)."""
    size = source.stream.seek(0, io.SEEK_END)
    source.stream.seek(0)
    if size > MAX_REPLY_BYTES:
        raise InputError(
            f"XQL reply of {size} bytes is larger than the {MAX_REPLY_BYTES} bytes read whole",
            path=source.display,
            hint="fetch large result sets with get_query_results_stream and read them as NDJSON",
        )

    text = source.stream.read().removeprefix(UTF8_BOM).decode("utf-8", errors="surrogateescape")
    try:
        document, replaced = loads_document(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"invalid JSON in XQL reply: {error.msg}",
            path=source.display,
            line=error.lineno,
            column=error.colno,
            hint="save the response of get_query_results again; it may have been cut off",
        ) from error

    reply = document.get("reply") if isinstance(document, Mapping) else None
    if not isinstance(reply, Mapping):
        raise unreadable_error(source, 'an XQL reply (no "reply" object)')
    return reply, replaced


def xdr_readers() -> list[Reader]:
    """Return the Cortex XDR readers, the most specific shape first."""
    return [XdrApiReader(), XdrJsonReader(), XdrNdjsonReader(), XdrCsvReader()]
