"""Network destinations of alerts and `rmm_vendor_contact` alerts, on hand-built events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.context.network import address_scope
from rmmhunt.dataset import Dataset
from rmmhunt.enrich import enrich, prepare_dataset
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.schema import Row

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
ANYDESK = "C:\\ProgramData\\AnyDesk\\AnyDesk.exe"
CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _event(record: int, seconds: int, host: str = "WS03", **columns: Any) -> Row:
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


def _start(record: int, seconds: int, image: str, guid: str | None, pid: int, **extra: Any) -> Row:
    return _event(
        record,
        seconds,
        event_type="PROCESS",
        event_sub_type="PROCESS_START",
        action_process_image_path=image,
        action_process_image_name=image.rsplit("\\", 1)[-1],
        action_process_instance_id=guid,
        action_process_os_pid=pid,
        **extra,
    )


def _actor(image: str, guid: str | None, pid: int) -> dict[str, Any]:
    return {
        "actor_process_image_path": image,
        "actor_process_image_name": image.rsplit("\\", 1)[-1],
        "actor_process_instance_id": guid,
        "actor_process_os_pid": pid,
    }


def _dns(record: int, seconds: int, name: str, actor: dict[str, Any], **extra: Any) -> Row:
    return _event(
        record,
        seconds,
        event_type="NETWORK",
        event_sub_type="DNS_QUERY",
        dns_query_name=name,
        **actor,
        **extra,
    )


def _connection(
    record: int,
    seconds: int,
    address: str,
    port: int,
    actor: dict[str, Any],
    host_name: str | None = None,
    **extra: Any,
) -> Row:
    return _event(
        record,
        seconds,
        event_type="NETWORK",
        event_sub_type="NETWORK_CONNECTION",
        action_remote_ip=address,
        action_remote_port=port,
        action_external_hostname=host_name,
        **actor,
        **extra,
    )


def _alerts(rows: list[Row], catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    prepare_dataset(dataset)
    hunt_options = HuntOptions(**options)
    return enrich(dataset, catalog, hunt_options, run_hunt(dataset, catalog, hunt_options))


def _of_kind(alerts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [alert for alert in alerts if alert["kind"] == kind]


def test_destinations_mark_vendor_on_label_boundary(catalog: Catalog) -> None:
    anydesk = _actor(ANYDESK, "{A}", 700)
    rows = [
        _start(1, 0, ANYDESK, "{A}", 700),
        _dns(2, 5, "relay-12.net.anydesk.com", anydesk),
        _dns(3, 6, "ANYDESK.COM.", anydesk),
        _dns(4, 7, "notanydesk.com", anydesk),
        _dns(5, 8, "anydesk.com.example.org", anydesk),
    ]
    [alert] = _of_kind(_alerts(rows, catalog), "process_start")

    marks = {d["host_name"]: d["infrastructure"] for d in alert["destinations"]}
    assert marks["relay-12.net.anydesk.com"] == "vendor"
    assert marks["anydesk.com."] == "vendor"
    assert marks["notanydesk.com"] == "unknown"
    assert marks["anydesk.com.example.org"] == "unknown"
    vendors = {d["host_name"]: d["vendor_tool_id"] for d in alert["destinations"]}
    assert vendors["relay-12.net.anydesk.com"] == "anydesk"
    assert vendors["notanydesk.com"] is None


def test_destination_keys_and_counts(catalog: Catalog) -> None:
    anydesk = _actor(ANYDESK, "{A}", 700)
    rows = [
        _start(1, 0, ANYDESK, "{A}", 700),
        _connection(2, 10, "203.0.113.9", 443, anydesk, "relay.example.net"),
        _connection(3, 20, "203.0.113.9", 443, anydesk, "relay.example.net"),
    ]
    [alert] = _of_kind(_alerts(rows, catalog), "process_start")

    [destination] = alert["destinations"]
    assert destination["host_name"] == "relay.example.net"
    assert destination["address"] == "203.0.113.9"
    assert destination["port"] == 443
    assert destination["infrastructure"] == "unknown"
    assert destination["source"] == "network"
    assert destination["count"] == 2
    assert destination["first_time"] == T0 + timedelta(seconds=10)
    assert destination["last_time"] == T0 + timedelta(seconds=20)


def test_destinations_link_by_guid_not_pid(catalog: Catalog) -> None:
    # Another process with the same pid but its own GUID must not lend its connections.
    rows = [
        _start(1, 0, ANYDESK, "{A}", 700),
        _connection(2, 10, "192.0.2.1", 443, _actor(ANYDESK, "{A}", 700)),
        _connection(3, 11, "192.0.2.2", 443, _actor(CHROME, "{OTHER}", 700)),
    ]
    [alert] = _of_kind(_alerts(rows, catalog), "process_start")

    assert [d["address"] for d in alert["destinations"]] == ["192.0.2.1"]


def test_destinations_link_by_pid_within_process_life(catalog: Catalog) -> None:
    # Security 4688 gives no GUID, so connections link by pid from the start until the next
    # start of that pid on the host.
    anydesk = _actor(ANYDESK, None, 700)
    rows = [
        _start(1, 0, ANYDESK, None, 700, action_evtlog_event_id=4688),
        _connection(2, 10, "192.0.2.1", 443, anydesk),
        _start(3, 60, CHROME, None, 700, action_evtlog_event_id=4688),
        _connection(4, 70, "192.0.2.2", 443, _actor(CHROME, None, 700)),
        _connection(5, 5, "192.0.2.3", 443, anydesk, host="WS04"),
        _connection(6, -5, "192.0.2.4", 443, anydesk),
    ]
    [alert] = _of_kind(_alerts(rows, catalog), "process_start")

    assert [d["address"] for d in alert["destinations"]] == ["192.0.2.1"]


def test_service_install_has_no_destinations(catalog: Catalog) -> None:
    rows = [
        _event(
            1,
            0,
            event_type="EVENT_LOG",
            action_evtlog_event_id=7045,
            action_process_image_path=ANYDESK,
            action_process_image_name="AnyDesk.exe",
            action_service_name="AnyDesk",
        )
    ]
    [alert] = _alerts(rows, catalog)

    assert alert["kind"] == "service_install"
    assert alert["destinations"] == []


def test_browser_resolving_vendor_is_vendor_contact(catalog: Catalog) -> None:
    chrome = _actor(CHROME, "{C}", 500)
    rows = [
        _dns(1, 0, "download.anydesk.com", chrome, actor_process_username="CORP\\bob"),
        _connection(2, 1, "192.0.2.80", 443, chrome, "download.anydesk.com"),
        _dns(3, 2, "www.example.org", chrome),
    ]
    [alert] = _alerts(rows, catalog)

    assert alert["kind"] == "rmm_vendor_contact"
    assert alert["tool_id"] == "anydesk"
    assert alert["matched_on"] == ["domain"]
    assert alert["event_count"] == 2
    assert alert["first_time"] == T0
    assert alert["last_time"] == T0 + timedelta(seconds=1)
    assert alert["actor_process_image_name"] == "chrome.exe"
    assert alert["actor_effective_username"] == "CORP\\bob"
    hosts = {d["host_name"] for d in alert["destinations"]}
    assert hosts == {"download.anydesk.com", "www.example.org"}


def test_vendor_contact_once_per_process(catalog: Catalog) -> None:
    rows = [
        _dns(1, 0, "download.anydesk.com", _actor(POWERSHELL, "{P1}", 500)),
        _dns(2, 1, "download.anydesk.com", _actor(POWERSHELL, "{P1}", 500)),
        _dns(3, 9, "download.anydesk.com", _actor(POWERSHELL, "{P2}", 501)),
    ]
    alerts = _of_kind(_alerts(rows, catalog), "rmm_vendor_contact")

    assert sorted(alert["event_count"] for alert in alerts) == [1, 2]


def test_tool_reaching_own_vendor_is_not_contact(catalog: Catalog) -> None:
    rows = [_dns(1, 0, "relay-1.net.anydesk.com", _actor(ANYDESK, "{A}", 700))]
    alerts = _alerts(rows, catalog)

    assert _of_kind(alerts, "rmm_vendor_contact") == []


def test_lookalike_domain_is_not_contact(catalog: Catalog) -> None:
    rows = [_dns(1, 0, "anydesk.com.evil.example", _actor(CHROME, "{C}", 500))]

    assert _alerts(rows, catalog) == []


def test_vendor_contact_respects_categories(catalog: Catalog) -> None:
    rows = [_dns(1, 0, "download.anydesk.com", _actor(CHROME, "{C}", 500))]

    assert _alerts(rows, catalog, categories=frozenset({"tunnel"})) == []


def test_seed_profile_adds_no_vendor_contact(catalog: Catalog) -> None:
    rows = [_dns(1, 0, "download.anydesk.com", _actor(CHROME, "{C}", 500))]

    assert _alerts(rows, catalog, profile="seed") == []


@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("fe80::1", "link_local"),
        ("10.0.2.18", "private"),
        ("100.64.1.1", "private"),
        ("fd12::1", "private"),
        ("::ffff:192.168.1.5", "private"),
        ("8.8.8.8", "public"),
        ("192.0.2.45", "reserved"),
        ("224.0.0.251", "reserved"),
        ("not an address", None),
        (None, None),
    ],
)
def test_address_scope(address: str | None, scope: str | None) -> None:
    assert address_scope(address) == scope


def test_activity_without_ids_links_by_image_path(catalog: Catalog) -> None:
    # Exports that give the actor neither GUID nor process id link by host and image path.
    anydesk = _actor(ANYDESK, None, 0)
    anydesk["actor_process_os_pid"] = None
    other = _actor("C:\\Users\\bob\\Downloads\\AnyDesk.exe", None, 0)
    other["actor_process_os_pid"] = None
    rows = [
        _event(1, 0, event_type="FILE", action_file_path="C:\\x\\ad.trace", **anydesk),
        _connection(2, 5, "192.0.2.77", 443, anydesk, "relay-12.net.anydesk.com"),
        _connection(3, 6, "192.0.2.78", 443, other, "relay-13.net.anydesk.com"),
    ]
    alerts = _of_kind(_alerts(rows, catalog), "rmm_activity")
    [alert] = [a for a in alerts if a["actor_process_image_path"] == ANYDESK]

    assert alert["event_count"] == 2
    assert [d["address"] for d in alert["destinations"]] == ["192.0.2.77"]
