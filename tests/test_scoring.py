"""Scoring: one small fixture per modifier, clamping, severity bands, order and filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.scoring import (
    MODIFIERS,
    order_alerts,
    score_alert,
    severity_at_least,
    severity_for,
)

REPOSITORY = Path(__file__).resolve().parents[1]


def _launch(**fields: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "parent": None,
        "ancestors": [],
        "image_path": None,
        "image_path_class": None,
        "vendor_install_path": False,
        "has_install_paths": False,
        "renamed": None,
        "findings": [],
        "servers": [],
    }
    context.update(fields)
    return context


def _process(name: str, process_class: str | None) -> dict[str, Any]:
    return {"image_name": name, "image_path": None, "class": process_class}


def _alert(**fields: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "_time": datetime(2025, 3, 12, 9, 0, tzinfo=UTC),
        "kind": "process_start",
        "tool": "AnyDesk",
        "tool_id": "anydesk",
        "agent_hostname": "WS01",
        "event_id": "e1",
        "base_risk_score": 60,
    }
    alert.update(fields)
    return alert


def _reason_ids(alert: dict[str, Any]) -> list[str]:
    score_alert(alert)
    return [reason["id"] for reason in alert["reasons"]]


# One fixture per modifier: the alert fields that should trigger exactly that modifier.
MODIFIER_CASES: dict[str, dict[str, Any]] = {
    "approved": {"approval": {"status": "approved", "reason": "covered by approval tv"}},
    "outside_approval": {
        "approval": {"status": "outside_approval", "reason": "host WS09 matches none of WS0?"}
    },
    "not_approved": {"approval": {"status": "not_approved", "reason": "no approval"}},
    "parent_email_client": {
        "launch_context": _launch(parent=_process("OUTLOOK.EXE", "email_client"))
    },
    "parent_office": {"launch_context": _launch(parent=_process("WINWORD.EXE", "office"))},
    "parent_script_host": {"launch_context": _launch(parent=_process("cmd.exe", "script_host"))},
    "parent_browser": {"launch_context": _launch(parent=_process("msedge.exe", "browser"))},
    "parent_remote_session": {
        "launch_context": _launch(parent=_process("wsmprovhost.exe", "remote_session"))
    },
    "parent_service_control_manager": {
        "launch_context": _launch(parent=_process("services.exe", "service_control_manager"))
    },
    "chain_office": {
        "launch_context": _launch(
            parent=_process("x.exe", None), ancestors=[_process("EXCEL.EXE", "office")]
        )
    },
    "chain_script_host": {
        "launch_context": _launch(
            parent=_process("x.exe", None), ancestors=[_process("wscript.exe", "script_host")]
        )
    },
    "path_user_writable": {
        "launch_context": _launch(
            image_path=r"C:\Users\bob\Downloads\AnyDesk.exe", image_path_class="downloads"
        )
    },
    "path_user_profile": {
        "launch_context": _launch(
            image_path=r"C:\Users\bob\AppData\Roaming\a.exe", image_path_class="appdata"
        )
    },
    "path_network_share": {
        "launch_context": _launch(image_path=r"\\srv\share\a.exe", image_path_class="network_share")
    },
    "path_vendor_install": {
        "launch_context": _launch(
            image_path=r"C:\Program Files\AnyDesk\AnyDesk.exe",
            image_path_class="program_files",
            vendor_install_path=True,
            has_install_paths=True,
        )
    },
    "path_outside_install": {
        "launch_context": _launch(
            image_path=r"C:\ProgramData\AnyDesk\AnyDesk.exe",
            image_path_class="programdata",
            has_install_paths=True,
        )
    },
    "renamed_binary": {
        "launch_context": _launch(
            renamed={"image_name": "update.exe", "evidence": "PE original file name AnyDesk.exe"}
        )
    },
    "invalid_signature": {"action_process_signature_status": "unsigned"},
    "unattended_access": {
        "launch_context": _launch(
            findings=[{"id": "x", "category": "unattended_access", "detail": "--set-password"}]
        )
    },
    "silent_install": {
        "launch_context": _launch(
            findings=[{"id": "x", "category": "silent_install", "detail": "--silent"}]
        )
    },
    "autostart_option": {
        "launch_context": _launch(
            findings=[{"id": "x", "category": "autostart", "detail": "--start-with-win"}]
        )
    },
    "unknown_relay": {
        "destinations": [
            {"host_name": "relay.example.net", "address": None, "infrastructure": "unknown"}
        ]
    },
    "internal_destinations": {
        "destinations": [{"host_name": None, "address": "10.0.2.18", "infrastructure": "unknown"}]
    },
    "vendor_destinations_only": {
        "destinations": [
            {"host_name": "relay-1.net.anydesk.com", "address": None, "infrastructure": "vendor"}
        ]
    },
    "rare_tool_in_estate": {
        "prevalence": {
            "tool_id": "anydesk",
            "host_count": 1,
            "estate_hosts": 10,
            "standard_tool": "teamviewer",
            "is_standard_tool": False,
        }
    },
    "estate_standard_tool": {
        "prevalence": {
            "tool_id": "anydesk",
            "host_count": 9,
            "estate_hosts": 10,
            "standard_tool": "anydesk",
            "is_standard_tool": True,
        }
    },
    "persistence_entry": {
        "kind": "persistence",
        "persistence_type": "run_key",
        "persistence_name": r"HKU\x\Run\AnyDesk",
    },
    "vendor_contact_only": {"kind": "rmm_vendor_contact", "actor_process_image_name": "chrome.exe"},
}


def test_every_modifier_has_a_fixture() -> None:
    assert set(MODIFIER_CASES) == set(MODIFIERS)


@pytest.mark.parametrize("modifier_id", list(MODIFIER_CASES))
def test_modifier_applies_alone(modifier_id: str) -> None:
    alert = _alert(**MODIFIER_CASES[modifier_id])

    score_alert(alert)

    weight = MODIFIERS[modifier_id].weight
    assert [reason["id"] for reason in alert["reasons"]] == [modifier_id]
    assert alert["reasons"][0]["weight"] == weight
    assert alert["reasons"][0]["detail"]
    assert alert["risk_score"] == 60 + weight


def test_alert_without_context_keeps_base() -> None:
    alert = _alert()

    score_alert(alert)

    assert alert["reasons"] == []
    assert alert["risk_score"] == 60
    assert alert["severity"] == "Medium"


def test_score_clamps_at_100() -> None:
    alert = _alert(
        approval={"status": "outside_approval", "reason": "x"},
        launch_context=_launch(
            parent=_process("WINWORD.EXE", "office"),
            renamed={"image_name": "a.exe", "evidence": "hash"},
            image_path_class="temp",
            image_path=r"C:\Windows\Temp\a.exe",
        ),
    )

    score_alert(alert)

    assert sum(reason["weight"] for reason in alert["reasons"]) > 40
    assert alert["risk_score"] == 100
    assert alert["severity"] == "Critical"


def test_score_clamps_at_0() -> None:
    alert = _alert(
        base_risk_score=10,
        approval={"status": "approved", "reason": "x"},
        launch_context=_launch(parent=_process("services.exe", "service_control_manager")),
    )

    score_alert(alert)

    assert alert["risk_score"] == 0
    assert alert["severity"] == "Informational"


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0, "Informational"),
        (19, "Informational"),
        (20, "Low"),
        (39, "Low"),
        (40, "Medium"),
        (60, "Medium"),
        (69, "Medium"),
        (70, "High"),
        (89, "High"),
        (90, "Critical"),
        (100, "Critical"),
    ],
)
def test_severity_bands(score: int, severity: str) -> None:
    assert severity_for(score) == severity


def test_severity_at_least_compares_ranks() -> None:
    assert severity_at_least("High", "medium")
    assert severity_at_least("Medium", "MEDIUM")
    assert not severity_at_least("Low", "medium")
    assert not severity_at_least(None, "informational")


def test_script_host_counts_once() -> None:
    alert = _alert(
        launch_context=_launch(
            parent=_process("powershell.exe", "script_host"),
            ancestors=[_process("cmd.exe", "script_host"), _process("WINWORD.EXE", "office")],
        )
    )

    assert _reason_ids(alert) == ["parent_script_host", "chain_office"]


def test_vendor_path_wins_over_user_profile() -> None:
    alert = _alert(
        launch_context=_launch(
            image_path=r"C:\Users\x\AppData\Local\rustdesk\rustdesk.exe",
            image_path_class="appdata",
            vendor_install_path=True,
        )
    )

    assert _reason_ids(alert) == ["path_vendor_install"]


def test_unknown_relay_from_command_line() -> None:
    alert = _alert(
        launch_context=_launch(
            servers=[{"host": "relay.example.net", "port": 8041, "infrastructure": "unknown"}]
        ),
        destinations=[{"host_name": "x.screenconnect.com", "infrastructure": "vendor"}],
    )

    score_alert(alert)

    assert [reason["id"] for reason in alert["reasons"]] == ["unknown_relay"]
    assert alert["reasons"][0]["detail"] == "relay.example.net"


def test_common_tool_is_not_rare() -> None:
    alert = _alert(
        prevalence={
            "tool_id": "anydesk",
            "host_count": 3,
            "estate_hosts": 10,
            "standard_tool": "teamviewer",
            "is_standard_tool": False,
        }
    )

    assert _reason_ids(alert) == []


def test_no_standard_tool_means_no_rarity() -> None:
    alert = _alert(
        prevalence={
            "tool_id": "anydesk",
            "host_count": 1,
            "estate_hosts": 10,
            "standard_tool": None,
            "is_standard_tool": False,
        }
    )

    assert _reason_ids(alert) == []


def _timed(event_id: str, hour: int | None, score: int) -> dict[str, Any]:
    time = datetime(2025, 3, 12, hour, 0, tzinfo=UTC) if hour is not None else None
    return {"event_id": event_id, "agent_hostname": "WS01", "_time": time, "risk_score": score}


def test_order_by_score_then_newest() -> None:
    alerts = [_timed("a", 9, 60), _timed("b", 10, 90), _timed("c", 11, 60), _timed("d", None, 90)]

    ordered = order_alerts(alerts, "score")

    assert [alert["event_id"] for alert in ordered] == ["b", "d", "c", "a"]


def test_order_by_time_is_newest_first() -> None:
    alerts = [_timed("a", 9, 60), _timed("b", 10, 90), _timed("c", 11, 60), _timed("d", None, 90)]

    ordered = order_alerts(alerts, "time")

    assert [alert["event_id"] for alert in ordered] == ["c", "b", "a", "d"]


def test_unknown_sort_order_raises() -> None:
    with pytest.raises(ValueError, match="unknown sort order"):
        order_alerts([], "severity")


def test_docs_table_matches_modifiers() -> None:
    text = (REPOSITORY / "docs" / "scoring.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| ([+-]\d+) \| (.+) \|$", text, re.MULTILINE)

    documented = {modifier_id: int(weight) for modifier_id, weight, _ in rows}

    assert documented == {modifier.id: modifier.weight for modifier in MODIFIERS.values()}


def test_driver_outside_install_path_adds_nothing() -> None:
    alert = _alert(
        kind="service_install",
        matched_on=["driver_name"],
        launch_context=_launch(
            image_path=r"C:\Windows\System32\drivers\teamviewervpn.sys",
            image_path_class="windows",
            has_install_paths=True,
        ),
    )

    assert _reason_ids(alert) == []


@pytest.mark.parametrize(
    ("host", "agent"),
    [
        ("127.0.0.2", "PC01.example.corp"),
        ("10.0.2.18", "PC01.example.corp"),
        ("fe80::1", "PC01.example.corp"),
        ("fs03vuln", "fs03vuln.offsec.lan"),
        ("dc01.offsec.lan", "fs03vuln.offsec.lan"),
        ("DC01.OFFSEC.LAN.", "fs03vuln.offsec.lan"),
    ],
)
def test_internal_host_is_no_relay(host: str, agent: str) -> None:
    alert = _alert(
        agent_hostname=agent,
        destinations=[{"host_name": host, "address": None, "infrastructure": "unknown"}],
    )

    score_alert(alert)

    assert _reason_ids(alert) == ["internal_destinations"]


@pytest.mark.parametrize(
    ("host", "agent"),
    [
        ("203.0.113.50", "PC01.example.corp"),
        ("relay.example.net", "PC01.example.corp"),
        ("offsec.lan.evil.example", "fs03vuln.offsec.lan"),
        ("relay.example.net", "WS01"),
    ],
)
def test_external_host_is_unknown_relay(host: str, agent: str) -> None:
    alert = _alert(
        agent_hostname=agent,
        destinations=[{"host_name": host, "address": None, "infrastructure": "unknown"}],
    )

    score_alert(alert)

    assert _reason_ids(alert) == ["unknown_relay"]


def test_internal_and_external_both_listed() -> None:
    alert = _alert(
        destinations=[
            {"host_name": "pc02", "address": None, "infrastructure": "unknown"},
            {"host_name": None, "address": "198.51.100.7", "infrastructure": "unknown"},
        ]
    )

    score_alert(alert)

    assert _reason_ids(alert) == ["unknown_relay", "internal_destinations"]
    assert alert["reasons"][0]["detail"] == "198.51.100.7"
    assert alert["reasons"][1]["detail"] == "pc02"
