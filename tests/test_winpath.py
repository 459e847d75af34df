"""Table-driven tests of the Windows path, name and domain matching rules."""

from __future__ import annotations

import pytest

from rmmhunt import winpath

NORMALISE_CASES = [
    ("C:\\Program Files\\AnyDesk\\AnyDesk.exe", "c:\\program files\\anydesk\\anydesk.exe"),
    ('"C:\\Program Files\\AnyDesk\\AnyDesk.exe"', "c:\\program files\\anydesk\\anydesk.exe"),
    ("  'c:/program files/anydesk/anydesk.exe' ", "c:\\program files\\anydesk\\anydesk.exe"),
    ("C:\\\\Windows\\\\\\System32\\cmd.exe", "c:\\windows\\system32\\cmd.exe"),
    ("\\\\?\\C:\\Windows\\cmd.exe", "c:\\windows\\cmd.exe"),
    ("\\??\\C:\\Windows\\cmd.exe", "c:\\windows\\cmd.exe"),
    ("\\\\.\\C:\\Windows\\cmd.exe", "c:\\windows\\cmd.exe"),
    ("\\\\?\\UNC\\server\\share\\tool.exe", "\\\\server\\share\\tool.exe"),
    ("\\\\server\\\\share\\tool.exe", "\\\\server\\share\\tool.exe"),
    ("\\Device\\HarddiskVolume3\\Windows\\cmd.exe", "\\device\\harddiskvolume3\\windows\\cmd.exe"),
    ("C:\\Program Files\\", "c:\\program files"),
    ("C:\\", "c:\\"),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("path", "expected"), NORMALISE_CASES)
def test_normalise_path_cases(path: str, expected: str) -> None:
    assert winpath.normalise_path(path) == expected


DOT_SEGMENT_CASES = [
    ("C:\\Program Files\\TeamViewer\\..\\..\\Users\\x.exe", "c:\\users\\x.exe"),
    ("C:\\Program Files\\.\\TeamViewer\\.\\x.exe", "c:\\program files\\teamviewer\\x.exe"),
    # A `..` above the volume root stays at the root, as Win32 resolves it.
    ("C:\\..\\..\\Windows\\cmd.exe", "c:\\windows\\cmd.exe"),
    ("C:\\Temp\\..", "c:\\"),
    ("C:/Temp/../Windows/", "c:\\windows"),
    ("\\\\?\\C:\\Temp\\..\\Windows\\cmd.exe", "c:\\windows\\cmd.exe"),
    ("\\\\server\\share\\..\\..\\x.exe", "\\\\server\\share\\x.exe"),
    ("\\Device\\HarddiskVolume3\\a\\..\\..\\x.exe", "\\device\\harddiskvolume3\\x.exe"),
    ("\\Temp\\..\\..\\x.exe", "\\x.exe"),
    # A relative path keeps the `..` segments it cannot resolve.
    ("a\\..\\..\\x.exe", "..\\x.exe"),
    # Three dots are a valid file name, not a relative segment.
    ("C:\\a\\...\\x.exe", "c:\\a\\...\\x.exe"),
]


@pytest.mark.parametrize(("path", "expected"), DOT_SEGMENT_CASES)
def test_normalise_path_resolves_dot_segments(path: str, expected: str) -> None:
    assert winpath.normalise_path(path) == expected


STRIP_VOLUME_CASES = [
    ("C:\\Windows\\cmd.exe", "\\windows\\cmd.exe"),
    ("d:\\windows\\cmd.exe", "\\windows\\cmd.exe"),
    ("\\\\?\\C:\\Windows\\cmd.exe", "\\windows\\cmd.exe"),
    ("\\Device\\HarddiskVolume12\\Windows\\cmd.exe", "\\windows\\cmd.exe"),
    ("\\Device\\HarddiskVolume1", "\\"),
    ("C:", "\\"),
    ("\\Windows\\cmd.exe", "\\windows\\cmd.exe"),
    ("Windows\\cmd.exe", "windows\\cmd.exe"),
    ("\\\\server\\share\\tool.exe", "\\\\server\\share\\tool.exe"),
    # A device name that only starts like a volume is a directory, not a volume.
    ("\\Device\\HarddiskVolumeShadowCopy1\\x.exe", "\\device\\harddiskvolumeshadowcopy1\\x.exe"),
]


