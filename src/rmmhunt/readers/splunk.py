"""Reader for Splunk JSON exports of Windows events.

Splunk's REST API writes search results with `output_mode=json` in two shapes: the export
endpoint streams JSON lines of `{"preview": false, "result": {...}}`, and the results endpoint
returns one `{"results": [...]}` document (Splunk REST API reference, "search/jobs/export" and
"search/v2/jobs/{search_id}/results"). Each result holds `_raw`, `_time`, `host` and the fields
that the search extracted.

`_raw` comes in the two renderings of the Splunk Add-on for Microsoft Windows:

- `XmlWinEventLog`, where `_raw` is the event's XML, read as winxml reads it;
- the classic `WinEventLog` rendering: a local time line, `Key=value` lines (`LogName`,
  `EventCode`, `ComputerName`, `SourceName`, `RecordNumber` ...), and `Message=` with the
  rendered message; the message's `Label: value` lines are mapped back to EventData names by
  splunkmessage.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.normalise import parse_int
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
from rmmhunt.readers.splunkmessage import ClassicEvent, parse_classic_raw, parse_local_time
from rmmhunt.readers.textstream import head_text
from rmmhunt.readers.winevent import WinEvent
from rmmhunt.readers.winxml import parse_event_xml
from rmmhunt.schema import Row

FORMAT_NAME: Final = "splunk-json"


class SplunkJsonReader:
    """Reader for Splunk `result` JSON lines and `results` documents holding Windows events."""

    format_name = FORMAT_NAME

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose first value holds a result with `_raw`."""
        first = first_json_value(head)
        if isinstance(first, Mapping):
            results = list(_results(first))
            return bool(results) and "_raw" in results[0]
        text = head_text(head)
        return text[:1] in ("{", "[") and '"_raw"' in text and '"result' in text

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per Windows event result, counting every result read or skipped."""
        for record in iter_json_records(source.stream, source.head):
            if record.error is not None:
                warn_malformed(stats, source, record.error, line=record.line)
                continue
            if not isinstance(record.value, Mapping):
                stats.skip(SKIP_NOT_AN_EVENT)
                continue

            for index, result in enumerate(_results(record.value)):
                provenance = f"line {record.line}" + (f" result {index}" if index else "")
                event = _result_event(result, stats, source, record.line, options)
                if event is None:
                    continue
                row = emit_row(
                    event, format_name=FORMAT_NAME, source=source, record=provenance, stats=stats
                )
                if row is not None:
                    yield row


def _results(value: Mapping[str, object]) -> Iterator[Mapping[str, object]]:
    """Unwrap `{"result": ...}` and `{"results": [...]}`; a bare result is yielded as it is."""
    single = value.get("result")
    many = value.get("results")
    if isinstance(single, Mapping):
        yield single
    elif isinstance(many, list):
        for result in many:
            if isinstance(result, Mapping):
                yield result
    elif "_raw" in value:
        yield value


def _result_event(
    result: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> WinEvent | None:
    """Build a WinEvent from one result, or count it and return None when it has none."""
    raw = text_value(result.get("_raw"))
    if raw is None:
        stats.skip(SKIP_NOT_AN_EVENT)
        return None

    if raw.startswith("<"):
        try:
            parsed = parse_event_xml(raw)
        except ValueError as error:
            warn_malformed(stats, source, f"invalid XmlWinEventLog _raw: {error}", line=line)
            return None
        return replace(
            parsed.event, time_created=event_time(parsed.system_time, stats, source, line)
        )

    classic = parse_classic_raw(raw)
    if classic.fields.get("EventCode") is None and result.get("EventCode") is None:
        stats.skip(SKIP_NOT_AN_EVENT)
        return None
    return _classic_event(classic, result, stats, source, line, options)


def _classic_event(
    classic: ClassicEvent,
    result: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> WinEvent:
    def field(name: str) -> str | None:
        # Fields extracted at search time fill what `_raw` lacks.
        return text_value(classic.fields.get(name)) or text_value(result.get(name))

    return WinEvent(
        channel=field("LogName"),
        event_id=event_id_number(field("EventCode")),
        provider=field("SourceName"),
        computer=field("ComputerName") or text_value(result.get("host")),
        record_id=parse_int(field("RecordNumber")),
        time_created=_classic_time(classic, result, stats, source, line, options),
        data=classic.data,
    )


def _classic_time(
    classic: ClassicEvent,
    result: Mapping[str, object],
    stats: ReadStats,
    source: InputFile,
    line: int,
    options: ReadOptions,
) -> datetime | None:
    """Prefer Splunk's `_time`, which carries an offset, over the raw local time line."""
    if result.get("_time") is not None:
        return event_time(result["_time"], stats, source, line)
    if classic.header_time is None:
        return None
    try:
        return parse_local_time(classic.header_time, options)
    except ValueError as error:
        stats.warn(
            InputError(
                str(error),
                path=source.display,
                line=line,
                hint="pass --input-time-format and --input-tz; the event is kept without a time",
            )
        )
        return None
