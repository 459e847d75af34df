"""Launch context: parent classes, image path classes, renamed binaries and command lines."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.launch.commandline import analyse_command_line, split_command_line
from rmmhunt.launch.context import build_launch_context
from rmmhunt.launch.paths import PathClass, classify_path
from rmmhunt.launch.processes import ProcessClass, classify_process


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("OUTLOOK.EXE", None, ProcessClass.EMAIL_CLIENT),
        (
            "chrome.exe",
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            ProcessClass.BROWSER,
        ),
        ("WINWORD.EXE", None, ProcessClass.OFFICE),
        ("powershell.exe", None, ProcessClass.SCRIPT_HOST),
        ("mshta.exe", None, ProcessClass.SCRIPT_HOST),
        ("wsmprovhost.exe", None, ProcessClass.REMOTE_SESSION),
        ("msiexec.exe", r"C:\Windows\System32\msiexec.exe", ProcessClass.INSTALLER),
        ("services.exe", r"C:\Windows\System32\services.exe", ProcessClass.SERVICE_CONTROL_MANAGER),
        ("explorer.exe", r"\Device\HarddiskVolume2\Windows\explorer.exe", ProcessClass.EXPLORER),
        (None, r"C:\Windows\System32\cmd.exe", ProcessClass.SCRIPT_HOST),
        ("notepad.exe", None, None),
    ],
)
def test_process_class(name: str | None, path: str | None, expected: ProcessClass | None) -> None:
    assert classify_process(name, path) == expected


def test_lookalike_services_is_not_scm() -> None:
    assert classify_process("services.exe", r"C:\Users\bob\AppData\services.exe") is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (r"C:\Users\bob\Downloads\AnyDesk.exe", PathClass.DOWNLOADS),
        ("c:/users/bob/downloads/anydesk.exe", PathClass.DOWNLOADS),
        (r"\Device\HarddiskVolume3\Users\bob\Downloads\x.exe", PathClass.DOWNLOADS),
        (r"C:\Users\bob\AppData\Local\Temp\x.exe", PathClass.TEMP),
        (r"C:\Windows\Temp\x.exe", PathClass.TEMP),
        (r"C:\Users\bob\AppData\Roaming\x.exe", PathClass.APPDATA),
        (r"C:\Users\Public\x.exe", PathClass.PUBLIC),
        (r"C:\Users\bob\Desktop\x.exe", PathClass.DESKTOP),
        (r"C:\ProgramData\x.exe", PathClass.PROGRAMDATA_ROOT),
        (r"C:\ProgramData\AnyDesk\AnyDesk.exe", PathClass.PROGRAMDATA),
        (r"C:\$Recycle.Bin\x.exe", PathClass.RECYCLE_BIN),
        (r"C:\PerfLogs\x.exe", PathClass.PERFLOGS),
        (r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe", PathClass.PROGRAM_FILES),
        (r"C:\Windows\System32\x.exe", PathClass.WINDOWS),
        (r"\\fileserver\tools\x.exe", PathClass.NETWORK_SHARE),
        (r"C:\Documents and Settings\bob\Local Settings\Temp\x.exe", PathClass.TEMP),
        (r"D:\Tools\x.exe", PathClass.OTHER),
        ("", None),
    ],
)
def test_path_class(path: str, expected: PathClass | None) -> None:
    assert classify_path(path) == expected


def test_split_keeps_quoted_arguments() -> None:
    assert split_command_line(r'"C:\Program Files\x.exe" --install "C:\Data Dir" -q') == [
        r"C:\Program Files\x.exe",
        "--install",
        r"C:\Data Dir",
        "-q",
    ]


def _finding_ids(command_line: str, image: str | None = None) -> set[str]:
    return {finding.id for finding in analyse_command_line(command_line, image).findings}


def test_anydesk_unattended_options() -> None:
    found = _finding_ids(
        r'AnyDesk.exe --install "C:\ProgramData\AnyDesk" --start-with-win --silent --set-password'
    )

    assert found == {
        "anydesk_silent_install",
        "anydesk_start_with_windows",
        "anydesk_set_password",
    }


def test_anydesk_service_has_no_findings() -> None:
    assert _finding_ids(r'"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --service') == set()


def test_screenconnect_relay_extracted() -> None:
    analysis = analyse_command_line(
        r'"C:\ProgramData\svc\update.exe" "?e=Access&y=Guest&h=relay.example.net&p=8041&s=1&k=a"'
    )

    assert [f.id for f in analysis.findings] == ["screenconnect_access_session"]
    assert [(s.host, s.port) for s in analysis.servers] == [("relay.example.net", 8041)]


def test_screenconnect_support_session_is_attended() -> None:
    analysis = analyse_command_line(
        'client.exe "?e=Support&y=Guest&h=instance.screenconnect.com&p=443"'
    )

    assert analysis.findings == []
    assert [s.host for s in analysis.servers] == ["instance.screenconnect.com"]


def test_rustdesk_config_string_decoded() -> None:
    settings = json.dumps(
        {"host": "rd.example.org", "key": "abc", "api": "https://api.example.org"}
    )
    config = base64.b64encode(settings.encode()).decode().rstrip("=")[::-1]

    analysis = analyse_command_line(f"rustdesk.exe --config {config}")

    assert [s.host for s in analysis.servers] == ["rd.example.org", "api.example.org"]


def test_rustdesk_options_and_password() -> None:
    analysis = analyse_command_line(
        "rustdesk.exe --option custom-rendezvous-server rd.example.org:21116 --password hunter2"
    )

    assert [f.id for f in analysis.findings] == ["rustdesk_password"]
    assert [(s.host, s.port) for s in analysis.servers] == [("rd.example.org", 21116)]


def test_rustdesk_server_in_file_name() -> None:
    analysis = analyse_command_line(None, r"C:\Users\x\rustdesk-host=rd.example.org,key=Zm9v.exe")

    assert [s.host for s in analysis.servers] == ["rd.example.org"]


def test_self_hosted_server_url_extracted() -> None:
    analysis = analyse_command_line(
        "tacticalrmm.exe -m install --api https://rmm.example.org --client-id 1 --auth x"
    )

    assert [s.host for s in analysis.servers] == ["rmm.example.org"]


def test_invalid_config_string_is_ignored() -> None:
    assert analyse_command_line("rustdesk.exe --config %%%not-base64").servers == []


def _context(catalog: Catalog, **fields: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {"kind": "process_start", "tool": "AnyDesk", "tool_id": "anydesk"}
    alert.update(fields)
    return build_launch_context(alert, catalog)


def test_renamed_binary_by_original_name(catalog: Catalog) -> None:
    context = _context(
        catalog,
        action_process_image_path=r"C:\ProgramData\svc\update.exe",
        action_process_original_file_name="AnyDesk.exe",
        matched_on=["original_file_name"],
    )

    assert context["renamed"] == {
        "image_name": "update.exe",
        "expected": ["AnyDesk.exe"],
        "evidence": "PE original file name AnyDesk.exe",
    }


def test_renamed_binary_by_product_name(catalog: Catalog) -> None:
    context = _context(
        catalog,
        action_process_image_path=r"C:\Temp\svchost.exe",
        action_process_file_product="AnyDesk",
    )

    assert context["renamed"] is not None
    assert context["renamed"]["evidence"] == "PE product name AnyDesk"


def test_own_name_is_not_renamed(catalog: Catalog) -> None:
    context = _context(
        catalog,
        action_process_image_path=r"C:\x\ANYDESK.EXE",
        action_process_original_file_name="AnyDesk.exe",
    )

    assert context["renamed"] is None


def test_parent_falls_back_to_actor_columns(catalog: Catalog) -> None:
    context = _context(
        catalog,
        action_process_image_path=r"C:\Users\carol\Downloads\AnyDesk.exe",
        actor_process_image_name="powershell.exe",
        causality_actor_process_image_name="WINWORD.EXE",
    )

    assert context["parent"]["class"] == "script_host"
    assert [a["class"] for a in context["ancestors"]] == ["office"]
    assert context["image_path_class"] == "downloads"


def test_chain_gives_parent_and_ancestors(catalog: Catalog) -> None:
    chain = [
        {"image_name": "cmd.exe", "image_path": r"C:\Windows\System32\cmd.exe"},
        {"image_name": "notepad.exe", "image_path": None},
        {"image_name": "EXCEL.EXE", "image_path": None},
    ]

    context = _context(catalog, causality_chain=chain, actor_process_image_name="ignored.exe")

    assert context["parent"]["image_name"] == "cmd.exe"
    assert [a["image_name"] for a in context["ancestors"]] == ["EXCEL.EXE"]


def test_vendor_install_path_recognised(catalog: Catalog) -> None:
    context = _context(
        catalog, action_process_image_path=r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe"
    )

    assert context["vendor_install_path"] is True
    assert context["image_path_class"] == "program_files"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (r"D:\Program Files (x86)\AnyDesk\AnyDesk.exe", False),
        (r"\\?\D:\Program Files (x86)\AnyDesk\AnyDesk.exe", False),
        (r"\Device\HarddiskVolume4\Program Files (x86)\AnyDesk\AnyDesk.exe", True),
        (r"\Program Files (x86)\AnyDesk\AnyDesk.exe", True),
    ],
)
def test_vendor_install_path_drive_letter(catalog: Catalog, path: str, expected: bool) -> None:
    # The catalog gives `C:`, so another drive letter is another folder.
    context = _context(catalog, action_process_image_path=path)

    assert context["vendor_install_path"] is expected


def test_vendor_install_path_resolves_dots(catalog: Catalog) -> None:
    path = r"C:\Program Files (x86)\AnyDesk\..\..\Users\Public\AnyDesk.exe"

    context = _context(catalog, action_process_image_path=path)

    assert context["vendor_install_path"] is False
    assert context["image_path_class"] == "public"
    assert context["image_path"] == path


def test_relay_infrastructure_marked(catalog: Catalog) -> None:
    context = _context(
        catalog,
        tool="ConnectWise ScreenConnect",
        tool_id="screenconnect",
        action_process_image_command_line=(
            'x.exe "?e=Access&y=Guest&h=relay.example.net&p=8041" https://a.screenconnect.com/'
        ),
    )

    assert {s["host"]: s["infrastructure"] for s in context["servers"]} == {
        "relay.example.net": "unknown",
        "a.screenconnect.com": "vendor",
    }


def test_service_install_reads_service_path(catalog: Catalog) -> None:
    context = _context(
        catalog,
        kind="service_install",
        action_service_image_path=r'"C:\Users\Public\AnyDesk.exe" --service',
    )

    assert context["image_path"] == r"C:\Users\Public\AnyDesk.exe"
    assert context["image_path_class"] == "public"
    assert context["parent"] is None


def test_screenconnect_bare_query_string() -> None:
    analysis = analyse_command_line(
        "ScreenConnect.ClientService.exe e=Access&y=Guest&h=r.example.net"
    )

    assert [f.id for f in analysis.findings] == ["screenconnect_access_session"]
    assert [s.host for s in analysis.servers] == ["r.example.net"]
