"""Network destinations of RMM processes, and contacts with RMM vendors by other processes.

Connections and DNS queries are `NETWORK` rows: Sysmon 3 (NETWORK_CONNECTION), Sysmon 22
(DNS_QUERY) and the NETWORK rows of Cortex XDR exports. In each, the connecting or querying
process is the actor, the remote end is `action_remote_ip` and `action_remote_port`, and the
remote name is `action_external_hostname` or, for a query, `dns_query_name`.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.context.common import (
    ACTOR_KINDS,
    HOST_KEY_SQL,
    event_filters,
    process_key_sql,
    tool_in_categories,
)
from rmmhunt.hunt import HuntOptions, Match, SqlEngine, build_alert, fetch_events, sort_alerts
from rmmhunt.normalise import short_hostname
from rmmhunt.schema import EVENT_TYPE_NETWORK

ALERT_PROCESSES_TABLE: Final = "alert_processes"
VENDOR_HOSTS_TABLE: Final = "vendor_hosts"

PRIVATE_NETWORKS: Final = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)

_REMOTE_NAME_SQL: Final = "lower(coalesce(n.action_external_hostname, n.dns_query_name))"
_PROCESS_COLUMNS: Final = ["alert_index", "host_key", "instance_id", "pid", "image_path", "start"]


def attach_destinations(
    engine: SqlEngine, catalog: Catalog, alerts: Sequence[dict[str, Any]]
) -> None:
    """Set `destinations` on every alert: the remote ends that the alert's process reached.

    A process start alert's process is its action. Its connections and queries match by GUID
    when both sides have one. Otherwise they match by host and process id from the start up to
    the next start of that process id on the host. For `rmm_activity` and `rmm_vendor_contact`
    alerts the process is the event's actor, matched by GUID, else by process id and image
    path. When the source gives the actor neither, events without either match by image path
    alone. Each destination aggregates one host name, IP address, port and source. Its
    `infrastructure` is `vendor` when the host name is a catalog tool's domain or a subdomain
    of it on a label boundary, else `unknown`.
    """
    processes = [_alert_process(index, alert) for index, alert in enumerate(alerts)]
    rows = [process for process in processes if process is not None]
    for alert in alerts:
        alert["destinations"] = []
    if not rows:
        return

    engine.load_table(ALERT_PROCESSES_TABLE, rows, _PROCESS_COLUMNS)
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in engine.query(_destinations_sql()):
        found[int(row["alert_index"])].append(row)

    for index, destinations in found.items():
        alert = alerts[index]
        alert["destinations"] = [
            _destination(row, catalog, alert.get("tool_id")) for row in destinations
        ]


def _alert_process(index: int, alert: dict[str, Any]) -> dict[str, Any] | None:
    """Describe the alert's process for the join, or return None when the alert has none."""
    host = short_hostname(alert.get("agent_hostname"))
    if host is None:
        return None
    if alert.get("kind") in ACTOR_KINDS:
        instance = alert.get("actor_process_instance_id")
        pid = alert.get("actor_process_os_pid")
        path = alert.get("actor_process_image_path")
        start = None
    elif alert.get("kind") == "process_start":
        instance = alert.get("action_process_instance_id")
        pid = alert.get("action_process_os_pid")
        path = None
        start = alert.get("_time")
        if instance is None and start is None:
            return None
    else:
        return None
    if instance is None and pid is None and path is None:
        return None
    return {
        "alert_index": str(index),
        "host_key": host,
        "instance_id": instance,
        "pid": None if pid is None else str(pid),
        "image_path": None if path is None else str(path).lower(),
        "start": None if start is None else start.isoformat(),
    }


def _destinations_sql() -> str:
    """Join network rows to alert processes and aggregate them per remote end."""
    return f"""
        WITH p AS (
            SELECT CAST(alert_index AS INTEGER) AS alert_index, host_key, instance_id,
                   CAST(pid AS BIGINT) AS pid, image_path, CAST(start AS TIMESTAMPTZ) AS start
            FROM {ALERT_PROCESSES_TABLE}
        ),
        windows AS (
            SELECT p.*, (
                SELECT min(s._time) FROM xdr_data s
                WHERE s.event_type = 'PROCESS' AND s.event_sub_type = 'PROCESS_START'
                  AND split_part(lower(s.agent_hostname), '.', 1) = p.host_key
                  AND s.action_process_os_pid = p.pid AND s._time > p.start
            ) AS next_start
            FROM p
        ),
        n AS (
            SELECT *, {HOST_KEY_SQL} AS host_key FROM xdr_data
            WHERE event_type = '{EVENT_TYPE_NETWORK}'
        ),
        linked AS (
            SELECT w.alert_index, n._time, {_REMOTE_NAME_SQL} AS remote_name,
                   n.action_remote_ip AS ip, n.action_remote_port AS port,
                   CASE WHEN n.dns_query_name IS NOT NULL OR n.event_sub_type = 'DNS_QUERY'
                        THEN 'dns' ELSE 'network' END AS source
            FROM windows w JOIN n ON n.host_key = w.host_key
            WHERE (w.instance_id IS NOT NULL AND n.actor_process_instance_id IS NOT NULL
                   AND n.actor_process_instance_id = w.instance_id)
               OR ((w.instance_id IS NULL OR n.actor_process_instance_id IS NULL)
                   AND n.actor_process_os_pid = w.pid
                   AND (
                       (w.start IS NOT NULL AND n._time >= w.start
                        AND (w.next_start IS NULL OR n._time < w.next_start))
                    OR (w.start IS NULL AND w.image_path IS NOT NULL
                        AND lower(n.actor_process_image_path) = w.image_path)
                   ))
               OR (w.instance_id IS NULL AND w.pid IS NULL AND n.actor_process_instance_id IS NULL
                   AND n.actor_process_os_pid IS NULL AND w.image_path IS NOT NULL
                   AND lower(n.actor_process_image_path) = w.image_path)
        )
        SELECT alert_index, remote_name, ip, port, source,
               min(_time) AS first_time, max(_time) AS last_time, count(*) AS count
        FROM linked
        GROUP BY alert_index, remote_name, ip, port, source
        ORDER BY alert_index, first_time NULLS LAST, remote_name, ip, port
    """


