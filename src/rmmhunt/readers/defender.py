"""Microsoft Defender for Endpoint and Sentinel: DeviceProcessEvents and DeviceNetworkEvents.

The reader accepts the table rows in every shape they are exported in. These are the Advanced
Hunting CSV export (the table's column names as the header) and a JSON array of rows. They are
also the advanced hunting API response (`{"Schema": [...], "Results": [...]}`), Microsoft Graph's
`runHuntingQuery` response (`{"schema": [...], "results": [...]}`), and the streaming API's
Event Hub messages (`{"records": [{"time", "tenantId", "category", "properties"}]}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from rmmhunt.normalise import clean_text, parse_int
from rmmhunt.readers._edr_records import (
    RawRecord,
    iter_csv,
    iter_json,
    looks_like_json,
    map_records,
)
from rmmhunt.readers._edr_values import (
    SUB_TYPE_NETWORK_CONNECTION,
    account,
    action_image_columns,
    event_time,
    full_image_path,
    host_from_url,
    image_path,
    windows_agent,
)
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.schema import EVENT_TYPE_NETWORK, EVENT_TYPE_PROCESS, SUB_TYPE_PROCESS_START, Row

PROCESS_TABLE: Final = "DeviceProcessEvents"
NETWORK_TABLE: Final = "DeviceNetworkEvents"

# Streaming API records name their table as "AdvancedHunting-<table>" in `category`.
_CATEGORY_PREFIX: Final = "AdvancedHunting-"

_CSV_REQUIRED: Final = frozenset({"ActionType"})
_CSV_DEVICE: Final = frozenset({"DeviceName", "DeviceId"})
_CSV_EVENT: Final = frozenset({"FileName", "RemoteIP", "InitiatingProcessFileName"})


class DefenderReader:
    """Reader for Defender DeviceProcessEvents and DeviceNetworkEvents rows, as CSV or JSON."""

    format_name = "defender"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON naming Defender columns, or a CSV header with Defender's column names."""
        if looks_like_json(head):
            has_columns = b'"ActionType"' in head and (
                b'"DeviceId"' in head or b'"DeviceName"' in head
            )
            return has_columns or b'"AdvancedHunting-Device' in head

        first_line = head.decode("utf-8-sig", errors="replace").split("\n", 1)[0]
        columns = {column.strip().strip('"').split(" [", 1)[0] for column in first_line.split(",")}
        return (
            columns >= _CSV_REQUIRED and bool(columns & _CSV_DEVICE) and bool(columns & _CSV_EVENT)
        )

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per process creation or network connection, counting the other rows."""
        records = iter_json(source, _unwrap) if looks_like_json(source.head) else iter_csv(source)

        def mapping(fields: dict[str, object], record: RawRecord) -> Row | None:
            return map_defender_record(fields, options)

        yield from map_records(records, source, stats, self.format_name, mapping)


def _unwrap(value: dict[str, object]) -> list[object] | None:
    for key in ("records", "Results", "results"):
        inner = value.get(key)
        if isinstance(inner, list):
            return inner
    return None


def map_defender_record(fields: dict[str, object], options: ReadOptions) -> Row | None:
    """Map one Defender row (or streaming record) onto dataset columns; None if not used."""
    table, event = _table_and_event(fields)
    kind = _event_kind(table, event)
    if kind is None:
        return None

    row = _common_columns(event, options)
    if kind == PROCESS_TABLE:
        row.update(_process_columns(event))
    else:
        row.update(_network_columns(event))
    row.update(_actor_columns(event))
    paths = (row.get("action_process_image_path"), row.get("actor_process_image_path"))
    row["agent_os_type"] = windows_agent(*(p if isinstance(p, str) else None for p in paths))
    return row


def _table_and_event(fields: dict[str, object]) -> tuple[str | None, dict[str, object]]:
    """Return the table name, when the record names it, and the row's own columns."""
    category = clean_text(fields.get("category"))
    properties = fields.get("properties")
    if category and category.startswith(_CATEGORY_PREFIX) and isinstance(properties, dict):
        return category.removeprefix(_CATEGORY_PREFIX), properties

    # Log Analytics (Sentinel) rows name their table in the `Type` column.
    table = clean_text(fields.get("Type"))
    return (table if table and table.startswith("Device") else None), fields


