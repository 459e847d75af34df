"""Value conversions shared by the EDR readers: event times, epoch numbers, images and accounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final
from urllib.parse import urlsplit

from rmmhunt.normalise import (
    clean_text,
    image_from_command_line,
    image_name,
    parse_time,
    strip_quotes,
)
from rmmhunt.readers._edr_records import RecordRejected
from rmmhunt.readers.base import ReadOptions
from rmmhunt.schema import OS_WINDOWS, Row

# NOTE: schema.py defines no sub-type constants for network events yet. These two values are the
# project's own until it does.
SUB_TYPE_NETWORK_CONNECTION: Final = "NETWORK_CONNECTION"
SUB_TYPE_DNS_QUERY: Final = "DNS_QUERY"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# Locale forms whose month is spelled out, so that day and month cannot be confused. They carry
# no zone, so they are read only when ReadOptions.input_tz gives their zone.
_NAMED_MONTH_FORMATS: Final = (
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y %I:%M:%S.%f %p",
    "%B %d, %Y %I:%M:%S %p",
    "%B %d, %Y %I:%M:%S.%f %p",
    "%d %b %Y %H:%M:%S",
    "%d %B %Y %H:%M:%S",
)

_TIME_HINT: Final = (
    "give the input time format and the input time zone, because day-first and month-first "
    "forms are never guessed"
)

_WINDOWS_PATH: Final = re.compile(
    r"""^["']?(?:[a-z]:[\\/]|\\\\|\\device\\|\\systemroot\\|\\\?\?\\)""", re.IGNORECASE
)


def event_time(value: object, options: ReadOptions) -> datetime | None:
    """Parse an event time into UTC, or raise RecordRejected (`invalid_time`) naming the value.

    ISO 8601 and epoch numbers are read by `normalise.parse_time`, with `options.input_tz` as the
    zone of times that carry none. `options.input_time_format` (a `strptime` format) is tried
    first when it is set. Locale forms with a spelled-out month are read only when
    `options.input_tz` is set. Anything else is rejected.
    """
    if value is None or isinstance(value, datetime | int | float):
        return _parse_or_reject(value, options)
    text = clean_text(value)
    if text is None:
        return None

    if options.input_time_format:
        try:
            parsed = datetime.strptime(text, options.input_time_format)
        except ValueError:
            pass
        else:
            return _to_utc(parsed, options.input_tz)

    try:
        return parse_time(text, default_tz=options.input_tz)
    except ValueError:
        pass

    if options.input_tz is not None:
        for time_format in _NAMED_MONTH_FORMATS:
            try:
                return _to_utc(datetime.strptime(text, time_format), options.input_tz)
            except ValueError:
                continue
    raise RecordRejected("invalid_time", f"invalid timestamp {text!r}", hint=_TIME_HINT)


def _parse_or_reject(value: object, options: ReadOptions) -> datetime | None:
    try:
        return parse_time(value, default_tz=options.input_tz)
    except (ValueError, OverflowError) as error:
        raise RecordRejected("invalid_time", str(error), hint=_TIME_HINT) from error


def _to_utc(parsed: datetime, zone: timedelta | None) -> datetime:
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    # A time with no zone of its own is UTC unless the input time zone gives another.
    return (parsed - (zone or timedelta(0))).replace(tzinfo=UTC)


def epoch_seconds(value: object) -> datetime | None:
    """Convert epoch seconds with an optional fraction (`1713179367.1234567`) to UTC.

    The value is read as a decimal, not a float, so that the microseconds are exact. Digits past
    the sixth fraction digit are truncated, as `normalise.parse_time` does for ISO times.
    """
    return _from_epoch_decimal(value, 1_000_000)


def epoch_milliseconds(value: object) -> datetime | None:
    """Convert epoch milliseconds (`1713179367123`, as text or a number) to UTC."""
    return _from_epoch_decimal(value, 1_000)


def _from_epoch_decimal(value: object, microseconds_per_unit: int) -> datetime | None:
    text = clean_text(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
        microseconds = int((number * microseconds_per_unit).to_integral_value(ROUND_FLOOR))
        return _EPOCH + timedelta(microseconds=microseconds)
    except (InvalidOperation, OverflowError, ValueError) as error:
        message = f"invalid epoch timestamp {text!r}"
        raise RecordRejected("invalid_time", message, hint="expected a decimal number") from error


def image_path(value: object) -> str | None:
    """Clean an image path, keeping it as received apart from surrounding quotes."""
    text = clean_text(value)
    if text is None:
        return None
    return strip_quotes(text) or None


def full_image_path(folder_or_path: object, file_name: object) -> str | None:
    """Build an image path from a folder column that may or may not end with the file name.

    Defender's `FolderPath` is documented as the folder of the file, but exports often hold the
    full path. The file name is appended only when the path does not already end with it.
    """
    path = image_path(folder_or_path)
    name = clean_text(file_name)
    if path is None or name is None:
        return path
    if (image_name(path) or "").casefold() == name.casefold():
        return path
    return path.rstrip("\\/") + "\\" + name


def action_image_columns(path: str | None, name: str | None, command_line: str | None) -> Row:
    """Fill the created process's image columns, deriving the name only when no image field exists.

    The name comes from the name field, else from the path's base name. When the source has
    neither, it is derived from the command line and `action_process_image_name_derived` is True.
    """
    name = name or image_name(path)
    derived = False
    if name is None and path is None:
        name = image_from_command_line(command_line)
        derived = name is not None
    return {
        "action_process_image_name": name,
        "action_process_image_path": path,
        "action_process_image_command_line": command_line,
        "action_process_image_name_derived": derived,
    }


def windows_agent(*paths: str | None) -> str | None:
    """Return AGENT_OS_WINDOWS when any path has a Windows form (drive, UNC or device path)."""
    for path in paths:
        if path and _WINDOWS_PATH.match(path):
            return OS_WINDOWS
    return None


def account(domain: object, name: object) -> str | None:
    """Join a domain and user name as `DOMAIN\\user`, or return the user name alone."""
    user = clean_text(name)
    if user is None:
        return None
    realm = clean_text(domain)
    return f"{realm}\\{user}" if realm and "\\" not in user else user


def host_from_url(value: object) -> str | None:
    """Return the host name of a URL or of a bare `host[:port][/path]` value."""
    text = clean_text(value)
    if text is None:
        return None
    if "://" in text:
        try:
            return urlsplit(text).hostname
        except ValueError:
            return None
    host = text.split("/", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host or None


def lookup(record: dict[str, object], path: str) -> object:
    """Return a field by exact name, else by walking a dotted path through nested objects."""
    if path in record:
        return record[path]
    value: object = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
