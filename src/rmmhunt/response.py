"""Fill in the original hunt's four response steps for each alert, as a checklist.

The hunt's recommended response is: verify that the tool is authorised for that endpoint and
user, investigate the parent process and causality chain, analyse the tool's network
connections, and isolate and remediate when the activity is malicious. `attach_response` sets
`response` on every alert: four `{step, id, title, action}` entries in that order, where
`action` names this alert's approval, chain, destinations and host.

The text quotes telemetry values (paths, host names, users), which are attacker-controlled.
Renderers escape them as they escape every other alert field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from rmmhunt.report.formats import format_time

Alert = dict[str, Any]

RESPONSE_STEPS: Final = (
    ("verify_legitimacy", "Verify legitimacy"),
    ("investigate_causality", "Investigate causality"),
    ("analyze_network", "Analyze network connections"),
    ("isolate_and_remediate", "Isolate and remediate"),
)

# Entries of a chain or destination list to name before "and N more".
_MAX_LISTED: Final = 4


def attach_response(alerts: Iterable[Alert]) -> None:
    """Set `response` on every alert: the four steps, filled in for that alert."""
    for alert in alerts:
        actions = (
            _verify_legitimacy(alert),
            _investigate_causality(alert),
            _analyze_network(alert),
            _isolate_and_remediate(alert),
        )
        alert["response"] = [
            {"step": number, "id": step_id, "title": title, "action": action}
            for number, ((step_id, title), action) in enumerate(
                zip(RESPONSE_STEPS, actions, strict=True), start=1
            )
        ]


def _tool(alert: Alert) -> str:
    return str(alert.get("tool") or alert.get("action_process_image_name") or "the tool")


def _host(alert: Alert) -> str:
    return str(alert.get("agent_hostname") or "the host (not recorded)")


def _user(alert: Alert) -> str:
    user = alert.get("action_process_username") or alert.get("actor_effective_username")
    return str(user) if user else "an unrecorded user"


def _verify_legitimacy(alert: Alert) -> str:
    approval = alert.get("approval")
    tool, host, user = _tool(alert), _host(alert), _user(alert)
    if not isinstance(approval, dict):
        return (
            f"Check your software policy: is {tool} authorised on {host} for {user}? "
            "No inventory was given; pass --inventory FILE to compare automatically."
        )
    status = approval.get("status")
    if status == "approved":
        return (
            f"Approval {approval.get('approval_id')} covers this use of {tool}; confirm that "
            "the approval is still current and that its owner expects this run."
        )
    if status == "outside_approval":
        return (
            f"{tool} is approved, but this alert is {approval.get('reason')}. Ask the owner "
            f"of approval {approval.get('approval_id')} whether this use on {host} is sanctioned."
        )
    return (
        f"No approval names {tool}. Confirm with IT whether it is authorised on {host} for "
        f"{user}; until then, treat it as unauthorised."
    )


def _investigate_causality(alert: Alert) -> str:
    chain = [entry for entry in alert.get("causality_chain") or [] if isinstance(entry, dict)]
    context = alert.get("launch_context") or {}
    names = [str(entry.get("image_name") or entry.get("image_path")) for entry in chain]
    if not names and isinstance(context.get("parent"), dict):
        names = [str(context["parent"].get("image_name") or context["parent"].get("image_path"))]

    path = context.get("image_path")
    location = f" The image is {path} ({context.get('image_path_class')})." if path else ""
    if not names:
        return (
            f"No parent process is recorded. Collect the process tree of {_tool(alert)} on "
            f"{_host(alert)} around {_time(alert)} to see how it was installed and started."
            f"{location}"
        )

    chain_text = " <- ".join([_tool(alert), *names[:_MAX_LISTED]])
    if len(names) > _MAX_LISTED:
        chain_text += f" <- ... ({len(names) - _MAX_LISTED} more)"
    return (
        f"Inspect the chain {chain_text}. Look for droppers, scripts or email attachments among "
        f"the ancestors, and for the file that created the image.{location}"
    )


def _analyze_network(alert: Alert) -> str:
    destinations = [d for d in alert.get("destinations") or [] if isinstance(d, dict)]
    context = alert.get("launch_context") or {}
    servers = [s for s in context.get("servers") or [] if isinstance(s, dict)]

    parts = [_destination_text(d) for d in destinations[:_MAX_LISTED]]
    if len(destinations) > _MAX_LISTED:
        parts.append(f"{len(destinations) - _MAX_LISTED} more")
    relays = [
        f"{s.get('host')} ({s.get('infrastructure')}, from {s.get('source')})" for s in servers
    ]

    sentences = []
    if parts:
        sentences.append(f"Verify the destinations {', '.join(parts)}.")
    if relays:
        sentences.append(f"Verify the relay or server named at launch: {', '.join(relays)}.")
    if not sentences:
        return (
            f"No connections were linked to this process. Check firewall, proxy and DNS logs "
            f"from {_host(alert)} around {_time(alert)} for the vendor's relays and for "
            "unknown servers."
        )
    sentences.append("Unknown infrastructure is not the vendor's: find out who operates it.")
    return " ".join(sentences)


def _destination_text(destination: Alert) -> str:
    name = destination.get("host_name") or destination.get("address") or "an unnamed end"
    port = destination.get("port")
    where = f"{name}:{port}" if port is not None else str(name)
    return f"{where} ({destination.get('infrastructure') or 'unknown'})"


def _isolate_and_remediate(alert: Alert) -> str:
    host = _host(alert)
    agent = f" (agent {alert['agent_id']})" if alert.get("agent_id") else ""
    context = alert.get("launch_context") or {}
    targets = [f"{_tool(alert)} at {context.get('image_path') or 'its image path'}"]
    if alert.get("action_service_name"):
        targets.append(f"the service {alert['action_service_name']}")
    if alert.get("persistence_name"):
        targets.append(f"the {alert.get('persistence_type')} {alert['persistence_name']}")
    return (
        f"If the activity is malicious, isolate {host}{agent}, remove {', '.join(targets)}, "
        "revoke the tool's unattended-access passwords, and reset the credentials of "
        f"{_user(alert)}."
    )


def _time(alert: Alert) -> str:
    value = alert.get("_time") or alert.get("first_time")
    return format_time(value) if isinstance(value, datetime) else "the alert's time"
