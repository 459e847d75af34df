"""EventData field names by position, for renderings that drop the names.

`Get-WinEvent | ConvertTo-Json` writes an event's values as `Properties: [{"Value": ...}, ...]`
and some XML exports write `<Data>` elements without a `Name`. Both keep the order of the
event's template, so the names below are that order. Newer schema versions only append fields
(Sysmon added `User` to several events and `ParentUser` to event 1), so a shorter list of values
takes the first names. A value list shorter than `minimum` or longer than the names is not
mapped, because the event's layout is then unknown.

Sources: for Sysmon, the field order of the Sysmon event manifest (`Sysmon64.exe -s` prints it),
which Sysmon's rendered messages follow; the OTRF Security-Datasets logs show the same orders for
schema versions with and without the appended fields. For Security 4688, 4697 and 4698, the
event XML in Microsoft's pages "4688(S): A new process has been created", "4697(S): A service
was installed in the system" and "4698(S): A scheduled task was created" (Windows security
auditing reference, learn.microsoft.com). For System 7045, the Service Control Manager's
template (ServiceName, ImagePath, ServiceType, StartType, AccountName).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class PositionalLayout:
    """The names of an event's values in template order, and how many values it needs."""

    names: tuple[str, ...]
    minimum: int


_SYSMON: Final = "microsoft-windows-sysmon"
_SECURITY: Final = "microsoft-windows-security-auditing"
_SCM: Final = "service control manager"
_TASKS: Final = "microsoft-windows-taskscheduler"

LAYOUTS: Final[dict[tuple[str, int], PositionalLayout]] = {
    (_SYSMON, 1): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "OriginalFileName",
            "CommandLine",
            "CurrentDirectory",
            "User",
            "LogonGuid",
            "LogonId",
            "TerminalSessionId",
            "IntegrityLevel",
            "Hashes",
            "ParentProcessGuid",
            "ParentProcessId",
            "ParentImage",
            "ParentCommandLine",
            "ParentUser",
        ),
        minimum=22,
    ),
    (_SYSMON, 3): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "User",
            "Protocol",
            "Initiated",
            "SourceIsIpv6",
            "SourceIp",
            "SourceHostname",
            "SourcePort",
            "SourcePortName",
            "DestinationIsIpv6",
            "DestinationIp",
            "DestinationHostname",
            "DestinationPort",
            "DestinationPortName",
        ),
        minimum=18,
    ),
    (_SYSMON, 5): PositionalLayout(
        ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User"), minimum=5
    ),
    (_SYSMON, 7): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "ImageLoaded",
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "OriginalFileName",
            "Hashes",
            "Signed",
            "Signature",
            "SignatureStatus",
            "User",
        ),
        minimum=15,
    ),
    (_SYSMON, 10): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "SourceProcessGUID",
            "SourceProcessId",
            "SourceThreadId",
            "SourceImage",
            "TargetProcessGUID",
            "TargetProcessId",
            "TargetImage",
            "GrantedAccess",
            "CallTrace",
            "SourceUser",
            "TargetUser",
        ),
        minimum=11,
    ),
    (_SYSMON, 11): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "TargetFilename",
            "CreationUtcTime",
            "User",
        ),
        minimum=7,
    ),
    (_SYSMON, 12): PositionalLayout(
        (
            "RuleName",
            "EventType",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "TargetObject",
            "User",
        ),
        minimum=7,
    ),
    (_SYSMON, 13): PositionalLayout(
        (
            "RuleName",
            "EventType",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "TargetObject",
            "Details",
            "User",
        ),
        minimum=8,
    ),
    (_SYSMON, 14): PositionalLayout(
        (
            "RuleName",
            "EventType",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "TargetObject",
            "NewName",
            "User",
        ),
        minimum=8,
    ),
    (_SYSMON, 22): PositionalLayout(
        (
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "QueryName",
            "QueryStatus",
            "QueryResults",
            "Image",
            "User",
        ),
        minimum=8,
    ),
    # Version 0 (Windows Vista to 8.0) ends at ProcessId; version 1 adds CommandLine and
    # version 2 (Windows 10, Server 2016) adds the target account, parent name and label.
    (_SECURITY, 4688): PositionalLayout(
        (
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "NewProcessId",
            "NewProcessName",
            "TokenElevationType",
            "ProcessId",
            "CommandLine",
            "TargetUserSid",
            "TargetUserName",
            "TargetDomainName",
            "TargetLogonId",
            "ParentProcessName",
            "MandatoryLabel",
        ),
        minimum=8,
    ),
    (_SECURITY, 4697): PositionalLayout(
        (
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "ServiceName",
            "ServiceFileName",
            "ServiceType",
            "ServiceStartType",
            "ServiceAccount",
            "ClientProcessStartKey",
            "ClientProcessId",
            "ParentProcessId",
        ),
        minimum=9,
    ),
    (_SECURITY, 4698): PositionalLayout(
        (
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "TaskName",
            "TaskContent",
            "ClientProcessStartKey",
            "ClientProcessId",
            "ParentProcessId",
            "RpcCallClientLocality",
            "FQDN",
        ),
        minimum=6,
    ),
    (_SCM, 7045): PositionalLayout(
        ("ServiceName", "ImagePath", "ServiceType", "StartType", "AccountName"), minimum=4
    ),
    (_TASKS, 106): PositionalLayout(("TaskName", "UserContext"), minimum=2),
    # NOTE: the order of 129 is taken from rendered exports, not from a published template.
    (_TASKS, 129): PositionalLayout(("TaskName", "Path", "ProcessID", "Priority"), minimum=3),
}

# Channels that identify the provider when an export names only the channel.
_CHANNEL_PROVIDERS: Final[dict[str, str]] = {
    "microsoft-windows-sysmon/operational": _SYSMON,
    "security": _SECURITY,
    "system": _SCM,
    "microsoft-windows-taskscheduler/operational": _TASKS,
}


def layout_for(
    provider: str | None, channel: str | None, event_id: int | None
) -> PositionalLayout | None:
    """Return the positional layout of an event, or None when rmmhunt does not know it."""
    if event_id is None:
        return None
    key = (provider or "").casefold()
    if key not in {_SYSMON, _SECURITY, _SCM, _TASKS}:
        key = _CHANNEL_PROVIDERS.get((channel or "").casefold(), "")
    return LAYOUTS.get((key, event_id))


def name_values(layout: PositionalLayout | None, values: Sequence[object]) -> dict[str, object]:
    """Name a list of values by the layout, or by their 0-based index when it does not fit."""
    if layout is not None and layout.minimum <= len(values) <= len(layout.names):
        return dict(zip(layout.names, values, strict=False))
    return {str(index): value for index, value in enumerate(values)}
