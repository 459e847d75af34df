"""Prevalence of each tool in the data: the hosts and users it ran on, first and last seen.

"First seen" is over the data at hand, as Elastic's new-terms rules compute it over their
history window, so a tool new to this data may be old to the estate. The estate is every host
with any alert. Its standard tool is the remote access tool (category `rmm` or
`remote-desktop`) on the most hosts. It exists only when that tool covers at least half of the
estate, the estate has at least MIN_ESTATE_HOSTS hosts, and no other such tool ties with it.
Admin tools and tunnels such as PsExec are never the standard, because they are not what an
estate chooses for remote support.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from rmmhunt.context.common import alert_tool_key, earliest, host_key, latest

# Below this many hosts, a tool on half of them shows nothing about the estate's standard.
MIN_ESTATE_HOSTS: Final = 3

# Vendor contacts show that a process reached the vendor, not that the tool ran there.
NOT_RUNNING_KINDS: Final = frozenset({"rmm_vendor_contact"})

STANDARD_TOOL_CATEGORIES: Final = frozenset({"rmm", "remote-desktop"})

# Spellings of one built-in account, as service installs and process events write them.
_ACCOUNT_ALIASES: Final = {
    "localsystem": "NT AUTHORITY\\SYSTEM",
    ".\\localsystem": "NT AUTHORITY\\SYSTEM",
    "nt authority\\localservice": "NT AUTHORITY\\LOCAL SERVICE",
    "nt authority\\networkservice": "NT AUTHORITY\\NETWORK SERVICE",
}


@dataclass(frozen=True)
class Prevalence:
    """A tool's spread over the data's hosts and users."""

    tool_key: str
    tool_id: str | None
    hosts: tuple[str, ...]
    users: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    estate_hosts: int
    standard_tool: str | None

    @property
    def host_count(self) -> int:
        """Number of distinct hosts that the tool ran on."""
        return len(self.hosts)

    def as_dict(self) -> dict[str, Any]:
        """Return the `prevalence` value that alerts carry."""
        return {
            "tool_id": self.tool_id,
            "hosts": list(self.hosts),
            "users": list(self.users),
            "host_count": self.host_count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "estate_hosts": self.estate_hosts,
            "standard_tool": self.standard_tool,
            "is_standard_tool": self.standard_tool is not None
            and self.tool_key == self.standard_tool,
        }


def attach_prevalence(alerts: Sequence[dict[str, Any]]) -> dict[str, Prevalence]:
    """Compute each tool's prevalence, set `prevalence` on every alert and return it by tool.

    Tools are keyed by tool id, or by case-folded tool name when an alert has no id. Host names
    compare case-folded and without their domain. Alerts without a tool get `prevalence` None.
    """
    hosts: dict[str, set[str]] = defaultdict(set)
    users: dict[str, dict[str, str]] = defaultdict(dict)
    times: dict[str, list[object]] = defaultdict(list)
    tool_ids: dict[str, str | None] = {}
    categories: dict[str, object] = {}
    estate: set[str] = set()

    for alert in alerts:
        host = host_key(alert.get("agent_hostname"))
        if host is not None:
            estate.add(host)
        key = alert_tool_key(alert)
        if key is None:
            continue
        tool_ids.setdefault(key, alert.get("tool_id"))
        categories.setdefault(key, alert.get("category"))
        if alert.get("kind") in NOT_RUNNING_KINDS:
            continue
        if host is not None:
            hosts[key].add(host)
        user = alert_user(alert)
        if user:
            users[key].setdefault(user.casefold(), user)
        times[key].extend(alert.get(name) for name in ("_time", "first_time", "last_time"))

    remote_access = {
        key: len(found)
        for key, found in hosts.items()
        if categories.get(key) in STANDARD_TOOL_CATEGORIES
    }
    standard = standard_tool(remote_access, len(estate))
    prevalence = {
        key: Prevalence(
            tool_key=key,
            tool_id=tool_ids[key],
            hosts=tuple(sorted(hosts[key])),
            users=tuple(sorted(users[key].values(), key=str.casefold)),
            first_seen=earliest(times[key]),
            last_seen=latest(times[key]),
            estate_hosts=len(estate),
            standard_tool=standard,
        )
        for key in tool_ids
    }

    for alert in alerts:
        key = alert_tool_key(alert)
        found = prevalence.get(key) if key is not None else None
        alert["prevalence"] = found.as_dict() if found is not None else None
    return prevalence


def standard_tool(host_counts: dict[str, int], estate_hosts: int) -> str | None:
    """Return the estate's standard tool by the rule in this module's docstring, or None."""
    if estate_hosts < MIN_ESTATE_HOSTS or not host_counts:
        return None
    maximum = max(host_counts.values())
    leaders = [key for key, count in host_counts.items() if count == maximum]
    if len(leaders) != 1 or maximum * 2 < estate_hosts:
        return None
    return leaders[0]


def alert_user(alert: dict[str, Any]) -> str | None:
    """Return the account that the alert's tool process ran as, when the alert records it.

    A process start records it as the new process's user, a service install as the service
    account, and activity as the acting process's user. A persistence alert has no tool
    process yet, so it records the account that created the task or value.
    """
    kind = alert.get("kind")
    if kind == "process_start":
        value = alert.get("action_process_username")
    elif kind == "service_install":
        value = alert.get("action_service_account")
    else:
        value = alert.get("actor_effective_username")
    if not value:
        return None
    text = str(value)
    return _ACCOUNT_ALIASES.get(text.casefold(), text)
