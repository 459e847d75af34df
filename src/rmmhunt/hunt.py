"""The hunt: RMM tool process starts and service installs on Windows agents.

The detection is SQL over `xdr_data` and a `catalog_indicators` table, so that every engine runs
the same statements. Two profiles exist:

- `default`: a process start whose image matches the catalog by name, original file name or
  hash (`process_start`), and a service install whose parsed image path names a catalog tool or
  driver (`service_install`), for tools in the chosen categories.
- `seed`: the seed hunt's filter and nothing more: process starts on Windows agents whose
  `action_process_image_name` equals one of its seven names, case-insensitively. A name that a
  reader filled from the image path counts, because XQL queries over the same dataset see it.

Install paths and code signers add context and score elsewhere; they never raise an alert alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.seed import SEED_NAMES
from rmmhunt.schema import (
    EVENT_TYPE_EVENT_LOG,
    EVENT_TYPE_PROCESS,
    OS_WINDOWS,
    SEED_FIELDS,
    SUB_TYPE_PROCESS_START,
)

BASE_RISK_SCORE: Final = 60
BASE_SEVERITY: Final = "Medium"
SEED_TECHNIQUES: Final = ("T1219", "T1133")
DEFAULT_CATEGORIES: Final = frozenset({"rmm", "remote-desktop"})
PROFILES: Final = ("default", "seed")

SERVICE_INSTALL_EVENT_IDS: Final = (7045, 4697)

# Joins that raise an alert: (indicator type, event column, `matched_on` label, priority). When
# one event matches several tools, the strongest evidence (lowest priority) names the tool. A PE
# original file name is compared with executable names too, because for most tools it equals the
# shipped executable's name, and it survives renaming.
JoinRule = tuple[str, str, str, int]
PROCESS_JOINS: Final[tuple[JoinRule, ...]] = (
    ("sha256", "action_process_image_sha256", "hash", 0),
    ("md5", "action_process_image_md5", "hash", 0),
    ("original_file_name", "action_process_original_file_name", "original_file_name", 1),
    ("image_name", "action_process_original_file_name", "original_file_name", 1),
    ("image_name", "action_process_image_name", "name", 2),
)
SERVICE_JOINS: Final[tuple[JoinRule, ...]] = (
    ("image_name", "action_process_image_name", "name", 2),
    ("driver_name", "action_process_image_name", "driver_name", 2),
)

# Columns an alert carries after the seed's 15 fields, for context.
CONTEXT_COLUMNS: Final = (
    "action_evtlog_event_id",
    "action_process_image_sha256",
    "action_process_original_file_name",
    "action_process_file_description",
    "action_process_file_product",
    "action_process_signature_vendor",
    "action_process_signature_status",
    "action_process_username",
    "action_process_os_pid",
    "action_process_instance_id",
    "actor_process_os_pid",
    "actor_process_instance_id",
    "action_service_name",
    "action_service_image_path",
    "action_service_start_type",
    "action_service_account",
    "evtlog_channel",
    "causality_actor_process_image_name",
    "causality_actor_process_image_path",
)


class SqlEngine(Protocol):
    """The part of an engine the hunt needs: run SQL, and load a small table."""

    def query(self, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]: ...

    def load_table(self, name: str, rows: list[dict[str, Any]], columns: list[str]) -> None: ...


@dataclass(frozen=True)
class HuntOptions:
    """What to hunt for, and which events to consider."""

    profile: str = "default"
    categories: frozenset[str] = DEFAULT_CATEGORIES
    since: datetime | None = None
    until: datetime | None = None
    hosts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


@dataclass
class Match:
    """The catalog evidence for one event."""

    tool_id: str | None
    tool_name: str
    category: str | None
    matched_on: list[str] = field(default_factory=list)


def run_hunt(engine: SqlEngine, catalog: Catalog, options: HuntOptions) -> list[dict[str, Any]]:
    """Run the hunt and return alerts in the seed's order: newest first, then host, event_id."""
    if options.profile not in PROFILES:
        raise ValueError(f"unknown profile {options.profile!r}")

    if options.profile == "seed":
        matches = _match_seed(engine, catalog, options)
        kinds = dict.fromkeys(matches, "process_start")
    else:
        _load_indicators(engine, catalog, options.categories)
        process = _match_indicators(engine, options, PROCESS_JOINS, _process_filter())
        service = _match_indicators(engine, options, SERVICE_JOINS, _service_filter())
        matches = {**process, **service}
        kinds = {row: "process_start" for row in process}
        kinds.update({row: "service_install" for row in service})

    if not matches:
        return []
    events = fetch_events(engine, sorted(matches))
    alerts = [
        build_alert(event, matches[event["_row"]], kinds[event["_row"]], catalog)
        for event in events
    ]
    return sort_alerts(alerts)


