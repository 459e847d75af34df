"""Run a hunt file's XQL on the dataset and report each row as an alert of that hunt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from rmmhunt.dataset import Dataset
from rmmhunt.hunt import HuntOptions, event_filters
from rmmhunt.hunts.loader import Hunt
from rmmhunt.xql import XqlError, run

__all__ = ["ALERT_KIND", "HUNT_COLUMNS", "HuntFileResult", "run_hunt_file"]

ALERT_KIND: Final = "hunt"

# Fields that every alert of a hunt file carries after the query's own columns.
HUNT_COLUMNS: Final = ("hunt_id", "hunt_name", "kind", "risk_score", "severity", "mitre_techniques")

# The table that contains the events left after --since, --until, --host and --user.
FILTERED_TABLE: Final = "hunt_file_events"


@dataclass
class HuntFileResult:
    """The alerts of one hunt file.

    Attributes:
        columns: the query's output columns, then `HUNT_COLUMNS`.
        alerts: one dict per query row, in the query's order.
        warnings: the query's warnings, such as a time frame that excludes every event.
    """

    columns: list[str]
    alerts: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def run_hunt_file(
    dataset: Dataset, hunt: Hunt, options: HuntOptions, *, now: datetime | None = None
) -> HuntFileResult:
    """Run a hunt's query on the dataset, restricted by the options' time, host and user filters.

    Args:
        dataset: the loaded dataset; its `xdr_data` table is read, never changed.
        hunt: the loaded hunt file.
        options: `since`, `until`, `hosts` and `users` restrict the events; the profile and
            categories are not used, because the hunt's query decides what matches.
        now: the instant the query's relative time frames count back from.

    Raises:
        XqlError: the query is invalid or outside the subset, located in the hunt file.
        QueryError: DuckDB rejected the compiled query.
    """
    table = _filtered_table(dataset, options)
    try:
        result = run(hunt.query.text, dataset.connection, now=now, table=table)
    except XqlError as error:
        raise hunt.query.locate(error) from None
    finally:
        if table != "xdr_data":
            dataset.connection.execute(f'DROP TABLE IF EXISTS "{table}"')

    metadata = hunt.metadata
    extra = {
        "hunt_id": metadata.id,
        "hunt_name": metadata.name,
        "kind": ALERT_KIND,
        "risk_score": metadata.risk_score,
        "severity": metadata.severity,
        "mitre_techniques": metadata.techniques,
    }
    # NOTE: these alerts carry no `sources` or tool match, because a row of an arbitrary query
    # (a `comp`, for example) need not be one event of the dataset.
    alerts = [{**row, **extra} for row in result.rows]
    columns = [*result.columns, *(name for name in HUNT_COLUMNS if name not in result.columns)]
    return HuntFileResult(columns, alerts, result.warnings)


def _filtered_table(dataset: Dataset, options: HuntOptions) -> str:
    """Copy the events that pass the options' filters into a table, or return `xdr_data`."""
    condition, parameters = event_filters(options)
    if condition == "TRUE":
        return "xdr_data"
    dataset.connection.execute(
        f'CREATE OR REPLACE TEMP TABLE "{FILTERED_TABLE}" AS '
        f"SELECT * FROM xdr_data WHERE {condition} ORDER BY _row",
        parameters,
    )
    return FILTERED_TABLE
