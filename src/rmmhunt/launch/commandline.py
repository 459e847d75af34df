"""Recognise unattended-access and silent-install command lines, and the relay or server host.

Vendor sources for the options:

- AnyDesk: `--install <folder>`, `--start-with-win`, `--silent` and `--set-password`, which
  reads the password for unattended access from standard input or takes it as
  `--set-password=<password>`. AnyDesk's help center describes unattended access at
  https://support.anydesk.com/Unattended_Access.
- ConnectWise ScreenConnect: the client's launch parameters are a query string. `e` is the
  session type (`Access` is an unattended-access session, `Support` an attended one), `y` the
  participant (`Guest`), `h` the relay host and `p` the relay port (ConnectWise Control forum,
  "Build relay URL for immediate Access", which points to the "Client Launch Parameters" page).
- RustDesk: `--password` sets the permanent password and `--option` sets one setting, such as
  `custom-rendezvous-server`. `--config` takes the server settings as reversed Base64 JSON with
  `host`, `relay`, `api` and `key`. An executable named `rustdesk-host=<host>,key=<key>.exe`
  reads its server from its own file name. The source is RustDesk's documentation, "Client
  Configuration" and "Client Deployment" (https://rustdesk.com/docs/en/self-host/).
- Installers: `/SILENT` and `/VERYSILENT` (Inno Setup, "Setup Command Line Parameters",
  https://jrsoftware.org/ishelp/topic_setupcmdline.htm), and `/S`, `/q`, `/qn` and `/quiet`.
- Self-hosted tools (MeshCentral, Tactical RMM, SimpleHelp and others) name their server as a
  URL or as a `--server`, `--api` or `host=` style option, and any such host is extracted.

NOTE: the AnyDesk option names follow its command line as attackers and administrators use
it. The list was not checked against AnyDesk's current reference page.

Command lines are attacker-controlled text: they are only split and read, never run.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from rmmhunt import winpath


@dataclass(frozen=True)
class Finding:
    """One recognised option: its id, its category and the text that shows it."""

    id: str
    category: str
    detail: str


@dataclass(frozen=True)
class ServerHost:
    """A relay or server host that a command line names, with the option it came from."""

    host: str
    port: int | None
    source: str


@dataclass
class CommandLineAnalysis:
    """Setup options and server hosts found in one command line."""

    findings: list[Finding] = field(default_factory=list)
    servers: list[ServerHost] = field(default_factory=list)

    def categories(self) -> set[str]:
        """Return the categories of the findings."""
        return {finding.category for finding in self.findings}


# Categories of findings.
UNATTENDED_ACCESS: Final = "unattended_access"
SILENT_INSTALL: Final = "silent_install"
AUTOSTART: Final = "autostart"
INSTALL: Final = "install"

_SILENT_FLAGS: Final = frozenset(
    {"--silent", "-silent", "/silent", "/verysilent", "/s", "/q", "/qn", "/quiet", "--quiet"}
)
_INSTALL_FLAGS: Final = frozenset({"--install", "-install", "/install", "-fullinstall", "/i"})
# Generic options that name a server, as `--server host` or `--server=host`.
_SERVER_OPTIONS: Final = frozenset(
    {"--server", "-server", "/server", "--api", "--host", "--relay", "--relay-server", "--url"}
)
_URL: Final = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>|&;]+", re.IGNORECASE)
_KEY_VALUE_HOST: Final = re.compile(
    r"(?:^|[\s\"',;?&])(host|server|relay|meshserver)=([a-z0-9.\-_:\[\]]+)", re.IGNORECASE
)
_RUSTDESK_NAME: Final = re.compile(r"^rustdesk-(.+)\.exe$", re.IGNORECASE)
_RUSTDESK_SERVER_OPTIONS: Final = frozenset(
    {"custom-rendezvous-server", "relay-server", "api-server"}
)


def split_command_line(command_line: str) -> list[str]:
    """Split a Windows command line into arguments, honouring double quotes.

    The rules are a simplification of `CommandLineToArgvW`: white space outside quotes ends an
    argument and a `"` toggles quoting. Backslashes are kept as they are, because paths end in
    them far more often than arguments escape quotes with them.
    """
    arguments: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for character in command_line:
        if character == '"':
            quoted = not quoted
            started = True
        elif character.isspace() and not quoted:
            if started:
                arguments.append("".join(current))
            current, started = [], False
        else:
            current.append(character)
            started = True
    if started:
        arguments.append("".join(current))
    return arguments


def analyse_command_line(command_line: str | None, image: str | None = None) -> CommandLineAnalysis:
    """Recognise setup options and server hosts in a tool's command line and image name.

    Args:
        command_line: the tool's command line, a service's image path, or a persistence
            command; None when the event records none.
        image: the tool's image path or name, for tools that read settings from their file name.
    """
    analysis = CommandLineAnalysis()
    arguments = split_command_line(command_line) if command_line else []
    lowered = [argument.casefold() for argument in arguments]

    _anydesk_options(lowered, analysis)
    _screenconnect_options(arguments, analysis)
    _rustdesk_options(arguments, lowered, analysis)
    if image:
        _rustdesk_file_name(image, analysis)
    _generic_servers(command_line or "", arguments, lowered, analysis)
    _generic_install(lowered, analysis)
    analysis.servers = _unique_servers(analysis.servers)
    return analysis


def _option_names(lowered: list[str]) -> set[str]:
    """Return the option names, without any `=value` part."""
    return {argument.split("=", 1)[0] for argument in lowered}


def _anydesk_options(lowered: list[str], analysis: CommandLineAnalysis) -> None:
    options = _option_names(lowered)
    if "--set-password" in options:
        analysis.findings.append(
            Finding(
                "anydesk_set_password",
                UNATTENDED_ACCESS,
                "--set-password sets an unattended-access password",
            )
        )
    if "--install" in options and "--silent" in options:
        analysis.findings.append(
            Finding("anydesk_silent_install", SILENT_INSTALL, "--install with --silent")
        )
    if "--start-with-win" in options:
        analysis.findings.append(
            Finding("anydesk_start_with_windows", AUTOSTART, "--start-with-win starts it at boot")
        )


def _screenconnect_options(arguments: list[str], analysis: CommandLineAnalysis) -> None:
    for argument in arguments:
        # The parameters usually follow a `?`, but some launchers pass the bare query string.
        query = argument.split("?", 1)[1] if "?" in argument else argument
        if "=" not in query or "&" not in query:
            continue
        parameters = {key.casefold(): value for key, value in parse_qsl(query)}
        if "h" not in parameters or not ({"e", "y"} & set(parameters)):
            continue

        session_type = parameters.get("e", "")
        if session_type.casefold() == "access":
            analysis.findings.append(
                Finding(
                    "screenconnect_access_session",
                    UNATTENDED_ACCESS,
                    "e=Access joins an unattended-access session",
                )
            )
        port = parameters.get("p", "")
        analysis.servers.append(
            ServerHost(
                host=parameters["h"],
                port=int(port) if port.isdigit() else None,
                source="ScreenConnect h= relay parameter",
            )
        )
        return


def _rustdesk_options(
    arguments: list[str], lowered: list[str], analysis: CommandLineAnalysis
) -> None:
    for index, argument in enumerate(lowered):
        value = arguments[index + 1] if index + 1 < len(arguments) else None
        if argument == "--password" and value is not None:
            analysis.findings.append(
                Finding(
                    "rustdesk_password",
                    UNATTENDED_ACCESS,
                    "--password sets a permanent password",
                )
            )
        elif argument == "--silent-install":
            analysis.findings.append(
                Finding("rustdesk_silent_install", SILENT_INSTALL, "--silent-install")
            )
        elif argument == "--install-service":
            analysis.findings.append(
                Finding("rustdesk_install_service", AUTOSTART, "--install-service")
            )
        elif argument == "--config" and value is not None:
            for config_host in _rustdesk_config_hosts(value):
                analysis.servers.append(ServerHost(config_host, None, "RustDesk --config"))
        elif argument == "--option" and index + 2 < len(arguments):
            name, setting = lowered[index + 1], arguments[index + 2]
            if name in _RUSTDESK_SERVER_OPTIONS:
                host, port = _host_and_port(setting)
                if host:
                    analysis.servers.append(ServerHost(host, port, f"RustDesk --option {name}"))


def _rustdesk_config_hosts(value: str) -> list[str]:
    """Decode a RustDesk `--config` string (reversed Base64 JSON) into its server hosts."""
    text = value.strip()[::-1]
    text += "=" * (-len(text) % 4)
    try:
        decoded = json.loads(base64.b64decode(text, validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return []
    if not isinstance(decoded, dict):
        return []

    hosts = []
    for key in ("host", "relay", "api"):
        setting = decoded.get(key)
        if isinstance(setting, str):
            host, _ = _host_and_port(setting)
            if host:
                hosts.append(host)
    return hosts


def _rustdesk_file_name(image: str, analysis: CommandLineAnalysis) -> None:
    match = _RUSTDESK_NAME.match(winpath.basename(image))
    if match is None:
        return
    for part in match.group(1).split(","):
        key, _, setting = part.partition("=")
        if key in ("host", "relay", "api") and setting:
            host, port = _host_and_port(setting)
            if host:
                analysis.servers.append(ServerHost(host, port, f"RustDesk file name {key}="))


def _generic_servers(
    command_line: str, arguments: list[str], lowered: list[str], analysis: CommandLineAnalysis
) -> None:
    for url in _URL.findall(command_line):
        host, port = _host_and_port(url)
        if host:
            analysis.servers.append(ServerHost(host, port, "URL in the command line"))

    for index, argument in enumerate(lowered):
        name, equals, _ = argument.partition("=")
        if name not in _SERVER_OPTIONS:
            continue
        value = arguments[index].partition("=")[2] if equals else None
        if value is None and index + 1 < len(arguments):
            value = arguments[index + 1]
        host, port = _host_and_port(value or "")
        if host:
            analysis.servers.append(ServerHost(host, port, f"{name} option"))

    for match in _KEY_VALUE_HOST.finditer(command_line):
        host, port = _host_and_port(match.group(2))
        if host:
            analysis.servers.append(ServerHost(host, port, f"{match.group(1).lower()}= setting"))


def _generic_install(lowered: list[str], analysis: CommandLineAnalysis) -> None:
    if analysis.categories() & {SILENT_INSTALL}:
        return
    options = _option_names(lowered)
    silent = options & _SILENT_FLAGS
    if silent and options & _INSTALL_FLAGS:
        analysis.findings.append(
            Finding("silent_install", SILENT_INSTALL, f"install with {sorted(silent)[0]}")
        )
    elif options & _INSTALL_FLAGS:
        analysis.findings.append(Finding("install", INSTALL, "installs the tool"))


def _host_and_port(value: str) -> tuple[str | None, int | None]:
    """Return the host and port of a URL or a `host[:port]` value, or (None, None)."""
    text = value.strip().strip("\"'")
    if not text:
        return None, None
    if "://" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None, None
    if not host or not re.fullmatch(r"[a-z0-9.\-_:]+", host):
        return None, None
    return winpath.normalise_domain(host), port


def _unique_servers(servers: list[ServerHost]) -> list[ServerHost]:
    """Keep the first server for each host and port, in the order found."""
    seen: dict[tuple[str, int | None], ServerHost] = {}
    for server in servers:
        key = (server.host, server.port)
        seen.setdefault(key, server)
    hosts_with_port = {server.host for server in seen.values() if server.port is not None}
    return [
        server
        for server in seen.values()
        if server.port is not None or server.host not in hosts_with_port
    ]