def _destination(row: dict[str, Any], catalog: Catalog, tool_id: object) -> dict[str, Any]:
    """Build one `destinations` entry, marking the vendor whose domain the host name is under.

    When several tools claim the domain, the alert's own tool names it, else the first by id.
    """
    host_name = row.get("remote_name")
    tools = catalog.match_domain(host_name) if host_name else []
    ids = [tool.id for tool in tools]
    vendor = None
    if tool_id in ids:
        vendor = str(tool_id)
    elif ids:
        vendor = ids[0]
    # NOTE: only host names are compared with vendor domains. A connection that Sysmon logged
    # with an IP address alone is `unknown` even when the address belongs to the vendor.
    return {
        "host_name": host_name,
        "address": row.get("ip"),
        "port": row.get("port"),
        "address_scope": address_scope(row.get("ip")),
        "infrastructure": "vendor" if vendor else "unknown",
        "vendor_tool_id": vendor,
        "source": row.get("source"),
        "first_time": row.get("first_time"),
        "last_time": row.get("last_time"),
        "count": int(row["count"]),
    }


def address_scope(address: object) -> str | None:
    """Classify an IP address as `loopback`, `link_local`, `private`, `public` or `reserved`.

    `private` is RFC 1918, shared address space (RFC 6598) and IPv6 unique local addresses.
    `public` is what Python's `ipaddress` calls global. Everything else, such as multicast and
    the documentation ranges, is `reserved`. Returns None when the value is not an IP address.
    """
    if not isinstance(address, str) or not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if any(ip in network for network in PRIVATE_NETWORKS if network.version == ip.version):
        return "private"
    if ip.is_global and not ip.is_multicast:
        return "public"
    return "reserved"


def vendor_contact_alerts(
    engine: SqlEngine, catalog: Catalog, options: HuntOptions
) -> list[dict[str, Any]]:
    """Raise `rmm_vendor_contact` alerts: other processes that reach RMM vendor domains.

    A browser or PowerShell that resolves or connects to an RMM vendor's domain often fetches
    the tool before it runs. The process must not be a catalog tool itself, whatever the
    category. One alert covers one host, process (GUID, else process id and image path) and
    tool, with `first_time`, `last_time` and `event_count` over its events.
    """
    vendor_hosts = _vendor_hosts(engine, catalog, options.categories)
    if not vendor_hosts:
        return []
    engine.load_table(
        VENDOR_HOSTS_TABLE,
        [{"host": host, "tool_id": tool_id} for host, tool_id in vendor_hosts.items()],
        ["host", "tool_id"],
    )

    filters, parameters = event_filters(options)
    groups = engine.query(
        f"""
        WITH n AS (
            SELECT *, {_REMOTE_NAME_SQL} AS remote_name, {HOST_KEY_SQL} AS host_key,
                   {process_key_sql("n")} AS process_key
            FROM xdr_data n
            WHERE n.event_type = '{EVENT_TYPE_NETWORK}' AND {filters}
        )
        SELECT n.host_key, n.process_key, v.tool_id, min(n._row) AS first_row,
               min(n._time) AS first_time, max(n._time) AS last_time, count(*) AS event_count,
               min(lower(n.actor_process_image_name)) AS image_name
        FROM n JOIN {VENDOR_HOSTS_TABLE} v ON v.host = n.remote_name
        GROUP BY n.host_key, n.process_key, v.tool_id
        """,
        parameters,
    )

    candidates = [g for g in groups if not _is_catalog_tool(catalog, g.get("image_name"))]
    events = {int(e["_row"]): e for e in fetch_events(engine, [g["first_row"] for g in candidates])}
    alerts = []
    for group in candidates:
        tool = catalog.tools[str(group["tool_id"])]
        match = Match(tool.id, tool.name, tool.category.value, matched_on=["domain"])
        alert = build_alert(events[int(group["first_row"])], match, "rmm_vendor_contact", catalog)
        alert["first_time"] = group["first_time"]
        alert["last_time"] = group["last_time"]
        alert["event_count"] = int(group["event_count"])
        alerts.append(alert)
    return sort_alerts(alerts)


def _vendor_hosts(
    engine: SqlEngine, catalog: Catalog, categories: frozenset[str]
) -> dict[str, str]:
    """Map each remote name in the data that is a vendor domain to the domain's tool id."""
    names = engine.query(
        f"SELECT DISTINCT {_REMOTE_NAME_SQL} AS remote_name FROM xdr_data n "
        f"WHERE n.event_type = '{EVENT_TYPE_NETWORK}' "
        "AND coalesce(n.action_external_hostname, n.dns_query_name) IS NOT NULL"
    )
    hosts: dict[str, str] = {}
    for row in names:
        name = str(row["remote_name"])
        tools = [t for t in catalog.match_domain(name) if tool_in_categories(t, categories)]
        if tools:
            # When several tools claim a domain, the first by id names it, so results are stable.
            hosts[name] = tools[0].id
    return hosts


def _is_catalog_tool(catalog: Catalog, image_name: object) -> bool:
    return isinstance(image_name, str) and bool(catalog.match_image_name(image_name))
