"""Score alerts: the base risk score plus documented modifiers, with the reasons for each.

Every alert starts from `base_risk_score`, the original hunt's 60 (Medium). Each modifier that
applies adds its weight and one entry to `reasons`: `{id, weight, detail}`, where `detail`
names the value that triggered it. The sum is clamped to 0-100 as `risk_score`, and
`severity` is the band that the score falls in. docs/scoring.md lists every modifier, and a
test checks that the table there and `MODIFIERS` agree.

Modifiers read keys that earlier steps set: `approval` (the inventory), `launch_context`
(parent, ancestors, image path, command line), `destinations` and `prevalence` (enrichment).
A missing key adds nothing, so an alert without context keeps the base score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rmmhunt.context.network import address_scope
from rmmhunt.hunt import BASE_RISK_SCORE, sort_alerts

Alert = dict[str, Any]

MIN_SCORE: Final = 0
MAX_SCORE: Final = 100

# Severity bands, highest first: (severity, lowest score in the band). The names are Cortex
# XDR's severities. 60, the base score, stays Medium.
SEVERITY_BANDS: Final = (
    ("Critical", 90),
    ("High", 70),
    ("Medium", 40),
    ("Low", 20),
    ("Informational", 0),
)
SEVERITIES: Final = tuple(name for name, _ in reversed(SEVERITY_BANDS))
SORT_ORDERS: Final = ("score", "time")

# Below this share of the estate's hosts, a tool counts as rare (at least one host is rare).
# NOTE: 10 % is a judgement, not a threshold measured on real estates.
RARE_HOST_SHARE: Final = 0.1


@dataclass(frozen=True)
class Modifier:
    """A documented change to the risk score: its id, weight and what it means."""

    id: str
    weight: int
    description: str


MODIFIERS: Final[dict[str, Modifier]] = {
    modifier.id: modifier
    for modifier in (
        Modifier("approved", -40, "an inventory approval covers the alert"),
        Modifier(
            "outside_approval",
            20,
            "the tool is approved, but not for this host, user, path, signer, parent or time",
        ),
        Modifier("not_approved", 10, "an inventory was given and no approval names the tool"),
        Modifier("parent_email_client", 25, "the parent is an email client"),
        Modifier("parent_office", 25, "the parent is a Microsoft Office application"),
        Modifier("parent_script_host", 15, "the parent is a script host or LOLBin"),
        Modifier("parent_browser", 10, "the parent is a web browser"),
        Modifier("parent_remote_session", 10, "the parent is a remote session host"),
        Modifier("parent_service_control_manager", -10, "the parent is services.exe"),
        Modifier("chain_office", 20, "an ancestor above the parent is Office or an email client"),
        Modifier(
            "chain_script_host",
            10,
            "an ancestor above the parent is a script host or LOLBin, and the parent is not",
        ),
        Modifier(
            "path_user_writable",
            15,
            "the image is in Downloads, the Desktop, Temp, the "
            "Public profile, the root of ProgramData, the Recycle Bin or PerfLogs",
        ),
        Modifier(
            "path_user_profile", 10, "the image is elsewhere in a user profile, such as AppData"
        ),
        Modifier("path_network_share", 10, "the image is on a network share"),
        Modifier("path_vendor_install", -10, "the image is in one of the tool's install paths"),
        Modifier(
            "path_outside_install",
            5,
            "the catalog lists install paths for the tool, the image is in none of them, and "
            "no other path modifier applies",
        ),
        Modifier("renamed_binary", 25, "the tool runs under a file name that is not its own"),
        Modifier(
            "invalid_signature",
            15,
            "the event records a signature status for the image, and it is not a valid signature",
        ),
        Modifier("unattended_access", 20, "the command line sets up unattended access"),
        Modifier("silent_install", 10, "the command line installs the tool silently"),
        Modifier("autostart_option", 5, "the command line makes the tool start with Windows"),
        Modifier(
            "unknown_relay",
            15,
            "the tool names or contacts a relay or server that is not its vendor's",
        ),
        Modifier(
            "internal_destinations",
            5,
            "the tool names or contacts hosts inside the network (loopback, link-local or "
            "private addresses, single-label names, the agent's own domain): lateral movement "
            "or a local tunnel rather than a vendor relay",
        ),
        Modifier("vendor_destinations_only", -5, "every contacted destination is the vendor's"),
        Modifier(
            "rare_tool_in_estate",
            15,
            "the tool ran on few hosts, and another tool is the estate's standard",
        ),
        Modifier("estate_standard_tool", -5, "the tool is the estate's standard tool"),
        Modifier("persistence_entry", 10, "a scheduled task or Run key starts the tool"),
        Modifier(
            "vendor_contact_only",
            -10,
            "a process only contacted the vendor; the tool was not seen running",
        ),
    )
}

# Weights of the parent's class, by `ProcessClass` value. Installers and Explorer add nothing:
# both start sanctioned and unsanctioned tools alike.
_PARENT_MODIFIERS: Final = {
    "email_client": "parent_email_client",
    "office": "parent_office",
    "script_host": "parent_script_host",
    "browser": "parent_browser",
    "remote_session": "parent_remote_session",
    "service_control_manager": "parent_service_control_manager",
}
_OFFICE_CLASSES: Final = frozenset({"office", "email_client"})
_USER_WRITABLE_PATHS: Final = frozenset(
    {"downloads", "desktop", "temp", "public", "programdata_root", "recycle_bin", "perflogs"}
)
_USER_PROFILE_PATHS: Final = frozenset({"appdata", "user_profile"})
_COMMAND_LINE_MODIFIERS: Final = {
    "unattended_access": "unattended_access",
    "silent_install": "silent_install",
    "autostart": "autostart_option",
}
# Signature status values that mean a valid signature, as the inventory reads them.
_VALID_SIGNATURES: Final = frozenset({"signed", "valid", "signed_valid", "trusted"})

Hit = tuple[str, str]
Rule = Callable[[Alert], list[Hit]]


def score_alerts(alerts: Iterable[Alert]) -> None:
    """Set `reasons`, `risk_score` and `severity` on every alert."""
    for alert in alerts:
        score_alert(alert)


def score_alert(alert: Alert) -> None:
    """Set `reasons`, `risk_score` and `severity` on one alert, from its context keys."""
    base = int(alert.get("base_risk_score") or BASE_RISK_SCORE)
    reasons: list[dict[str, Any]] = []
    for rule in _RULES:
        for modifier_id, detail in rule(alert):
            modifier = MODIFIERS[modifier_id]
            reasons.append({"id": modifier.id, "weight": modifier.weight, "detail": detail})

    total = base + sum(int(reason["weight"]) for reason in reasons)
    alert["base_risk_score"] = base
    alert["risk_score"] = max(MIN_SCORE, min(MAX_SCORE, total))
    alert["severity"] = severity_for(alert["risk_score"])
    alert["reasons"] = reasons


def severity_for(score: int) -> str:
    """Return the severity band of a score. Scores outside 0-100 take the nearest band."""
    for name, lowest in SEVERITY_BANDS:
        if score >= lowest:
            return name
    return SEVERITY_BANDS[-1][0]


def severity_at_least(severity: object, minimum: str) -> bool:
    """Return whether a severity name is at or above `minimum`, ignoring case."""
    ranks = {name.casefold(): rank for rank, name in enumerate(SEVERITIES)}
    rank = ranks.get(str(severity).casefold())
    return rank is not None and rank >= ranks[minimum.casefold()]


def order_alerts(alerts: Sequence[Alert], sort: str) -> list[Alert]:
    """Order alerts by `score` (highest first, then newest first) or by `time` (newest first).

    Both orders break ties by host and `event_id`, and put alerts without a time last among
    alerts of equal score.
    """
    if sort not in SORT_ORDERS:
        raise ValueError(f"unknown sort order {sort!r}; use one of {', '.join(SORT_ORDERS)}")
    by_time = sort_alerts(list(alerts))
    if sort == "time":
        return by_time
    # `sorted` is stable, so alerts of equal score keep the newest-first order.
    # NOTE: alerts whose weights exceed 100 are clamped, so among them time alone decides.
    return sorted(by_time, key=lambda alert: -int(alert.get("risk_score") or 0))


def _approval(alert: Alert) -> list[Hit]:
    approval = alert.get("approval")
    if not isinstance(approval, dict):
        return []
    status = approval.get("status")
    reason = str(approval.get("reason") or "")
    if status in ("approved", "outside_approval", "not_approved"):
        return [(str(status), reason)]
    return []


def _launch(alert: Alert) -> dict[str, Any]:
    context = alert.get("launch_context")
    return context if isinstance(context, dict) else {}


def _parent(alert: Alert) -> list[Hit]:
    parent = _launch(alert).get("parent")
    if not isinstance(parent, dict):
        return []
    modifier_id = _PARENT_MODIFIERS.get(str(parent.get("class")))
    if modifier_id is None:
        return []
    return [(modifier_id, f"parent {parent.get('image_name') or parent.get('image_path')}")]


def _chain(alert: Alert) -> list[Hit]:
    context = _launch(alert)
    parent = context.get("parent") or {}
    parent_class = parent.get("class") if isinstance(parent, dict) else None
    hits: list[Hit] = []
    office = [a for a in context.get("ancestors") or [] if a.get("class") in _OFFICE_CLASSES]
    if office:
        hits.append(("chain_office", f"started below {office[0].get('image_name')}"))
    scripts = [a for a in context.get("ancestors") or [] if a.get("class") == "script_host"]
    if scripts and parent_class != "script_host":
        hits.append(("chain_script_host", f"started below {scripts[0].get('image_name')}"))
    return hits


def _path(alert: Alert) -> list[Hit]:
    context = _launch(alert)
    path = context.get("image_path")
    path_class = context.get("image_path_class")
    if context.get("vendor_install_path"):
        return [("path_vendor_install", f"{path}")]
    if path_class in _USER_WRITABLE_PATHS:
        return [("path_user_writable", f"{path} ({str(path_class).replace('_', ' ')})")]
    if path_class in _USER_PROFILE_PATHS:
        return [("path_user_profile", f"{path}")]
    if path_class == "network_share":
        return [("path_network_share", f"{path}")]
    # A driver lives under System32\drivers, never in the tool's install folder.
    is_driver = "driver_name" in (alert.get("matched_on") or [])
    if context.get("has_install_paths") and path_class not in (None, "program_files"):
        return [] if is_driver else [("path_outside_install", f"{path}")]
    return []


def _renamed(alert: Alert) -> list[Hit]:
    renamed = _launch(alert).get("renamed")
    if not isinstance(renamed, dict):
        return []
    return [
        ("renamed_binary", f"{renamed.get('image_name')}, identified by {renamed.get('evidence')}")
    ]


def _signature(alert: Alert) -> list[Hit]:
    status = alert.get("action_process_signature_status")
    if alert.get("kind") != "process_start" or not status:
        return []
    if str(status).casefold() in _VALID_SIGNATURES:
        return []
    return [("invalid_signature", f"signature status {status}")]


def _command_line(alert: Alert) -> list[Hit]:
    hits: dict[str, str] = {}
    for finding in _launch(alert).get("findings") or []:
        modifier_id = _COMMAND_LINE_MODIFIERS.get(str(finding.get("category")))
        if modifier_id is not None and modifier_id not in hits:
            hits[modifier_id] = str(finding.get("detail"))
    return list(hits.items())


def _relays(alert: Alert) -> list[Hit]:
    servers = [s for s in _launch(alert).get("servers") or [] if isinstance(s, dict)]
    destinations = [d for d in alert.get("destinations") or [] if isinstance(d, dict)]
    unknown = [str(s.get("host")) for s in servers if s.get("infrastructure") == "unknown"]
    unknown += [
        str(d.get("host_name") or d.get("address"))
        for d in destinations
        if d.get("infrastructure") == "unknown"
    ]

    # A relay is outside the network. Unknown hosts inside it are a different signal.
    domain = _agent_domain(alert.get("agent_hostname"))
    internal = [host for host in unknown if _is_internal_host(host, domain)]
    external = [host for host in unknown if host not in internal]
    hits: list[Hit] = []
    if external:
        hits.append(("unknown_relay", _listing(external)))
    if internal:
        hits.append(("internal_destinations", _listing(internal)))
    if hits:
        return hits

    if destinations and all(d.get("infrastructure") == "vendor" for d in destinations):
        return [("vendor_destinations_only", f"{len(destinations)} vendor destination(s)")]
    return []


def _agent_domain(hostname: object) -> str | None:
    if not isinstance(hostname, str) or "." not in hostname.strip("."):
        return None
    return hostname.strip(".").split(".", 1)[1].casefold()


def _is_internal_host(host: str, agent_domain: str | None) -> bool:
    """Return whether a destination is inside the network, judged by its address or name.

    Documentation and other reserved ranges are not internal, because no estate routes them.
    """
    scope = address_scope(host)
    if scope is not None:
        return scope in ("loopback", "link_local", "private")

    name = host.strip().rstrip(".").casefold()
    if "." not in name:
        return True
    return agent_domain is not None and name.endswith("." + agent_domain)


def _listing(hosts: list[str]) -> str:
    listed = list(dict.fromkeys(hosts))
    text = ", ".join(listed[:3])
    if len(listed) > 3:
        text += f" and {len(listed) - 3} more"
    return text


def _prevalence(alert: Alert) -> list[Hit]:
    prevalence = alert.get("prevalence")
    if not isinstance(prevalence, dict) or alert.get("kind") == "rmm_vendor_contact":
        return []
    standard = prevalence.get("standard_tool")
    tool_id = prevalence.get("tool_id") or alert.get("tool_id")
    if standard is None:
        return []
    if prevalence.get("is_standard_tool") or standard == tool_id:
        return [("estate_standard_tool", f"{standard} is the standard tool")]

    hosts = int(prevalence.get("host_count") or 0)
    estate = int(prevalence.get("estate_hosts") or 0)
    if 0 < hosts <= max(1, int(estate * RARE_HOST_SHARE)):
        return [("rare_tool_in_estate", f"on {hosts} of {estate} hosts; {standard} is standard")]
    return []


def _kind(alert: Alert) -> list[Hit]:
    kind = alert.get("kind")
    if kind == "persistence":
        name = alert.get("persistence_name") or alert.get("persistence_type") or "an entry"
        return [("persistence_entry", str(name))]
    if kind == "rmm_vendor_contact":
        return [("vendor_contact_only", str(alert.get("actor_process_image_name") or "a process"))]
    return []


_RULES: Final[tuple[Rule, ...]] = (
    _approval,
    _parent,
    _chain,
    _path,
    _renamed,
    _signature,
    _command_line,
    _relays,
    _prevalence,
    _kind,
)
