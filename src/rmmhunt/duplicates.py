"""The rule for merging copies of an event: the same event id and time, and the same content.

Telemetry is attacker-controlled, so the event id and time alone cannot decide that two rows
are one event. A planted copy with the id and time of a real AnyDesk start but `notepad.exe` as
its image would otherwise replace the real row and hide its alert. Copies merge only when the
fields that the hunt matches on, and that an analyst reads in an alert, agree as well. Copies
that conflict stay separate rows, and the summary counts and names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

CONTENT_COLUMNS: Final = (
    "event_type",
    "event_sub_type",
    "action_evtlog_event_id",
    "action_process_image_name",
    "action_process_image_path",
    "action_process_image_command_line",
    "action_process_original_file_name",
    "action_process_username",
    "actor_process_image_name",
    "actor_process_image_path",
    "action_service_name",
    "action_service_image_path",
    "action_task_name",
    "action_task_command",
    "action_remote_ip",
    "action_remote_port",
    "action_external_hostname",
    "dns_query_name",
    "action_file_path",
    "action_registry_key_name",
    "action_registry_value_name",
    "action_registry_data",
)
"""Columns whose values must agree for two copies of an event to merge.

These are the event's kind, the process and its image, command line, user and parent, and the
object that the event touched (service, task, destination, file or registry value). Host names
are left out because the `event_id` already contains the host, and exports spell it in other
cases or without the domain. Values are compared case-folded and trimmed, because exports differ
in case (`C:\\Windows` and `c:\\windows`) but not in meaning. A value missing in one copy and
present in the other is a conflict, since a planted copy could otherwise blank a field.
"""

MAX_CONFLICTS_DESCRIBED: Final = 50
"""Conflicting events described one by one in the summary's warnings; later ones are counted."""


def event_key_sql() -> str:
    """Return the SQL expression that identifies an event: its `event_id` and time to the ms.

    EVTX keeps 100 ns and most exports keep milliseconds, so times are compared to the
    millisecond. Rows without an `event_id` get their own `_row`, so they never merge.
    """
    return (
        "CASE WHEN event_id IS NULL THEN CAST(_row AS VARCHAR) "
        "ELSE event_id || '|' || coalesce(CAST(date_trunc('millisecond', _time) "
        "AS VARCHAR), '') END"
    )


def content_key_sql() -> str:
    """Return the SQL expression for the content that copies of one event must share."""
    values = [f"lower(trim(CAST({column} AS VARCHAR)))" for column in CONTENT_COLUMNS]
    # Each value is prefixed with its length, and NULL is written as '-', so that no choice of
    # values can shift text from one column into the next and imitate another copy's content.
    # SHA-256 keeps a planted copy from matching a real one's digest with different content.
    parts = ", ".join(f"coalesce(length({value}) || ':' || {value}, '-')" for value in values)
    return f"sha256(concat({parts}))"


@dataclass
class DuplicateConflict:
    """Copies of one event (same `event_id` and time) whose content differs."""

    event_id: str
    time: str
    first_file: str
    """The file of the copy that arrived first."""

    copies: list[str]
    """Each copy's `file:record`, first arrival first."""

    columns: list[str]
    """Content columns whose values differ between the copies."""

    def describe(self) -> str:
        """Describe the conflict as a warning for the summary."""
        return (
            f"event {self.event_id} at {self.time} has copies that differ in "
            f"{', '.join(self.columns)}: {' and '.join(self.copies)}; they were not merged, and "
            "each is hunted, because one copy may have been planted to hide the other"
        )


def describe_conflict(event_id: str, time: str, rows: list[dict[str, Any]]) -> DuplicateConflict:
    """Build the conflict for the rows (each with `source_file`, `source_record` and content)."""
    copies = [f"{row['source_file']}:{row['source_record']}" for row in rows]
    columns = [
        column for column in CONTENT_COLUMNS if len({_folded(row.get(column)) for row in rows}) > 1
    ]
    return DuplicateConflict(
        event_id=event_id,
        time=time,
        first_file=str(rows[0]["source_file"]),
        copies=copies,
        columns=columns or ["content"],
    )


def _folded(value: object) -> str | None:
    return None if value is None else str(value).strip().lower()
