"""Helpers shared by the Cortex XDR readers: detection keys, text decoding and row accounting."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.textstream import head_text, is_utf16, wrapper_encoding
from rmmhunt.readers.xdr_json import UTF8_BOM
from rmmhunt.readers.xdr_values import RecordError, normalise_record
from rmmhunt.schema import Row

DETECTION_KEYS: Final = frozenset(
    {
        "_time",
        "event_type",
        "agent_hostname",
        "action_process_image_name",
        "event_id",
        "agent_id",
        "actor_process_image_name",
    }
)
"""Columns that mark a record as `xdr_data`; detection requires at least two of them."""

_FIRST_BYTES_SHOWN: Final = 40


def has_xdr_keys(keys: Iterable[str]) -> bool:
    """Return whether at least two of the keys are `xdr_data` columns used for detection."""
    return len(DETECTION_KEYS.intersection(key.strip() for key in keys)) >= 2


def xdr_head_text(head: bytes) -> str:
    """Decode the detection head as UTF-8, or as UTF-16 when the head shows it."""
    if is_utf16(head):
        return head_text(head)
    # The head may end inside a multi-byte character, so decoding replaces rather than fails.
    return head.removeprefix(UTF8_BOM).decode("utf-8", errors="replace")


def is_empty(source: InputFile) -> bool:
    """Return whether the input contains only white space and a byte order mark."""
    return not xdr_head_text(source.head).strip()


def text_wrapper(source: InputFile, newline: str) -> io.TextIOWrapper:
    """Wrap the input as text in its own encoding (UTF-8, or UTF-16 as Windows tools write it).

    Invalid UTF-8 survives as lone surrogates, which the normaliser rejects per field. UTF-16
    has no such escape, so its invalid bytes become U+FFFD.
    """
    utf16 = is_utf16(source.head)
    return io.TextIOWrapper(
        source.stream,
        encoding=wrapper_encoding(source.head),
        errors="replace" if utf16 else "surrogateescape",
        newline=newline,
    )


def empty_file_error(source: InputFile, format_name: str) -> InputError:
    """Build the error for an input without records."""
    return InputError(
        f"empty file: no {format_name} records",
        path=source.display,
        hint="check that the export finished writing and that the right file was given",
    )


def unreadable_error(source: InputFile, expected: str) -> InputError:
    """Build the error for an input that is not the `expected` shape, showing its first bytes."""
    first = source.head.removeprefix(UTF8_BOM)[:_FIRST_BYTES_SHOWN]
    return InputError(
        f"not {expected}: the file starts with {first!r}",
        path=source.display,
        hint="export the xdr_data rows from Cortex XDR again as JSON, NDJSON or CSV",
    )


def emit_row(
    record: object,
    number: int,
    line: int | None,
    source: InputFile,
    stats: ReadStats,
    options: ReadOptions,
    format_name: str,
) -> Row | None:
    """Normalise one record and count it; return its row, or None when it was skipped."""
    where = "" if line is not None else f"row {number}: "
    if not isinstance(record, Mapping):
        kind = type(record).__name__
        stats.warn(
            InputError(
                f"{where}record is a JSON {kind}, not an object", path=source.display, line=line
            )
        )
        stats.skip("malformed_record")
        return None

    try:
        normalised = normalise_record(record, options)
    except RecordError as error:
        located = InputError(where + error.message, path=source.display, line=line, hint=error.hint)
        stats.warn(located)
        stats.skip(error.reason)
        return None

    for message in normalised.field_warnings:
        stats.warn(InputError(where + message, path=source.display, line=line))
    if not normalised.row:
        stats.skip("empty_record")
        return None

    row = normalised.row
    row["source_format"] = format_name
    row["source_file"] = source.display
    row["source_record"] = str(number)
    stats.records_read += 1
    return row
