"""Map one Windows event, from any rendering, onto an `xdr_data` row.

Readers of EVTX, Windows XML, evtx_dump JSON, NXLog or Winlogbeat JSON and Splunk exports each build
a WinEvent from their own shape and call map_win_event, so every source maps the same fields the
same way. This module does not depend on any parser.

Roles follow Cortex XDR: the process that an event is about is the action (a created or ended
process), and the process that did something is the actor (a parent, a connecting or a loading
process). Sources of the field names are cited above each mapping function.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rmmhunt.normalise import (
    clean_text,
    image_from_command_line,
    image_name,
    parse_int,
    parse_time,
    short_hostname,
)
from rmmhunt.schema import (
    EVENT_TYPE_EVENT_LOG,
    EVENT_TYPE_FILE,
    EVENT_TYPE_NETWORK,
    EVENT_TYPE_PROCESS,
    EVENT_TYPE_REGISTRY,
    OS_WINDOWS,
    SUB_TYPE_PROCESS_START,
    Row,
)
from rmmhunt.servicepath import parse_service_image_path

logger = logging.getLogger(__name__)

SKIP_EVENT_NOT_USED: Final = "event_not_used"
SKIP_MISSING_REQUIRED_FIELD: Final = "missing_required_field"

# Cortex XDR event types and sub types that schema.py does not define yet.
EVENT_TYPE_LOAD_IMAGE: Final = "LOAD_IMAGE"
SUB_TYPE_PROCESS_END: Final = "PROCESS_END"
SUB_TYPE_PROCESS_ACCESS: Final = "PROCESS_ACCESS"
SUB_TYPE_NETWORK_CONNECTION: Final = "NETWORK_CONNECTION"
SUB_TYPE_DNS_QUERY: Final = "DNS_QUERY"
SUB_TYPE_FILE_CREATE: Final = "FILE_CREATE"
SUB_TYPE_REGISTRY_CREATE_KEY: Final = "REGISTRY_CREATE_KEY"
SUB_TYPE_REGISTRY_SET_VALUE: Final = "REGISTRY_SET_VALUE"
SUB_TYPE_REGISTRY_RENAME: Final = "REGISTRY_RENAME"

PROVIDER_SYSMON: Final = "microsoft-windows-sysmon"
PROVIDER_SECURITY: Final = "microsoft-windows-security-auditing"
PROVIDER_SCM: Final = "service control manager"
PROVIDER_TASK_SCHEDULER: Final = "microsoft-windows-taskscheduler"

# Product names for `_product`, by case-folded provider name.
PRODUCTS: Final[dict[str, str]] = {
    PROVIDER_SYSMON: "Sysmon",
    PROVIDER_SECURITY: "Windows Security Auditing",
    PROVIDER_SCM: "Service Control Manager",
    PROVIDER_TASK_SCHEDULER: "Task Scheduler",
}

# Channels that identify a provider when an export dropped the provider name.
CHANNEL_PROVIDERS: Final[dict[str, str]] = {
    "microsoft-windows-sysmon/operational": PROVIDER_SYSMON,
    "security": PROVIDER_SECURITY,
    "system": PROVIDER_SCM,
    "microsoft-windows-taskscheduler/operational": PROVIDER_TASK_SCHEDULER,
}

# Security 4697 writes service and start types as numbers, and System 7045 writes these names.
# Source: Microsoft, "4697(S): A service was installed in the system", fields ServiceType and
# ServiceStartType.
SERVICE_TYPE_NAMES: Final[dict[int, str]] = {
    0x1: "kernel mode driver",
    0x2: "file system driver",
    0x8: "recognizer driver",
    0x10: "user mode service",
    0x20: "user mode service",
    0x110: "user mode service",
    0x120: "user mode service",
}
START_TYPE_NAMES: Final[dict[int, str]] = {
    0: "boot start",
    1: "system start",
    2: "auto start",
    3: "demand start",
    4: "disabled",
}

_HASH_PAIR: Final = re.compile(r"(SHA256|MD5)=([0-9A-Fa-f]+)", re.IGNORECASE)
_EXEC_ELEMENT: Final = re.compile(r"<Exec>.*?</Exec>", re.DOTALL)


@dataclass(frozen=True)
class WinEvent:
    """One Windows event, independent of how it was rendered.

    Attributes:
        channel: System/Channel, such as `Security`.
        event_id: the Windows event ID (1, 4688, 7045 ...).
        provider: System/Provider/@Name.
        computer: System/Computer as written.
        record_id: System/EventRecordID.
        time_created: System/TimeCreated/@SystemTime as an aware UTC datetime.
        data: the EventData (or UserData) named values, flattened to one level.
        version: System/Version, the event's schema version.
    """

    channel: str | None
    event_id: int | None
    provider: str | None
    computer: str | None
    record_id: int | None
    time_created: datetime | None
    data: Mapping[str, object]
    version: int | None = None


FieldMapper = Callable[[Mapping[str, object], Row], str | None]
"""Fill a row from EventData values and return a skip reason, or None when the row is complete."""


def map_win_event(
    event: WinEvent, *, source_format: str, source_file: str, source_record: str
) -> Row | str:
    """Map a Windows event onto an `xdr_data` row.

    Args:
        event: the event.
        source_format: the reader's format name, stored in `source_format`.
        source_file: the display name of the input, stored in `source_file`.
        source_record: the record id or line within the input, stored in `source_record`.

    Returns:
        The row, or a snake_case skip reason: `event_not_used` for events that rmmhunt does not
        map, `missing_required_field` for a mapped event that lacks the fields its row needs.
    """
    provider = _provider_key(event)
    if provider is None:
        return SKIP_EVENT_NOT_USED
    mapper = _MAPPERS.get((provider, event.event_id))
    if mapper is None:
        return SKIP_EVENT_NOT_USED

    row = _base_row(event, provider, source_format, source_file, source_record)
    reason = mapper(event.data, row)
    if reason is not None:
        return reason

    sysmon_time = _sysmon_time(event) if provider == PROVIDER_SYSMON else None
    row["_time"] = sysmon_time or event.time_created
    return row


def missing_field_message(event: WinEvent, record: str) -> str:
    """Describe a mapped event skipped as `missing_required_field`, for a located warning."""
    source = event.channel or event.provider or "unknown channel"
    return (
        f"{source} event {event.event_id} ({record}) lacks a field that its row requires, such "
        "as the process image or the service name, so it is skipped"
    )


def _provider_key(event: WinEvent) -> str | None:
    if event.provider:
        key = event.provider.casefold()
        if key in PRODUCTS:
            return key
    if event.channel:
        return CHANNEL_PROVIDERS.get(event.channel.casefold())
    return None


def _base_row(
    event: WinEvent, provider: str, source_format: str, source_file: str, source_record: str
) -> Row:
    host = short_hostname(event.computer) or ""
    channel = event.channel or ""
    record = "" if event.record_id is None else str(event.record_id)
    return {
        "_product": PRODUCTS[provider],
        "_vendor": "Microsoft",
        "event_id": f"{host}/{channel}/{record}",
        "agent_hostname": clean_text(event.computer),
        "agent_os_type": OS_WINDOWS,
        "action_evtlog_event_id": event.event_id,
        "evtlog_channel": event.channel,
        "evtlog_record_id": event.record_id,
        "source_format": source_format,
        "source_file": source_file,
        "source_record": source_record,
    }


def _sysmon_time(event: WinEvent) -> datetime | None:
    """Return Sysmon's UtcTime, or None when it is missing or unreadable."""
    value = event.data.get("UtcTime")
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        logger.debug("invalid Sysmon UtcTime %r in record %s", value, event.record_id)
        return None