@pytest.mark.parametrize(("path", "expected"), STRIP_VOLUME_CASES)
def test_strip_volume_cases(path: str, expected: str) -> None:
    assert winpath.strip_volume(path) == expected


BASENAME_CASES = [
    ("C:\\Program Files\\AnyDesk\\AnyDesk.exe", "anydesk.exe"),
    ("c:/tools/PsExec64.EXE", "psexec64.exe"),
    ('"C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe"', "teamviewer_service.exe"),
    ("AnyDesk.exe", "anydesk.exe"),
    ("C:\\Windows\\CCM\\ccmrd.exe", "ccmrd.exe"),
    ("C:\\Tools\\", "tools"),
    ("", ""),
]


@pytest.mark.parametrize(("path", "expected"), BASENAME_CASES)
def test_basename_cases(path: str, expected: str) -> None:
    assert winpath.basename(path) == expected


NAME_MATCH_CASES = [
    ("rd.exe", "C:\\Windows\\CCM\\ccmrd.exe", False),
    ("rd.exe", "C:\\Tools\\RD.EXE", True),
    ("AnyDesk.exe", "anydesk.exe", True),
    ("AnyDesk.exe", "anydesk.exe.bak", False),
    ("AnyDesk.exe", "my-anydesk.exe", False),
    ("rustdesk*.exe", "RustDesk-1.2.3.exe", True),
    ("rustdesk*.exe", "rustdesk.exe", True),
    ("rustdesk*.exe", "C:\\rustdesk\\other.exe", False),
    ("aa_v?.exe", "AA_v3.exe", True),
    ("aa_v?.exe", "AA_v33.exe", False),
    ("tool[1].exe", "tool[1].exe", True),
    ("tool[1].exe", "tool1.exe", False),
    ("a.b.exe", "axb.exe", False),
    ("anydesk.exe", "", False),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), NAME_MATCH_CASES)
def test_name_matches_cases(pattern: str, name: str, expected: bool) -> None:
    assert winpath.name_matches(pattern, name) is expected


PATH_MATCH_CASES = [
    # Volume-insensitive: with, without or another spelling of the volume.
    ("C:\\Program Files\\AnyDesk\\*", "C:\\Program Files\\AnyDesk\\AnyDesk.exe", True),
    ("\\Program Files\\AnyDesk\\*", "D:\\Program Files\\AnyDesk\\AnyDesk.exe", True),
    ("**\\AnyDesk\\*", "D:\\Program Files\\AnyDesk\\AnyDesk.exe", True),
    ("C:\\Program Files\\AnyDesk\\*", "\\Program Files\\AnyDesk\\AnyDesk.exe", True),
    (
        "C:\\Program Files\\AnyDesk\\*",
        "\\Device\\HarddiskVolume2\\Program Files\\AnyDesk\\AnyDesk.exe",
        True,
    ),
    ("C:\\Program Files\\AnyDesk\\*", "\\\\?\\C:\\PROGRAM FILES\\anydesk\\AnyDesk.exe", True),
    ("\\Program Files\\AnyDesk\\*", "c:/program files/anydesk/anydesk.exe", True),
    # Two drive letters must be equal, in any spelling.
    ("C:\\Program Files\\AnyDesk\\*", "D:\\Program Files\\AnyDesk\\AnyDesk.exe", False),
    ("C:\\Program Files\\AnyDesk\\*", "\\\\?\\D:\\Program Files\\AnyDesk\\a.exe", False),
    ("\\\\?\\D:\\Program Files\\AnyDesk\\*", "C:\\Program Files\\AnyDesk\\a.exe", False),
    ("c:\\Program Files\\AnyDesk\\*", "C:\\Program Files\\AnyDesk\\a.exe", True),
    (
        "\\Device\\HarddiskVolume4\\Program Files\\AnyDesk\\*",
        "D:\\Program Files\\AnyDesk\\a.exe",
        True,
    ),
    # `*` stays inside one component, `**` crosses separators.
    ("C:\\Program Files\\AnyDesk\\*", "C:\\Program Files\\AnyDesk\\sub\\AnyDesk.exe", False),
    ("C:\\Program Files\\AnyDesk\\**", "C:\\Program Files\\AnyDesk\\sub\\AnyDesk.exe", True),
    ("**\\AnyDesk.exe", "C:\\Users\\bob\\Downloads\\AnyDesk.exe", True),
    ("**\\AnyDesk.exe", "C:\\AnyDesk.exe", True),
    ("**\\AnyDesk.exe", "C:\\Users\\bob\\Downloads\\NotAnyDesk.exe", False),
    (
        "C:\\Users\\*\\AppData\\Local\\rustdesk\\*",
        "C:\\Users\\bob\\AppData\\Local\\rustdesk\\a.exe",
        True,
    ),
    (
        "C:\\Users\\*\\AppData\\Local\\rustdesk\\*",
        "C:\\Users\\a\\b\\AppData\\Local\\rustdesk\\a.exe",
        False,
    ),
    ("C:\\Program Files*\\TeamViewer\\*", "C:\\Program Files (x86)\\TeamViewer\\tv_w32.exe", True),
    ("C:\\Program Files\\X\\**\\a.exe", "C:\\Program Files\\X\\a.exe", True),
    ("C:\\Program Files\\X\\**\\a.exe", "C:\\Program Files\\X\\1\\2\\a.exe", True),
    # Patterns are anchored at the volume root.
    ("Program Files\\AnyDesk\\*", "C:\\Program Files\\AnyDesk\\AnyDesk.exe", True),
    ("Program Files\\AnyDesk\\*", "C:\\Old\\Program Files\\AnyDesk\\AnyDesk.exe", False),
    # `?` is one character within a component.
    ("C:\\Tools\\v?\\a.exe", "C:\\Tools\\v1\\a.exe", True),
    ("C:\\Tools\\v?\\a.exe", "C:\\Tools\\v12\\a.exe", False),
    ("C:\\Tools\\?\\a.exe", "C:\\Tools\\\\a.exe", False),
    # Brackets and other regular-expression characters are literal.
    ("C:\\Tools [x86]\\a.exe", "C:\\Tools [x86]\\a.exe", True),
    ("C:\\Tools [x86]\\a.exe", "C:\\Tools x\\a.exe", False),
    ("C:\\Tools (x86)\\a+b.exe", "C:\\Tools (x86)\\a+b.exe", True),
    ("C:\\Tools\\a.exe", "C:\\Tools\\a.exe\\b", False),
    ("C:\\Tools\\a.exe", "", False),
    # A UNC path is not a local volume.
    ("C:\\share\\a.exe", "\\\\server\\share\\a.exe", False),
]


