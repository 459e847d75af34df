"""The `xdr_data` dataset: column names, Arrow types and the seed hunt's output fields.

Column names follow Cortex XDR's `xdr_data` dataset, because the hunt's output fields and every XQL
query are written in them. Columns that Cortex does not define keep its naming style and are listed
in EXTENSION_COLUMNS; docs/schema.md marks them as project extensions.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

TIMESTAMP: Final = pa.timestamp("us", tz="UTC")

# Cortex XDR xdr_data columns that rmmhunt fills. Order is the dataset's column order.
CORTEX_COLUMNS: Final[list[tuple[str, pa.DataType]]] = [
    ("_time", TIMESTAMP),
    ("_product", pa.string()),
    ("_vendor", pa.string()),
    ("event_id", pa.string()),
    ("event_type", pa.string()),
    ("event_sub_type", pa.string()),
    ("agent_hostname", pa.string()),
    ("agent_id", pa.string()),
    ("agent_os_type", pa.string()),
    ("action_evtlog_event_id", pa.int64()),
    ("action_process_image_name", pa.string()),
    ("action_process_image_path", pa.string()),
    ("action_process_image_command_line", pa.string()),
    ("action_process_image_sha256", pa.string()),
    ("action_process_image_md5", pa.string()),
    ("action_process_os_pid", pa.int64()),
    ("action_process_instance_id", pa.string()),
    ("action_process_username", pa.string()),
    ("action_process_signature_vendor", pa.string()),
    ("action_process_signature_status", pa.string()),
    ("actor_process_image_name", pa.string()),
    ("actor_process_image_path", pa.string()),
    ("actor_process_command_line", pa.string()),
    ("actor_process_image_sha256", pa.string()),
    ("actor_process_os_pid", pa.int64()),
    ("actor_process_instance_id", pa.string()),
    ("actor_effective_username", pa.string()),
    ("causality_actor_process_image_name", pa.string()),
    ("causality_actor_process_image_path", pa.string()),
    ("causality_actor_process_command_line", pa.string()),
    ("causality_actor_primary_username", pa.string()),
    ("causality_actor_process_image_sha256", pa.string()),
    ("causality_actor_process_instance_id", pa.string()),
    ("action_local_ip", pa.string()),
    ("action_local_port", pa.int64()),
    ("action_remote_ip", pa.string()),
    ("action_remote_port", pa.int64()),
    ("action_external_hostname", pa.string()),
    ("action_network_protocol", pa.string()),
    ("dns_query_name", pa.string()),
    ("action_file_path", pa.string()),
    ("action_registry_key_name", pa.string()),
    ("action_registry_value_name", pa.string()),
    ("action_registry_data", pa.string()),
]

# Project extensions, in the same naming style. Provenance columns point back at the raw record.
EXTENSION_COLUMNS: Final[list[tuple[str, pa.DataType]]] = [
    ("action_process_original_file_name", pa.string()),
    ("action_process_image_name_derived", pa.bool_()),
    ("action_process_file_description", pa.string()),
    ("action_process_file_product", pa.string()),
    ("action_process_file_company", pa.string()),
    ("actor_process_username", pa.string()),
    ("action_service_name", pa.string()),
    ("action_service_image_path", pa.string()),
    ("action_service_start_type", pa.string()),
    ("action_service_account", pa.string()),
    ("action_service_type", pa.string()),
    ("action_task_name", pa.string()),
    ("action_task_command", pa.string()),
    ("target_process_image_path", pa.string()),
    ("evtlog_channel", pa.string()),
    ("evtlog_record_id", pa.int64()),
    ("source_format", pa.string()),
    ("source_file", pa.string()),
    ("source_record", pa.string()),
]

COLUMNS: Final[list[tuple[str, pa.DataType]]] = CORTEX_COLUMNS + EXTENSION_COLUMNS
COLUMN_NAMES: Final[frozenset[str]] = frozenset(name for name, _ in COLUMNS)
ARROW_SCHEMA: Final = pa.schema(COLUMNS)

# The seed hunt's `fields` stage, in its order. Every alert carries these first.
SEED_FIELDS: Final[tuple[str, ...]] = (
    "_time",
    "agent_hostname",
    "actor_effective_username",
    "action_process_image_name",
    "action_process_image_path",
    "action_process_image_command_line",
    "actor_process_image_name",
    "actor_process_image_path",
    "actor_process_command_line",
    "causality_actor_process_command_line",
    "causality_actor_primary_username",
    "causality_actor_process_image_sha256",
    "event_id",
    "agent_id",
    "_product",
)

# Enum values as Cortex names them (XQL writes them as ENUM.<name>).
EVENT_TYPE_PROCESS: Final = "PROCESS"
EVENT_TYPE_NETWORK: Final = "NETWORK"
EVENT_TYPE_FILE: Final = "FILE"
EVENT_TYPE_REGISTRY: Final = "REGISTRY"
EVENT_TYPE_EVENT_LOG: Final = "EVENT_LOG"
SUB_TYPE_PROCESS_START: Final = "PROCESS_START"
OS_WINDOWS: Final = "AGENT_OS_WINDOWS"

Row = dict[str, object]
"""One normalised event: a mapping from column name to value. Missing columns are NULL."""
