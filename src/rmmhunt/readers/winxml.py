"""Reader for Windows events rendered as XML: `wevtutil qe /f:xml` and Event Viewer's XML export.

`wevtutil qe LOG /f:xml` writes `<Event>` elements one after another with no root element, and
Event Viewer's "Save All Events As... XML" wraps them in `<Events>`. Either way each `<Event>` is
cut out of the text stream and parsed on its own, so memory is bounded by one event, and a
malformed event is reported with its line and skipped while the rest of the file is read.

The input is attacker-controlled. A document type declaration is rejected before any parsing,
and because each event is parsed as a fragment without a prolog, a DTD, an internal or an
external entity inside an event is a syntax error there, not an expansion.

Element names follow Microsoft's event schema (`http://schemas.microsoft.com/win/2004/08/events/event`,
"EventType complex type" and "SystemPropertiesType complex type" in the Windows Event Log
reference): System/Provider/@Name, EventID, Version, TimeCreated/@SystemTime, EventRecordID,
Channel, Computer, then EventData/Data (with or without @Name) or UserData. RenderingInfo, which
Event Viewer adds with the message text, is not read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.normalise import clean_text, parse_int
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.eventschema import layout_for, name_values
from rmmhunt.readers.eventtext import emit_row, event_id_number, event_time, warn_malformed
from rmmhunt.readers.textstream import head_text, iter_text_chunks
from rmmhunt.readers.winevent import WinEvent
from rmmhunt.schema import Row

FORMAT_NAME: Final = "windows-xml"

MAX_EVENT_CHARS: Final = 16 * 1024 * 1024
"""Longest `<Event>` element read; a longer one is reported as malformed and skipped."""

_EVENT_START: Final = re.compile(r"<(?:[\w.-]+:)?Event(?=[\s>])")
_EVENT_END: Final = re.compile(r"</(?:[\w.-]+:)?Event\s*>")
_DECLARATIONS: Final = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class XmlEvent:
    """An `<Event>` element read into a WinEvent, with its TimeCreated text not yet parsed."""

    event: WinEvent
    system_time: str | None


def parse_event_xml(text: str) -> XmlEvent:
    """Parse the text of one `<Event>` element.

    Raises:
        ValueError: when the text is not well-formed XML or its root is not an Event element.
    """
    if _DECLARATIONS.search(text):
        raise ValueError("a document type or entity declaration is not allowed in an event")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise ValueError(f"invalid XML: {error}") from error
    if _local(root.tag) != "Event":
        raise ValueError(f"expected an Event element, found {_local(root.tag)!r}")
    return event_from_element(root)


def event_from_element(root: ET.Element) -> XmlEvent:
    """Read the System properties and the EventData or UserData values of an Event element."""
    system = _child(root, "System")
    fields = {_local(child.tag): child for child in system} if system is not None else {}
    provider_element = fields.get("Provider")
    provider = None
    if provider_element is not None:
        provider = provider_element.get("Name") or provider_element.get("EventSourceName")
    time_element = fields.get("TimeCreated")

    event = WinEvent(
        channel=_text_of(fields.get("Channel")),
        event_id=event_id_number(_text_of(fields.get("EventID"))),
        provider=clean_text(provider),
        computer=_text_of(fields.get("Computer")),
        record_id=parse_int(_text_of(fields.get("EventRecordID"))),
        time_created=None,
        data={},
        version=parse_int(_text_of(fields.get("Version"))),
    )
    data = _event_data(root, event)
    system_time = time_element.get("SystemTime") if time_element is not None else None
    return XmlEvent(replace(event, data=data), system_time)


def _event_data(root: ET.Element, event: WinEvent) -> dict[str, object]:
    event_data = _child(root, "EventData")
    if event_data is not None:
        return _named_data(event_data, event)

    # UserData holds one provider-defined element whose children are the values.
    user_data = _child(root, "UserData")
    if user_data is None or len(user_data) == 0:
        return {}
    return {_local(child.tag): _text_of(child) for child in user_data[0]}


def _named_data(event_data: ET.Element, event: WinEvent) -> dict[str, object]:
    """Read `<Data Name="...">` values; unnamed ones are named by the event's template order."""
    named: dict[str, object] = {}
    unnamed: list[object] = []
    for element in event_data:
        if _local(element.tag) != "Data":
            continue  # <Binary> and other elements carry no named values
        name = element.get("Name")
        if name:
            named[name] = _text_of(element)
        else:
            unnamed.append(_text_of(element))

    if unnamed:
        layout = layout_for(event.provider, event.channel, event.event_id) if not named else None
        for key, value in name_values(layout, unnamed).items():
            named.setdefault(key, value)
    return named


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text_of(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    return clean_text("".join(element.itertext()))


@dataclass(frozen=True)
class _Fragment:
    line: int
    text: str | None
    error: str | None = None


class WindowsXmlReader:
    """Reader for XML event exports, with or without an `<Events>` root."""

    format_name = FORMAT_NAME

    def detect(self, head: bytes, name: str) -> bool:
        """Accept text whose first element is `<Events>` or `<Event>` with a System element."""
        text = head_text(head)
        if not text.startswith("<"):
            return False
        start = _EVENT_START.search(text)
        return start is not None and "System" in text[start.end() : start.end() + 4096]

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per `<Event>` element, counting every event read or skipped."""
        for fragment in _iter_fragments(source):
            if fragment.text is None:
                warn_malformed(stats, source, fragment.error or "invalid event", line=fragment.line)
                continue
            try:
                parsed = parse_event_xml(fragment.text)
            except ValueError as error:
                warn_malformed(stats, source, str(error), line=fragment.line)
                continue

            time_created = event_time(parsed.system_time, stats, source, fragment.line)
            row = emit_row(
                replace(parsed.event, time_created=time_created),
                format_name=FORMAT_NAME,
                source=source,
                record=f"line {fragment.line}",
                stats=stats,
            )
            if row is not None:
                yield row


def _iter_fragments(source: InputFile) -> Iterator[_Fragment]:
    """Cut the text of each `<Event>` element out of the stream, with its first line."""
    chunks = iter_text_chunks(source.stream, source.head)
    buffer = ""
    pos = 0  # where the search for the next event starts
    line = 1  # the line number at `pos`
    checked_prolog = False
    exhausted = False

    while True:
        start = _EVENT_START.search(buffer, pos)
        end = _EVENT_END.search(buffer, start.end()) if start else None
        if start and not checked_prolog:
            _check_prolog(buffer[: start.start()], source)
            checked_prolog = True

        if start and (end or exhausted or len(buffer) - start.start() > MAX_EVENT_CHARS):
            line += buffer.count("\n", pos, start.start())
            if end:
                yield _Fragment(line, buffer[start.start() : end.end()])
                stop = end.end()
            elif exhausted:
                yield _Fragment(line, None, "Event element not closed before the end of the file")
                return
            else:
                yield _Fragment(
                    line, None, f"Event element longer than {MAX_EVENT_CHARS} characters"
                )
                stop = start.end()
            line += buffer.count("\n", start.start(), stop)
            pos = stop
            continue

        if exhausted:
            return
        chunk = next(chunks, None)
        if chunk is None:
            exhausted = True
            continue

        # Drop text already searched, keeping a tail that may hold the start of a split tag.
        keep = start.start() if start else max(pos, len(buffer) - 64)
        line += buffer.count("\n", pos, keep) if keep > pos else 0
        buffer = buffer[keep:] + chunk
        pos = 0


def _check_prolog(prolog: str, source: InputFile) -> None:
    if _DECLARATIONS.search(prolog):
        raise InputError(
            "XML document type declarations are not accepted in event exports",
            path=source.display,
            hint="export the events again with wevtutil qe /f:xml or Event Viewer",
        )
