"""OCSF 1.x Process Activity (1007), Network Activity (4001) and DNS Activity (4003) events.

Reads OCSF events as JSON (an array or one event per line) and as Parquet in the Amazon Security
Lake layout (`.../region=<region>/accountId=<id>/eventDay=YYYYMMDD/<file>.parquet`, one event
class per file, nested structs). Parquet is read in record batches so that memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.normalise import clean_text, image_name, parse_int
from rmmhunt.readers._edr_records import RawRecord, iter_json, looks_like_json, map_records
from rmmhunt.readers._edr_values import (
    SUB_TYPE_DNS_QUERY,
    SUB_TYPE_NETWORK_CONNECTION,
    account,
    action_image_columns,
    epoch_milliseconds,
    event_time,
    image_path,
    lookup,
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

# Class and enum values: OCSF schema (github.com/ocsf/ocsf-schema): events/system/process_activity,
# events/network/network_activity and dns_activity, objects/process, fingerprint and os.
PROCESS_ACTIVITY: Final = 1007
NETWORK_ACTIVITY: Final = 4001
DNS_ACTIVITY: Final = 4003
LAUNCH: Final = 1
OS_TYPE_WINDOWS: Final = 100
HASH_MD5: Final = 1
HASH_SHA256: Final = 3
DIRECTION_INBOUND: Final = 1

# Network Activity 1 Open, 4 Fail, 5 Refuse and 6 Traffic describe a connection or an attempt;
# 2 Close, 3 Reset and 7 Listen do not start one.
_CONNECTION_ACTIVITIES: Final = frozenset({1, 4, 5, 6})

PARQUET_MAGIC: Final = b"PAR1"
PARQUET_BATCH_ROWS: Final = 8192
"""Rows per Parquet record batch: bounds memory at a few MB for typical OCSF rows (an estimate)."""


class OcsfReader:
    """Reader for OCSF process, network and DNS activity as JSON, NDJSON or Parquet."""

    format_name = "ocsf"

    def detect(self, head: bytes, name: str) -> bool:
        """Accept Parquet with OCSF columns, or JSON events that carry `class_uid`."""
        if head.startswith(PARQUET_MAGIC):
            # Parquet keeps its schema in the footer, so the head shows only the column names that
            # appear in the first pages. The file name is the tie-breaker.
            return b"class_uid" in head or name.lower().endswith(".parquet")
        return looks_like_json(head) and b'"class_uid"' in head and b'"metadata"' in head

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per process launch, connection or DNS query."""

        def mapping(fields: dict[str, object], record: RawRecord) -> Row | None:
            return map_ocsf_event(fields, options)

        if source.head.startswith(PARQUET_MAGIC):
            records = iter_parquet(source)
        else:
            records = iter_json(source)
        yield from map_records(records, source, stats, self.format_name, mapping)


