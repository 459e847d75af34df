"""Value normalisation shared by every reader: times to UTC, placeholders to NULL, paths."""

from __future__ import annotations

import ntpath
import re
from datetime import UTC, datetime, timedelta
from typing import Final

_PLACEHOLDERS: Final = frozenset({"", "-", "n/a", "null", "none", "(null)"})
_ZERO_GUID: Final = re.compile(r"^\{?0{8}-0{4}-0{4}-0{4}-0{12}\}?$")

# ISO 8601 with up to 9 fraction digits (EVTX keeps 100 ns, so 7 are common) and an optional zone.
_ISO: Final = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<frac>\d{1,9}))?\s*(?P<zone>Z|UTC|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_EXE_END: Final = re.compile(r"\.exe(?=\s|$)", re.IGNORECASE)
_EPOCH_MS_MIN: Final = 10**11  # below this a bare number is epoch seconds, not milliseconds


def clean(value: object) -> object:
    """Turn placeholders (`-`, empty strings, all-zero GUIDs) into None, and strip text."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() in _PLACEHOLDERS or _ZERO_GUID.match(text):
            return None
        return text
    return value


def clean_text(value: object) -> str | None:
    """Return the value as cleaned text, or None for a placeholder."""
    cleaned = clean(value)
    if cleaned is None:
        return None
    return str(cleaned)


def parse_int(value: object) -> int | None:
    """Parse a decimal or `0x` hexadecimal integer, as Windows writes process ids."""
    cleaned = clean(value)
    if cleaned is None or isinstance(cleaned, bool):
        return None
    if isinstance(cleaned, int):
        return cleaned
    if isinstance(cleaned, float):
        return int(cleaned)
    text = str(cleaned)
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def parse_time(value: object, *, default_tz: timedelta | None = None) -> datetime | None:
    """Parse a timestamp into an aware UTC datetime.

    Accepts datetimes, ISO 8601 text (a zone offset is applied, a missing zone means UTC unless
    `default_tz` says otherwise) and epoch numbers (milliseconds when large, else seconds).
    Raises ValueError for text in any other form, so that the caller can report the record:
    day-first and month-first forms are never guessed.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError(f"invalid timestamp {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))

    text = str(value).strip()
    if not text or text == "-":
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return _from_epoch(float(text))

    match = _ISO.match(text)
    if not match:
        raise ValueError(f"invalid timestamp {text!r}: expected ISO 8601 or epoch time")
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    frac = (match["frac"] or "0")[:6].ljust(6, "0")
    parsed = datetime.fromisoformat(f"{match['date']}T{clock}.{frac}")
    zone = match["zone"]
    if zone is None or zone.upper() in ("Z", "UTC"):
        offset = default_tz if zone is None and default_tz is not None else timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (parsed - offset).replace(tzinfo=UTC)


# A time with every field distinct, which a strptime format must write and read back.
_SAMPLE_TIME: Final = datetime(2025, 3, 12, 21, 4, 5, 123456, tzinfo=UTC)


def check_time_format(time_format: str) -> None:
    """Check that a strptime format reads back the date, hour and minute that it writes.

    Raises:
        ValueError: the format has an unknown directive, or it loses one of those fields,
            as `%H:%M` loses the date and `%I` without `%p` loses the afternoon.
    """
    text = _SAMPLE_TIME.strftime(time_format)
    try:
        parsed = datetime.strptime(text, time_format)
    except ValueError as error:
        raise ValueError(f"invalid format {time_format!r}: {error}") from None

    fields = ("year", "month", "day", "hour", "minute")
    lost = [name for name in fields if getattr(parsed, name) != getattr(_SAMPLE_TIME, name)]
    if lost:
        raise ValueError(
            f"{time_format!r} loses the {', '.join(lost)} of a time: it writes "
            f"{_SAMPLE_TIME.isoformat()} as {text!r}, which reads back as {parsed.isoformat()}; "
            "include %Y, %m or %b, %d, %H (or %I with %p) and %M"
        )


def _from_epoch(number: float) -> datetime:
    seconds = number / 1000.0 if abs(number) >= _EPOCH_MS_MIN else number
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(
            f"invalid timestamp: epoch time {number:g} is outside the years 1 to 9999"
        ) from None


def strip_quotes(text: str) -> str:
    """Strip one pair of surrounding double or single quotes, and outer white space."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def image_name(path: str | None) -> str | None:
    """Return the Windows base name of an image path, on every OS (`C:\\a\\b.exe` -> `b.exe`)."""
    if not path:
        return None
    name = ntpath.basename(strip_quotes(path).rstrip("\\/"))
    return name or None


def image_from_command_line(command_line: str | None) -> str | None:
    """Derive the image's base name from the first token of a Windows command line."""
    if not command_line:
        return None
    text = command_line.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        return image_name(text[1:end] if end > 0 else text[1:])

    # An unquoted path may contain spaces, so the token runs to the first `.exe` when there is one.
    exe_end = _EXE_END.search(text)
    token = text[: exe_end.end()] if exe_end else text.split(maxsplit=1)[0]
    return image_name(token)


def short_hostname(host: str | None) -> str | None:
    """Case-fold a host name and drop its domain, as used for duplicate detection."""
    if not host:
        return None
    return host.strip().casefold().split(".", 1)[0] or None
