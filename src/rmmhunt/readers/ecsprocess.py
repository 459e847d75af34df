"""ECS process events that carry no `winlog` object, as Elastic Defend (Elastic Agent) writes them.

Elastic Defend's endpoint events describe a process start with ECS fields alone. The event
categorisation fields mark it (`event.category: process`, `event.type: start`, Elastic "ECS
Categorization Fields"). The process is under `process.*` and its parent under `process.parent.*`
("ECS Process Fields": `executable`, `name`, `command_line`, `pid`, `entity_id`,
`pe.original_file_name`, `hash.sha256`, `hash.md5`). The account is under `user.*` ("ECS User
Fields"), and the host under `host.*` with `host.os.type: windows` ("ECS Host Fields"). `event.id`
is the event's own id, which duplicate merging keys on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rmmhunt.normalise import clean_text, image_name, parse_int
from rmmhunt.readers._edr_values import (
    account,
    action_image_columns,
    event_time,
    image_path,
    windows_agent,
)
from rmmhunt.readers.base import ReadOptions
from rmmhunt.schema import EVENT_TYPE_PROCESS, OS_WINDOWS, SUB_TYPE_PROCESS_START, Row

_VENDOR: Final = "Elastic"


def is_ecs_process_document(document: Mapping[str, object]) -> bool:
    """Return whether a document without `winlog` is an ECS event with a `process` object."""
    return isinstance(document.get("process"), Mapping) and isinstance(
        ecs_field(document, "event.category"), str | list
    )


def map_ecs_process(document: Mapping[str, object], options: ReadOptions) -> Row | None:
    """Map an ECS process start onto dataset columns, or return None for any other event.

    Raises:
        RecordRejected: the `@timestamp` value is not a time (`invalid_time`).
    """
    # NOTE: Elastic Defend's network and DNS events are not mapped yet, so they are not used.
    if "process" not in _values(document, "event.category"):
        return None
    if "start" not in _values(document, "event.type"):
        return None

    path = image_path(ecs_field(document, "process.executable"))
    name = clean_text(ecs_field(document, "process.name"))
    row = action_image_columns(path, name, clean_text(ecs_field(document, "process.command_line")))
    row.update(_identity_columns(document, options))
    row.update(_action_columns(document))
    row.update(_actor_columns(document))
    if row.get("agent_os_type") is None:
        parent_path = image_path(ecs_field(document, "process.parent.executable"))
        row["agent_os_type"] = windows_agent(path, parent_path)
    return row


def _identity_columns(document: Mapping[str, object], options: ReadOptions) -> Row:
    os_type = clean_text(ecs_field(document, "host.os.type")) or clean_text(
        ecs_field(document, "host.os.family")
    )
    is_windows = os_type is not None and os_type.casefold() == "windows"
    return {
        "_time": event_time(document.get("@timestamp"), options),
        "_vendor": _VENDOR,
        "_product": clean_text(ecs_field(document, "agent.type")),
        "event_id": clean_text(ecs_field(document, "event.id")),
        "event_type": EVENT_TYPE_PROCESS,
        "event_sub_type": SUB_TYPE_PROCESS_START,
        "agent_hostname": clean_text(ecs_field(document, "host.hostname"))
        or clean_text(ecs_field(document, "host.name")),
        "agent_id": clean_text(ecs_field(document, "agent.id")),
        "agent_os_type": OS_WINDOWS if is_windows else None,
    }


def _action_columns(document: Mapping[str, object]) -> Row:
    return {
        "action_process_os_pid": parse_int(ecs_field(document, "process.pid")),
        "action_process_instance_id": clean_text(ecs_field(document, "process.entity_id")),
        "action_process_original_file_name": clean_text(
            ecs_field(document, "process.pe.original_file_name")
        ),
        "action_process_image_sha256": _hash(ecs_field(document, "process.hash.sha256")),
        "action_process_image_md5": _hash(ecs_field(document, "process.hash.md5")),
        "action_process_username": account(
            ecs_field(document, "user.domain"), ecs_field(document, "user.name")
        ),
    }


def _actor_columns(document: Mapping[str, object]) -> Row:
    path = image_path(ecs_field(document, "process.parent.executable"))
    # The parent's account is read from `process.parent.user` when an export has it, and is
    # otherwise left NULL rather than taken from the child's `user`.
    user = account(
        ecs_field(document, "process.parent.user.domain"),
        ecs_field(document, "process.parent.user.name"),
    )
    return {
        "actor_effective_username": user,
        "actor_process_image_path": path,
        "actor_process_image_name": clean_text(ecs_field(document, "process.parent.name"))
        or image_name(path),
        "actor_process_command_line": clean_text(
            ecs_field(document, "process.parent.command_line")
        ),
        "actor_process_os_pid": parse_int(ecs_field(document, "process.parent.pid")),
        "actor_process_instance_id": clean_text(ecs_field(document, "process.parent.entity_id")),
        "actor_process_image_sha256": _hash(ecs_field(document, "process.parent.hash.sha256")),
    }


def _hash(value: object) -> str | None:
    text = clean_text(value)
    return text.lower() if text else None


def _values(document: Mapping[str, object], path: str) -> set[str]:
    """Return a keyword field as a set of lower-case values; ECS allows one value or a list."""
    value = ecs_field(document, path)
    items = value if isinstance(value, list) else [value]
    return {text.casefold() for text in (clean_text(item) for item in items) if text}


def ecs_field(document: Mapping[str, object], path: str) -> object:
    """Look up a dotted path in nested objects, or as one dotted key as some exports write it."""
    if path in document:
        return document[path]
    value: object = document
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
