"""Readers for JSON renderings of Windows events: evtx_dump and `Get-WinEvent | ConvertTo-Json`.

evtx_dump (omerbenamram/evtx, `evtx_dump -o json` or `-o jsonl`) renders each record's XML as
JSON: elements become keys, attributes go under `#attributes` and an element with attributes
keeps its text under `#text`. `-o json` writes pretty-printed objects each preceded by a
`Record N` line; `-o jsonl` writes one object a line. Files that other tools converted the same
way, as a JSON array or with `@Name` attributes on `Data` elements, are read too.

`Get-WinEvent | ConvertTo-Json` serialises .NET `EventLogRecord` objects (System.Diagnostics.
Eventing.Reader): `Id`, `Version`, `LogName`, `ProviderName`, `MachineName`, `RecordId`,
`TimeCreated` and `Properties`, the EventData values as `{"Value": ...}` without their names.
The names come from the event's template order (see eventschema). `Message` is not parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from rmmhunt.normalise import parse_int
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.eventschema import layout_for, name_values
from rmmhunt.readers.eventtext import (
    SKIP_NOT_AN_EVENT,
    emit_row,
    event_id_number,
    event_time,
    text_value,
    warn_malformed,
)
from rmmhunt.readers.jsonstream import first_json_value, iter_json_records
from rmmhunt.readers.textstream import head_text
from rmmhunt.readers.winevent import WinEvent
from rmmhunt.schema import Row

EVTX_JSON_FORMAT: Final = "evtx-json"
GET_WINEVENT_FORMAT: Final = "get-winevent-json"

# Windows PowerShell 5.1 writes DateTime as `\/Date(1713179367123)\/`, milliseconds since the
# Unix epoch in UTC, optionally followed by the local offset, which does not change the instant.
_DOTNET_DATE: Final = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


class EvtxJsonReader:
    """Reader for evtx_dump JSON: `{"Event": {"System": ..., "EventData": ...}}` records."""

    format_name = EVTX_JSON_FORMAT

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose first record has an `Event` object with a `System` object."""
        first = first_json_value(head)
        if isinstance(first, Mapping):
            event = first.get("Event")
            return isinstance(event, Mapping) and isinstance(event.get("System"), Mapping)
        text = head_text(head)
        return text[:1] in ("{", "[", "R") and '"Event"' in text and '"EventRecordID"' in text

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per record, counting every record read or skipped."""
        for record in iter_json_records(source.stream, source.head):
            if record.error is not None:
                warn_malformed(stats, source, record.error, line=record.line)
                continue
            value = record.value
            event = value.get("Event") if isinstance(value, Mapping) else None
            if not isinstance(event, Mapping):
                stats.skip(SKIP_NOT_AN_EVENT)
                continue

            win_event = evtx_json_event(event, stats, source, record.line)
            row = emit_row(
                win_event,
                format_name=EVTX_JSON_FORMAT,
                source=source,
                record=f"line {record.line}",
                stats=stats,
            )
            if row is not None:
                yield row


def evtx_json_event(
    event: Mapping[str, object], stats: ReadStats, source: InputFile, line: int
) -> WinEvent:
    """Build a WinEvent from an evtx_dump `Event` object."""
    system = _mapping(event.get("System"))
    provider = _attributes(system.get("Provider"))
    time_created = _attributes(system.get("TimeCreated")).get("SystemTime")

    win_event = WinEvent(
        channel=text_value(system.get("Channel")),
        event_id=event_id_number(system.get("EventID")),
        provider=text_value(provider.get("Name") or provider.get("EventSourceName")),
        computer=text_value(system.get("Computer")),
        record_id=parse_int(text_value(system.get("EventRecordID"))),
        time_created=event_time(time_created, stats, source, line),
        data={},
        version=parse_int(text_value(system.get("Version"))),
    )
    return replace(win_event, data=_event_values(event, win_event))


def _event_values(event: Mapping[str, object], win_event: WinEvent) -> dict[str, object]:
    event_data = event.get("EventData")
    if isinstance(event_data, Mapping):
        return _event_data_values(event_data, win_event)

    # UserData holds one provider-defined element whose children are the values.
    user_data = _mapping(event.get("UserData"))
    for key, inner in user_data.items():
        if not key.startswith("#") and isinstance(inner, Mapping):
            return {name: text_value(value) for name, value in inner.items() if name[:1] != "#"}
    return {}


def _event_data_values(event_data: Mapping[str, object], win_event: WinEvent) -> dict[str, object]:
    """Read named values, `Data` lists with `@Name`/`Name` attributes, and unnamed `Data` lists."""
    values: dict[str, object] = {}
    unnamed: list[object] = []
    for key, value in event_data.items():
        if key.startswith("#") or key == "Binary":
            continue
        if key != "Data":
            values[key] = text_value(value)
            continue
        items = value.get("#text") if isinstance(value, Mapping) else value
        for item in items if isinstance(items, list) else [items]:
            name = _data_name(item)
            if name is None:
                unnamed.append(text_value(item))
            else:
                values[name] = text_value(item)

    if unnamed:
        layout = (
            None
            if values
            else layout_for(win_event.provider, win_event.channel, win_event.event_id)
        )
        for key, value in name_values(layout, unnamed).items():
            values.setdefault(key, value)
    return values


def _data_name(item: object) -> str | None:
    if not isinstance(item, Mapping):
        return None
    name = item.get("@Name") or item.get("Name") or _attributes(item).get("Name")
    return str(name) if name else None


def _attributes(value: object) -> Mapping[str, object]:
    return _mapping(_mapping(value).get("#attributes"))


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


class GetWinEventJsonReader:
    """Reader for `Get-WinEvent | ConvertTo-Json` output (Windows PowerShell 5.1 and 7)."""

    format_name = GET_WINEVENT_FORMAT

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose first object has `Id`, `ProviderName` or `LogName`, and `RecordId`."""
        first = first_json_value(head)
        if isinstance(first, Mapping):
            has_source = "ProviderName" in first or "LogName" in first
            return "Id" in first and "RecordId" in first and has_source
        text = head_text(head)
        return text[:1] in ("{", "[") and all(
            key in text for key in ('"Id"', '"RecordId"', '"ProviderName"', '"Properties"')
        )

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per serialised event record, counting every record read or skipped."""
        for record in iter_json_records(source.stream, source.head):
            if record.error is not None:
                warn_malformed(stats, source, record.error, line=record.line)
                continue
            if not isinstance(record.value, Mapping) or "Id" not in record.value:
                stats.skip(SKIP_NOT_AN_EVENT)
                continue

            win_event = get_winevent_event(record.value, stats, source, record.line)
            row = emit_row(
                win_event,
                format_name=GET_WINEVENT_FORMAT,
                source=source,
                record=f"line {record.line}",
                stats=stats,
            )
            if row is not None:
                yield row


def get_winevent_event(
    value: Mapping[str, object], stats: ReadStats, source: InputFile, line: int
) -> WinEvent:
    """Build a WinEvent from one serialised EventLogRecord."""
    provider = text_value(value.get("ProviderName"))
    channel = text_value(value.get("LogName"))
    event_id = event_id_number(value.get("Id"))
    properties = value.get("Properties")
    values = [_property_value(item) for item in properties] if isinstance(properties, list) else []

    return WinEvent(
        channel=channel,
        event_id=event_id,
        provider=provider,
        computer=text_value(value.get("MachineName")),
        record_id=parse_int(value.get("RecordId")),
        time_created=_record_time(value.get("TimeCreated"), stats, source, line),
        data=name_values(layout_for(provider, channel, event_id), values),
        version=parse_int(value.get("Version")),
    )


def _property_value(item: object) -> object:
    """Unwrap `{"Value": ...}`; deeper serialisations nest SIDs as `{"Value": "S-1-5-18"}`."""
    while isinstance(item, Mapping) and "Value" in item:
        item = item["Value"]
    return text_value(item) if not isinstance(item, int | float) else item


def _record_time(value: object, stats: ReadStats, source: InputFile, line: int) -> datetime | None:
    if isinstance(value, Mapping):
        # With -Depth 3 or more, DateTime becomes an object whose `value` is the serialised time;
        # its `DateTime` member is locale text and is not read.
        value = value.get("value")
    text = text_value(value)
    match = _DOTNET_DATE.match(text) if text is not None else None
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match[1]))
    return event_time(text, stats, source, line)