@pytest.mark.parametrize(
    "path",
    [
        "C:\\Program Files\\TeamViewer\\..\\..\\Users\\Public\\TeamViewer_Service.exe",
        "C:\\Program Files\\TeamViewer\\..\\TeamViewer.evil\\TeamViewer.exe",
        "\\\\?\\C:\\Program Files\\TeamViewer\\..\\..\\Temp\\x.exe",
    ],
)
def test_path_matches_rejects_escape_by_dots(path: str) -> None:
    assert winpath.path_matches("C:\\Program Files\\TeamViewer\\**", path) is False


def test_path_matches_resolves_dots_into_folder() -> None:
    path = "C:\\Users\\Public\\..\\..\\Program Files\\TeamViewer\\.\\TeamViewer.exe"

    assert winpath.path_matches("C:\\Program Files\\TeamViewer\\**", path) is True


@pytest.mark.parametrize(("pattern", "path", "expected"), PATH_MATCH_CASES)
def test_path_matches_cases(pattern: str, path: str, expected: bool) -> None:
    assert winpath.path_matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("C:\\x\\a.exe", "c"),
        ("\\\\?\\D:\\x\\a.exe", "d"),
        ("e:/x/a.exe", "e"),
        ("\\Device\\HarddiskVolume3\\x\\a.exe", None),
        ("\\x\\a.exe", None),
        ("\\\\server\\share\\a.exe", None),
        ("**\\a.exe", None),
    ],
)
def test_drive_letter_cases(path: str, expected: str | None) -> None:
    assert winpath.drive_letter(path) == expected