def sort_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort newest first (events without a time last), then by host and event_id."""
    by_host = sorted(
        alerts, key=lambda a: (str(a.get("agent_hostname") or ""), str(a.get("event_id") or ""))
    )
    with_time = [a for a in by_host if a.get("_time") is not None]
    without_time = [a for a in by_host if a.get("_time") is None]
    with_time.sort(key=lambda a: a["_time"], reverse=True)
    return with_time + without_time


def _process_filter() -> str:
    return (
        f"event_type = '{EVENT_TYPE_PROCESS}' AND event_sub_type = '{SUB_TYPE_PROCESS_START}' "
        f"AND agent_os_type = '{OS_WINDOWS}'"
    )


def _service_filter() -> str:
    ids = ", ".join(str(event_id) for event_id in SERVICE_INSTALL_EVENT_IDS)
    return (
        f"event_type = '{EVENT_TYPE_EVENT_LOG}' AND action_evtlog_event_id IN ({ids}) "
        f"AND agent_os_type = '{OS_WINDOWS}'"
    )


def event_filters(options: HuntOptions) -> tuple[str, list[Any]]:
    """Render --since, --until, --host and --user as SQL conditions with parameters."""
    conditions: list[str] = []
    parameters: list[Any] = []
    if options.since is not None:
        conditions.append("_time >= ?")
        parameters.append(options.since)
    if options.until is not None:
        conditions.append("_time <= ?")
        parameters.append(options.until)
    if options.hosts:
        # A pattern matches the full host name or the short name before the first dot, so
        # `ws01` selects `WS01.corp.local`.
        alternatives = []
        for host in options.hosts:
            pattern = glob_to_like(host.lower())
            alternatives.append(
                "(lower(agent_hostname) LIKE ? ESCAPE '\\' "
                "OR split_part(lower(agent_hostname), '.', 1) LIKE ? ESCAPE '\\')"
            )
            parameters.extend([pattern, pattern])
        conditions.append("(" + " OR ".join(alternatives) + ")")
    if options.users:
        alternatives = []
        for user in options.users:
            pattern = glob_to_like(user.lower())
            alternatives.append(
                "(lower(actor_effective_username) LIKE ? ESCAPE '\\' "
                "OR lower(action_process_username) LIKE ? ESCAPE '\\')"
            )
            parameters.extend([pattern, pattern])
        conditions.append("(" + " OR ".join(alternatives) + ")")
    if not conditions:
        return "TRUE", parameters
    return " AND ".join(conditions), parameters


def glob_to_like(pattern: str) -> str:
    """Translate a `*`/`?` pattern into a SQL LIKE pattern with `\\` as the escape character."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _load_indicators(engine: SqlEngine, catalog: Catalog, categories: frozenset[str]) -> None:
    wanted = {rule[0] for rule in (*PROCESS_JOINS, *SERVICE_JOINS)}
    rows: list[dict[str, Any]] = []
    for indicator in catalog.indicator_rows():
        if indicator["indicator_type"] not in wanted:
            continue
        if "all" not in categories and indicator["category"] not in categories:
            continue
        pattern = str(indicator["is_pattern"]).lower() in ("true", "1")
        value = str(indicator["value"]).lower()
        rows.append(
            {
                "tool_id": indicator["tool_id"],
                "indicator_type": indicator["indicator_type"],
                "value": None if pattern else value,
                "like_pattern": glob_to_like(value) if pattern else None,
            }
        )
    engine.load_table(
        "catalog_indicators", rows, ["tool_id", "indicator_type", "value", "like_pattern"]
    )


