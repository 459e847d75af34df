"""Read Windows EVTX files with pyevtx-rs (the PyPI package `evtx`, 0.14) and map their events.

The parser's JSON rendering of each record is turned into a WinEvent and mapped by winevent. Every
record is accounted for, and a returned record becomes a row or a named skip. A parser error is
counted as `record_parse_error` or `chunk_parse_error`. Records that a damaged chunk lost without an
error are counted as `chunk_records_missing`, found by comparing the chunk headers with the output.
The record header's timestamp is never used, because some real files contain 1601-01-01 there.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Final

import evtx

from rmmhunt.errors import InputError
from rmmhunt.normalise import clean_text, parse_int, parse_time
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.evtxchunks import (
    CHUNK_SIZE,
    FILE_HEADER_FIELDS_SIZE,
    FILE_HEADER_SIZE,
    FILE_MAGIC,
    ChunkLedger,
    FileHeader,
    Truncation,
    find_truncation,
    parse_file_header,
    scan_chunks,
)
from rmmhunt.readers.jsondecode import loads
from rmmhunt.readers.winevent import (
    SKIP_MISSING_REQUIRED_FIELD,
    WinEvent,
    map_win_event,
    missing_field_message,
)
from rmmhunt.schema import Row

logger = logging.getLogger(__name__)

SKIP_RECORD_PARSE_ERROR: Final = "record_parse_error"
SKIP_CHUNK_PARSE_ERROR: Final = "chunk_parse_error"
SKIP_CHUNK_RECORDS_MISSING: Final = "chunk_records_missing"
SKIP_FILE_TRUNCATED: Final = "file_truncated"

# pyevtx-rs 0.14 names the chunk or record in most of its error messages.
_CHUNK_NUMBER: Final = re.compile(r"chunk number (\d+)")
_RECORD_NUMBER: Final = re.compile(r"record number (\d+)")
_PARSER_HINT: Final = "the record is skipped and reading goes on; the file is damaged"


class EvtxReader:
    """Reader for Windows EVTX files (`ElfFile\\0` magic)."""

    format_name = "evtx"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept files that start with the EVTX file header magic."""
        return head.startswith(FILE_MAGIC)

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per mapped event and count every other record in `stats`.

        Raises:
            InputError: when the file header is missing, truncated or invalid.
        """
        header = _check_file_header(source)
        scan = scan_chunks(source.stream)
        ledger = ChunkLedger(scan.chunks)
        try:
            parser = evtx.PyEvtxParser(source.stream)
        except (OSError, RuntimeError) as error:
            raise InputError(
                f"pyevtx-rs cannot open the EVTX file: {error}", path=source.display
            ) from error

        records = parser.records_json()
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except RuntimeError as error:
                _count_parser_error(str(error), ledger, source, stats)
                continue
            if record is None:
                # The package's type stub allows None from __next__; 0.14 raises StopIteration.
                break

            ledger.add_record(record["event_record_id"])
            result = _map_record(record, source, stats)
            if isinstance(result, str):
                stats.skip(result)
            else:
                stats.records_read += 1
                yield result

        _count_gaps(ledger, source, stats)
        _count_truncation(find_truncation(header, scan), source, stats)


def _check_file_header(source: InputFile) -> FileHeader:
    head = source.head[:FILE_HEADER_FIELDS_SIZE]
    try:
        return parse_file_header(head)
    except ValueError as error:
        first_bytes = source.head[:16].hex(" ") if source.head else "nothing (the file is empty)"
        raise InputError(
            f"invalid EVTX file: {error}; the first bytes are {first_bytes}",
            path=source.display,
            offset=0,
            hint="check that the file is a complete .evtx export and not truncated",
        ) from error


def _count_parser_error(
    message: str, ledger: ChunkLedger, source: InputFile, stats: ReadStats
) -> None:
    """Count and locate one error that pyevtx-rs raised."""
    chunk_match = _CHUNK_NUMBER.search(message)
    record_match = _RECORD_NUMBER.search(message)
    if chunk_match:
        chunk_index = int(chunk_match.group(1))
        ledger.add_error(chunk_index=chunk_index)
        stats.skip(SKIP_CHUNK_PARSE_ERROR)
        where = f"chunk {chunk_index}"
        offset: int | None = FILE_HEADER_SIZE + chunk_index * CHUNK_SIZE
    else:
        record_id = int(record_match.group(1)) if record_match else None
        ledger.add_error(record_id=record_id)
        stats.skip(SKIP_RECORD_PARSE_ERROR)
        chunk = ledger.current_chunk()
        where = f"record {record_id}" if record_id is not None else "a record"
        if chunk is not None:
            where += f" in or after chunk {chunk.index}"
        offset = chunk.offset if chunk is not None else None

    logger.debug("EVTX parser error in %s at %s: %s", source.display, where, message)
    stats.warn(
        InputError(
            f"EVTX parser error at {where}: {message}",
            path=source.display,
            offset=offset,
            hint=_PARSER_HINT,
        )
    )


def _count_gaps(ledger: ChunkLedger, source: InputFile, stats: ReadStats) -> None:
    """Count the records that damaged chunks lost without an error, and warn about each chunk."""
    for gap in ledger.gaps():
        chunk = gap.chunk
        stats.skip(SKIP_CHUNK_RECORDS_MISSING, gap.missing)
        stats.warn(
            InputError(
                f"chunk {chunk.index} lists records {chunk.first_record_id} to "
                f"{chunk.last_record_id}, but the parser returned {gap.returned} and failed on "
                f"{gap.errors}, so {gap.missing} records are missing",
                path=source.display,
                offset=chunk.offset,
                hint="the chunk is damaged; another EVTX parser may recover more of it",
            )
        )

    for chunk in ledger.stale_chunks():
        # NOTE: records lost from such a chunk are not counted, because its header is out of date.
        stats.warn(
            InputError(
                f"chunk {chunk.index} contains records outside the range "
                f"{chunk.first_record_id} to {chunk.last_record_id} that its header lists, "
                "so missing records are not counted",
                path=source.display,
                offset=chunk.offset,
                hint="the chunk was recovered or not closed cleanly",
            )
        )


def _count_truncation(truncation: Truncation, source: InputFile, stats: ReadStats) -> None:
    """Count the records that a cut-off file lost after its last chunk, and warn once."""
    if not truncation.missing_records and not truncation.missing_chunks:
        return
    end = source.stream.seek(0, io.SEEK_END)
    source.stream.seek(0)

    if truncation.missing_records:
        lost = truncation.missing_records
        loss = f"{lost} record(s) after record id {truncation.last_record_id} are missing"
    else:
        # NOTE: the records of chunks lost before any chunk header, or of the older chunks of a
        # log that wrapped around, cannot be numbered, so each missing chunk counts once.
        lost = truncation.missing_chunks
        loss = f"{lost} chunk(s) are missing; each counts once, whatever it held"

    stats.skip(SKIP_FILE_TRUNCATED, lost)
    stats.warn(
        InputError(
            f"the file header lists {truncation.listed_chunks} chunk(s) and next record id "
            f"{truncation.next_record_id}, but the data ends at this offset, so {loss}",
            path=source.display,
            offset=end,
            hint="the file was cut off while copying; copy it again from the source",
        )
    )


def _map_record(record: Mapping[str, Any], source: InputFile, stats: ReadStats) -> Row | str:
    """Decode one record's JSON and map it, or return a skip reason."""
    record_id = record["event_record_id"]
    try:
        document = loads(record["data"])
    except ValueError:
        logger.debug("invalid JSON for record %s in %s", record_id, source.display)
        return SKIP_RECORD_PARSE_ERROR

    event = win_event_from_json(document, fallback_record_id=record_id)
    result = map_win_event(
        event, source_format="evtx", source_file=source.display, source_record=str(record_id)
    )
    if result == SKIP_MISSING_REQUIRED_FIELD:
        message = missing_field_message(event, f"record {record_id}")
        stats.warn(InputError(message, path=source.display))
    return result


