"""The response checklist: the original hunt's four steps, filled in for each alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rmmhunt.response import attach_response


def _actions(**fields: Any) -> list[str]:
    alert: dict[str, Any] = {
        "_time": datetime(2025, 3, 12, 9, 0, tzinfo=UTC),
        "kind": "process_start",
        "tool": "AnyDesk",
        "agent_hostname": "WS05",
        "agent_id": "a5",
        "action_process_username": r"CORP\eve",
    }
    alert.update(fields)
    attach_response([alert])
    assert [step["step"] for step in alert["response"]] == [1, 2, 3, 4]
    return [str(step["action"]) for step in alert["response"]]


def test_without_inventory_points_to_policy() -> None:
    verify = _actions(approval=None)[0]

    assert "is AnyDesk authorised on WS05 for CORP\\eve" in verify
    assert "--inventory FILE" in verify


def test_outside_approval_names_approval() -> None:
    approval = {
        "status": "outside_approval",
        "approval_id": "ad-kiosk",
        "reason": "outside approval ad-kiosk: host WS05 matches none of KIOSK-*",
    }

    verify = _actions(approval=approval)[0]

    assert "host WS05 matches none of KIOSK-*" in verify
    assert "owner of approval ad-kiosk" in verify


def test_missing_chain_asks_for_process_tree() -> None:
    causality = _actions(causality_chain=[])[1]

    assert "No parent process is recorded" in causality
    assert "2025-03-12T09:00:00.000000Z" in causality


def test_long_chain_is_shortened() -> None:
    chain = [{"image_name": f"p{index}.exe"} for index in range(6)]

    causality = _actions(causality_chain=chain)[1]

    assert "AnyDesk <- p0.exe <- p1.exe <- p2.exe <- p3.exe <- ... (2 more)" in causality


def test_destinations_and_relays_listed() -> None:
    network = _actions(
        destinations=[
            {"host_name": "relay-1.net.anydesk.com", "port": 443, "infrastructure": "vendor"},
            {"host_name": None, "address": "198.51.100.7", "port": 80, "infrastructure": "unknown"},
        ],
        launch_context={
            "servers": [{"host": "r.example.net", "source": "x", "infrastructure": "unknown"}]
        },
    )[2]

    assert "relay-1.net.anydesk.com:443 (vendor)" in network
    assert "198.51.100.7:80 (unknown)" in network
    assert "r.example.net (unknown, from x)" in network


def test_no_destinations_asks_for_network_logs() -> None:
    network = _actions(destinations=[])[2]

    assert "No connections were linked" in network


def test_isolation_names_host_service_and_persistence() -> None:
    remediate = _actions(
        action_service_name="AnyDesk",
        persistence_type="run_key",
        persistence_name=r"HKU\S-1\Run\AnyDesk",
        launch_context={"image_path": r"C:\ProgramData\AnyDesk\AnyDesk.exe"},
    )[3]

    assert "isolate WS05 (agent a5)" in remediate
    assert r"AnyDesk at C:\ProgramData\AnyDesk\AnyDesk.exe" in remediate
    assert "the service AnyDesk" in remediate
    assert r"the run_key HKU\S-1\Run\AnyDesk" in remediate
