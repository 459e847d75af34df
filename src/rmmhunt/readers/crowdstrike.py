"""CrowdStrike Falcon: ProcessRollup2, SyntheticProcessRollup2, DnsRequest and NetworkConnectIP4.

Reads Falcon Data Replicator (FDR) and event stream JSON, normally one event per line, where
every value is text. Falcon gives each process its own id (`TargetProcessId`), and a child names
its parent's id in `ParentProcessId`. The OS process id is `RawProcessId`.

A child's event contains only the parent's base name, so the reader makes two passes over the
file. The first indexes every process start by agent id and Falcon process id. The second fills
the parent's path, command line and OS pid from that index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rmmhunt.normalise import clean_text, image_name, parse_int
from rmmhunt.readers._edr_records import RawRecord, iter_json, looks_like_json, map_records
from rmmhunt.readers._edr_values import (
    SUB_TYPE_DNS_QUERY,
    SUB_TYPE_NETWORK_CONNECTION,
    action_image_columns,
    epoch_milliseconds,
    epoch_seconds,
    image_path,
    windows_agent,
)
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.schema import (
    EVENT_TYPE_NETWORK,
    EVENT_TYPE_PROCESS,
    OS_WINDOWS,
    SUB_TYPE_PROCESS_START,
    Row,
)

PROCESS_EVENTS: Final = frozenset({"ProcessRollup2", "SyntheticProcessRollup2"})
DNS_EVENT: Final = "DnsRequest"
NETWORK_EVENT: Final = "NetworkConnectIP4"

# IANA protocol numbers that Falcon writes in `Protocol`.
_PROTOCOLS: Final = {"6": "TCP", "17": "UDP", "1": "ICMP"}


@dataclass(frozen=True)
class FalconProcess:
    """One indexed process start: the fields that describe it as another event's actor."""

    image_path: str | None
    command_line: str | None
    os_pid: int | None
    username: str | None


ProcessIndex = dict[tuple[str, str], FalconProcess]
"""Process starts by (agent id, Falcon process id)."""


class CrowdStrikeReader:
    """Reader for Falcon process, DNS and IPv4 connection events in FDR or event stream JSON."""

    format_name = "crowdstrike"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose records carry Falcon's `event_simpleName` and agent id `aid`."""
        return looks_like_json(head) and b'"event_simpleName"' in head and b'"aid"' in head

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per process start, DNS request or IPv4 connection in the file."""
        index = build_process_index(source)

        def mapping(fields: dict[str, object], record: RawRecord) -> Row | None:
            return map_falcon_event(_unwrap_event(fields), index)

        yield from map_records(iter_json(source), source, stats, self.format_name, mapping)


def _unwrap_event(fields: dict[str, object]) -> dict[str, object]:
    # An event nested under `event` beside a `metadata` object is read like a flat one.
    inner = fields.get("event")
    if "event_simpleName" not in fields and isinstance(inner, dict):
        return inner
    return fields


def build_process_index(source: InputFile) -> ProcessIndex:
    """Index the file's process starts by (aid, TargetProcessId); malformed lines are ignored."""
    index: ProcessIndex = {}
    for record in iter_json(source):
        if record.fields is None:
            continue
        event = _unwrap_event(record.fields)
        if clean_text(event.get("event_simpleName")) not in PROCESS_EVENTS:
            continue
        agent_id = clean_text(event.get("aid"))
        process_id = clean_text(event.get("TargetProcessId"))
        if agent_id and process_id:
            index[(agent_id, process_id)] = FalconProcess(
                image_path=image_path(event.get("ImageFileName")),
                command_line=clean_text(event.get("CommandLine")),
                os_pid=parse_int(event.get("RawProcessId")),
                username=clean_text(event.get("UserName")),
            )
    return index


# Field meanings: CrowdStrike's Events Data Dictionary in the Falcon console (ProcessRollup2,
# DnsRequest, NetworkConnectIP4). NOTE: that dictionary requires a Falcon login, so it was not
# checked. The field names were checked against public FDR samples instead (elastic/integrations,
# packages/crowdstrike/data_stream/fdr/_dev/test/pipeline/test-windows.log).


def map_falcon_event(event: dict[str, object], index: ProcessIndex) -> Row | None:
    """Map one Falcon event onto dataset columns; None for event types that are not used."""
    name = clean_text(event.get("event_simpleName"))
    if name in PROCESS_EVENTS:
        row = _process_columns(event, index)
    elif name == DNS_EVENT:
        row = _dns_columns(event, index)
    elif name == NETWORK_EVENT:
        row = _network_columns(event, index)
    else:
        return None

    row.update(_common_columns(event))
    if row.get("agent_os_type") is None:
        row["agent_os_type"] = windows_agent(
            _text(row.get("action_process_image_path")), _text(row.get("actor_process_image_path"))
        )
    return row


