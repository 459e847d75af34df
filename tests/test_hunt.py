"""The hunt on hand-built datasets: matching rules, roles, profiles and filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.dataset import Dataset
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.schema import SEED_FIELDS, Row


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _start(image_path: str | None, minute: int, **extra: Any) -> Row:
    row: Row = {
        "_time": datetime(2025, 3, 12, 9, minute, tzinfo=UTC),
        "event_id": f"ws01/Microsoft-Windows-Sysmon/Operational/{minute}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": "WS01",
        "action_process_image_path": image_path,
        "action_process_image_name": image_path.rsplit("\\", 1)[-1] if image_path else None,
        "source_file": "test.evtx",
        "source_record": str(minute),
    }
    row.update(extra)
    return row


def _hunt(rows: list[Row], catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    return run_hunt(dataset, catalog, HuntOptions(**options))


def test_alert_has_seed_fields_first_in_order(catalog: Catalog) -> None:
    [alert] = _hunt([_start("C:\\Users\\bob\\Downloads\\AnyDesk.exe", 1)], catalog)

    assert tuple(alert)[: len(SEED_FIELDS)] == SEED_FIELDS
    assert alert["tool"] == "AnyDesk"
    assert alert["kind"] == "process_start"
    assert alert["matched_on"] == ["name"]
    assert alert["risk_score"] == 60
    assert alert["severity"] == "Medium"
    assert alert["base_risk_score"] == 60
    assert alert["mitre_techniques"][:2] == ["T1219", "T1133"]
    assert alert["sources"] == [{"file": "test.evtx", "record": "1", "format": None}]


def test_name_match_is_case_insensitive(catalog: Catalog) -> None:
    alerts = _hunt([_start("C:\\x\\ANYDESK.EXE", 1)], catalog)

    assert [a["tool"] for a in alerts] == ["AnyDesk"]


def test_name_never_matches_a_suffix(catalog: Catalog) -> None:
    # rd.exe must not match ccmrd.exe; neither is an RMM tool here.
    alerts = _hunt([_start("C:\\Windows\\CCM\\ccmrd.exe", 1)], catalog)

    assert alerts == []


def test_parent_only_is_not_an_alert(catalog: Catalog) -> None:
    row = _start(
        "C:\\Windows\\System32\\cmd.exe",
        1,
        actor_process_image_name="AnyDesk.exe",
        actor_process_image_path="C:\\Program Files\\AnyDesk\\AnyDesk.exe",
    )

    assert _hunt([row], catalog) == []


def test_renamed_binary_matches_original_file_name(catalog: Catalog) -> None:
    row = _start(
        "C:\\ProgramData\\svc\\update.exe",
        1,
        action_process_original_file_name="ScreenConnect.WindowsClient.exe",
    )

    [alert] = _hunt([row], catalog)

    assert alert["tool_id"] == "screenconnect"
    assert alert["matched_on"] == ["original_file_name"]


def test_linux_agent_is_ignored(catalog: Catalog) -> None:
    row = _start("/opt/AnyDesk.exe", 1, agent_os_type="AGENT_OS_LINUX")

    assert _hunt([row], catalog) == []


def test_service_install_parsed_image(catalog: Catalog) -> None:
    row: Row = {
        "_time": datetime(2018, 7, 30, 23, 11, 32, tzinfo=UTC),
        "event_id": "desktop/System/1",
        "event_type": "EVENT_LOG",
        "action_evtlog_event_id": 7045,
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": "DESKTOP",
        "action_process_image_name": "TeamViewer_Service.exe",
        "action_service_name": "TeamViewer 13",
    }

    [alert] = _hunt([row], catalog)

    assert alert["kind"] == "service_install"
    assert alert["tool_id"] == "teamviewer"
    assert alert["action_service_name"] == "TeamViewer 13"


def test_default_categories_exclude_remote_admin(catalog: Catalog) -> None:
    rows = [_start("C:\\Tools\\PsExec64.exe", 1)]

    assert _hunt(rows, catalog) == []
    assert [a["tool_id"] for a in _hunt(rows, catalog, categories=frozenset({"all"}))] == ["psexec"]


def test_seed_profile_keeps_the_seven_names(catalog: Catalog) -> None:
    rows = [
        _start("C:\\x\\AnyDesk.exe", 1),
        _start("C:\\x\\SRService.exe", 2),
        _start("C:\\x\\splashtopstreamer.exe", 3),
        _start(None, 4, action_process_image_name="client.screenconnect.com"),
    ]

    alerts = _hunt(rows, catalog, profile="seed")

    names = [a["action_process_image_name"] for a in alerts]
    assert names == ["client.screenconnect.com", "splashtopstreamer.exe", "AnyDesk.exe"]
    assert alerts[-1]["tool"] == "AnyDesk"
    assert alerts[0]["tool"] == "client.screenconnect.com"


def test_alerts_sorted_newest_first_null_last(catalog: Catalog) -> None:
    rows = [
        _start("C:\\x\\AnyDesk.exe", 1),
        _start("C:\\x\\AnyDesk.exe", 5),
        _start("C:\\x\\AnyDesk.exe", 3, _time=None),
    ]

    alerts = _hunt(rows, catalog)

    assert [a["_time"].minute if a["_time"] else None for a in alerts] == [5, 1, None]


def test_same_time_sorted_by_host_then_event_id(catalog: Catalog) -> None:
    rows = [
        _start("C:\\x\\AnyDesk.exe", 1, agent_hostname="WS02", event_id="ws02/b"),
        _start("C:\\x\\AnyDesk.exe", 1, agent_hostname="WS01", event_id="ws01/b"),
        _start("C:\\x\\AnyDesk.exe", 1, agent_hostname="WS02", event_id="ws02/a"),
        _start("C:\\x\\AnyDesk.exe", 2, agent_hostname="WS03", event_id="ws03/a"),
    ]

    alerts = _hunt(rows, catalog)

    assert [a["event_id"] for a in alerts] == ["ws03/a", "ws01/b", "ws02/a", "ws02/b"]


def test_host_user_and_time_filters(catalog: Catalog) -> None:
    rows = [
        _start("C:\\x\\AnyDesk.exe", 1, actor_effective_username="CORP\\bob"),
        _start("C:\\x\\AnyDesk.exe", 2, agent_hostname="SRV9", event_id="srv9/x/2"),
        _start("C:\\x\\AnyDesk.exe", 3, actor_effective_username="CORP\\eve"),
    ]

    by_host = _hunt(rows, catalog, hosts=("ws*",))
    by_user = _hunt(rows, catalog, users=("*\\bob",))
    by_time = _hunt(rows, catalog, since=datetime(2025, 3, 12, 9, 2, tzinfo=UTC))

    assert len(by_host) == 2
    assert [a["actor_effective_username"] for a in by_user] == ["CORP\\bob"]
    assert len(by_time) == 2
