"""Enrichment: causality, running tools, vendor contacts, persistence, destinations, prevalence.

`prepare_dataset(engine)` runs before `hunt.run_hunt`. It links every event to the start of its
acting process and fills `actor_effective_username` where it is empty, from the Sysmon `User` of
the event or from the acting process's own start. It also fills the `causality_actor_*` columns
where a source left them empty, so the hunt's output fields carry those values.

`enrich(engine, catalog, options, alerts)` runs after the hunt. It adds alerts of three new
kinds and sets context keys on every alert, then returns all alerts in the hunt's order (newest
first, then host, then `event_id`).

Alert kinds added here (besides the hunt's `process_start` and `service_install`):

- `rmm_activity`: a catalog tool is the acting process of an event (a connection, DNS query,
  file or registry write, or a child process) and its own start is not an alert. One alert per
  host and process instance.
- `rmm_vendor_contact`: a process that is not a catalog tool resolves or connects to an RMM
  vendor's domain. One alert per host, process instance and tool.
- `persistence`: a scheduled task (Security 4698, Task Scheduler 106 and 129) or a Run or
  RunOnce registry value (Sysmon 13) whose command starts a catalog tool. One alert per host,
  task or value, and tool.

Keys that every alert carries after `enrich`:

- `causality_chain`: list of ancestors, nearest parent first. Each entry has `image_name`,
  `image_path`, `command_line`, `username`, `os_pid`, `instance_id` and `time` (the ancestor's
  start, a datetime or None when only the child's event describes it). Empty when unknown.
- `destinations`: list of remote ends that the alert's process contacted, each with
  `host_name` (DNS name or None), `address` (IP address or None), `port` (int or None),
  `address_scope` (`loopback`, `link_local`, `private`, `public`, `reserved` or None),
  `infrastructure` (`vendor` or `unknown`), `vendor_tool_id` (the catalog tool whose domain
  matched, or None), `source` (`network` or `dns`), `first_time`, `last_time` and `count`.
  Process starts, `rmm_activity` and `rmm_vendor_contact` alerts have a process to link;
  service installs and persistence alerts always get an empty list.
- `prevalence`: the alert's tool over the data, as a dict with `tool_id`, `hosts` (list),
  `users` (list), `host_count`, `first_seen`, `last_seen`, `estate_hosts` (hosts with any
  alert), `standard_tool` (tool id of the estate's standard tool, or None) and
  `is_standard_tool` (bool). None when the alert has no tool.
- `related_alerts`: `event_id`s of the same tool's other alerts on the same host, for
  `rmm_activity` and `persistence` alerts; an empty list for other kinds.

Keys that only some kinds carry:

- `rmm_activity`, `rmm_vendor_contact` and `persistence`: `first_time`, `last_time` (datetimes)
  and `event_count` (int) over the events that the alert groups.
- `rmm_activity`: `event_types`, a sorted list of `EVENT_TYPE/EVENT_SUB_TYPE` strings.
- `persistence`: `persistence_type` (`scheduled_task` or `run_key`), `persistence_name` (task
  name or registry value path) and `persistence_command` (the command that names the tool).
"""

from __future__ import annotations

from typing import Any, Final

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.context.activity import activity_alerts
from rmmhunt.context.causality import attach_chains, build_process_links
from rmmhunt.context.common import link_related_alerts
from rmmhunt.context.network import attach_destinations, vendor_contact_alerts
from rmmhunt.context.persistence import persistence_alerts
from rmmhunt.context.prevalence import attach_prevalence
from rmmhunt.hunt import HuntOptions, SqlEngine, sort_alerts

# Every alert kind that a hunt can raise, in the order the run summary lists them.
ALERT_KINDS: Final = (
    "process_start",
    "service_install",
    "rmm_activity",
    "rmm_vendor_contact",
    "persistence",
)


def prepare_dataset(engine: SqlEngine) -> None:
    """Link events to their processes' starts and fill the parent user and causality columns.

    `pipeline.load_inputs` runs it once, after the dataset is finalised, so that the hunt and
    XQL queries read the same columns. It only fills NULL values, so a source's own values are
    never replaced.
    """
    build_process_links(engine)


def enrich(
    engine: SqlEngine,
    catalog: Catalog,
    options: HuntOptions,
    alerts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Add activity, vendor contact and persistence alerts, then set context on every alert.

    `alerts` are the hunt's alerts, from a dataset that `prepare_dataset` has prepared. The
    `seed` profile adds no alerts of its own kinds, because it is the original hunt's filter and
    nothing more, but its alerts still get their context keys.

    Returns:
        The hunt's alerts and the new ones, newest first, then by host and `event_id`.
    """
    found = list(alerts)
    if options.profile != "seed":
        found.extend(activity_alerts(engine, catalog, options, found))
        found.extend(vendor_contact_alerts(engine, catalog, options))
        found.extend(persistence_alerts(engine, catalog, options, found))
    found = sort_alerts(found)

    link_related_alerts(found)
    attach_chains(engine, found)
    attach_destinations(engine, catalog, found)
    attach_prevalence(found)
    return found
