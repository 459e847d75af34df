"""`rmm_activity` alerts: a catalog tool seen acting, although its start is not an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.dataset import Dataset
from rmmhunt.enrich import enrich, prepare_dataset
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.pipeline import hunt_paths
from rmmhunt.schema import Row

T0 = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
ANYDESK = "C:\\ProgramData\\AnyDesk\\AnyDesk.exe"
LSASS = "C:\\Windows\\System32\\lsass.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _event(record: int, seconds: int, host: str = "FIN-LT-07", **columns: Any) -> Row:
    row: Row = {
        "_time": T0 + timedelta(seconds=seconds),
        "event_id": f"{host.lower()}/Microsoft-Windows-Sysmon/Operational/{record}",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": host,
        "source_file": "sysmon.evtx",
        "source_record": str(record),
    }
    row.update(columns)
    return row


def _by_actor(
    record: int, seconds: int, image: str, guid: str | None, pid: int, **columns: Any
) -> Row:
    return _event(
        record,
        seconds,
        actor_process_image_path=image,
        actor_process_image_name=image.rsplit("\\", 1)[-1],
        actor_process_instance_id=guid,
        actor_process_os_pid=pid,
        **columns,
    )


def _file_write(record: int, seconds: int, guid: str | None, pid: int = 700, **extra: Any) -> Row:
    return _by_actor(
        record,
        seconds,
        ANYDESK,
        guid,
        pid,
        event_type="FILE",
        event_sub_type="FILE_CREATE",
        action_file_path="C:\\ProgramData\\AnyDesk\\ad.trace",
        **extra,
    )


def _alerts(rows: list[Row], catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    prepare_dataset(dataset)
    hunt_options = HuntOptions(**options)
    return enrich(dataset, catalog, hunt_options, run_hunt(dataset, catalog, hunt_options))


def _activity(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [alert for alert in alerts if alert["kind"] == "rmm_activity"]


def test_events_of_one_process_give_one_alert(catalog: Catalog) -> None:
    rows = [
        _file_write(1, 0, "{A}"),
        _file_write(2, 30, "{A}"),
        _by_actor(
            3,
            60,
            ANYDESK,
            "{A}",
            700,
            event_type="NETWORK",
            event_sub_type="DNS_QUERY",
            dns_query_name="relay-1.net.anydesk.com",
        ),
    ]
    [alert] = _activity(_alerts(rows, catalog))

    assert alert["tool_id"] == "anydesk"
    assert alert["event_count"] == 3
    assert alert["first_time"] == T0
    assert alert["last_time"] == T0 + timedelta(seconds=60)
    assert alert["event_types"] == ["FILE/FILE_CREATE", "NETWORK/DNS_QUERY"]
    assert alert["matched_on"] == ["name"]
    assert alert["actor_process_image_path"] == ANYDESK


def test_two_processes_give_two_alerts(catalog: Catalog) -> None:
    rows = [_file_write(1, 0, "{A}"), _file_write(2, 5, "{B}", pid=701)]
    alerts = _activity(_alerts(rows, catalog))

    assert sorted(alert["actor_process_instance_id"] for alert in alerts) == ["{A}", "{B}"]
    assert [alert["event_count"] for alert in alerts] == [1, 1]


def test_same_process_on_two_hosts_gives_two_alerts(catalog: Catalog) -> None:
    rows = [_file_write(1, 0, None), _file_write(2, 5, None, host="WS09")]
    alerts = _activity(_alerts(rows, catalog))

    assert sorted(alert["agent_hostname"] for alert in alerts) == ["FIN-LT-07", "WS09"]


def test_process_without_guid_groups_by_pid_and_path(catalog: Catalog) -> None:
    rows = [_file_write(1, 0, None), _file_write(2, 5, None), _file_write(3, 9, None, pid=701)]
    alerts = _activity(_alerts(rows, catalog))

    assert sorted(alert["event_count"] for alert in alerts) == [1, 2]


def test_sysmon_10_target_is_not_activity(catalog: Catalog) -> None:
    # AnyDesk is only the process that lsass opened, which does not show that AnyDesk ran.
    row = _by_actor(
        1,
        0,
        LSASS,
        "{L}",
        600,
        event_type="PROCESS",
        event_sub_type="PROCESS_ACCESS",
        target_process_image_path=ANYDESK,
    )

    assert _alerts([row], catalog) == []


def test_tool_opening_a_process_is_activity(catalog: Catalog) -> None:
    row = _by_actor(
        1,
        0,
        ANYDESK,
        "{A}",
        700,
        event_type="PROCESS",
        event_sub_type="PROCESS_ACCESS",
        target_process_image_path=LSASS,
    )
    [alert] = _activity(_alerts([row], catalog))

    assert alert["event_types"] == ["PROCESS/PROCESS_ACCESS"]


def test_child_of_tool_is_activity_of_the_tool(catalog: Catalog) -> None:
    row = _by_actor(
        1,
        0,
        ANYDESK,
        "{A}",
        700,
        event_type="PROCESS",
        event_sub_type="PROCESS_START",
        action_process_image_path=CMD,
        action_process_image_name="cmd.exe",
        action_process_instance_id="{C}",
        action_process_os_pid=800,
    )
    alerts = _alerts([row], catalog)

    assert [alert["kind"] for alert in alerts] == ["rmm_activity"]
    assert alerts[0]["tool_id"] == "anydesk"


def test_started_process_is_not_activity_again(catalog: Catalog) -> None:
    start = _event(
        1,
        0,
        event_type="PROCESS",
        event_sub_type="PROCESS_START",
        action_process_image_path=ANYDESK,
        action_process_image_name="AnyDesk.exe",
        action_process_instance_id="{A}",
        action_process_os_pid=700,
    )
    alerts = _alerts([start, _file_write(2, 5, "{A}")], catalog)

    assert [alert["kind"] for alert in alerts] == ["process_start"]


def test_activity_links_related_start_on_same_host(catalog: Catalog) -> None:
    start = _event(
        1,
        0,
        event_type="PROCESS",
        event_sub_type="PROCESS_START",
        action_process_image_path=ANYDESK,
        action_process_image_name="AnyDesk.exe",
        action_process_instance_id="{OLD}",
        action_process_os_pid=650,
    )
    alerts = _alerts(
        [start, _file_write(2, 5, "{A}"), _file_write(3, 6, "{Z}", host="WS09")], catalog
    )
    [activity] = [a for a in _activity(alerts) if a["agent_hostname"] == "FIN-LT-07"]

    assert activity["related_alerts"] == ["fin-lt-07/Microsoft-Windows-Sysmon/Operational/1"]


def test_activity_needs_category(catalog: Catalog) -> None:
    row = _by_actor(
        1,
        0,
        "C:\\Tools\\PsExec64.exe",
        "{P}",
        900,
        event_type="REGISTRY",
        event_sub_type="REGISTRY_SET_VALUE",
        action_registry_key_name="HKU\\S-1-5-21-1\\Software\\Sysinternals\\PsExec\\EulaAccepted",
    )

    assert _alerts([row], catalog) == []
    assert [a["tool"] for a in _alerts([row], catalog, categories=frozenset({"all"}))] == ["PsExec"]


def test_psexec_registry_write_in_real_data(catalog: Catalog, shared_data: Path) -> None:
    path = (
        shared_data
        / "evtx/EVTX-ATTACK-SAMPLES/Persistence/persist_valid_account_guest_rid_hijack.evtx"
    )
    options = HuntOptions(categories=frozenset({"all"}))
    alerts, summary = hunt_paths([str(path)], catalog, options)

    [alert] = [a for a in alerts if a["kind"] == "rmm_activity"]
    assert alert["tool"] == "PsExec"
    assert alert["actor_process_image_name"] == "PsExec64.exe"
    assert alert["event_count"] == 1
    assert alert["event_types"] == ["REGISTRY/REGISTRY_SET_VALUE"]
    assert summary.alerts_by_kind["rmm_activity"] == 1
    assert [a for a in alerts if a["kind"] == "process_start"] == []
