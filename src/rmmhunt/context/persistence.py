"""Persistence alerts: scheduled tasks and Run keys that start an RMM tool.

Scheduled tasks come from Security 4698 (created, with its Exec actions as the command),
Task Scheduler 106 (registered, without a command) and Task Scheduler 129 (launched a process).
Run keys are Sysmon 13 registry value writes under `...\\CurrentVersion\\Run\\` or
`...\\CurrentVersion\\RunOnce\\` of the machine or a user hive. A command names a tool when its
executable's base name is one of the tool's executables, or its path is under one of the tool's
install paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from rmmhunt import winpath
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Tool
from rmmhunt.context.common import (
    HOST_KEY_SQL,
    event_filters,
    tool_in_categories,
)
from rmmhunt.hunt import HuntOptions, Match, SqlEngine, build_alert, fetch_events, sort_alerts
from rmmhunt.schema import EVENT_TYPE_EVENT_LOG, EVENT_TYPE_REGISTRY, OS_WINDOWS
from rmmhunt.servicepath import expanded_path, parse_service_image_path

TASK_EVENT_IDS: Final = (4698, 106, 129)

# A value directly under Run or RunOnce of HKLM, HKCU or a user's hive in HKU, in the spellings
# of Sysmon (`HKLM\\`, `HKU\\<SID>\\`), of the Win32 API and of the kernel (`\\REGISTRY\\MACHINE`).
RUN_KEY: Final = re.compile(
    r"^(?:hklm|hkey_local_machine|\\registry\\machine|hkcu|hkey_current_user"
    r"|(?:hku|hkey_users|\\registry\\user)\\[^\\]+)"
    r"\\software\\(?:wow6432node\\)?microsoft\\windows\\currentversion\\(?:run|runonce)\\[^\\]+$",
    re.IGNORECASE,
)


@dataclass
class _Finding:
    """One persistence item: a host, a mechanism, its task or registry value, and a tool."""

    first_row: int
    tool: Tool
    matched_on: str
    mechanism: str
    name: str
    command: str
    times: list[datetime] = field(default_factory=list)
    count: int = 0


def persistence_alerts(
    engine: SqlEngine,
    catalog: Catalog,
    options: HuntOptions,
    alerts: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Raise one `persistence` alert per host, task or Run value, and tool of the chosen categories.

    Each alert carries `persistence_type` (`scheduled_task` or `run_key`), `persistence_name`
    (the task name or registry value path), `persistence_command`, `first_time`, `last_time`,
    `event_count`, and `related_alerts` over `alerts` and the new alerts.
    """
    findings: dict[tuple[str, str, str, str], _Finding] = {}
    for row in _task_rows(engine, options):
        _add(findings, catalog, options.categories, row, "scheduled_task", row["task_name"])
    for row in _run_key_rows(engine, options):
        _add(findings, catalog, options.categories, row, "run_key", row["key"])

    items = sorted(findings.values(), key=lambda finding: finding.first_row)
    events = {int(e["_row"]): e for e in fetch_events(engine, [f.first_row for f in items])}
    new_alerts = []
    for finding in items:
        tool = finding.tool
        match = Match(tool.id, tool.name, tool.category.value, matched_on=[finding.matched_on])
        alert = build_alert(events[finding.first_row], match, "persistence", catalog)
        alert["persistence_type"] = finding.mechanism
        alert["persistence_name"] = finding.name
        alert["persistence_command"] = finding.command
        alert["first_time"] = min(finding.times) if finding.times else None
        alert["last_time"] = max(finding.times) if finding.times else None
        alert["event_count"] = finding.count
        new_alerts.append(alert)

    return sort_alerts(new_alerts)


def _add(
    findings: dict[tuple[str, str, str, str], _Finding],
    catalog: Catalog,
    categories: frozenset[str],
    row: dict[str, Any],
    mechanism: str,
    name: str,
) -> None:
    counted: set[tuple[str, str, str, str]] = set()
    for command in row["commands"]:
        matched = match_command(catalog, command, categories)
        if matched is None:
            continue
        tool, matched_on = matched
        key = (str(row["host_key"]), mechanism, name.casefold(), tool.id)
        finding = findings.get(key)
        if finding is None:
            finding = _Finding(int(row["_row"]), tool, matched_on, mechanism, name, command)
            findings[key] = finding

        # A task with two actions that start one tool is still one event.
        if key in counted:
            continue
        counted.add(key)
        finding.first_row = min(finding.first_row, int(row["_row"]))
        finding.count += 1
        if isinstance(row.get("_time"), datetime):
            finding.times.append(row["_time"])