def iter_parquet(source: InputFile) -> Iterator[RawRecord]:
    """Yield each Parquet row as a nested record, reading one record batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source.stream.seek(0)
    try:
        parquet = pq.ParquetFile(source.stream)
    except (pa.ArrowException, OSError) as error:
        raise InputError(
            f"invalid Parquet file: {error}",
            path=source.display,
            hint="check that the file is complete; Parquet needs its footer to be read",
        ) from error

    index = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for values in batch.to_pylist():
            index += 1
            yield RawRecord(values, index)


def map_ocsf_event(event: dict[str, object], options: ReadOptions) -> Row | None:
    """Map one OCSF event onto dataset columns; None for classes and activities not used."""
    class_uid = parse_int(event.get("class_uid"))
    activity = parse_int(event.get("activity_id"))
    if class_uid == PROCESS_ACTIVITY and activity == LAUNCH:
        row = _process_columns(event)
    elif class_uid == NETWORK_ACTIVITY and activity in _CONNECTION_ACTIVITIES:
        row = _network_columns(event)
    elif class_uid == DNS_ACTIVITY:
        row = _dns_columns(event)
    else:
        # NOTE: OCSF 2.0 folds DNS into Network Activity (the network_dns profile); those events
        # are read as connections and their query name is not mapped.
        return None

    row.update(_actor_columns(event))
    row.update(_common_columns(event, options))
    if row.get("agent_os_type") is None:
        paths = (row.get("action_process_image_path"), row.get("actor_process_image_path"))
        row["agent_os_type"] = windows_agent(*(p if isinstance(p, str) else None for p in paths))
    return row


def _common_columns(event: dict[str, object], options: ReadOptions) -> Row:
    os_type = parse_int(lookup(event, "device.os.type_id"))
    os_name = clean_text(lookup(event, "device.os.name")) or ""
    is_windows = os_type == OS_TYPE_WINDOWS or os_name.casefold().startswith("windows")
    return {
        "_time": _event_time(event, options),
        "_product": clean_text(lookup(event, "metadata.product.name")),
        "_vendor": clean_text(lookup(event, "metadata.product.vendor_name")),
        "event_id": clean_text(lookup(event, "metadata.uid")),
        "agent_hostname": clean_text(lookup(event, "device.hostname")),
        "agent_id": clean_text(lookup(event, "device.uid")),
        "agent_os_type": OS_WINDOWS if is_windows else None,
    }


def _event_time(event: dict[str, object], options: ReadOptions) -> object:
    # `time` is epoch milliseconds. The optional `time_dt` (the datetime profile) keeps finer
    # fractions, so it is preferred when present.
    if event.get("time_dt") is not None:
        return event_time(event.get("time_dt"), options)
    return epoch_milliseconds(event.get("time"))


def _process_columns(event: dict[str, object]) -> Row:
    process = _object(event.get("process"))
    file = _object(process.get("file"))
    path = image_path(file.get("path"))
    name = clean_text(file.get("name")) or image_name(path) or clean_text(process.get("name"))
    row = action_image_columns(path, name, clean_text(process.get("cmd_line")))
    hashes = _hashes(file)
    row.update(
        {
            "event_type": EVENT_TYPE_PROCESS,
            "event_sub_type": SUB_TYPE_PROCESS_START,
            "action_process_image_sha256": hashes.get(HASH_SHA256),
            "action_process_image_md5": hashes.get(HASH_MD5),
            "action_process_os_pid": parse_int(process.get("pid")),
            "action_process_instance_id": clean_text(process.get("uid")),
            "action_process_username": _user(process.get("user")),
        }
    )
    return row


def _network_columns(event: dict[str, object]) -> Row:
    source = _object(event.get("src_endpoint"))
    destination = _object(event.get("dst_endpoint"))
    connection = _object(event.get("connection_info"))
    local, remote = source, destination
    if parse_int(connection.get("direction_id")) == DIRECTION_INBOUND:
        # An inbound connection's initiator is the remote side.
        local, remote = destination, source
    return {
        "event_type": EVENT_TYPE_NETWORK,
        "event_sub_type": SUB_TYPE_NETWORK_CONNECTION,
        "action_local_ip": clean_text(local.get("ip")),
        "action_local_port": parse_int(local.get("port")),
        "action_remote_ip": clean_text(remote.get("ip")),
        "action_remote_port": parse_int(remote.get("port")),
        "action_external_hostname": clean_text(remote.get("hostname")),
        "action_network_protocol": _protocol(connection.get("protocol_name")),
    }


def _dns_columns(event: dict[str, object]) -> Row:
    row = _network_columns(event)
    row["event_sub_type"] = SUB_TYPE_DNS_QUERY
    row["dns_query_name"] = clean_text(lookup(event, "query.hostname"))
    return row


def _actor_columns(event: dict[str, object]) -> Row:
    """Map `actor.process`, or the created process's `parent_process` when there is no actor."""
    actor = _object(event.get("actor"))
    process = _object(actor.get("process")) or _object(
        _object(event.get("process")).get("parent_process")
    )
    file = _object(process.get("file"))
    path = image_path(file.get("path"))
    user = _user(actor.get("user")) or _user(process.get("user"))
    return {
        "actor_process_image_name": clean_text(file.get("name"))
        or image_name(path)
        or clean_text(process.get("name")),
        "actor_process_image_path": path,
        "actor_process_command_line": clean_text(process.get("cmd_line")),
        "actor_process_image_sha256": _hashes(file).get(HASH_SHA256),
        "actor_process_os_pid": parse_int(process.get("pid")),
        "actor_process_instance_id": clean_text(process.get("uid")),
        "actor_effective_username": user,
        "actor_process_username": user,
    }


def _object(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _hashes(file: dict[str, object]) -> dict[int, str]:
    """Return the file's fingerprints by `algorithm_id`, lower-cased."""
    found: dict[int, str] = {}
    fingerprints = file.get("hashes")
    for fingerprint in fingerprints if isinstance(fingerprints, list) else []:
        entry = _object(fingerprint)
        algorithm = parse_int(entry.get("algorithm_id"))
        value = clean_text(entry.get("value"))
        if algorithm is not None and value:
            found.setdefault(algorithm, value.lower())
    return found


def _user(value: object) -> str | None:
    user = _object(value)
    return account(user.get("domain"), user.get("name"))


def _protocol(value: object) -> str | None:
    text = clean_text(value)
    return text.upper() if text else None