def _match_indicators(
    engine: SqlEngine,
    options: HuntOptions,
    joins: tuple[JoinRule, ...],
    event_filter: str,
) -> dict[int, Match]:
    """Join events to indicators, one equality join per rule plus one pattern join per rule."""
    # NOTE: SQL lower() equals str.casefold() for ASCII names only (not for "ß", for example);
    # catalog values are case-folded in Python, so a non-ASCII name may fail to match.
    filters, parameters = event_filters(options)
    selects: list[str] = []
    all_parameters: list[Any] = []
    for rule, (kind, column, _, _) in enumerate(joins):
        for join in (
            f"lower(e.{column}) = i.value",
            f"i.like_pattern IS NOT NULL AND lower(e.{column}) LIKE i.like_pattern ESCAPE '\\'",
        ):
            selects.append(
                f"SELECT e._row AS _row, i.tool_id AS tool_id, {rule} AS rule "
                f"FROM xdr_data e JOIN catalog_indicators i ON {join} "
                f"WHERE i.indicator_type = '{kind}' AND e.{column} IS NOT NULL "
                f"AND {event_filter} AND {filters}"
            )
            all_parameters.extend(parameters)
    rows = engine.query(" UNION ALL ".join(selects), all_parameters)
    return _choose_tools(rows, joins)


def _choose_tools(rows: list[dict[str, Any]], joins: tuple[JoinRule, ...]) -> dict[int, Match]:
    by_event: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        by_event[int(row["_row"])][str(row["tool_id"])].add(int(row["rule"]))

    matches: dict[int, Match] = {}
    for event_row, tools in by_event.items():

        def strength(item: tuple[str, set[int]]) -> tuple[int, str]:
            tool_id, rules = item
            return (min(joins[rule][3] for rule in rules), tool_id)

        tool_id, rules = min(tools.items(), key=strength)
        labels = sorted({joins[rule][2] for rule in rules}, key=_label_order)
        matches[event_row] = Match(tool_id=tool_id, tool_name="", category=None, matched_on=labels)
    return matches


def _label_order(label: str) -> int:
    order = ["hash", "original_file_name", "name", "driver_name"]
    return order.index(label) if label in order else len(order)


def _match_seed(engine: SqlEngine, catalog: Catalog, options: HuntOptions) -> dict[int, Match]:
    filters, parameters = event_filters(options)
    placeholders = ", ".join("?" for _ in SEED_NAMES)
    rows = engine.query(
        f"SELECT _row, action_process_image_name FROM xdr_data "
        f"WHERE {_process_filter()} "
        f"AND lower(action_process_image_name) IN ({placeholders}) AND {filters}",
        [*SEED_NAMES, *parameters],
    )
    matches: dict[int, Match] = {}
    for row in rows:
        name = str(row["action_process_image_name"])
        tools = catalog.match_image_name(name)
        tool_id = tools[0].id if tools else None
        matches[int(row["_row"])] = Match(
            tool_id=tool_id, tool_name=name, category=None, matched_on=["name"]
        )
    return matches


def fetch_events(engine: SqlEngine, row_ids: Sequence[int]) -> list[dict[str, Any]]:
    columns = ["_row", *SEED_FIELDS, *CONTEXT_COLUMNS, "sources"]
    selected = ", ".join(dict.fromkeys(columns))
    events: list[dict[str, Any]] = []
    chunk = 5_000
    for start in range(0, len(row_ids), chunk):
        part = row_ids[start : start + chunk]
        placeholders = ", ".join("?" for _ in part)
        events.extend(
            engine.query(
                f"SELECT {selected} FROM xdr_data WHERE _row IN ({placeholders}) ORDER BY _row",
                list(part),
            )
        )
    return events


def build_alert(event: dict[str, Any], match: Match, kind: str, catalog: Catalog) -> dict[str, Any]:
    """Build an alert from an event row (with `sources`) and its catalog match.

    The seed's 15 fields come first, in its order, then the hunt's own fields and context.
    """
    tool = catalog.tools.get(match.tool_id) if match.tool_id else None
    techniques = list(SEED_TECHNIQUES)
    if tool is not None:
        techniques.extend(t for t in tool.techniques if t not in techniques)

    alert: dict[str, Any] = {name: event.get(name) for name in SEED_FIELDS}
    alert.update(
        {
            "tool": tool.name if tool is not None else match.tool_name,
            "tool_id": tool.id if tool is not None else None,
            "category": tool.category.value if tool is not None else None,
            "kind": kind,
            "matched_on": match.matched_on,
            "risk_score": BASE_RISK_SCORE,
            "severity": BASE_SEVERITY,
            "base_risk_score": BASE_RISK_SCORE,
            "mitre_techniques": techniques,
        }
    )
    for name in CONTEXT_COLUMNS:
        alert[name] = event.get(name)
    alert["sources"] = [dict(source) for source in event.get("sources") or []]
    return alert
