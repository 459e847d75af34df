"""Alerts for RMM tools that ran although their process start is not in the data.

Any event whose acting process is a catalog tool shows that the tool ran: a connection, a DNS
query, a file or registry write by it, or a process that it started. The tool is always the
event's actor. A tool that is only the target of another process (Sysmon 10 `TargetImage`, in
`target_process_image_path`) is not evidence that it ran, and the child of a tool's process
start is never the alert's tool.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from rmmhunt import winpath
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Tool
from rmmhunt.context.common import (
    HOST_KEY_SQL,
    event_filters,
    host_key,
    process_key_sql,
    tool_in_categories,
)
from rmmhunt.hunt import HuntOptions, Match, SqlEngine, build_alert, fetch_events, sort_alerts
from rmmhunt.schema import OS_WINDOWS

ACTIVITY_INDICATORS_TABLE: Final = "activity_indicators"

PROCESS_KEY_SQL: Final = process_key_sql()


def activity_alerts(
    engine: SqlEngine,
    catalog: Catalog,
    options: HuntOptions,
    alerts: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Raise one `rmm_activity` alert per host and tool process seen acting in the data.

    The actor matches a tool of the chosen categories by SHA-256 or by image name; a hash
    match wins when both name tools. Processes that already have a `process_start` alert
    among `alerts` are skipped. Each alert carries `first_time`, `last_time`, `event_count`
    and `event_types` (`EVENT_TYPE/EVENT_SUB_TYPE` strings) over the process's events, and
    `related_alerts` over `alerts` and the new alerts.
    """
    indicators = _actor_indicators(engine, catalog, options.categories)
    if not indicators:
        return []
    engine.load_table(ACTIVITY_INDICATORS_TABLE, indicators, ["kind", "value", "tool_id"])

    groups = _activity_groups(engine, options)
    started = _started_processes(alerts)
    events = {int(e["_row"]): e for e in fetch_events(engine, [g["first_row"] for g in groups])}

    new_alerts = []
    for group in groups:
        event = events[int(group["first_row"])]
        if _process_keys(event, actor=True) & started:
            continue
        tool = catalog.tools[str(group["tool_id"])]
        matched_on = "hash" if group["matched_on"] == "hash" else "name"
        match = Match(tool.id, tool.name, tool.category.value, matched_on=[matched_on])
        alert = build_alert(event, match, "rmm_activity", catalog)
        alert["first_time"] = group["first_time"]
        alert["last_time"] = group["last_time"]
        alert["event_count"] = int(group["event_count"])
        alert["event_types"] = group["event_types"]
        new_alerts.append(alert)

    return sort_alerts(new_alerts)


def _actor_indicators(
    engine: SqlEngine, catalog: Catalog, categories: frozenset[str]
) -> list[dict[str, Any]]:
    """Match the distinct actor image names and hashes in the data against the catalog."""
    # NOTE: the dataset has no column for the actor's PE original file name, so a renamed tool
    # whose start is missing is found only by hash.
    rows = engine.query(
        "SELECT DISTINCT lower(actor_process_image_name) AS name, "
        "lower(actor_process_image_sha256) AS sha256 FROM xdr_data "
        f"WHERE agent_os_type = '{OS_WINDOWS}' "
        "AND (actor_process_image_name IS NOT NULL OR actor_process_image_sha256 IS NOT NULL)"
    )
    indicators: dict[tuple[str, str], str] = {}
    for row in rows:
        for kind, value, lookup in (
            ("name", row["name"], catalog.match_image_name),
            ("hash", row["sha256"], catalog.match_hash),
        ):
            if not value or (kind, value) in indicators:
                continue
            tool = _first_tool(lookup(str(value)), categories)
            if tool is not None:
                indicators[(kind, str(value))] = tool.id
    return [
        {"kind": kind, "value": value, "tool_id": tool_id}
        for (kind, value), tool_id in sorted(indicators.items())
    ]


def _first_tool(tools: list[Tool], categories: frozenset[str]) -> Tool | None:
    chosen = [tool for tool in tools if tool_in_categories(tool, categories)]
    return chosen[0] if chosen else None


def _activity_groups(engine: SqlEngine, options: HuntOptions) -> list[dict[str, Any]]:
    """Group matching events by host, process and tool, with times, counts and event types."""
    # NOTE: a Sysmon 5 (process end) of a tool is not counted, because the ended process is the
    # event's action, not its actor.
    filters, parameters = event_filters(options)
    matched = f"""
        WITH x AS (
            SELECT *, {HOST_KEY_SQL} AS host_key, {PROCESS_KEY_SQL} AS process_key
            FROM xdr_data
            WHERE agent_os_type = '{OS_WINDOWS}' AND {filters}
        ),
        e AS (
            SELECT x.*, coalesce(h.tool_id, m.tool_id) AS tool_id,
                   CASE WHEN h.tool_id IS NOT NULL THEN 'hash' ELSE 'name' END AS matched_on
            FROM x
            LEFT JOIN {ACTIVITY_INDICATORS_TABLE} h
              ON h.kind = 'hash' AND h.value = lower(x.actor_process_image_sha256)
            LEFT JOIN {ACTIVITY_INDICATORS_TABLE} m
              ON m.kind = 'name' AND m.value = lower(x.actor_process_image_name)
            WHERE h.tool_id IS NOT NULL OR m.tool_id IS NOT NULL
        )
    """
    groups = engine.query(
        f"""{matched}
        SELECT host_key, process_key, tool_id, min(matched_on) AS matched_on,
               min(_row) AS first_row, min(_time) AS first_time, max(_time) AS last_time,
               count(*) AS event_count
        FROM e GROUP BY host_key, process_key, tool_id
        ORDER BY first_row
        """,
        parameters,
    )
    kinds = engine.query(
        f"""{matched}
        SELECT DISTINCT host_key, process_key, tool_id, event_type, event_sub_type FROM e
        """,
        parameters,
    )

    types: dict[tuple[Any, Any, Any], set[str]] = defaultdict(set)
    for row in kinds:
        name = str(row["event_type"] or "UNKNOWN")
        if row["event_sub_type"]:
            name = f"{name}/{row['event_sub_type']}"
        types[(row["host_key"], row["process_key"], row["tool_id"])].add(name)
    for group in groups:
        group["event_types"] = sorted(
            types[(group["host_key"], group["process_key"], group["tool_id"])]
        )
    return groups


def _started_processes(alerts: Sequence[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Return the identity keys of the processes that have a `process_start` alert."""
    keys: set[tuple[Any, ...]] = set()
    for alert in alerts:
        if alert.get("kind") == "process_start":
            keys |= _process_keys(alert, actor=False)
    return keys


def _process_keys(row: dict[str, Any], *, actor: bool) -> set[tuple[Any, ...]]:
    """Return a process's identity keys: host with GUID, and host with process id and path."""
    side = "actor" if actor else "action"
    host = host_key(row.get("agent_hostname"))
    instance = row.get(f"{side}_process_instance_id")
    pid = row.get(f"{side}_process_os_pid")
    path = row.get(f"{side}_process_image_path")

    keys: set[tuple[Any, ...]] = set()
    if instance:
        keys.add((host, "instance", str(instance).casefold()))
    if pid is not None and path:
        # A source without GUIDs (Security 4688) names the process by id and image path.
        keys.add((host, "pid", int(pid), winpath.normalise_path(str(path))))
    return keys
