"""Process links, causality actors and causality chains rebuilt from process start events.

`build_process_links` links every event whose acting process is known to the start event of
that process, in the table `process_links(event_row, actor_row, linked_by, event_is_start)`.
For a process start the acting process is the parent, so its link is the parent's start. Sysmon
events link by process GUID (`actor_process_instance_id` to `action_process_instance_id`).
Events without a GUID, such as Security 4688, link by process id to the most recent start of
that id on the same host at or before the event, because Windows reuses process ids.

From those links it fills the parent's account where Sysmon left `ParentUser` out, and the
`causality_actor_*` columns where a source left them empty. docs/causality.md lists the
operating system's launchers at which the walk up the ancestors stops, with the reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rmmhunt import winpath
from rmmhunt.context.common import ACTOR_KINDS, HOST_KEY_SQL, PROCESS_START_SQL, find_event_rows
from rmmhunt.hunt import SqlEngine

LINKS_TABLE: Final = "process_links"
CAUSALITY_TABLE: Final = "causality_actors"
MAX_CHAIN_DEPTH: Final = 32

# Processes that Windows starts or that start programs on behalf of the system or the user
# (service control, logon, shell, scheduled tasks, WMI, COM brokers). A chain of activity
# begins below them. docs/causality.md gives the reason for each name.
LAUNCHERS: Final = frozenset(
    {
        "system",
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "winlogon.exe",
        "services.exe",
        "lsass.exe",
        "svchost.exe",
        "userinit.exe",
        "explorer.exe",
        "sihost.exe",
        "taskhostw.exe",
        "taskhost.exe",
        "taskeng.exe",
        "wmiprvse.exe",
        "runtimebroker.exe",
    }
)

# Launchers live in the Windows directory. A launcher name elsewhere is a look-alike binary,
# and it must not hide the chain that started it.
_LAUNCHER_DIRECTORIES: Final = ("\\windows\\", "\\systemroot\\")

_UNKNOWN_VALUES: Final = ("?", "-")

CAUSALITY_COLUMNS: Final = {
    "causality_actor_process_image_name": "image_name",
    "causality_actor_process_image_path": "image_path",
    "causality_actor_process_command_line": "command_line",
    "causality_actor_primary_username": "username",
    "causality_actor_process_image_sha256": "sha256",
    "causality_actor_process_instance_id": "instance_id",
}

_START_COLUMNS: Final = (
    "_row",
    "_time",
    "action_process_image_name",
    "action_process_image_path",
    "action_process_image_command_line",
    "action_process_username",
    "action_process_image_sha256",
    "action_process_os_pid",
    "action_process_instance_id",
    "actor_process_image_name",
    "actor_process_image_path",
    "actor_process_command_line",
    "actor_effective_username",
    "actor_process_image_sha256",
    "actor_process_os_pid",
    "actor_process_instance_id",
)


def is_launcher(image_name: object, image_path: object = None) -> bool:
    """Return whether a process is one of the operating system's launchers.

    The base name must be in LAUNCHERS. When the path is known it must also be under the
    Windows directory, so `C:\\Users\\x\\explorer.exe` is not a launcher.
    """
    name = image_name if isinstance(image_name, str) and image_name else None
    path = image_path if isinstance(image_path, str) and image_path.strip() else None
    if name is None and path is None:
        return False
    if winpath.basename(name or path or "") not in LAUNCHERS:
        return False
    if path is None:
        return True
    return winpath.strip_volume(path).startswith(_LAUNCHER_DIRECTORIES)


@dataclass(frozen=True)
class ProcessInfo:
    """One process as a causality chain or a causality actor shows it."""

    image_name: str | None
    image_path: str | None
    command_line: str | None
    username: str | None
    sha256: str | None
    instance_id: str | None
    os_pid: int | None
    time: Any = None
    row: int | None = None

    def is_known(self) -> bool:
        """Return whether the process has an image name or path.

        A process known only by its id or GUID gives an analyst nothing to act on, so it is left
        out of chains and never becomes a causality actor.
        """
        return bool(self.image_name or self.image_path)

    def chain_entry(self) -> dict[str, Any]:
        """Return the process as one `causality_chain` entry."""
        return {
            "image_name": self.image_name,
            "image_path": self.image_path,
            "command_line": self.command_line,
            "username": self.username,
            "os_pid": self.os_pid,
            "instance_id": self.instance_id,
            "time": self.time,
        }


def started_process(row: dict[str, Any]) -> ProcessInfo:
    """Return the process that a process start row created (its action)."""
    return ProcessInfo(
        image_name=row.get("action_process_image_name"),
        image_path=row.get("action_process_image_path"),
        command_line=row.get("action_process_image_command_line"),
        username=row.get("action_process_username"),
        sha256=row.get("action_process_image_sha256"),
        instance_id=row.get("action_process_instance_id"),
        os_pid=row.get("action_process_os_pid"),
        time=row.get("_time"),
        row=row.get("_row"),
    )


def acting_process(row: dict[str, Any]) -> ProcessInfo:
    """Return the acting process of a row (its actor), as far as the row describes it.

    Sysmon writes `?` or `-` for a parent it could not identify, so those count as missing.
    """
    return ProcessInfo(
        image_name=_known(row.get("actor_process_image_name")),
        image_path=_known(row.get("actor_process_image_path")),
        command_line=_known(row.get("actor_process_command_line")),
        username=row.get("actor_effective_username"),
        sha256=row.get("actor_process_image_sha256"),
        instance_id=row.get("actor_process_instance_id"),
        os_pid=row.get("actor_process_os_pid"),
    )


def _known(value: Any) -> Any:
    return None if value in _UNKNOWN_VALUES else value


def build_process_links(engine: SqlEngine) -> None:
    """Link events to their acting process's start, then fill parent users and causality actors.

    Creates or replaces the `process_links` table and updates `xdr_data` in place. Values that a
    source already wrote are never overwritten.
    """
    _create_links(engine)
    _fill_actor_users(engine)
    _fill_parent_users(engine)
    _fill_causality_actors(engine)


def _create_links(engine: SqlEngine) -> None:
    """Create `process_links`, by GUID where the event has one, else by host and process id."""
    engine.query(
        f"""
        CREATE OR REPLACE TABLE {LINKS_TABLE} AS
        WITH starts AS (
            SELECT _row, _time, {HOST_KEY_SQL} AS host_key,
                   action_process_instance_id AS instance_id, action_process_os_pid AS pid,
                   lower(action_process_image_name) AS image_name
            FROM xdr_data WHERE {PROCESS_START_SQL} AND agent_hostname IS NOT NULL
        ),
        events AS (
            SELECT _row, _time, {HOST_KEY_SQL} AS host_key,
                   actor_process_instance_id AS instance_id, actor_process_os_pid AS pid,
                   lower(actor_process_image_name) AS image_name
            FROM xdr_data
            WHERE agent_hostname IS NOT NULL
              AND (actor_process_instance_id IS NOT NULL OR actor_process_os_pid IS NOT NULL)
        ),
        by_instance AS (
            SELECT e._row AS event_row, s._row AS actor_row,
                   row_number() OVER (PARTITION BY e._row ORDER BY s._row) AS rank
            FROM events e JOIN starts s
              ON s.host_key = e.host_key AND s.instance_id = e.instance_id
            WHERE s._row <> e._row
        ),
        by_pid AS (
            SELECT e._row AS event_row, s._row AS actor_row,
                   s.image_name AS start_image, e.image_name AS event_image,
                   row_number() OVER (
                       PARTITION BY e._row ORDER BY s._time DESC, s._row DESC
                   ) AS rank
            FROM events e JOIN starts s
              ON s.host_key = e.host_key AND s.pid = e.pid AND s._time <= e._time
            WHERE e.instance_id IS NULL AND s._row <> e._row
        )
        SELECT l.event_row, l.actor_row, l.linked_by, s._row IS NOT NULL AS event_is_start
        FROM (
            SELECT event_row, actor_row, 'instance_id' AS linked_by FROM by_instance
            WHERE rank = 1
            UNION ALL
            SELECT event_row, actor_row, 'pid' AS linked_by FROM by_pid
            WHERE rank = 1
              AND (start_image IS NULL OR event_image IS NULL OR start_image = event_image)
        ) AS l
        LEFT JOIN starts s ON s._row = l.event_row
        """
    )
    # The most recent start of a process id is the only candidate. When its image name differs
    # from the event's, the real start is missing from the data, so the event stays unlinked.
    # NOTE: when the real start is missing and an older process with the same id and image name
    # started earlier on the host, the event links to that older process.


def _fill_actor_users(engine: SqlEngine) -> None:
    """Copy `actor_process_username` to `actor_effective_username` on events that are not starts.

    Sysmon writes the acting process's `User` on its other events (network, DNS, file,
    registry), and the readers keep it as `actor_process_username`. It is the same account.
    """
    engine.query(
        f"""
        UPDATE xdr_data SET actor_effective_username = actor_process_username
        WHERE actor_effective_username IS NULL AND actor_process_username IS NOT NULL
          AND NOT ({PROCESS_START_SQL})
        """
    )


def _fill_parent_users(engine: SqlEngine) -> None:
    """Fill `actor_effective_username` from the acting process's own start, where it is NULL.

    Sysmon writes `ParentUser` from version 13.30 on, so older process starts lack the
    parent's account, but the parent's own start event records it as its `User`.
    """
    engine.query(
        f"""
        UPDATE xdr_data SET actor_effective_username = parent.username
        FROM (
            SELECT l.event_row, p.action_process_username AS username
            FROM {LINKS_TABLE} l JOIN xdr_data p ON p._row = l.actor_row
            WHERE p.action_process_username IS NOT NULL
        ) AS parent
        WHERE xdr_data._row = parent.event_row AND xdr_data.actor_effective_username IS NULL
        """
    )


def _fill_causality_actors(engine: SqlEngine) -> None:
    """Compute the causality actor of every process start and write it where none is stored.

    A process start gets its own causality actor. Any other event gets that of its acting
    process's start. A row is filled only when all its `causality_actor_*` columns are NULL,
    because mixing an exported causality actor with a computed one would describe two processes.
    """
    starts = _load_starts(engine)
    actors = causality_actors(starts)
    rows = []
    for row_id, actor in actors.items():
        row: dict[str, Any] = {"start_row": str(row_id)}
        for field in CAUSALITY_COLUMNS.values():
            value = getattr(actor, field)
            row[field] = None if value is None else str(value)
        rows.append(row)
    engine.load_table(CAUSALITY_TABLE, rows, ["start_row", *CAUSALITY_COLUMNS.values()])

    # NOTE: an event whose acting process has no start in the data keeps NULL causality columns,
    # because nothing shows which chain the process belongs to.
    empty = " AND ".join(f"xdr_data.{column} IS NULL" for column in CAUSALITY_COLUMNS)
    assignments = ", ".join(f"{column} = f.{field}" for column, field in CAUSALITY_COLUMNS.items())
    fields = ", ".join(f"c.{field}" for field in CAUSALITY_COLUMNS.values())
    engine.query(
        f"""
        UPDATE xdr_data SET {assignments}
        FROM (
            SELECT CAST(c.start_row AS BIGINT) AS target_row, {fields} FROM {CAUSALITY_TABLE} c
            UNION ALL
            SELECT l.event_row AS target_row, {fields}
            FROM {LINKS_TABLE} l JOIN {CAUSALITY_TABLE} c
              ON CAST(c.start_row AS BIGINT) = l.actor_row
            WHERE NOT l.event_is_start
        ) AS f
        WHERE xdr_data._row = f.target_row AND {empty}
        """
    )


def _load_starts(engine: SqlEngine) -> dict[int, dict[str, Any]]:
    """Load every process start with the row of its parent's start (`parent_row`), by `_row`."""
    columns = ", ".join(f"s.{column}" for column in _START_COLUMNS)
    rows = engine.query(
        f"SELECT {columns}, l.actor_row AS parent_row FROM xdr_data s "
        f"LEFT JOIN {LINKS_TABLE} l ON l.event_row = s._row "
        f"WHERE s.event_type = 'PROCESS' AND s.event_sub_type = 'PROCESS_START'"
    )
    return {int(row["_row"]): row for row in rows}


