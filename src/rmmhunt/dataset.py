"""The normalised `xdr_data` dataset, held in DuckDB in process.

Readers' rows are appended in Arrow batches to a staging table. `finalise()` then builds the
`xdr_data` table, which the hunt and XQL queries read. Unless deduplication is off, events that
reached the run through overlapping inputs (a copied EVTX file, or one event in both EVTX and an
export) become one row whose `sources` column lists every copy. `_row` numbers the rows in the
dataset's canonical order (host, then event_id, then arrival), which is the order in which sorts
break ties, so that XQL queries and the hunt agree on the order of events with the same time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import duckdb
import pyarrow as pa

from rmmhunt.duplicates import (
    CONTENT_COLUMNS,
    MAX_CONFLICTS_DESCRIBED,
    DuplicateConflict,
    copies_sql,
    describe_conflict,
)
from rmmhunt.schema import ARROW_SCHEMA, COLUMN_NAMES, Row

BATCH_ROWS: Final = 20_000
"""Rows converted to Arrow and appended in one step."""

STAGING_TABLE: Final = "xdr_events_staged"
TABLE: Final = "xdr_data"

# Kinds of events for the summary's `events_by_kind`, as SQL conditions on xdr_data.
EVENT_KINDS: Final[dict[str, str]] = {
    "process_start": "event_type = 'PROCESS' AND event_sub_type = 'PROCESS_START'",
    "service_install": "event_type = 'EVENT_LOG' AND action_evtlog_event_id IN (7045, 4697)",
    "scheduled_task": ("event_type = 'EVENT_LOG' AND action_evtlog_event_id IN (4698, 106, 129)"),
    "network": "event_type = 'NETWORK' AND coalesce(event_sub_type, '') <> 'DNS_QUERY'",
    "dns_query": "event_type = 'NETWORK' AND event_sub_type = 'DNS_QUERY'",
    "file": "event_type = 'FILE'",
    "registry": "event_type = 'REGISTRY'",
}


OTHER_KIND: Final = "other"
"""The kind in `events_by_kind` for events that match none of EVENT_KINDS."""


def restrict_connection(connection: duckdb.DuckDBPyConnection) -> None:
    """Forbid file, network and extension access on a connection, and lock its configuration.

    Defence in depth for queries compiled from user text: with `enable_external_access` off,
    DuckDB rejects `read_csv`, `COPY`, `ATTACH` and `INSTALL`, and `lock_configuration` stops a
    query from turning it back on. Arrow tables registered from Python still work. Calling it
    again on a restricted connection changes nothing.
    """
    setting = connection.execute("SELECT current_setting('enable_external_access')").fetchone()
    if setting is not None and not setting[0]:
        return
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


class Dataset:
    """An in-process DuckDB database holding the `xdr_data` table."""

    def __init__(self, database: str = ":memory:") -> None:
        self.connection = duckdb.connect(database)
        self.connection.execute("SET TimeZone = 'UTC'")
        self._pending: list[Row] = []
        self._staged = False
        self._arrived = 0
        self.duplicates_removed = 0
        self.conflicting_events = 0
        self.duplicate_conflicts: list[DuplicateConflict] = []

    def add(self, row: Row) -> None:
        """Append one normalised row; unknown keys are a programming error."""
        unknown = row.keys() - COLUMN_NAMES
        if unknown:
            raise ValueError(f"row has keys that are not dataset columns: {sorted(unknown)}")
        self._pending.append(row)
        if len(self._pending) >= BATCH_ROWS:
            self._flush()

    def add_all(self, rows: Iterable[Row]) -> int:
        """Append rows and return how many were added."""
        count = 0
        for row in rows:
            self.add(row)
            count += 1
        return count

    def _flush(self) -> None:
        if not self._pending:
            if not self._staged:
                self._append(pa.Table.from_pylist([], schema=ARROW_SCHEMA))
            return
        batch = pa.Table.from_pylist(self._pending, schema=ARROW_SCHEMA)
        self._pending = []
        self._append(batch)

    def _append(self, batch: pa.Table) -> None:
        # An explicit arrival number keeps the first copy of a duplicate deterministic.
        ordinals = pa.array(range(self._arrived, self._arrived + batch.num_rows), pa.int64())
        self._arrived += batch.num_rows
        batch = batch.append_column("_row", ordinals)
        self.connection.register("incoming_batch", batch)
        if self._staged:
            self.connection.execute(f"INSERT INTO {STAGING_TABLE} SELECT * FROM incoming_batch")
        else:
            self.connection.execute(f"CREATE TABLE {STAGING_TABLE} AS SELECT * FROM incoming_batch")
            self._staged = True
        self.connection.unregister("incoming_batch")

    def finalise(self, *, dedup: bool = True) -> None:
        """Build `xdr_data` from the staged rows, merging duplicate events unless told not to.

        Windows events carry an `event_id` built from host, channel and record id; other events
        carry the vendor's event id. Two rows are the same event when their `event_id` is equal,
        their times agree to the millisecond and their content agrees (see
        `rmmhunt.duplicates`). Copies whose content differs stay separate rows and are listed
        in `duplicate_conflicts`. Rows without an `event_id` are never merged.
        """
        self._flush()
        source = "{'file': source_file, 'record': source_record, 'format': source_format}"
        staged = self.connection.execute(f"SELECT count(*) FROM {STAGING_TABLE}").fetchone()
        staged_rows = int(staged[0]) if staged else 0

        if dedup:
            self._find_conflicts()
            key = "_event || '|' || _content"
            rows = f"({copies_sql(STAGING_TABLE)})"
        else:
            key = "CAST(_row AS VARCHAR)"
            rows = STAGING_TABLE

        # The merge and the canonical numbering run on a narrow table of keys, and the wide rows
        # are joined once at the end. Grouping and sorting the full rows held several copies of
        # the dataset in memory (2.0 GB against 1.1 GB peak for 330,000 rows).
        self.connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _kept AS
            WITH keyed AS (
                SELECT _row, {key} AS _key, agent_hostname, event_id,
                       {source} AS _source
                FROM {rows}
            ),
            grouped AS (
                SELECT min(_row) AS _first, list(_source ORDER BY _row) AS sources
                FROM keyed GROUP BY _key
            )
            SELECT g._first, g.sources,
                   row_number() OVER (
                       ORDER BY coalesce(k.agent_hostname, ''), coalesce(k.event_id, ''), k._row
                   ) AS _ordinal
            FROM grouped g JOIN keyed k ON k._row = g._first
            """
        )
        self.connection.execute(
            f"""
            CREATE OR REPLACE TABLE {TABLE} AS
            SELECT {", ".join("s." + name for name in ARROW_SCHEMA.names)}, g.sources,
                   g._ordinal AS _row
            FROM {STAGING_TABLE} s JOIN _kept g ON s._row = g._first
            ORDER BY g._ordinal
            """
        )
        self.connection.execute("DROP TABLE _kept")
        kept = self.connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        self.duplicates_removed = staged_rows - (int(kept[0]) if kept else 0)
        self.connection.execute(f"DROP TABLE {STAGING_TABLE}")

    def _find_conflicts(self) -> None:
        """Count events whose copies differ in content, and describe the first of them."""
        self.connection.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _conflicts AS
            SELECT _event, event_id, min(_row) AS _first
            FROM ({copies_sql(STAGING_TABLE)}) WHERE event_id IS NOT NULL
            GROUP BY _event, event_id
            HAVING count(DISTINCT _content) > 1
            """
        )
        counted = self.connection.execute("SELECT count(*) FROM _conflicts").fetchone()
        self.conflicting_events = int(counted[0]) if counted else 0

        columns = ", ".join(f"s.{column}" for column in CONTENT_COLUMNS)
        rows = self.query(
            f"""
            SELECT s._event, s.event_id, CAST(s._time AS VARCHAR) AS _time_text,
                   s.source_file, s.source_record, s._domains_differ, {columns}
            FROM (SELECT * FROM _conflicts ORDER BY _first LIMIT {MAX_CONFLICTS_DESCRIBED}) c
            JOIN ({copies_sql(STAGING_TABLE)}) s
              ON s._event = c._event
            ORDER BY c._first, s._row
            """
        )
        self.connection.execute("DROP TABLE _conflicts")

        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(str(row["_event"]), []).append(row)
        self.duplicate_conflicts = [
            describe_conflict(str(group[0]["event_id"]), str(group[0]["_time_text"]), group)
            for group in groups.values()
        ]

    def count_events_by_kind(self) -> dict[str, int]:
        """Count the dataset's events by kind, for the summary.

        The kinds do not overlap, and `other` counts the rows of no kind (such as Sysmon process
        access or image load events), so the counts add up to the number of rows.
        """
        counts: dict[str, int] = {}
        for kind, condition in EVENT_KINDS.items():
            counts[kind] = self.count_rows(condition)
        any_kind = " OR ".join(f"({condition})" for condition in EVENT_KINDS.values())
        counts[OTHER_KIND] = self.count_rows(f"NOT coalesce({any_kind}, false)")
        return counts

    def count_rows(self, condition: str = "TRUE") -> int:
        """Count rows of `xdr_data` that satisfy a SQL condition written by the caller."""
        result = self.connection.execute(
            f"SELECT count(*) FROM {TABLE} WHERE {condition}"
        ).fetchone()
        return int(result[0]) if result else 0

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL and return its rows as dictionaries."""
        cursor = self.connection.execute(sql, parameters or [])
        names = [column[0] for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def load_table(self, name: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
        """Create or replace a small table of text columns, such as the catalog's indicators."""
        table = pa.table(
            {column: pa.array([row.get(column) for row in rows], pa.string()) for column in columns}
        )
        self.connection.register("incoming_table", table)
        self.connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming_table")
        self.connection.unregister("incoming_table")

    def restrict(self) -> None:
        """Forbid file and network access from SQL from now on; see `restrict_connection`."""
        restrict_connection(self.connection)

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.connection.close()