def match_command(
    catalog: Catalog, command: str, categories: frozenset[str]
) -> tuple[Tool, str] | None:
    """Return the tool that a command line starts, with `name` or `install_path` as evidence.

    The executable is parsed as Windows parses a command line, with the usual variables
    expanded. Tools are tried in id order, and a name match wins over an install path.
    """
    # NOTE: only the first executable counts, so `cmd.exe /c C:\x\AnyDesk.exe` names no tool.
    image = parse_service_image_path(command)
    if image.name:
        for tool in catalog.match_image_name(image.name):
            if tool_in_categories(tool, categories):
                return tool, "name"

    path = expanded_path(image.executable)
    if not path:
        return None
    for tool in catalog.tools.values():
        if not tool_in_categories(tool, categories):
            continue
        if any(winpath.path_matches(pattern, path) for pattern in tool.install_paths):
            return tool, "install_path"
    return None


def _task_rows(engine: SqlEngine, options: HuntOptions) -> list[dict[str, Any]]:
    """Return task events with their commands.

    A Task Scheduler 106 borrows its task's command from a 4698 or 129 of the same task.
    """
    filters, parameters = event_filters(options)
    ids = ", ".join(str(event_id) for event_id in TASK_EVENT_IDS)
    rows = engine.query(
        f"SELECT _row, _time, {HOST_KEY_SQL} AS host_key, action_task_name AS task_name, "
        "action_task_command AS command, action_evtlog_event_id AS windows_event_id "
        f"FROM xdr_data WHERE event_type = '{EVENT_TYPE_EVENT_LOG}' "
        f"AND agent_os_type = '{OS_WINDOWS}' AND action_evtlog_event_id IN ({ids}) "
        "AND action_task_name IS NOT NULL "
        f"AND {filters} ORDER BY _row",
        parameters,
    )

    # Task Scheduler 106 names the task only, so its command comes from the same task's other
    # events on that host.
    # NOTE: a 106 whose task has no 4698 or 129 event in the data has no command to match,
    # and the --since and --until window also limits which events lend their command.
    known: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        row["commands"] = _split_task_command(row["command"])
        if row["commands"]:
            known.setdefault((str(row["host_key"]), str(row["task_name"]).casefold()), [])
            known[(str(row["host_key"]), str(row["task_name"]).casefold())].extend(row["commands"])
    for row in rows:
        if not row["commands"]:
            key = (str(row["host_key"]), str(row["task_name"]).casefold())
            row["commands"] = list(dict.fromkeys(known.get(key, [])))
    return rows


def _split_task_command(command: object) -> list[str]:
    """Split the `; `-joined Exec actions that the Windows event mapping stores for a task."""
    if not isinstance(command, str) or not command.strip():
        return []
    return [part.strip() for part in command.split("; ") if part.strip()]


def _run_key_rows(engine: SqlEngine, options: HuntOptions) -> list[dict[str, Any]]:
    """Return registry writes of a string value under a Run or RunOnce key."""
    filters, parameters = event_filters(options)
    rows = engine.query(
        f"SELECT _row, _time, {HOST_KEY_SQL} AS host_key, action_registry_key_name AS key, "
        "action_registry_data AS data "
        f"FROM xdr_data WHERE event_type = '{EVENT_TYPE_REGISTRY}' "
        f"AND agent_os_type = '{OS_WINDOWS}' AND action_registry_data IS NOT NULL "
        "AND lower(action_registry_key_name) LIKE '%currentversion%run%' "
        f"AND {filters} ORDER BY _row",
        parameters,
    )
    found = []
    for row in rows:
        if not RUN_KEY.match(str(row["key"])):
            continue
        row["commands"] = [str(row["data"])]
        found.append(row)
    return found