def causality_actors(starts: dict[int, dict[str, Any]]) -> dict[int, ProcessInfo]:
    """Return the causality actor of each process start, by `_row`.

    The walk goes up from each process while its parent is not a launcher. When the parent is
    a launcher, the process reached is the causality actor. When the parent's start is not in
    the data, the parent as the event records it is the causality actor, unless it is a
    launcher or unnamed. Each walk stops after MAX_CHAIN_DEPTH steps or at a cycle.
    """
    resolved: dict[int, ProcessInfo] = {}
    for row_id in starts:
        if row_id in resolved:
            continue
        path = [row_id]
        actor = _walk_to_causality_actor(row_id, starts, resolved, path)
        # Every process on the walked path belongs to the same chain, below the same actor.
        for visited in path:
            resolved.setdefault(visited, actor)
    return resolved


def _walk_to_causality_actor(
    row_id: int,
    starts: dict[int, dict[str, Any]],
    resolved: dict[int, ProcessInfo],
    path: list[int],
) -> ProcessInfo:
    current = starts[row_id]
    for _ in range(MAX_CHAIN_DEPTH):
        parent_row = current.get("parent_row")
        parent = starts.get(int(parent_row)) if parent_row is not None else None
        if parent is None:
            recorded = acting_process(current)
            if not recorded.is_known() or is_launcher(recorded.image_name, recorded.image_path):
                return started_process(current)
            return recorded
        if is_launcher(
            parent.get("action_process_image_name"), parent.get("action_process_image_path")
        ):
            return started_process(current)

        parent_id = int(parent["_row"])
        if parent_id in resolved:
            return resolved[parent_id]
        if parent_id in path:
            return started_process(current)
        path.append(parent_id)
        current = parent
    return started_process(current)


