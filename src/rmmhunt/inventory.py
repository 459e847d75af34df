"""Compare alerts with the approved-software inventory: suppress what an approval covers.

An approval covers an alert when it names the alert's catalog tool and every other field it gives
matches: hosts, users, image paths, code signers, parent processes and the validity window. A
field the approval leaves out does not restrict it, but an approval never covers another tool, so
an approval of TeamViewer on every host still leaves AnyDesk `not_approved`.

`apply_inventory` sets `approval` on every alert:

- `approved`: an approval covers the alert. The alert moves to the suppressed list, not dropped.
- `outside_approval`: the tool has approvals, but none covers this alert. `mismatches` lists what
  differs from the closest approval (the one with the fewest mismatches, first in the file on a
  tie): `another_host`, `another_user`, `another_path`, `another_signer`, `another_parent`,
  `expired` or `not_yet_valid`.
- `not_approved`: no approval names the tool.
- None on every alert when no inventory was given, because the status is then unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from rmmhunt import winpath
from rmmhunt.inventory_load import (
    DEFAULT_COLUMNS,
    load_column_mapping,
    load_inventory,
    parse_column_mapping,
)
from rmmhunt.inventory_model import Approval, ApprovalEntry, Inventory
from rmmhunt.servicepath import expanded_path, parse_service_image_path

__all__ = [
    "DEFAULT_COLUMNS",
    "MISMATCHES",
    "Approval",
    "ApprovalEntry",
    "Inventory",
    "apply_inventory",
    "check_approval",
    "load_column_mapping",
    "load_inventory",
    "parse_column_mapping",
]

Alert = dict[str, Any]

# Mismatch ids in the order they are reported.
MISMATCHES = (
    "another_host",
    "another_user",
    "another_path",
    "another_signer",
    "another_parent",
    "expired",
    "not_yet_valid",
)

# Signature status values (Cortex XDR `action_process_signature_status` and the readers' mapped
# forms) that mean a valid signature; any other status means the signer cannot be trusted.
_SIGNED_STATUSES = frozenset({"signed", "valid", "signed_valid", "trusted"})

# Alert kinds whose tool process is the event's actor rather than its action.
_ACTOR_KINDS = frozenset({"rmm_activity"})


@dataclass(frozen=True)
class Mismatch:
    """One field of an approval that an alert does not match."""

    id: str
    detail: str


def apply_inventory(
    alerts: Sequence[Alert], inventory: Inventory | None, *, now: datetime
) -> tuple[list[Alert], list[Alert]]:
    """Set `approval` on every alert and split the alerts into (kept, suppressed).

    Args:
        alerts: alerts from the hunt and enrichment; each is changed in place.
        inventory: the loaded inventory, or None when the user gave none.
        now: the time that the validity window is checked at for an alert without `_time`.
            Alerts with a time are checked at that time, because an approval that was valid
            when the tool ran covers the run even after it expires.

    Returns:
        The alerts that stay in the report, and the alerts that an approval covers, each in
        the input order.
    """
    kept: list[Alert] = []
    suppressed: list[Alert] = []
    for alert in alerts:
        if inventory is None:
            alert["approval"] = None
            kept.append(alert)
            continue

        alert["approval"] = _approval_status(alert, inventory, now)
        if alert["approval"]["status"] == "approved":
            suppressed.append(alert)
        else:
            kept.append(alert)
    return kept, suppressed


def _approval_status(alert: Alert, inventory: Inventory, now: datetime) -> dict[str, Any]:
    approvals = inventory.for_tool(alert.get("tool_id"))
    if not approvals:
        tool = alert.get("tool") or alert.get("action_process_image_name") or "this tool"
        return {
            "status": "not_approved",
            "approval_id": None,
            "mismatches": [],
            "reason": f"no approval in {inventory.source} names {tool}",
        }

    results = [(approval, check_approval(approval, alert, now=now)) for approval in approvals]
    for approval, mismatches in results:
        if not mismatches:
            return {
                "status": "approved",
                "approval_id": approval.id,
                "mismatches": [],
                "reason": f"covered by approval {approval.describe()}",
            }

    closest, mismatches = min(results, key=lambda result: len(result[1]))
    details = "; ".join(mismatch.detail for mismatch in mismatches)
    return {
        "status": "outside_approval",
        "approval_id": closest.id,
        "mismatches": [mismatch.id for mismatch in mismatches],
        "reason": f"outside approval {closest.describe()}: {details}",
    }


def check_approval(approval: Approval, alert: Alert, *, now: datetime) -> list[Mismatch]:
    """Return the approval's fields that the alert does not match; empty when it covers it.

    The caller has already checked that the approval names the alert's tool.
    """
    mismatches: list[Mismatch] = []
    checks = (
        _check_hosts,
        _check_users,
        _check_paths,
        _check_signers,
        _check_parents,
    )
    for check in checks:
        mismatch = check(approval, alert)
        if mismatch is not None:
            mismatches.append(mismatch)

    window = _check_window(approval, alert, now)
    if window is not None:
        mismatches.append(window)
    return mismatches


def _check_hosts(approval: Approval, alert: Alert) -> Mismatch | None:
    if not approval.hosts:
        return None
    host = _text(alert.get("agent_hostname"))
    domains = _approval_domains(approval.hosts)
    if host is not None and any(
        _host_matches(pattern, host, domains) for pattern in approval.hosts
    ):
        return None
    return Mismatch(
        "another_host",
        f"host {host or '(none recorded)'} matches none of {_listing(approval.hosts)}",
    )


def _approval_domains(patterns: Iterable[str]) -> tuple[str, ...]:
    """Return the domains of an approval's full host names: `corp.local` of `WS*.corp.local`."""
    names = (pattern.strip().casefold().rstrip(".") for pattern in patterns)
    return tuple(name.split(".", 1)[1] for name in names if "." in name)