def _text(data: Mapping[str, object], name: str) -> str | None:
    return clean_text(data.get(name))


def _path(data: Mapping[str, object], name: str) -> str | None:
    """Return a path field with one pair of surrounding quotes removed."""
    text = clean_text(data.get(name))
    if text and len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].strip() or None
    return text


def _account(domain: str | None, user: str | None) -> str | None:
    """Join `DOMAIN\\user` as Windows displays it. A name without a domain stays alone."""
    if user is None:
        return None
    return f"{domain}\\{user}" if domain else user


def _set_actor(data: Mapping[str, object], row: Row) -> None:
    """Fill the actor from Sysmon's Image, ProcessGuid, ProcessId and User."""
    path = _path(data, "Image")
    row["actor_process_image_path"] = path
    row["actor_process_image_name"] = image_name(path)
    row["actor_process_instance_id"] = _text(data, "ProcessGuid")
    row["actor_process_os_pid"] = parse_int(data.get("ProcessId"))
    row["actor_process_username"] = _text(data, "User")


# Sysmon fields: Microsoft Sysinternals, "Sysmon" documentation, section "Events"
# (https://learn.microsoft.com/sysinternals/downloads/sysmon), and the Sysmon event manifest.


def _sysmon_process_create(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 1: the created process is the action and its parent is the actor."""
    path = _path(data, "Image")
    command_line = _text(data, "CommandLine")
    if path is None and command_line is None:
        return SKIP_MISSING_REQUIRED_FIELD

    row["event_type"] = EVENT_TYPE_PROCESS
    row["event_sub_type"] = SUB_TYPE_PROCESS_START
    row["action_process_image_path"] = path
    row["action_process_image_name"] = image_name(path)
    if path is None:
        # Exports that drop Image keep the command line, whose first token names the image.
        derived = image_from_command_line(command_line)
        row["action_process_image_name"] = derived
        row["action_process_image_name_derived"] = derived is not None
    row["action_process_image_command_line"] = command_line
    row["action_process_os_pid"] = parse_int(data.get("ProcessId"))
    row["action_process_instance_id"] = _text(data, "ProcessGuid")
    row["action_process_username"] = _text(data, "User")
    row["action_process_original_file_name"] = _text(data, "OriginalFileName")
    row["action_process_file_description"] = _text(data, "Description")
    row["action_process_file_product"] = _text(data, "Product")
    row["action_process_file_company"] = _text(data, "Company")
    row.update(_parse_hashes(_text(data, "Hashes")))

    parent_path = _path(data, "ParentImage")
    row["actor_process_image_path"] = parent_path
    row["actor_process_image_name"] = image_name(parent_path)
    row["actor_process_command_line"] = _text(data, "ParentCommandLine")
    row["actor_process_os_pid"] = parse_int(data.get("ParentProcessId"))
    row["actor_process_instance_id"] = _text(data, "ParentProcessGuid")
    # ParentUser exists from Sysmon 13.30 on; older schemas leave the actor's account unknown.
    row["actor_effective_username"] = _text(data, "ParentUser")
    return None


def _parse_hashes(hashes: str | None) -> Row:
    """Read SHA256 and MD5 from Sysmon's `SHA1=...,MD5=...,SHA256=...,IMPHASH=...` list."""
    if not hashes:
        return {}
    found = {name.upper(): value.lower() for name, value in _HASH_PAIR.findall(hashes)}
    return {
        "action_process_image_sha256": found.get("SHA256"),
        "action_process_image_md5": found.get("MD5"),
    }


def _sysmon_process_end(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 5: the ended process is the action."""
    path = _path(data, "Image")
    if path is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_PROCESS
    row["event_sub_type"] = SUB_TYPE_PROCESS_END
    row["action_process_image_path"] = path
    row["action_process_image_name"] = image_name(path)
    row["action_process_os_pid"] = parse_int(data.get("ProcessId"))
    row["action_process_instance_id"] = _text(data, "ProcessGuid")
    row["action_process_username"] = _text(data, "User")
    return None


def _sysmon_network(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 3: the connecting process is the actor."""
    if _path(data, "Image") is None and _text(data, "DestinationIp") is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_NETWORK
    row["event_sub_type"] = SUB_TYPE_NETWORK_CONNECTION
    _set_actor(data, row)
    row["action_local_ip"] = _text(data, "SourceIp")
    row["action_local_port"] = parse_int(data.get("SourcePort"))
    row["action_remote_ip"] = _text(data, "DestinationIp")
    row["action_remote_port"] = parse_int(data.get("DestinationPort"))
    row["action_external_hostname"] = _text(data, "DestinationHostname")
    row["action_network_protocol"] = _text(data, "Protocol")
    return None


def _sysmon_image_load(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 7: the loading process is the actor and the loaded module is the file."""
    loaded = _path(data, "ImageLoaded")
    if loaded is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_LOAD_IMAGE
    _set_actor(data, row)
    row["action_file_path"] = loaded
    return None


def _sysmon_process_access(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 10: the opening process is the actor, and the opened process is only the target."""
    source = _path(data, "SourceImage")
    target = _path(data, "TargetImage")
    if source is None and target is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_PROCESS
    row["event_sub_type"] = SUB_TYPE_PROCESS_ACCESS
    row["actor_process_image_path"] = source
    row["actor_process_image_name"] = image_name(source)
    row["actor_process_instance_id"] = _text(data, "SourceProcessGUID")
    row["actor_process_os_pid"] = parse_int(data.get("SourceProcessId"))
    row["actor_process_username"] = _text(data, "SourceUser")
    row["target_process_image_path"] = target
    return None


def _sysmon_file_create(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 11: the creating process is the actor."""
    target = _path(data, "TargetFilename")
    if target is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_FILE
    row["event_sub_type"] = SUB_TYPE_FILE_CREATE
    _set_actor(data, row)
    row["action_file_path"] = target
    return None


def _registry_mapper(sub_type: str) -> FieldMapper:
    """Build the mapper for Sysmon 12, 13 or 14, which share their fields."""

    def mapper(data: Mapping[str, object], row: Row) -> str | None:
        key = _text(data, "TargetObject")
        if key is None:
            return SKIP_MISSING_REQUIRED_FIELD
        row["event_type"] = EVENT_TYPE_REGISTRY
        row["event_sub_type"] = sub_type
        _set_actor(data, row)
        row["action_registry_key_name"] = key
        row["action_registry_value_name"] = key.rsplit("\\", 1)[-1] or None
        row["action_registry_data"] = _text(data, "Details")
        return None

    return mapper


def _sysmon_dns(data: Mapping[str, object], row: Row) -> str | None:
    """Sysmon 22: the querying process is the actor."""
    query = _text(data, "QueryName")
    if query is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_NETWORK
    row["event_sub_type"] = SUB_TYPE_DNS_QUERY
    _set_actor(data, row)
    row["dns_query_name"] = query
    return None


# Security 4688 fields: Microsoft, "4688(S): A new process has been created"
# (https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4688).
# Windows 7 and 2008 write version 0 or 1 (no TargetUserName, ParentProcessName or MandatoryLabel);
# Windows 10 and 2016 write version 2 with them. Process ids are hexadecimal text (`0x1a2c`).


def _security_process_create(data: Mapping[str, object], row: Row) -> str | None:
    """Security 4688: the new process is the action and its creator is the actor."""
    path = _path(data, "NewProcessName")
    if path is None:
        return SKIP_MISSING_REQUIRED_FIELD

    row["event_type"] = EVENT_TYPE_PROCESS
    row["event_sub_type"] = SUB_TYPE_PROCESS_START
    row["action_process_image_path"] = path
    row["action_process_image_name"] = image_name(path)
    row["action_process_image_command_line"] = _text(data, "CommandLine")
    row["action_process_os_pid"] = parse_int(data.get("NewProcessId"))
    # The old field set has no target account, so the new process's user stays NULL there.
    row["action_process_username"] = _account(
        _text(data, "TargetDomainName"), _text(data, "TargetUserName")
    )

    parent_path = _path(data, "ParentProcessName")
    row["actor_process_image_path"] = parent_path
    row["actor_process_image_name"] = image_name(parent_path)
    row["actor_process_os_pid"] = parse_int(data.get("ProcessId"))
    row["actor_effective_username"] = _account(
        _text(data, "SubjectDomainName"), _text(data, "SubjectUserName")
    )
    return None


# System 7045 fields are those the Service Control Manager writes (ServiceName, ImagePath,
# ServiceType, StartType, AccountName), as rendered in the System log. Security 4697 fields:
# Microsoft, "4697(S): A service was installed in the system"
# (https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4697).


def _service_installed_7045(data: Mapping[str, object], row: Row) -> str | None:
    """System 7045: a service was installed."""
    return _fill_service(
        row,
        name=_text(data, "ServiceName"),
        image_path=_text(data, "ImagePath"),
        service_type=_text(data, "ServiceType"),
        start_type=_text(data, "StartType"),
        account=_text(data, "AccountName"),
    )


def _service_installed_4697(data: Mapping[str, object], row: Row) -> str | None:
    """Security 4697: a service was installed, with numeric types and the installing account."""
    row["actor_effective_username"] = _account(
        _text(data, "SubjectDomainName"), _text(data, "SubjectUserName")
    )
    return _fill_service(
        row,
        name=_text(data, "ServiceName"),
        image_path=_text(data, "ServiceFileName"),
        service_type=_type_name(data.get("ServiceType"), SERVICE_TYPE_NAMES),
        start_type=_type_name(data.get("ServiceStartType"), START_TYPE_NAMES),
        account=_text(data, "ServiceAccount"),
    )


def _type_name(value: object, names: Mapping[int, str]) -> str | None:
    """Translate a numeric type to the name 7045 writes, keeping text or unknown numbers as text."""
    number = parse_int(value)
    if number is None:
        return clean_text(value)
    return names.get(number, clean_text(value))


def _fill_service(
    row: Row,
    *,
    name: str | None,
    image_path: str | None,
    service_type: str | None,
    start_type: str | None,
    account: str | None,
) -> str | None:
    if image_path is None:
        return SKIP_MISSING_REQUIRED_FIELD

    image = parse_service_image_path(image_path)
    row["event_type"] = EVENT_TYPE_EVENT_LOG
    row["event_sub_type"] = None
    row["action_service_name"] = name
    row["action_service_image_path"] = image_path
    row["action_service_type"] = service_type
    row["action_service_start_type"] = start_type
    row["action_service_account"] = account
    row["action_process_image_path"] = image.executable or None
    row["action_process_image_name"] = image.name
    # The raw image path contains the arguments too, so alerts show it as the command line.
    row["action_process_image_command_line"] = image_path
    return None


# Security 4698 fields: Microsoft, "4698(S): A scheduled task was created"
# (https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4698).
# TaskContent is the task's XML definition (Task Scheduler schema, element Actions/Exec).
# Task Scheduler 106 and 129 fields come from the Microsoft-Windows-TaskScheduler event manifest
# (`wevtutil gp Microsoft-Windows-TaskScheduler /ge /gm`).


def _task_created_4698(data: Mapping[str, object], row: Row) -> str | None:
    """Security 4698: a scheduled task was created, and its Exec actions become the task command."""
    name = _text(data, "TaskName")
    if name is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_EVENT_LOG
    row["action_task_name"] = name
    row["action_task_command"] = task_exec_commands(_text(data, "TaskContent"))
    row["actor_effective_username"] = _account(
        _text(data, "SubjectDomainName"), _text(data, "SubjectUserName")
    )
    return None


def task_exec_commands(task_xml: str | None) -> str | None:
    """Return the `Command Arguments` of each Exec action in a task definition, joined by `; `.

    Each `<Exec>` element is cut out with a regular expression and parsed on its own. A fragment
    cannot carry a DOCTYPE, so no entity defined in the attacker-written XML is ever expanded, and
    a reference to one makes that action unreadable instead.
    """
    if not task_xml:
        return None
    commands = []
    for fragment in _EXEC_ELEMENT.findall(task_xml):
        try:
            element = ElementTree.fromstring(fragment)
        except ElementTree.ParseError:
            logger.debug("unreadable Exec action in task XML: %.200s", fragment)
            continue
        command = (element.findtext("Command") or "").strip()
        arguments = (element.findtext("Arguments") or "").strip()
        text = f"{command} {arguments}".strip()
        if text:
            commands.append(text)
    return "; ".join(commands) or None


def _task_registered_106(data: Mapping[str, object], row: Row) -> str | None:
    """Task Scheduler 106: a user registered a task."""
    name = _text(data, "TaskName")
    if name is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_EVENT_LOG
    row["action_task_name"] = name
    row["actor_effective_username"] = _text(data, "UserContext")
    return None


def _task_launched_129(data: Mapping[str, object], row: Row) -> str | None:
    """Task Scheduler 129: a task launched a process."""
    name = _text(data, "TaskName")
    path = _path(data, "Path")
    if name is None and path is None:
        return SKIP_MISSING_REQUIRED_FIELD
    row["event_type"] = EVENT_TYPE_EVENT_LOG
    row["action_task_name"] = name
    row["action_task_command"] = path
    row["action_process_image_path"] = path
    row["action_process_image_name"] = image_name(path)
    row["action_process_os_pid"] = parse_int(data.get("ProcessID"))
    return None


_MAPPERS: Final[dict[tuple[str, int | None], FieldMapper]] = {
    (PROVIDER_SYSMON, 1): _sysmon_process_create,
    (PROVIDER_SYSMON, 3): _sysmon_network,
    (PROVIDER_SYSMON, 5): _sysmon_process_end,
    (PROVIDER_SYSMON, 7): _sysmon_image_load,
    (PROVIDER_SYSMON, 10): _sysmon_process_access,
    (PROVIDER_SYSMON, 11): _sysmon_file_create,
    (PROVIDER_SYSMON, 12): _registry_mapper(SUB_TYPE_REGISTRY_CREATE_KEY),
    (PROVIDER_SYSMON, 13): _registry_mapper(SUB_TYPE_REGISTRY_SET_VALUE),
    (PROVIDER_SYSMON, 14): _registry_mapper(SUB_TYPE_REGISTRY_RENAME),
    (PROVIDER_SYSMON, 22): _sysmon_dns,
    (PROVIDER_SECURITY, 4688): _security_process_create,
    (PROVIDER_SECURITY, 4697): _service_installed_4697,
    (PROVIDER_SECURITY, 4698): _task_created_4698,
    (PROVIDER_SCM, 7045): _service_installed_7045,
    (PROVIDER_TASK_SCHEDULER, 106): _task_registered_106,
    (PROVIDER_TASK_SCHEDULER, 129): _task_launched_129,
}