def attach_chains(engine: SqlEngine, alerts: Sequence[dict[str, Any]]) -> None:
    """Set `causality_chain` on every alert: its process's ancestors, nearest parent first.

    A process start's chain begins with its parent. For `rmm_activity` and `rmm_vendor_contact`
    alerts the tool or contacting process is the event's actor, so the chain begins with the
    actor's parent. For other kinds, such as persistence, the chain begins with the event's
    actor, the process that wrote the task or registry value. Chains stop after MAX_CHAIN_DEPTH
    entries, at a cycle, or at the first ancestor whose start is not in the data.
    """
    rows = find_event_rows(engine, alerts)
    tree = _ProcessTree(engine)
    tree.load(row for row in rows if row is not None)
    tree.load(tree.actor_row(row) for row in rows if row is not None)

    for alert, row_id in zip(alerts, rows, strict=True):
        if row_id is None or row_id not in tree.rows:
            alert["causality_chain"] = []
            continue
        alert["causality_chain"] = _alert_chain(tree, alert, row_id)


def _alert_chain(tree: _ProcessTree, alert: dict[str, Any], row_id: int) -> list[dict[str, Any]]:
    event = tree.rows[row_id]
    is_start = event.get("event_type") == "PROCESS" and event.get("event_sub_type") == (
        "PROCESS_START"
    )
    if is_start and alert.get("kind") not in ACTOR_KINDS:
        return tree.ancestors(row_id)

    actor_row = tree.actor_row(row_id)
    if alert.get("kind") in ACTOR_KINDS:
        return tree.ancestors(actor_row) if actor_row is not None else []
    if actor_row is not None:
        return [started_process(tree.rows[actor_row]).chain_entry(), *tree.ancestors(actor_row)]
    actor = acting_process(event)
    return [actor.chain_entry()] if actor.is_known() else []