def _common_columns(event: dict[str, object]) -> Row:
    platform = clean_text(event.get("event_platform"))
    return {
        "_product": "Falcon",
        "_vendor": "CrowdStrike",
        "event_id": clean_text(event.get("id")),
        "agent_hostname": clean_text(event.get("ComputerName")),
        "agent_id": clean_text(event.get("aid")),
        "agent_os_type": OS_WINDOWS if platform == "Win" else None,
    }


def _event_time(event: dict[str, object], *seconds_fields: str) -> datetime | None:
    """Return the first of the named epoch-seconds fields that is set, else `timestamp` (ms)."""
    for field in seconds_fields:
        parsed = epoch_seconds(event.get(field))
        if parsed is not None:
            return parsed
    return epoch_milliseconds(event.get("timestamp"))


def _process_columns(event: dict[str, object], index: ProcessIndex) -> Row:
    path = image_path(event.get("ImageFileName"))
    row = action_image_columns(path, None, clean_text(event.get("CommandLine")))
    parent = _indexed(index, event, "ParentProcessId")
    row.update(
        {
            "_time": _event_time(event, "ProcessStartTime", "ContextTimeStamp"),
            "event_type": EVENT_TYPE_PROCESS,
            "event_sub_type": SUB_TYPE_PROCESS_START,
            "action_process_image_sha256": _hash(event.get("SHA256HashData")),
            "action_process_image_md5": _hash(event.get("MD5HashData")),
            "action_process_os_pid": parse_int(event.get("RawProcessId")),
            "action_process_instance_id": clean_text(event.get("TargetProcessId")),
            "action_process_username": clean_text(event.get("UserName")),
            "actor_process_instance_id": clean_text(event.get("ParentProcessId")),
            "actor_process_image_name": clean_text(event.get("ParentBaseFileName"))
            or _parent_name(parent),
        }
    )
    row.update(_actor_details(parent))
    return row


def _dns_columns(event: dict[str, object], index: ProcessIndex) -> Row:
    row = _acting_process(event, index)
    row.update(
        {
            "_time": _event_time(event, "ContextTimeStamp"),
            "event_type": EVENT_TYPE_NETWORK,
            "event_sub_type": SUB_TYPE_DNS_QUERY,
            "dns_query_name": clean_text(event.get("DomainName")),
        }
    )
    return row


def _network_columns(event: dict[str, object], index: ProcessIndex) -> Row:
    row = _acting_process(event, index)
    protocol = clean_text(event.get("Protocol"))
    row.update(
        {
            "_time": _event_time(event, "ContextTimeStamp"),
            "event_type": EVENT_TYPE_NETWORK,
            "event_sub_type": SUB_TYPE_NETWORK_CONNECTION,
            "action_remote_ip": clean_text(event.get("RemoteAddressIP4")),
            "action_remote_port": parse_int(event.get("RemotePort")),
            "action_local_ip": clean_text(event.get("LocalAddressIP4")),
            "action_local_port": parse_int(event.get("LocalPort")),
            "action_network_protocol": _PROTOCOLS.get(protocol, protocol) if protocol else None,
        }
    )
    return row


def _acting_process(event: dict[str, object], index: ProcessIndex) -> Row:
    """Describe the process that made a DNS request or connection (`ContextProcessId`)."""
    process = _indexed(index, event, "ContextProcessId")
    row: Row = {
        "actor_process_instance_id": clean_text(event.get("ContextProcessId")),
        "actor_process_image_name": clean_text(event.get("ContextBaseFileName"))
        or _parent_name(process),
    }
    row.update(_actor_details(process))
    return row


def _indexed(index: ProcessIndex, event: dict[str, object], field: str) -> FalconProcess | None:
    agent_id = clean_text(event.get("aid"))
    process_id = clean_text(event.get(field))
    if agent_id is None or process_id is None:
        return None
    return index.get((agent_id, process_id))


def _parent_name(process: FalconProcess | None) -> str | None:
    return image_name(process.image_path) if process else None


def _actor_details(process: FalconProcess | None) -> Row:
    # NOTE: the actor's details come only from a process start in the same file; a parent that
    # started before the file's time range, or is in another file, keeps only its base name.
    if process is None:
        return {}
    return {
        "actor_process_image_path": process.image_path,
        "actor_process_command_line": process.command_line,
        "actor_process_os_pid": process.os_pid,
        "actor_effective_username": process.username,
        "actor_process_username": process.username,
    }


def _hash(value: object) -> str | None:
    text = clean_text(value)
    return text.lower() if text else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