def _event_kind(table: str | None, event: dict[str, object]) -> str | None:
    """Classify a row as a process creation, a network connection, or None (not used)."""
    action = clean_text(event.get("ActionType")) or ""
    if table in (None, PROCESS_TABLE) and action == "ProcessCreated":
        return PROCESS_TABLE

    # NOTE: the table's Learn page does not list its ActionType values (the portal's in-product
    # schema reference does), so this prefix test approximates that list. Listening sockets such
    # as ListeningConnectionCreated are not connections.
    is_connection = action.startswith(("Connection", "InboundConnection"))
    has_remote = "RemoteIP" in event or "RemoteUrl" in event
    if table in (None, NETWORK_TABLE) and is_connection and has_remote:
        return NETWORK_TABLE
    return None


# Column meanings: Microsoft Learn, the "DeviceProcessEvents" and "DeviceNetworkEvents" tables of
# the advanced hunting schema:
# https://learn.microsoft.com/defender-xdr/advanced-hunting-deviceprocessevents-table
# https://learn.microsoft.com/defender-xdr/advanced-hunting-devicenetworkevents-table


def _common_columns(event: dict[str, object], options: ReadOptions) -> Row:
    device_id = clean_text(event.get("DeviceId"))
    report_id = clean_text(event.get("ReportId"))
    time_value = event.get("Timestamp", event.get("TimeGenerated"))
    return {
        "_time": event_time(time_value, options),
        "_product": "Microsoft Defender for Endpoint",
        "_vendor": "Microsoft",
        # ReportId is a per-device counter, so the event id joins it to the device id.
        "event_id": f"{device_id}:{report_id}" if device_id and report_id else None,
        "agent_hostname": clean_text(event.get("DeviceName")),
        "agent_id": device_id,
    }


def _process_columns(event: dict[str, object]) -> Row:
    """Map the created process (FileName, FolderPath, ProcessCommandLine ...): the action."""
    path = full_image_path(event.get("FolderPath"), event.get("FileName"))
    row = action_image_columns(
        path, clean_text(event.get("FileName")), clean_text(event.get("ProcessCommandLine"))
    )
    row.update(
        {
            "event_type": EVENT_TYPE_PROCESS,
            "event_sub_type": SUB_TYPE_PROCESS_START,
            "action_process_image_sha256": _hash(event.get("SHA256")),
            "action_process_image_md5": _hash(event.get("MD5")),
            "action_process_os_pid": parse_int(event.get("ProcessId")),
            "action_process_username": account(
                event.get("AccountDomain"), event.get("AccountName")
            ),
            "action_process_original_file_name": clean_text(
                event.get("ProcessVersionInfoOriginalFileName")
            ),
            "action_process_file_description": clean_text(
                event.get("ProcessVersionInfoFileDescription")
            ),
            "action_process_file_product": clean_text(event.get("ProcessVersionInfoProductName")),
            "action_process_file_company": clean_text(event.get("ProcessVersionInfoCompanyName")),
        }
    )
    return row


def _network_columns(event: dict[str, object]) -> Row:
    """Map a connection's addresses; the acting process is the actor, as in Cortex."""
    return {
        "event_type": EVENT_TYPE_NETWORK,
        "event_sub_type": SUB_TYPE_NETWORK_CONNECTION,
        "action_remote_ip": clean_text(event.get("RemoteIP")),
        "action_remote_port": parse_int(event.get("RemotePort")),
        "action_external_hostname": host_from_url(event.get("RemoteUrl")),
        "action_local_ip": clean_text(event.get("LocalIP")),
        "action_local_port": parse_int(event.get("LocalPort")),
        "action_network_protocol": clean_text(event.get("Protocol")),
    }


def _actor_columns(event: dict[str, object]) -> Row:
    """Map the InitiatingProcess* columns: the parent of a created process, or the acting one."""
    path = full_image_path(
        event.get("InitiatingProcessFolderPath"), event.get("InitiatingProcessFileName")
    )
    user = account(
        event.get("InitiatingProcessAccountDomain"), event.get("InitiatingProcessAccountName")
    )
    # NOTE: InitiatingProcessParentFileName (the grandparent) has no dataset column yet, and the
    # causality actor is not the grandparent, so the value is not kept.
    return {
        "actor_process_image_name": clean_text(event.get("InitiatingProcessFileName")),
        "actor_process_image_path": path or image_path(event.get("InitiatingProcessFolderPath")),
        "actor_process_command_line": clean_text(event.get("InitiatingProcessCommandLine")),
        "actor_process_image_sha256": _hash(event.get("InitiatingProcessSHA256")),
        "actor_process_os_pid": parse_int(event.get("InitiatingProcessId")),
        "actor_effective_username": user,
        "actor_process_username": user,
    }


def _hash(value: object) -> str | None:
    text = clean_text(value)
    return text.lower() if text else None
