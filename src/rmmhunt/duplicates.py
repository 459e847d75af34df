"""The rule for merging copies of an event: the same event id and time, and the same content.

Telemetry is attacker-controlled, so the event id and time alone cannot decide that two rows
are one event. A planted copy with the id and time of a real AnyDesk start but `notepad.exe` as
its image would otherwise replace the real row and hide its alert. Copies merge only when every
other column agrees as well (see `CONTENT_COLUMNS`), so the merged row, which is the first copy
read, carries the values of every copy. Copies that conflict stay separate rows, and the
summary counts and names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from rmmhunt.schema import COLUMNS

KEY_COLUMNS: Final = ("event_id", "_time")
"""Columns that identify an event (see `event_key_sql`), so they are not compared again."""

PROVENANCE_COLUMNS: Final = ("source_format", "source_file", "source_record")
"""The file, record and format of one copy. The merged row lists every copy in `sources`."""

CONTENT_COLUMNS: Final = tuple(
    name for name, _ in COLUMNS if name not in KEY_COLUMNS + PROVENANCE_COLUMNS
)
"""Columns whose values must agree for two copies of an event to merge: every other column.

The hunt, the catalog match, the inventory, scoring, enrichment, the alert report and XQL
queries read these columns (host, users, hashes, signer, process ids and more), so a copy that
differs in any of them is not the same event. Cortex XDR exports give an `event_id` that does not
contain the host, so the host is compared as well. Windows events are keyed by host, channel
and record id, and there the host comparison changes nothing.

Values are compared trimmed and case-folded, because exports differ in case
(`C:\\Windows` and `c:\\windows`, hashes in upper or lower case) but not in meaning. The host
is compared as the Windows event key compares it, by its short name without the domain, unless
the copies name two different domains (see `copies_sql`). A value present in one copy and
missing in the other is a conflict. A planted copy could otherwise blank a hash or add an
approved signer, and the merged row would hide an alert either way. So two renderings of one
event where one lacks a field (an export without the hash) stay two rows.

NOTE: a bare host name (`ws01`) and a full one (`WS01.corp.local`) still merge, and the merged
row keeps the first copy's spelling, which the inventory's domain rule reads.
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


def copies_sql(table: str) -> str:
    """Return a query over `table`'s rows that adds each row's `_event` and `_content` keys.

    Copies of one event merge when both keys are equal. `_domains_differ` is true for every copy
    of an event whose copies name two different host domains.
    """
    host_domain = _host_domain_sql("agent_hostname")
    return f"""
        SELECT *, {_content_key_sql()} AS _content FROM (
            SELECT s.*, {event_key_sql()} AS _event,
                   coalesce(d._domains_differ, false) AS _domains_differ
            FROM {table} s
            LEFT JOIN (
                SELECT {event_key_sql()} AS _differing, true AS _domains_differ
                FROM {table} WHERE event_id IS NOT NULL
                GROUP BY _differing HAVING count(DISTINCT {host_domain}) > 1
            ) d ON d._differing = {event_key_sql()}
        )
    """


def _content_key_sql() -> str:
    """Return the SQL expression for the content that copies of one event must share."""
    values = [_folded_sql(column) for column in CONTENT_COLUMNS]
    # Each value is prefixed with its length, and NULL is written as '-', so that no choice of
    # values can shift text from one column into the next and imitate another copy's content.
    # SHA-256 keeps a planted copy from matching a real one's digest with different content.
    parts = ", ".join(f"coalesce(length({value}) || ':' || {value}, '-')" for value in values)
    return f"sha256(concat({parts}))"


def _folded_sql(column: str) -> str:
    """Return the SQL expression for a column's value as copies compare it."""
    folded = f"lower(trim(CAST({column} AS VARCHAR)))"
    if column != "agent_hostname":
        return folded

    # The short name is the one that `normalise.short_hostname` puts in Windows event keys. The
    # inventory reads the domain too, so copies that name two different domains compare whole.
    host = f"rtrim({folded}, '.')"
    short_name = f"nullif(split_part({host}, '.', 1), '')"
    return f"CASE WHEN _domains_differ THEN {host} ELSE {short_name} END"


def _host_domain_sql(column: str) -> str:
    """Return the SQL expression for a host name's domain: case-folded, or NULL when absent."""
    host = f"rtrim(lower(trim({column})), '.')"
    return f"CASE WHEN strpos({host}, '.') > 0 THEN substr({host}, strpos({host}, '.') + 1) END"


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
        column
        for column in CONTENT_COLUMNS
        if len({_folded(column, row.get(column), rows) for row in rows}) > 1
    ]
    return DuplicateConflict(
        event_id=event_id,
        time=time,
        first_file=str(rows[0]["source_file"]),
        copies=copies,
        columns=columns or ["content"],
    )


def _folded(column: str, value: object, rows: list[dict[str, Any]]) -> str | None:
    if value is None:
        return None
    folded = str(value).strip().lower()
    if column != "agent_hostname":
        return folded

    host = folded.rstrip(".")
    if rows[0].get("_domains_differ"):
        return host
    return host.split(".", 1)[0] or None
