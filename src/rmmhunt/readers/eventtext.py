"""Steps shared by the readers of event-log text exports: values to WinEvent, WinEvent to a row.

Every reader of XML, JSON and Splunk renderings of Windows events builds a WinEvent and hands it
to `emit_row`, which applies the reader contract's accounting: a mapped event is counted as read
and returned, any other outcome is counted as skipped under its reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.normalise import clean_text, parse_int, parse_time, short_hostname
from rmmhunt.readers.base import InputFile, ReadStats
from rmmhunt.readers.winevent import (
    SKIP_MISSING_REQUIRED_FIELD,
    WinEvent,
    map_win_event,
    missing_field_message,
)
from rmmhunt.schema import Row

SKIP_MALFORMED: Final = "malformed_record"
SKIP_NOT_AN_EVENT: Final = "not_a_windows_event"


def event_id_number(value: object) -> int | None:
    """Read a Windows event ID written as a number, as text, or as an XML-to-JSON object.

    evtx_dump writes `{"#text": 4688, "#attributes": {"Qualifiers": 0}}` when the EventID element
    has attributes; Get-WinEvent JSON and xmltodict-style exports write `{"#text": "4688"}` or
    `{"Qualifiers": "", "#text": "4688"}`. A Qualifiers value is not part of the ID.
    """
    if isinstance(value, Mapping):
        value = value.get("#text", value.get("text", value.get("Value")))
    number = parse_int(value)
    if number is None or number < 0:
        return None
    return number


def text_value(value: object) -> str | None:
    """Return a scalar as cleaned text; unwrap `{"#text": ...}` objects and join lists."""
    if isinstance(value, Mapping):
        value = value.get("#text")
    if isinstance(value, list):
        parts = [text for text in (text_value(item) for item in value) if text is not None]
        return "\n".join(parts) if parts else None
    return clean_text(value)


def event_time(value: object, stats: ReadStats, source: InputFile, line: int) -> datetime | None:
    """Parse a System/TimeCreated value, which Windows writes in UTC.

    A time without a zone is taken as UTC because SystemTime is defined in UTC. An unreadable
    time is a located warning; the event is kept with no time.
    """
    try:
        return parse_time(value)
    except ValueError as error:
        stats.warn(
            InputError(
                str(error),
                path=source.display,
                line=line,
                hint="the event is kept without a time",
            )
        )
        return None


def warn_malformed(
    stats: ReadStats, source: InputFile, message: str, *, line: int, hint: str | None = None
) -> None:
    """Count one malformed record and keep a located warning for it."""
    stats.warn(InputError(message, path=source.display, line=line, hint=hint))
    stats.skip(SKIP_MALFORMED)


def emit_row(
    event: WinEvent, *, format_name: str, source: InputFile, record: str, stats: ReadStats
) -> Row | None:
    """Map one event and count it: return its row, or None after counting the skip reason.

    `record` is the provenance within the file, such as `line 12` or `record 4242`.
    """
    result = map_win_event(
        event, source_format=format_name, source_file=source.display, source_record=record
    )
    if isinstance(result, str):
        if result == SKIP_MISSING_REQUIRED_FIELD:
            message = missing_field_message(event, record)
            stats.warn(InputError(message, path=source.display))
        stats.skip(result)
        return None

    if event.record_id is None:
        result["event_id"] = _content_event_id(event)
    stats.records_read += 1
    return result


def _content_event_id(event: WinEvent) -> str:
    """Build an event id from the event's content, for exports that dropped the record id.

    Without EventRecordID, `host/channel/record` is the same for every event of a channel, and
    deduplication would merge them. A digest of the event ID, time and data is stable for the
    same event read twice from one shape, and differs between events.

    NOTE: byte-identical events in one file get the same id and merge into one row, which lists
    every copy in `sources`, because the rendering has no field that distinguishes them.
    """
    host = short_hostname(event.computer) or ""
    channel = event.channel or ""
    content = json.dumps(
        [
            event.event_id,
            event.time_created.isoformat() if event.time_created else None,
            {key: str(value) for key, value in event.data.items()},
        ],
        sort_keys=True,
    )
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
    return f"{host}/{channel}/sha256:{digest}"
