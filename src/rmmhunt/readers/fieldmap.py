"""Any other CSV or JSON source, read through a field map that the user supplies.

A field map is a YAML file:

    format: csv            # or json (an array, NDJSON, or one object per record)
    fields:                # xdr_data column: source field name or dotted.path into nested JSON
      _time: EventTime
      agent_hostname: host.name
      action_process_image_path: Image
    constants:             # optional: the same value for every record
      event_type: PROCESS
      event_sub_type: PROCESS_START
    time_format: "%d/%m/%Y %H:%M:%S"   # optional strptime format of the time columns

This reader never detects a format on its own: it is built with the map's path, by the caller
that was given one, and then accepts the inputs whose layout matches the map's `format`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from rmmhunt.errors import InputError
from rmmhunt.normalise import check_time_format, clean_text, image_name, parse_int
from rmmhunt.readers._edr_records import (
    RawRecord,
    RecordRejected,
    iter_csv,
    iter_json,
    looks_like_json,
    map_records,
)
from rmmhunt.readers._edr_values import action_image_columns, event_time, image_path, lookup
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.schema import COLUMNS, Row
from rmmhunt.yamlsafe import compose_yaml, error_hint

# Provenance columns are filled by the reader itself, so a map cannot name them.
_PROVENANCE: Final = frozenset({"source_format", "source_file", "source_record"})
MAPPABLE_COLUMNS: Final = {name: kind for name, kind in COLUMNS if name not in _PROVENANCE}

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class FieldMap(BaseModel):
    """A validated field map: the input layout and where each xdr_data column comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["csv", "json"]
    fields: dict[str, str]
    constants: dict[str, str | int | bool] = {}
    time_format: str | None = None

    @field_validator("time_format")
    @classmethod
    def _check_time_format(cls, value: str | None) -> str | None:
        if value is not None:
            check_time_format(value)
        return value


def load_field_map(path: Path) -> FieldMap:
    """Load and validate a field map, raising InputError with the map's file and line."""
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the field map: {error}", path=display) from error

    try:
        root, data = compose_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or error
        raise InputError(
            f"invalid YAML in the field map: {problem}",
            path=display,
            line=line,
            hint=error_hint(error, "check the indentation and quoting"),
        ) from error
    except RecursionError:
        # PyYAML composes nested collections recursively, so deep nesting exhausts the stack.
        raise InputError(
            "invalid YAML in the field map: the collections are nested too deeply to parse",
            path=display,
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            "invalid field map: expected a mapping with `format` and `fields`",
            path=display,
            line=1,
        )

    try:
        field_map = FieldMap.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(str(part) for part in first["loc"])
        raise InputError(
            f"invalid field map at {'.'.join(location)}: {first['msg']}",
            path=display,
            line=_line_of(root, location),
            hint="the keys are format (csv or json), fields, constants and time_format",
        ) from error

    _check_columns(field_map, root, display)
    return field_map


def _check_columns(field_map: FieldMap, root: yaml.Node | None, display: str) -> None:
    for section, columns in (("fields", field_map.fields), ("constants", field_map.constants)):
        for column in columns:
            if column in MAPPABLE_COLUMNS:
                continue
            close = difflib.get_close_matches(column, MAPPABLE_COLUMNS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see docs/schema.md for the columns"
            raise InputError(
                f"unknown xdr_data column {column!r} in {section}",
                path=display,
                line=_line_of(root, (section, column)),
                hint=hint,
            )


def _line_of(node: yaml.Node | None, location: tuple[str, ...]) -> int | None:
    """Return the 1-based line of the deepest key on `location` that the YAML tree holds."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


class FieldMapReader:
    """Reader for a CSV or JSON source described by a user's field map."""

    format_name = "fieldmap"

    def __init__(self, field_map_path: Path) -> None:
        self.field_map_path = field_map_path
        self.field_map = load_field_map(field_map_path)

    def detect(self, head: bytes, name: str) -> bool:
        """Accept inputs whose layout matches the map: JSON for `json`, other text for `csv`."""
        if self.field_map.format == "json":
            return looks_like_json(head)
        return not looks_like_json(head) and b"\x00" not in head[:4096]

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per record, with each mapped column converted to its dataset type."""
        records = iter_json(source) if self.field_map.format == "json" else iter_csv(source)
        if self.field_map.time_format:
            options = replace(options, input_time_format=self.field_map.time_format)

        def mapping(fields: dict[str, object], record: RawRecord) -> Row | None:
            return apply_field_map(self.field_map, fields, options)

        yield from map_records(records, source, stats, self.format_name, mapping)


def apply_field_map(field_map: FieldMap, record: dict[str, object], options: ReadOptions) -> Row:
    """Build one row from a record: constants first, then the mapped fields over them."""
    row: Row = {}
    for column, constant in field_map.constants.items():
        row[column] = _convert(column, constant, options)
    for column, source_field in field_map.fields.items():
        value = _convert(column, lookup(record, source_field), options)
        if value is not None or column not in row:
            row[column] = value

    has_process = any(
        row.get(column) is not None
        for column in ("action_process_image_path", "action_process_image_command_line")
    )
    if "action_process_image_name" not in field_map.fields and has_process:
        row.update(
            action_image_columns(
                _text(row.get("action_process_image_path")),
                _text(row.get("action_process_image_name")),
                _text(row.get("action_process_image_command_line")),
            )
        )
    actor_path = _text(row.get("actor_process_image_path"))
    if row.get("actor_process_image_name") is None and actor_path is not None:
        row["actor_process_image_name"] = image_name(actor_path)
    return row


def _convert(column: str, value: object, options: ReadOptions) -> object:
    """Convert a source value to the column's Arrow type, or raise RecordRejected."""
    kind = MAPPABLE_COLUMNS[column]
    if pa.types.is_timestamp(kind):
        return event_time(value, options)
    if pa.types.is_integer(kind):
        number = parse_int(value)
        if number is None and clean_text(value) is not None:
            raise RecordRejected("malformed_record", f"{column}: invalid integer {value!r}")
        return number
    if pa.types.is_boolean(kind):
        return _boolean(column, value)
    if column.endswith("_path"):
        return image_path(value)
    if column.endswith(("_sha256", "_md5")):
        # Every other reader lower-cases hashes, so that catalog hashes compare equal.
        text = clean_text(value)
        return text.lower() if text else None
    return clean_text(value)


def _boolean(column: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = (clean_text(value) or "").casefold()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordRejected("malformed_record", f"{column}: invalid boolean {value!r}")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