def _host_matches(pattern: str, host: str, domains: Sequence[str]) -> bool:
    """Compare a host glob with a host name, using the domains of the approval's full names.

    A full name (`WS01.corp.local`) compares with the whole host name. A bare name (`WS01`)
    compares with the host's short name when the host has no domain, when the approval gives
    no domain, or when the host's domain is one that the approval gives.
    """
    pattern_text = pattern.strip().casefold().rstrip(".")
    host_text = host.strip().casefold().rstrip(".")
    if "." in pattern_text:
        return _glob(pattern_text).fullmatch(host_text) is not None

    short_name, _, domain = host_text.partition(".")
    if domain and domains and not any(_glob(known).fullmatch(domain) for known in domains):
        return False
    return _glob(pattern_text).fullmatch(short_name) is not None


def _check_users(approval: Approval, alert: Alert) -> Mismatch | None:
    if not approval.users:
        return None
    # Both accounts must be approved: the one the tool runs as and the one that started it.
    # In alerts whose tool is the event's actor, the action's account belongs to another process.
    # A service install records the service's account, and the installer's in 4697 events.
    columns = ["actor_effective_username"]
    if alert.get("kind") == "service_install":
        columns.insert(0, "action_service_account")
    elif alert.get("kind") not in _ACTOR_KINDS:
        columns.insert(0, "action_process_username")
    users = [user for user in (_text(alert.get(column)) for column in columns) if user is not None]
    unmatched = [user for user in dict.fromkeys(users) if not _user_matches(approval.users, user)]
    if users and not unmatched:
        return None
    shown = ", ".join(unmatched) if unmatched else "(none recorded)"
    return Mismatch("another_user", f"user {shown} matches none of {_listing(approval.users)}")


def _user_matches(patterns: Iterable[str], user: str) -> bool:
    account = user.rsplit("\\", 1)[-1].split("@", 1)[0]
    for pattern in patterns:
        candidate = user if ("\\" in pattern or "@" in pattern) else account
        if _glob(pattern).fullmatch(candidate.casefold()):
            return True
    return False


def _check_paths(approval: Approval, alert: Alert) -> Mismatch | None:
    if not approval.paths:
        return None
    path = _tool_path(alert)
    if path is not None and any(winpath.path_matches(pattern, path) for pattern in approval.paths):
        return None
    return Mismatch(
        "another_path",
        f"image path {path or '(none recorded)'} matches none of {_listing(approval.paths)}",
    )


