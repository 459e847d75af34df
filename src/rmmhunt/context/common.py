"""Helpers that the context modules share: host identity, event filters and alert lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from rmmhunt.catalog.model import Tool
from rmmhunt.hunt import SqlEngine
from rmmhunt.hunt import event_filters as event_filters
from rmmhunt.normalise import short_hostname
from rmmhunt.schema import EVENT_TYPE_PROCESS, SUB_TYPE_PROCESS_START

# A host compares case-folded and without its domain, as the dataset's duplicate detection does.
HOST_KEY_SQL: Final = "split_part(lower(agent_hostname), '.', 1)"

PROCESS_START_SQL: Final = (
    f"event_type = '{EVENT_TYPE_PROCESS}' AND event_sub_type = '{SUB_TYPE_PROCESS_START}'"
)


def process_key_sql(table: str = "") -> str:
    """Render SQL for the acting process's identity: its GUID, else its process id and image.

    Without a GUID the key is the process id with the image path (or name when no path), so a
    source that gives neither GUID nor process id groups a host's events by image path alone.
    """
    prefix = f"{table}." if table else ""
    return (
        f"coalesce({prefix}actor_process_instance_id, "
        f"coalesce(CAST({prefix}actor_process_os_pid AS VARCHAR), '') || '|' "
        f"|| lower(coalesce({prefix}actor_process_image_path, "
        f"{prefix}actor_process_image_name, '')))"
    )


# Alert kinds whose tool process is the actor of the alert's event, not its action.
ACTOR_KINDS: Final = frozenset({"rmm_activity", "rmm_vendor_contact"})

# Alert kinds that get `related_alerts`.
RELATED_KINDS: Final = frozenset({"rmm_activity", "persistence"})


def host_key(host: object) -> str | None:
    """Return the case-folded host name without its domain, or None for a missing host."""
    return short_hostname(host) if isinstance(host, str) else None


def tool_in_categories(tool: Tool, categories: frozenset[str]) -> bool:
    """Return whether a tool is in the chosen categories (`all` chooses every category)."""
    return "all" in categories or tool.category.value in categories


def find_event_rows(engine: SqlEngine, alerts: Sequence[dict[str, Any]]) -> list[int | None]:
    """Find the `xdr_data` row of each alert's event, or None when no row matches.

    An alert is found by its `_row` when it carries one, else by `event_id` and `_time`. Two
    rows with one `event_id` are distinguished by time, because the dataset merges duplicates
    only when their times agree.
    """
    event_ids = sorted({str(a["event_id"]) for a in alerts if a.get("event_id") is not None})
    by_event_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    chunk = 5_000
    for start in range(0, len(event_ids), chunk):
        part = event_ids[start : start + chunk]
        placeholders = ", ".join("?" for _ in part)
        for row in engine.query(
            f"SELECT _row, event_id, _time FROM xdr_data WHERE event_id IN ({placeholders}) "
            "ORDER BY _row",
            list(part),
        ):
            by_event_id[str(row["event_id"])].append(row)

    found: list[int | None] = []
    for alert in alerts:
        if isinstance(alert.get("_row"), int):
            found.append(int(alert["_row"]))
            continue
        candidates = by_event_id.get(str(alert.get("event_id")), [])
        same_time = [row for row in candidates if row["_time"] == alert.get("_time")]
        chosen = same_time or candidates
        found.append(int(chosen[0]["_row"]) if chosen else None)
    return found


def alert_tool_key(alert: dict[str, Any]) -> str | None:
    """Return the alert's tool id, or its case-folded tool name when the catalog has no id."""
    if alert.get("tool_id"):
        return str(alert["tool_id"])
    if alert.get("tool"):
        return str(alert["tool"]).casefold()
    return None


def link_related_alerts(alerts: Iterable[dict[str, Any]]) -> None:
    """Set `related_alerts` on every alert.

    Activity and persistence alerts get the `event_id`s of the same tool's other alerts on the
    same host, in alert order. Every other alert gets an empty list.
    """
    alerts = list(alerts)
    groups: dict[tuple[str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts:
        groups[(host_key(alert.get("agent_hostname")), alert_tool_key(alert))].append(alert)

    for alert in alerts:
        if alert.get("kind") not in RELATED_KINDS:
            alert["related_alerts"] = []
            continue
        key = (host_key(alert.get("agent_hostname")), alert_tool_key(alert))
        related = [
            str(other["event_id"])
            for other in groups[key]
            if other is not alert and other.get("event_id") is not None
        ]
        alert["related_alerts"] = list(dict.fromkeys(related))


def earliest(times: Iterable[object]) -> datetime | None:
    """Return the earliest of the datetimes among `times`, ignoring other values."""
    found = [time for time in times if isinstance(time, datetime)]
    return min(found) if found else None


def latest(times: Iterable[object]) -> datetime | None:
    """Return the latest of the datetimes among `times`, ignoring other values."""
    found = [time for time in times if isinstance(time, datetime)]
    return max(found) if found else None
