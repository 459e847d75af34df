"""Renderers for JSON, NDJSON and CSV. Times are ISO 8601 in UTC with microseconds and `Z`."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rmmhunt.report.safety import csv_cell, json_text


def format_time(value: datetime) -> str:
    """Format an aware datetime as `2024-04-15T11:09:27.123456Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_jsonable(value: Any) -> Any:
    """Convert datetimes and nested containers into JSON-ready values.

    NaN and the infinities become None (JSON null), because JSON has no literal for them.
    """
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    return value


def render_json(alerts: list[dict[str, Any]]) -> str:
    """Render one JSON array of alert objects."""
    text = json.dumps(
        [to_jsonable(alert) for alert in alerts], indent=2, ensure_ascii=False, allow_nan=False
    )
    return json_text(text) + "\n"


def render_ndjson(alerts: list[dict[str, Any]]) -> str:
    """Render one JSON object per line."""
    lines = (
        json.dumps(to_jsonable(alert), ensure_ascii=False, allow_nan=False) for alert in alerts
    )
    return "".join(json_text(line) + "\n" for line in lines)


def render_csv(alerts: list[dict[str, Any]], columns: Iterable[str] | None = None) -> str:
    """Render CSV with a header row. Lists and objects are written as JSON text.

    Every cell is quoted, because the csv module leaves a lone CR unquoted when the line
    terminator is LF, and a spreadsheet would read it as the start of a new row.
    """
    names = list(columns) if columns is not None else _columns(alerts)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(names)
    for alert in alerts:
        writer.writerow([_csv_value(alert.get(name)) for name in names])
    return buffer.getvalue()


def _columns(alerts: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for alert in alerts:
        names.update(dict.fromkeys(alert))
    return list(names)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, list | tuple | dict):
        return csv_cell(json.dumps(to_jsonable(value), ensure_ascii=False))
    if isinstance(value, bool):
        return "true" if value else "false"
    return csv_cell(str(value))