LITERAL_FOLDER_CASES = [
    ("C:\\Program Files\\TeamViewer\\**", True),
    ("C:\\Program Files*\\TeamViewer\\*.exe", True),
    ("C:\\Users\\*\\AppData\\Local\\rustdesk\\*", True),
    ("**\\TeamViewer\\**", True),
    ("Program Files\\AnyDesk\\*", True),
    ("\\\\server\\share\\**", True),
    ("C:\\Program Files\\TeamViewer", True),
    ("C:\\tool.exe", True),
    ("C:\\**", False),
    ("\\**", False),
    ("**", False),
    ("C:\\", False),
    ("**\\*.exe", False),
    ("**\\AnyDesk.exe", False),
    ("C:\\*\\*\\*.exe", False),
    ("C:\\*.exe", False),
    ("..\\..\\**", False),
    ("C:\\Program Files\\TeamViewer\\..\\..\\**", False),
    ("C:\\Program Files\\X\\..\\..\\*\\*\\*.exe", False),
    ("\\\\?\\C:\\Program Files\\.\\..\\**", False),
    ("C:\\Program Files\\TeamViewer\\..\\AnyDesk\\**", True),
]


@pytest.mark.parametrize(("pattern", "expected"), LITERAL_FOLDER_CASES)
def test_has_literal_folder_cases(pattern: str, expected: bool) -> None:
    assert winpath.has_literal_folder(pattern) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("C:\\Program Files\\TeamViewer", "C:\\Program Files\\TeamViewer\\**"),
        ("C:\\Program Files\\TeamViewer\\", "C:\\Program Files\\TeamViewer\\**"),
        ("c:/program files/teamviewer/", "c:/program files/teamviewer\\**"),
        ("C:\\", "C:\\**"),
        ("C:\\Program Files\\TeamViewer\\**", "C:\\Program Files\\TeamViewer\\**"),
        ("C:\\Program Files\\TeamViewer\\*", "C:\\Program Files\\TeamViewer\\*"),
        ("C:\\Program Files\\TeamViewer\\tv.exe", "C:\\Program Files\\TeamViewer\\tv.exe"),
        ("C:\\Tools\\v1.2", "C:\\Tools\\v1.2"),
    ],
)
def test_with_folder_wildcard_cases(pattern: str, expected: str) -> None:
    assert winpath.with_folder_wildcard(pattern) == expected


def test_compile_pattern_is_case_insensitive() -> None:
    compiled = winpath.compile_pattern("C:\\Program Files\\AnyDesk\\*")
    assert compiled.flags & 2  # re.IGNORECASE
    assert compiled.fullmatch("\\PROGRAM FILES\\ANYDESK\\ANYDESK.EXE") is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a.exe", False), ("a*.exe", True), ("a?.exe", True), ("C:\\[x]\\a.exe", False)],
)
def test_is_pattern_cases(text: str, expected: bool) -> None:
    assert winpath.is_pattern(text) is expected


DOMAIN_CASES = [
    ("anydesk.com", "anydesk.com", True),
    ("anydesk.com", "relay-1.net.anydesk.com", True),
    ("anydesk.com", "ANYDESK.COM.", True),
    ("anydesk.com", " boot.net.AnyDesk.com ", True),
    ("anydesk.com", "notanydesk.com", False),
    ("anydesk.com", "anydesk.com.example", False),
    ("anydesk.com", "anydesk.co", False),
    ("anydesk.com", "com", False),
    ("anydesk.com", "", False),
    ("ANYDESK.COM.", "net.anydesk.com", True),
    ("*.splashtop.com", "relay.splashtop.com", True),
    ("*.splashtop.com", "a.b.splashtop.com", True),
    ("*.splashtop.com", "splashtop.com", False),
    ("*.splashtop.com", "notsplashtop.com", False),
    ("*.splashtop.com", "xsplashtop.com", False),
    ("", "anydesk.com", False),
]


@pytest.mark.parametrize(("domain", "host", "expected"), DOMAIN_CASES)
def test_domain_matches_cases(domain: str, host: str, expected: bool) -> None:
    assert winpath.domain_matches(domain, host) is expected


VALID_DOMAIN_CASES = [
    ("anydesk.com", True),
    ("*.anydesk.com", True),
    ("net.anydesk.com.", True),
    ("relay_1.example.com", True),
    ("xn--80ak6aa92e.com", True),
    ("localhost", False),
    ("51.255.19.178", False),
    ("https://anydesk.com", False),
    ("anydesk.com:443", False),
    ("-bad.example.com", False),
    ("bad-.example.com", False),
    ("a..example.com", False),
    ("relay-[a-f0-9]{8}.net.anydesk.com", False),
    ("*", False),
    ("", False),
]


@pytest.mark.parametrize(("domain", "expected"), VALID_DOMAIN_CASES)
def test_is_valid_domain_cases(domain: str, expected: bool) -> None:
    assert winpath.is_valid_domain(domain) is expected