def _tool_path(alert: Alert) -> str | None:
    """Return the tool's image path, from the launch context when triage has set one.

    The launch context reads the path from where each alert kind records the tool, such as the
    acting process of an `rmm_activity` alert.
    """
    context = alert.get("launch_context")
    if isinstance(context, dict) and "image_path" in context:
        return _text(context["image_path"])
    return image_path(alert)


def image_path(alert: Alert) -> str | None:
    """Return the alert's image path, or for a service install the service's executable.

    Service paths are written as the service control manager reads them (`%SystemRoot%\\x.exe`,
    `\\SystemRoot\\System32\\drivers\\x.sys`), so they are expanded to Win32 paths first.
    """
    service_path = _text(alert.get("action_service_image_path"))
    if alert.get("kind") == "service_install" and service_path is not None:
        executable = parse_service_image_path(service_path).executable
        if executable:
            return expanded_path(executable)

    path = _text(alert.get("action_process_image_path"))
    if path is not None:
        return expanded_path(path) if "%" in path or path.startswith("\\SystemRoot") else path
    if service_path is None:
        return None
    executable = parse_service_image_path(service_path).executable
    return expanded_path(executable) if executable else None


def _check_signers(approval: Approval, alert: Alert) -> Mismatch | None:
    if not approval.signers:
        return None
    signer = _text(alert.get("action_process_signature_vendor"))
    status = _text(alert.get("action_process_signature_status"))
    if status is not None and status.casefold() not in _SIGNED_STATUSES:
        return Mismatch("another_signer", f"signature status is {status}, not a valid signature")
    if signer is not None and any(
        _glob(pattern).fullmatch(signer.casefold()) for pattern in approval.signers
    ):
        return None
    return Mismatch(
        "another_signer",
        f"signer {signer or '(none recorded)'} matches none of {_listing(approval.signers)}",
    )


def _check_parents(approval: Approval, alert: Alert) -> Mismatch | None:
    if not approval.parents:
        return None
    name, path = _parent_image(alert)
    if any(_parent_matches(pattern, name, path) for pattern in approval.parents):
        return None
    return Mismatch(
        "another_parent",
        f"parent {path or name or '(none recorded)'} matches none of {_listing(approval.parents)}",
    )


def _parent_matches(pattern: str, name: str | None, path: str | None) -> bool:
    """Compare a parent pattern with the parent process's image path or name.

    A pattern with `\\` or `/` is a path pattern and compares with the full image path, and a
    bare name compares with the image name. A path pattern never matches a parent whose path is
    not recorded, because its name alone cannot show which folder it ran from.
    """
    if "\\" in pattern or "/" in pattern:
        return path is not None and winpath.path_matches(pattern, path)
    candidate = name or path
    return candidate is not None and winpath.name_matches(pattern, candidate)


def _parent_image(alert: Alert) -> tuple[str | None, str | None]:
    """Return the image name and path of the process that started the tool, when recorded."""
    context = alert.get("launch_context")
    if isinstance(context, dict) and "parent" in context:
        parent = context["parent"]
        if not isinstance(parent, dict):
            return None, None
        return _text(parent.get("image_name")), _text(parent.get("image_path"))
    if alert.get("kind") in _ACTOR_KINDS:
        return None, None
    return _text(alert.get("actor_process_image_name")), _text(
        alert.get("actor_process_image_path")
    )


def _check_window(approval: Approval, alert: Alert, now: datetime) -> Mismatch | None:
    event_time = alert.get("_time")
    when = event_time if isinstance(event_time, datetime) else now
    if approval.valid_from is not None and when < approval.valid_from:
        return Mismatch(
            "not_yet_valid",
            f"{when.isoformat()} is before the approval starts ({approval.valid_from.isoformat()})",
        )
    if approval.valid_until is not None and when > approval.valid_until:
        return Mismatch(
            "expired",
            f"{when.isoformat()} is after the approval ended ({approval.valid_until.isoformat()})",
        )
    return None


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """Compile a `*`/`?` glob over a whole case-folded value; `[` and `]` are literal."""
    return re.compile(winpath.text_glob_regex(pattern.strip().casefold()), re.DOTALL)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _listing(values: Sequence[str]) -> str:
    return ", ".join(values)
