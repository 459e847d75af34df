"""Service image paths split as CreateProcess splits them."""

from __future__ import annotations

import pytest

from rmmhunt.servicepath import expanded_path, parse_service_image_path

CASES = [
    # (image path, executable, name, arguments)
    (
        '"C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe"',
        "C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe",
        "TeamViewer_Service.exe",
        "",
    ),
    (
        "\\SystemRoot\\System32\\drivers\\teamviewervpn.sys",
        "\\SystemRoot\\System32\\drivers\\teamviewervpn.sys",
        "teamviewervpn.sys",
        "",
    ),
    (
        "%SystemRoot%\\system32\\svchost.exe -k netsvcs",
        "%SystemRoot%\\system32\\svchost.exe",
        "svchost.exe",
        "-k netsvcs",
    ),
    (
        "C:\\Program Files\\AnyDesk\\AnyDesk.exe --service",
        "C:\\Program Files\\AnyDesk\\AnyDesk.exe",
        "AnyDesk.exe",
        "--service",
    ),
    ("cmd.exe /c echo hi > C:\\x.txt", "cmd.exe", "cmd.exe", "/c echo hi > C:\\x.txt"),
    ("cmd.exe", "cmd.exe", "cmd.exe", ""),
    (
        '"C:\\Program Files\\Splashtop\\SRService.exe" -service',
        "C:\\Program Files\\Splashtop\\SRService.exe",
        "SRService.exe",
        "-service",
    ),
    ("\\??\\C:\\Windows\\x.sys", "\\??\\C:\\Windows\\x.sys", "x.sys", ""),
    ("system32\\drivers\\null.sys", "system32\\drivers\\null.sys", "null.sys", ""),
    ("%COMSPEC% /Q /c echo cd > %TEMP%\\execute.bat", "%COMSPEC%", "cmd.exe", None),
    ("powershell -nop -w hidden", "powershell", "powershell", "-nop -w hidden"),
    ('"C:\\no closing quote.exe', "C:\\no closing quote.exe", "no closing quote.exe", ""),
    (
        "C:\\Program Files\\Tool Dir\\run.cmd arg",
        "C:\\Program Files\\Tool Dir\\run.cmd",
        "run.cmd",
        "arg",
    ),
]


@pytest.mark.parametrize(("image_path", "executable", "name", "arguments"), CASES)
def test_parse_service_image_path(
    image_path: str, executable: str, name: str, arguments: str | None
) -> None:
    image = parse_service_image_path(image_path)
    assert image.executable == executable
    assert image.name == name
    if arguments is not None:
        assert image.arguments == arguments


def test_parse_empty_image_path() -> None:
    image = parse_service_image_path("   ")
    assert image.executable == ""
    assert image.name is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("%SystemRoot%\\system32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe"),
        ("%windir%\\x.exe", "C:\\Windows\\x.exe"),
        ("%ProgramFiles%\\A\\b.exe", "C:\\Program Files\\A\\b.exe"),
        ("%UNKNOWN%\\b.exe", "%UNKNOWN%\\b.exe"),
        ("\\SystemRoot\\System32\\drivers\\a.sys", "C:\\Windows\\System32\\drivers\\a.sys"),
        ("\\??\\C:\\a.sys", "C:\\a.sys"),
        ("System32\\drivers\\a.sys", "C:\\Windows\\System32\\drivers\\a.sys"),
        ("a.sys", "a.sys"),
    ],
)
def test_expanded_path(path: str, expected: str) -> None:
    assert expanded_path(path) == expected
