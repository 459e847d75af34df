"""Reader for flat Windows event JSON, as NXLog's `im_msvistalog` and flattening pipelines write it.

Each event is one JSON object whose System properties and EventData values sit side by side at
the top level: `EventID`, `Channel`, `SourceName` (the provider), `Hostname` (System/Computer),
`RecordNumber`, then `Image`, `CommandLine`, `NewProcessName` and the other EventData names. The
field names of NXLog's im_msvistalog module are listed in the NXLog Enterprise Edition reference
manual, "im_msvistalog" section "Fields". Files are JSON lines or one JSON array.

Times, as measured on the OTRF Security-Datasets exports and NXLog's documentation:

- `UtcTime` (Sysmon events) is UTC and is preferred by the event mapping.
- `TimeCreated` is System/TimeCreated/@SystemTime, which Windows defines in UTC; a value without
  a zone is UTC.
- `EventTime` is written by NXLog in the local time of the NXLog host, without a zone, unless
  NXLog's `GenerateDateInUTC` is set. A zone in the value is applied. Without one, the
  `ReadOptions.input_tz` offset is applied; without that, the offset is taken from the same
  record's `EventReceivedTime` (NXLog's local receive time) against `@timestamp` (the UTC
  receive time that Logstash adds), when both are present and differ by a whole multiple of
  15 minutes give or take two minutes. Otherwise the event is kept without a time and a located
  warning says to pass the offset.
- `@timestamp` alone is used only when the record has none of the above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.normalise import parse_int, parse_time
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.eventtext import (
    SKIP_NOT_AN_EVENT,
    emit_row,
    event_id_number,
    event_time,
    text_value,
    warn_malformed,
)
from rmmhunt.readers.jsonstream import first_json_value, iter_json_records
from rmmhunt.readers.winevent import WinEvent
from rmmhunt.schema import Row

FORMAT_NAME: Final = "flat-json"

_ZONE_SUFFIX: Final = re.compile(r"\d\s*(?:Z|UTC|[+-]\d{2}:?\d{2})\s*$", re.IGNORECASE)
_ZONE_STEP: Final = timedelta(minutes=15)
_ZONE_TOLERANCE: Final = timedelta(minutes=2)
_ZONE_MAX: Final = timedelta(hours=14)

# Keys of other JSON shapes; a record with one of them is not flat.
_NESTED_SHAPE_KEYS: Final = frozenset({"Event", "winlog", "_source", "result", "_raw"})

# The first name present is used for each System property.
_RECORD_ID_KEYS: Final = ("RecordNumber", "EventRecordID", "RecordId")
_PROVIDER_KEYS: Final = ("SourceName", "ProviderName", "Provider")
_COMPUTER_KEYS: Final = ("Hostname", "Computer", "ComputerName", "MachineName")


class FlatJsonReader:
    """Reader for NXLog and flattened Winlogbeat JSON: one flat object per event."""

    format_name = FORMAT_NAME

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose first object has `EventID` and a `Channel` or `SourceName`."""
        first = first_json_value(head)
        if not isinstance(first, Mapping) or "EventID" not in first:
            return False
        if _NESTED_SHAPE_KEYS.intersection(first):
            return False
        return "Channel" in first or "SourceName" in first

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per event object, counting every record read or skipped."""
        for record in iter_json_records(source.stream, source.head):
            if record.error is not None:
                warn_malformed(stats, source, record.error, line=record.line)
                continue
            if not isinstance(record.value, Mapping) or "EventID" not in record.value:
                stats.skip(SKIP_NOT_AN_EVENT)
                continue

            event = flat_event(record.value, stats, source, record.line, options)
            row = emit_row(
                event,
                format_name=FORMAT_NAME,
                source=source,
                record=f"line {record.line}",
                stats=stats,
            )
            if row is not None:
                yield row


def flat_event(
    value: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> WinEvent:
    """Build a WinEvent from one flat event object; every key is passed on as event data."""
    return WinEvent(
        channel=text_value(value.get("Channel")),
        event_id=event_id_number(value.get("EventID")),
        provider=_first_text(value, _PROVIDER_KEYS),
        computer=_first_text(value, _COMPUTER_KEYS),
        record_id=parse_int(_first_text(value, _RECORD_ID_KEYS)),
        time_created=_flat_time(value, stats, source, line, options),
        data=value,
        version=parse_int(value.get("Version")),
    )


def _first_text(value: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = text_value(value.get(key))
        if text is not None:
            return text
    return None


def _flat_time(
    value: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> datetime | None:
    if value.get("TimeCreated") is not None:
        return event_time(value["TimeCreated"], stats, source, line)
    if value.get("EventTime") is not None:
        return _nxlog_event_time(value, stats, source, line, options)
    return event_time(value.get("@timestamp"), stats, source, line)


def _nxlog_event_time(
    value: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> datetime | None:
    """Place NXLog's zone-less local EventTime in UTC, as the module docstring describes."""
    text = str(value["EventTime"])
    try:
        as_utc = parse_time(text)
    except ValueError as error:
        stats.warn(InputError(str(error), path=source.display, line=line))
        return None
    if as_utc is None or _has_zone(text):
        return as_utc

    offset = options.input_tz
    if offset is None:
        offset = _receive_offset(value)
    if offset is None:
        stats.warn(
            InputError(
                f"EventTime {text!r} has no time zone and the record gives no way to find it",
                path=source.display,
                line=line,
                hint="pass the NXLog host's UTC offset with --input-tz; the event has no time",
            )
        )
        return None
    return as_utc - offset


def _has_zone(text: str) -> bool:
    return _ZONE_SUFFIX.search(text) is not None


def _receive_offset(value: Mapping[str, object]) -> timedelta | None:
    """Return NXLog's UTC offset from its local receive time against Logstash's UTC one."""
    try:
        local = parse_time(value.get("EventReceivedTime"))
        utc = parse_time(value.get("@timestamp"))
    except ValueError:
        return None
    if local is None or utc is None:
        return None

    difference = local - utc
    steps = round(difference / _ZONE_STEP)
    offset = steps * _ZONE_STEP
    if abs(difference - offset) > _ZONE_TOLERANCE or abs(offset) > _ZONE_MAX:
        return None
    return offset
