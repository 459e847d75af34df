"""Prevalence of each tool over the alerts: hosts, users, first and last seen, standard tool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rmmhunt.context.prevalence import MIN_ESTATE_HOSTS, attach_prevalence, standard_tool

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _alert(
    host: str,
    tool_id: str,
    day: int,
    *,
    kind: str = "process_start",
    category: str = "rmm",
    user: str | None = "NT AUTHORITY\\SYSTEM",
    **extra: Any,
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "_time": T0 + timedelta(days=day),
        "agent_hostname": host,
        "tool": tool_id.title(),
        "tool_id": tool_id,
        "category": category,
        "kind": kind,
        "action_process_username": user,
    }
    alert.update(extra)
    return alert


def _estate() -> list[dict[str, Any]]:
    """Five hosts: TeamViewer on four, AnyDesk on one, PsExec on all five."""
    alerts = [_alert(f"WS0{n}.corp.local", "teamviewer", n) for n in range(1, 5)]
    alerts.append(_alert("FIN-LT-07", "anydesk", 9, user="CORP\\carol"))
    alerts.extend(
        _alert(host, "psexec", 3, category="remote-admin")
        for host in ("WS01", "WS02", "WS03", "WS04", "FIN-LT-07")
    )
    return alerts


def test_prevalence_hosts_users_and_times() -> None:
    alerts = _estate()
    attach_prevalence(alerts)
    teamviewer = alerts[0]["prevalence"]

    assert teamviewer["hosts"] == ["ws01", "ws02", "ws03", "ws04"]
    assert teamviewer["host_count"] == 4
    assert teamviewer["users"] == ["NT AUTHORITY\\SYSTEM"]
    assert teamviewer["first_seen"] == T0 + timedelta(days=1)
    assert teamviewer["last_seen"] == T0 + timedelta(days=4)
    assert teamviewer["estate_hosts"] == 5


def test_standard_tool_is_majority_remote_access_tool() -> None:
    alerts = _estate()
    attach_prevalence(alerts)
    by_tool = {alert["tool_id"]: alert["prevalence"] for alert in alerts}

    assert by_tool["teamviewer"]["standard_tool"] == "teamviewer"
    assert by_tool["teamviewer"]["is_standard_tool"] is True
    assert by_tool["anydesk"]["standard_tool"] == "teamviewer"
    assert by_tool["anydesk"]["is_standard_tool"] is False
    assert by_tool["anydesk"]["host_count"] == 1


def test_admin_tool_is_never_standard() -> None:
    # PsExec is on every host, but it is not what an estate chooses for remote support.
    alerts = _estate()
    attach_prevalence(alerts)
    psexec = next(alert for alert in alerts if alert["tool_id"] == "psexec")

    assert psexec["prevalence"]["is_standard_tool"] is False
    assert psexec["prevalence"]["host_count"] == 5


def test_vendor_contact_is_not_a_run() -> None:
    alerts = [
        _alert("WS01", "anydesk", 1),
        _alert("WS02", "anydesk", 2, kind="rmm_vendor_contact"),
    ]
    attach_prevalence(alerts)

    assert alerts[0]["prevalence"]["hosts"] == ["ws01"]
    assert alerts[0]["prevalence"]["last_seen"] == T0 + timedelta(days=1)
    assert alerts[1]["prevalence"]["estate_hosts"] == 2


def test_activity_times_widen_first_and_last_seen() -> None:
    activity = _alert(
        "WS01",
        "anydesk",
        5,
        kind="rmm_activity",
        first_time=T0 + timedelta(days=4),
        last_time=T0 + timedelta(days=6),
        actor_effective_username="CORP\\dave",
    )
    alerts = [_alert("WS01", "anydesk", 5), activity]
    attach_prevalence(alerts)

    assert alerts[0]["prevalence"]["first_seen"] == T0 + timedelta(days=4)
    assert alerts[0]["prevalence"]["last_seen"] == T0 + timedelta(days=6)
    assert alerts[0]["prevalence"]["users"] == ["CORP\\dave", "NT AUTHORITY\\SYSTEM"]


def test_service_account_spellings_are_one_user() -> None:
    alerts = [
        _alert("WS01", "teamviewer", 1),
        _alert(
            "WS01", "teamviewer", 1, kind="service_install", action_service_account="LocalSystem"
        ),
    ]
    attach_prevalence(alerts)

    assert alerts[0]["prevalence"]["users"] == ["NT AUTHORITY\\SYSTEM"]


def test_alert_without_tool_has_no_prevalence() -> None:
    alerts = [{"agent_hostname": "WS01", "kind": "process_start", "tool": None, "tool_id": None}]
    attach_prevalence(alerts)

    assert alerts[0]["prevalence"] is None


def test_standard_tool_rules() -> None:
    assert standard_tool({"teamviewer": 2, "anydesk": 1}, 4) == "teamviewer"
    assert standard_tool({"teamviewer": 1, "anydesk": 1}, 4) is None
    assert standard_tool({"teamviewer": 1}, 4) is None
    assert standard_tool({"teamviewer": 2}, MIN_ESTATE_HOSTS - 1) is None
    assert standard_tool({}, 10) is None