class _ProcessTree:
    """Rows of `xdr_data` with their links, fetched from the engine in batches and cached."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.rows: dict[int, dict[str, Any]] = {}

    def load(self, row_ids: Iterable[int | None]) -> None:
        missing = sorted({row for row in row_ids if row is not None and row not in self.rows})
        columns = ", ".join(f"x.{column}" for column in _START_COLUMNS)
        chunk = 5_000
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            placeholders = ", ".join("?" for _ in part)
            for row in self.engine.query(
                f"SELECT {columns}, x.event_type, x.event_sub_type, l.actor_row AS parent_row "
                f"FROM xdr_data x LEFT JOIN {LINKS_TABLE} l ON l.event_row = x._row "
                f"WHERE x._row IN ({placeholders})",
                list(part),
            ):
                self.rows[int(row["_row"])] = row

    def actor_row(self, row_id: int) -> int | None:
        parent = self.rows.get(row_id, {}).get("parent_row")
        return int(parent) if parent is not None else None

    def ancestors(self, row_id: int) -> list[dict[str, Any]]:
        """Return the ancestors of a process start's process, nearest first."""
        chain: list[dict[str, Any]] = []
        visited = {row_id}
        current = row_id
        while len(chain) < MAX_CHAIN_DEPTH:
            parent = self.actor_row(current)
            if parent is None:
                recorded = acting_process(self.rows[current])
                if recorded.is_known():
                    chain.append(recorded.chain_entry())
                break
            if parent in visited:
                break
            self.load([parent])
            if parent not in self.rows:
                break
            chain.append(started_process(self.rows[parent]).chain_entry())
            visited.add(parent)
            current = parent
        return chain