def win_event_from_json(document: Mapping[str, Any], *, fallback_record_id: int | None) -> WinEvent:
    """Build a WinEvent from pyevtx-rs (or evtx_dump) JSON: `{"Event": {"System": ...}}`.

    Values may be plain (`"EventID": 4688`) or elements with attributes
    (`{"#attributes": {"Qualifiers": 16384}, "#text": 7045}`), and both forms are read.
    """
    event = _as_mapping(document.get("Event"))
    system = _as_mapping(event.get("System"))
    provider = _as_mapping(_as_mapping(system.get("Provider")).get("#attributes"))
    created = _as_mapping(_as_mapping(system.get("TimeCreated")).get("#attributes"))
    record_id = parse_int(_element_text(system.get("EventRecordID")))

    return WinEvent(
        channel=clean_text(_element_text(system.get("Channel"))),
        event_id=parse_int(_element_text(system.get("EventID"))),
        provider=clean_text(provider.get("Name")),
        computer=clean_text(_element_text(system.get("Computer"))),
        record_id=record_id if record_id is not None else fallback_record_id,
        time_created=_system_time(created.get("SystemTime")),
        data=_event_data(event),
        version=parse_int(_element_text(system.get("Version"))),
    )


def _system_time(value: object) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


def _event_data(event: Mapping[str, Any]) -> dict[str, object]:
    """Flatten EventData, or the single child element of UserData, to named values."""
    data = event.get("EventData")
    if isinstance(data, Mapping):
        return _flatten(data)

    user_data = event.get("UserData")
    if isinstance(user_data, Mapping):
        children = [v for k, v in user_data.items() if k != "#attributes"]
        if len(children) == 1 and isinstance(children[0], Mapping):
            return _flatten(children[0])
        return _flatten(user_data)
    return {}


def _flatten(element: Mapping[str, Any]) -> dict[str, object]:
    return {k: _element_text(v) for k, v in element.items() if k != "#attributes"}


def _element_text(value: object) -> object:
    """Return an element's `#text` when it has attributes, else the value itself."""
    if isinstance(value, Mapping) and "#text" in value:
        return value["#text"]
    return value


def _as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
