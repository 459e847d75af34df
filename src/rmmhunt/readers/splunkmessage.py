"""Parsing of the classic `WinEventLog` rendering that the Splunk Add-on for Windows indexes.

A classic `_raw` is a local time line, `Key=value` header lines, and `Message=` followed by the
message that Windows rendered from the event's template. The message labels are not EventData
names, so the labels of the events rmmhunt maps are translated back here. The labels and their
sections are those of the rendered messages in Microsoft's pages "4688(S): A new process has
been created" and "4697(S): A service was installed in the system" (Windows security auditing
reference), and of the Service Control Manager's 7045 message. Sysmon renders every field as
`Name: value` with the EventData name itself, so Sysmon messages are read without a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from rmmhunt.readers.base import ReadOptions

_HEADER_FIELD: Final = re.compile(r"^(\w+)=(.*)$")
_SYSMON_LINE: Final = re.compile(r"^(\w+): ?(.*)$")
_LABEL_LINE: Final = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?):[ \t]*(.*?)\s*$")

_SUBJECT_LABELS: Final[dict[str, str]] = {
    "security id": "UserSid",
    "account name": "UserName",
    "account domain": "DomainName",
    "logon id": "LogonId",
}

# Message labels by event ID, outside the Subject sections.
_MESSAGE_LABELS: Final[dict[int, dict[str, str]]] = {
    4688: {
        "new process id": "NewProcessId",
        "new process name": "NewProcessName",
        "token elevation type": "TokenElevationType",
        "mandatory label": "MandatoryLabel",
        "creator process id": "ProcessId",
        "creator process name": "ParentProcessName",
        "process command line": "CommandLine",
    },
    4697: {
        "service name": "ServiceName",
        "service file name": "ServiceFileName",
        "service type": "ServiceType",
        "service start type": "ServiceStartType",
        "service account": "ServiceAccount",
    },
    7045: {
        "service name": "ServiceName",
        "service file name": "ImagePath",
        "service type": "ServiceType",
        "service start type": "StartType",
        "service account": "AccountName",
    },
}

# Section headings whose account lines are the creator's (Subject*) or the new process's
# (Target*). Windows 7 and 2008 write "Subject:"; Windows 10 writes "Creator Subject:".
_SUBJECT_SECTIONS: Final[dict[str, str]] = {
    "subject": "Subject",
    "creator subject": "Subject",
    "target subject": "Target",
}


@dataclass
class ClassicEvent:
    """A classic WinEventLog `_raw`, split into its parts.

    Attributes:
        header_time: the first line's local time text, such as `04/15/2024 11:09:27 AM`.
        fields: the `Key=value` header lines before `Message=`.
        data: EventData values recovered from the message.
    """

    header_time: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    data: dict[str, object] = field(default_factory=dict)


def parse_classic_raw(raw: str) -> ClassicEvent:
    """Split a classic `_raw` and recover EventData values from its message."""
    event = ClassicEvent()
    lines = raw.splitlines()
    message: list[str] = []
    for index, line in enumerate(lines):
        match = _HEADER_FIELD.match(line)
        if match is None:
            if not event.fields and line.strip():
                event.header_time = line.strip()
            continue
        if match[1] == "Message":
            message = [match[2], *lines[index + 1 :]]
            break
        event.fields[match[1]] = match[2].strip()

    event_code = event.fields.get("EventCode", "")
    log_name = event.fields.get("LogName", "")
    if "sysmon" in log_name.casefold():
        event.data = _sysmon_values(message)
    elif event_code.isdigit():
        event.data = _labelled_values(message, int(event_code))
    return event


def _sysmon_values(message: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for line in message[1:]:  # the first line is the event's title, such as "Process Create:"
        match = _SYSMON_LINE.match(line.strip())
        if match:
            values[match[1]] = match[2].strip()
    return values


def _labelled_values(message: list[str], event_id: int) -> dict[str, object]:
    labels = _MESSAGE_LABELS.get(event_id)
    if labels is None:
        return {}

    values: dict[str, object] = {}
    section = ""
    for line in message:
        match = _LABEL_LINE.match(line)
        if match is None:
            continue
        label, value = match[1].casefold(), match[2]
        if not value and not line[:1].isspace():
            section = label  # a heading such as "Creator Subject:"
            continue
        prefix = _SUBJECT_SECTIONS.get(section)
        if prefix and label in _SUBJECT_LABELS:
            values[prefix + _SUBJECT_LABELS[label]] = value
        elif label in labels:
            values[labels[label]] = value
    return values


def parse_local_time(text: str, options: ReadOptions) -> datetime:
    """Parse the classic rendering's local time line with the user's format and offset.

    Raises:
        ValueError: when `input_time_format` or `input_tz` is not set, because the line's
            day and month order and its zone cannot be known from the text.
    """
    if options.input_time_format is None or options.input_tz is None:
        raise ValueError(f"local time {text!r} has no zone and an ambiguous day and month order")
    local = datetime.strptime(text, options.input_time_format)
    return (local - options.input_tz).replace(tzinfo=UTC)
