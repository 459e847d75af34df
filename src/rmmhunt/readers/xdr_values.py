"""Normalise one record of a Cortex XDR `xdr_data` export into a dataset row.

Every Cortex export shape (JSON array, NDJSON, CSV, XQL API reply) carries the `xdr_data` field
names as keys, so one normaliser serves all of them. Field names and enum values follow the
Cortex XDR XQL schema reference for the `xdr_data` dataset
(https://docs-cortex.paloaltonetworks.com/r/Cortex-XDR/Cortex-XDR-XQL-Schema-Reference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import pyarrow as pa

from rmmhunt.normalise import clean, image_name, parse_int, parse_time
from rmmhunt.readers.base import ReadOptions
from rmmhunt.schema import COLUMNS, Row

PROVENANCE_COLUMNS: Final = frozenset({"source_format", "source_file", "source_record"})
"""Columns the reader fills itself; values of these keys in the input are ignored."""

# Cortex writes enum values as names (`PROCESS`), and XQL and some exports as `ENUM.PROCESS`.
ENUM_COLUMNS: Final = frozenset(
    {
        "event_type",
        "event_sub_type",
        "agent_os_type",
        "action_network_protocol",
        "action_process_signature_status",
    }
)

# Image and file paths lose one pair of surrounding quotes. A service image path is a command
# line (executable, then arguments), so it is kept exactly as received.
QUOTED_PATH_COLUMNS: Final = frozenset(
    {
        "action_process_image_path",
        "actor_process_image_path",
        "causality_actor_process_image_path",
        "action_file_path",
        "target_process_image_path",
    }
)

HASH_COLUMNS: Final = frozenset(name for name, _ in COLUMNS if name.endswith(("_sha256", "_md5")))

# Image name columns and the path column each one is derived from when it is missing.
IMAGE_NAME_SOURCES: Final = {
    "action_process_image_name": "action_process_image_path",
    "actor_process_image_name": "actor_process_image_path",
    "causality_actor_process_image_name": "causality_actor_process_image_path",
}

_ENUM_PREFIX: Final = re.compile(r"^enum\.", re.IGNORECASE)
_LONE_SURROGATE: Final = re.compile("[\udc80-\udcff]")
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_COLUMN_TYPES: Final = {name: arrow_type for name, arrow_type in COLUMNS}
_TIME_HINT: Final = (
    "pass --input-time-format with a strptime format that reads it, such as "
    "'%b %d, %Y %I:%M:%S %p', and --input-tz with the zone it was written in "
    "(ReadOptions.input_time_format and input_tz)"
)


class RecordError(Exception):
    """A record that cannot become a row, with the skip reason to count it under."""

    def __init__(self, reason: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.hint = hint


@dataclass
class NormalisedRecord:
    """A row, plus the problems with single fields that did not cost the whole record."""

    row: Row
    field_warnings: list[str] = field(default_factory=list)


def normalise_record(record: Mapping[str, object], options: ReadOptions) -> NormalisedRecord:
    """Map one export record onto dataset columns.

    Keys that are not dataset columns are ignored, and so are the provenance columns, which the
    reader sets. An empty row (no usable field) is returned as an empty `row`.

    Raises:
        RecordError: the record's `_time` cannot be read (`invalid_time`), or a value contains bytes
            that are not valid UTF-8 (`malformed_record`).
    """
    result = NormalisedRecord(row={})
    for raw_key, value in record.items():
        key = raw_key.strip()
        if key not in _COLUMN_TYPES or key in PROVENANCE_COLUMNS:
            continue

        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise RecordError("malformed_record", f"field {key} is not valid UTF-8 text")

        converted = _convert(key, value, options, result.field_warnings)
        if converted is not None:
            result.row[key] = converted

    _derive_image_names(result.row)
    return result


def _convert(key: str, value: object, options: ReadOptions, warnings: list[str]) -> object:
    arrow_type = _COLUMN_TYPES[key]
    if key == "_time":
        return convert_time(value, options)
    if pa.types.is_integer(arrow_type):
        return _convert_int(key, value, warnings)
    if pa.types.is_boolean(arrow_type):
        return _convert_bool(key, value, warnings)
    return _convert_text(key, value, warnings)


def convert_time(value: object, options: ReadOptions) -> datetime | None:
    """Read `_time` as ISO 8601 text, epoch milliseconds, or the user's strptime format.

    A value without a zone is read in `options.input_tz`, else as UTC. Placeholders give None.

    Raises:
        RecordError: the value is in none of those forms (`invalid_time`).
    """
    cleaned = clean(value)
    if cleaned is None:
        return None

    if options.input_time_format and isinstance(cleaned, str):
        try:
            parsed = datetime.strptime(cleaned, options.input_time_format)
        except ValueError:
            pass  # the value may still be ISO 8601 or epoch time, which parse_time reads
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            offset = options.input_tz
            return (parsed - offset if offset else parsed).replace(tzinfo=UTC)

    try:
        return parse_time(cleaned, default_tz=options.input_tz)
    except (ValueError, TypeError, OverflowError) as error:
        time_format = options.input_time_format
        tried = f" or the input time format {time_format!r}" if time_format else ""
        raise RecordError(
            "invalid_time",
            f"invalid _time {cleaned!r}: expected ISO 8601 or epoch milliseconds{tried} ({error})",
            _TIME_HINT,
        ) from error


def _convert_int(key: str, value: object, warnings: list[str]) -> int | None:
    cleaned = clean(value)
    if cleaned is None:
        return None

    number = parse_int(cleaned)
    if number is None or not _INT64_MIN <= number <= _INT64_MAX:
        warnings.append(f"invalid integer {cleaned!r} in field {key}; stored as NULL")
        return None
    return number


def _convert_bool(key: str, value: object, warnings: list[str]) -> bool | None:
    cleaned = clean(value)
    if cleaned is None or isinstance(cleaned, bool):
        return cleaned
    text = str(cleaned).casefold()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    warnings.append(f"invalid boolean {cleaned!r} in field {key}; stored as NULL")
    return None


def _convert_text(key: str, value: object, warnings: list[str]) -> str | None:
    if isinstance(value, dict | list):
        warnings.append(
            f"field {key} holds a JSON {type(value).__name__}, not text; stored as NULL"
        )
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"

    cleaned = clean(value)
    if cleaned is None:
        return None
    text = str(cleaned)

    if key in ENUM_COLUMNS:
        # NOTE: numeric enum codes are kept as their digits, because no mapping is documented.
        return _ENUM_PREFIX.sub("", text).upper() or None
    if key in QUOTED_PATH_COLUMNS:
        return _strip_path_quotes(text)
    if key in HASH_COLUMNS:
        return text.lower()
    return text


def _strip_path_quotes(path: str) -> str | None:
    # Strip only a pair that encloses the whole path, so `"a.exe" "b"` is not cut to `a.exe" "b`.
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "\"'" and path[0] not in path[1:-1]:
        path = path[1:-1].strip()
    return path or None


def _derive_image_names(row: Row) -> None:
    derived = False
    for name_column, path_column in IMAGE_NAME_SOURCES.items():
        path = row.get(path_column)
        if name_column in row or not isinstance(path, str):
            continue
        name = image_name(path)
        if name is not None:
            row[name_column] = name
            derived = derived or name_column == "action_process_image_name"

    if derived:
        row["action_process_image_name_derived"] = True
