"""Tests of the LOLRMM importer: value classification, and the real rmm_tools.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lolrmm import import_lolrmm, read_lolrmm
from rmmhunt.catalog.model import Category
from rmmhunt.catalog.render import tool_yaml
from rmmhunt.cli import main
from rmmhunt.errors import CatalogError


def _entry(name: str = "Demo Remote", category: str = "RMM", **parts: Any) -> dict[str, Any]:
    details = {"Website": "https://demo.example", "InstallationPaths": parts.get("paths", [])}
    if "pe" in parts:
        details["PEMetadata"] = parts["pe"]
    return {
        "Name": name,
        "Category": category,
        "Description": f"{name} description.",
        "Details": details,
        "Artifacts": {"Network": [{"Domains": parts.get("domains", []), "Ports": [443]}]},
        **({"FileHashes": parts["hashes"]} if "hashes" in parts else {}),
    }


def _skipped(result: Any) -> dict[str, str]:
    return {value.value: value.reason for value in result.skipped_values}


def test_paths_split_into_names_and_patterns() -> None:
    paths = [
        "C:\\*\\demo.exe",
        "*\\DemoFolder\\*",
        "C:\\Program Files\\Demo",
        "%APPDATA%\\Demo\\helper.exe",
        "demo*.exe",
        "DemoSvc.SCR",
    ]
    result = import_lolrmm([_entry(paths=paths)])
    tool = result.tools[0]

    assert tool.executables == ("demo.exe", "helper.exe", "demo*.exe", "DemoSvc.SCR")
    assert tool.install_paths == (
        "**\\DemoFolder\\**",
        "C:\\Program Files\\Demo\\**",
        "**\\Demo\\helper.exe",
    )
    assert result.counts()["names"] == 3
    assert result.counts()["name_patterns"] == 1
    # `C:\*\demo.exe` has no literal folder, so only its program name is kept.
    assert list(_skipped(result)) == ["C:\\*\\demo.exe"]


def test_values_of_other_kinds_are_rerouted() -> None:
    sha256 = "AB" * 32
    paths = ["demoupdate.com", sha256, "C:\\x\\demo.exe"]
    result = import_lolrmm([_entry(paths=paths, domains=["*.demo.example", "demo.example"])])
    tool = result.tools[0]

    assert tool.domains == ("demoupdate.com", "*.demo.example", "demo.example")
    assert tool.hashes.sha256 == (sha256.lower(),)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("/usr/bin/demo", "a POSIX path"),
        ("~/.demo.conf", "a POSIX path"),
        ("Demo.app", "not a Windows program name"),
        ("setup.msi", "not a Windows program name"),
        ("*.exe", "matches every program"),
        ("C:\\Program Files\\Demo (<ID>)\\*", "placeholder"),
        ("c:\\Program Files (x86)%\\Demo", "'%' outside"),
        ("AB" * 20, "SHA-1"),
        ("requires sign up", "not a Windows program name"),
    ],
)
def test_unusable_paths_are_reported(value: str, reason: str) -> None:
    result = import_lolrmm([_entry(paths=[value, "demo.exe"])])

    assert reason in _skipped(result)[value]
    assert result.tools[0].executables == ("demo.exe",)


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("user_managed", "not a DNS name"),
        ("plus*.demo.example", "wildcard inside a label"),
        ("45.153.34.132", "not a DNS name"),
    ],
)
def test_unusable_domains_are_reported(domain: str, reason: str) -> None:
    result = import_lolrmm([_entry(paths=["demo.exe"], domains=[domain])])

    assert reason in _skipped(result)[domain]
    assert result.tools[0].domains == ()


def test_pe_metadata_and_hashes() -> None:
    pe = [
        {"Filename": "DemoAgent.exe", "OriginalFileName": "agent.exe"},
        {"Filename": "demo-linux", "OriginalFileName": "demo-linux"},
    ]
    hashes = {"authenticode": [{"file_name": "x.exe", "sha256": "CD" * 32, "sha1": "EF" * 20}]}
    result = import_lolrmm([_entry(pe=pe, hashes=hashes)])
    tool = result.tools[0]

    assert tool.executables == ("DemoAgent.exe",)
    assert tool.original_file_names == ("agent.exe",)
    assert tool.hashes.sha256 == ("cd" * 32,)
    assert result.unused["FileHashes.authenticode.sha1"] == 1
    assert result.unused["Artifacts.Network.Ports"] == 1
    assert "not a file name with an extension" in _skipped(result)["demo-linux"]


def test_duplicates_merge_and_ids_stay_unique() -> None:
    entries = [
        _entry("Demo", paths=["a.exe"]),
        _entry("Demo", paths=["b.exe", "A.EXE"]),
        _entry("DEMO!", category="RAT", paths=["c.exe"]),
        _entry("Only Mac", paths=["/Applications/Only.app"]),
        _entry("Odd", category="Other", paths=["odd.exe"]),
    ]
    result = import_lolrmm(entries)
    tools = {tool.id: tool for tool in result.tools}

    assert sorted(tools) == ["lolrmm-demo", "lolrmm-demo-2"]
    assert tools["lolrmm-demo"].executables == ("a.exe", "b.exe")
    assert tools["lolrmm-demo-2"].category == Category.REMOTE_ADMIN
    assert result.merged == ["Demo"]
    assert dict(result.skipped_tools) == {
        "Only Mac": "no value that fits the catalog",
        "Odd": "unknown LOLRMM category 'Other'",
    }


def test_read_rejects_invalid_json(tmp_path: Path) -> None:
    broken = tmp_path / "rmm_tools.json"
    broken.write_text('[{"Name": "x",\n  oops}]', encoding="utf-8")
    wrong_shape = tmp_path / "object.json"
    wrong_shape.write_text('{"Name": "x"}', encoding="utf-8")

    with pytest.raises(CatalogError) as invalid:
        read_lolrmm(broken)
    with pytest.raises(CatalogError, match="expected a JSON array"):
        read_lolrmm(wrong_shape)

    assert invalid.value.line == 2
    assert str(broken) in str(invalid.value)


# An independent reading of rmm_tools.json: plain regular expressions in place of the
# importer's PureWindowsPath split, to check its counts on the real file.
_PROGRAM = re.compile(r"^[^<>:\"|]*\.(exe|scr)$", re.IGNORECASE)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DNS = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})+$", re.IGNORECASE)


def _independent_values(entry: dict[str, Any]) -> list[str]:
    details = entry.get("Details") or {}
    artifacts = entry.get("Artifacts") or {}
    values = [
        *(details.get("InstallationPaths") or []),
        *(entry.get("InstallationPaths") or []),
        *(artifacts.get("InstallationPaths") or []),
    ]
    metadata = details.get("PEMetadata")
    for item in metadata if isinstance(metadata, list) else [metadata or {}]:
        values.append(item.get("Filename") or "")
    return [value.strip() for value in values if value and value.strip()]


def _independent_name(value: str) -> str | None:
    """Return the program name in a value, or None; mirrors the documented rules."""
    if re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", value):
        return None
    if value.startswith(("/", "~")):
        return None
    last = re.split(r"[\\/]+", value.rstrip("\\/"))[-1]
    has_folder = last != value.rstrip("\\/") or value.rstrip("\\/") != value
    body = value[2:] if re.match(r"^[A-Za-z]:", value) else value
    if has_folder and (set(body) & set('<>:"|')):
        return None
    folders = re.split(r"[\\/]+", value)[:-1]
    if has_folder and any("%" in part and not re.fullmatch(r"%[^%]+%", part) for part in folders):
        return None
    if not _PROGRAM.match(last) or not last[:-4].strip("*?"):
        return None
    return last


def _independent_counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    names: dict[str, set[str]] = {}
    for entry in entries:
        found = names.setdefault(entry["Name"].strip().casefold(), set())
        for value in _independent_values(entry):
            name = _independent_name(value)
            if name is not None:
                found.add(name.casefold())
    every = [name for found in names.values() for name in found]
    return {
        "names": sum(1 for name in every if not re.search(r"[*?]", name)),
        "name_patterns": sum(1 for name in every if re.search(r"[*?]", name)),
        "merged_duplicates": len(entries) - len(names),
    }


def _independent_bad_domains(entries: list[dict[str, Any]]) -> int:
    bad = 0
    for entry in entries:
        for network in (entry.get("Artifacts") or {}).get("Network") or []:
            for domain in network.get("Domains") or []:
                text = domain.strip().rstrip(".")
                if text and (not _DNS.match(text) or text.rsplit(".", 1)[-1].isdigit()):
                    bad += 1
    return bad


@pytest.fixture(scope="module")
def lolrmm_entries(shared_data: Path) -> list[dict[str, Any]]:
    path = shared_data / "lolrmm" / "rmm_tools.json"
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def test_real_file_counts(lolrmm_entries: list[dict[str, Any]]) -> None:
    result = import_lolrmm(lolrmm_entries)
    counts = result.counts()
    expected = _independent_counts(lolrmm_entries)
    domain_skips = [v for v in result.skipped_values if v.field == "Artifacts.Network.Domains"]
    unique_names = {entry["Name"].strip().casefold() for entry in lolrmm_entries}
    posix_skips = [v for v in result.skipped_values if v.reason.startswith("a POSIX path")]
    posix_values = sum(
        1
        for entry in lolrmm_entries
        for value in _independent_values(entry)
        if value.startswith(("/", "~"))
    )

    assert len(lolrmm_entries) == 319
    assert counts["names"] == expected["names"]
    assert counts["name_patterns"] == expected["name_patterns"]
    assert counts["merged_duplicates"] == expected["merged_duplicates"]
    assert len(domain_skips) == _independent_bad_domains(lolrmm_entries)
    assert len(posix_skips) == posix_values
    assert counts["tools"] + counts["skipped_tools"] == len(unique_names)
    assert counts["skipped_values"] == len(result.skipped_values)
    assert counts["tools"] > 250
    assert counts["names"] > 500


def test_real_file_known_entries(lolrmm_entries: list[dict[str, Any]]) -> None:
    result = import_lolrmm(lolrmm_entries)
    tools = {tool.name: tool for tool in result.tools}
    skipped = {(value.tool, value.value): value.reason for value in result.skipped_values}

    assert tools["KiTTY"].executables == ("kitty.exe",)
    # LOLRMM lists `C:\*\kitty.exe` and `*\kitty.exe`, which name no folder.
    assert tools["KiTTY"].install_paths == ()
    assert "no literal folder" in skipped[("KiTTY", "C:\\*\\kitty.exe")]
    assert tools["KiTTY"].category == Category.REMOTE_ADMIN
    assert "**\\SysAidServer\\**" in tools["SysAid"].install_paths
    assert "plus*.site24x7.com" not in tools["Site24x7"].domains
    assert "wildcard inside a label" in skipped[("Site24x7", "plus*.site24x7.com")]
    assert "POSIX" in skipped[("tmate", "/usr/bin/tmate")]
    assert tools["tmate"].executables == ()
    assert "*.tmate.io" in tools["tmate"].domains
    assert "Apple Remote Desktop" in dict(result.skipped_tools)


def test_real_file_imports_into_loadable_catalog(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "lolrmm" / "rmm_tools.json"
    report = tmp_path / "report.json"
    output = tmp_path / "tools"

    code = main(
        [
            "catalog",
            "import",
            "lolrmm",
            str(source),
            "--output",
            str(output),
            "--report",
            str(report),
        ]
    )
    written = sorted(path.stem for path in output.glob("*.yaml"))
    catalog = load_catalog([output])
    summary = json.loads(report.read_text(encoding="utf-8"))

    assert code == 0
    assert len(written) == summary["counts"]["tools"]
    assert all(tool_id in catalog.tools for tool_id in written)
    assert catalog.tools["anydesk"].notes is None
    assert catalog.tools["lolrmm-anydesk"].notes is not None
    assert catalog.tools["lolrmm-anydesk"].notes.startswith("Imported from LOLRMM")
    assert len(summary["skipped_values"]) == summary["counts"]["skipped_values"]
    assert summary["lint_issues"], "LOLRMM gives some names to several tools"


def test_cli_import_streams_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "rmm_tools.json"
    source.write_text(json.dumps([_entry(paths=["demo.exe", "/usr/bin/demo"])]), encoding="utf-8")

    code = main(["catalog", "import", "lolrmm", str(source)])
    captured = capsys.readouterr()

    assert code == 0
    assert "id: lolrmm-demo-remote" in captured.out
    assert "rmmhunt: imported from LOLRMM: tools 1" in captured.err
    assert "1 value(s) skipped" in captured.err


def test_match_all_paths_are_skipped() -> None:
    paths = ["**\\*.exe", "*\\*.exe", "**", "C:\\*.exe", "**\\Demo\\demo.exe"]
    result = import_lolrmm([_entry(paths=paths)])
    tool = result.tools[0]
    skipped = _skipped(result)

    assert tool.install_paths == ("**\\Demo\\demo.exe",)
    for path in ("**\\*.exe", "*\\*.exe", "C:\\*.exe"):
        assert "no literal folder" in skipped[path], path
    # A bare `**` has no separator, so it is read as a file name, and skipped as such.
    assert "**" in skipped


def test_dot_dot_paths_are_skipped() -> None:
    paths = [
        "C:\\Program Files\\X\\..\\..\\**",
        "C:\\Program Files\\X\\..\\..\\*\\*\\*.exe",
        "C:\\Program Files\\X\\..\\Demo\\demo.exe",
    ]
    result = import_lolrmm([_entry(paths=paths)])
    tool = result.tools[0]
    skipped = _skipped(result)

    assert tool.install_paths == ("C:\\Program Files\\X\\..\\Demo\\demo.exe",)
    assert "no literal folder" in skipped[paths[0]]
    assert "no literal folder" in skipped[paths[1]]


def test_imported_id_never_replaces_builtin(tmp_path: Path) -> None:
    result = import_lolrmm([_entry("AnyDesk", paths=["evil.exe"])])
    (tmp_path / f"{result.tools[0].id}.yaml").write_text(
        tool_yaml(result.tools[0]), encoding="utf-8"
    )

    catalog = load_catalog([tmp_path])

    assert result.tools[0].id == "lolrmm-anydesk"
    assert "AnyDesk.exe" in catalog.tools["anydesk"].executables
    assert catalog.tools["lolrmm-anydesk"].executables == ("evil.exe",)


def test_unsafe_values_are_skipped_not_fatal() -> None:
    entry = _entry(
        paths=["good.exe", "b\nc.exe", "l`m.exe", "p\u2028q.exe"],
        domains=["ok.example.com", "e\u202evil.com"],
    )
    entry["CodeSigning"] = {
        "certificates": [{"signer_name": 'S"igner\n| x'}, {"signer_name": "Ok"}]
    }
    entry["Details"]["PEMetadata"] = [
        {"OriginalFileName": "o``` | x.exe"},
        {"OriginalFileName": 'o"); x.exe'},
    ]
    entry["Description"] = "fine\x1b[31m"
    hostile_name = _entry("Evil ``` | delete index=* ```", paths=["evil.exe"])
    broken_name = _entry("Evil\n| union DeviceLogonEvents", paths=["evil.exe"])

    result = import_lolrmm([entry, hostile_name, broken_name])
    skipped = _skipped(result)

    assert [tool.name for tool in result.tools] == ["Demo Remote"]
    tool = result.tools[0]
    assert tool.executables == ("good.exe",)
    assert tool.code_signers == ("Ok",)
    assert tool.domains == ("ok.example.com",)
    assert tool.original_file_names == ()
    assert "\x1b" not in tool.description
    assert "control character" in skipped["b\nc.exe"]
    assert "backtick" in skipped["l`m.exe"]
    assert "control character" in skipped["p\u2028q.exe"]
    assert "control character" in skipped['S"igner\n| x']
    assert "backtick" in skipped["o``` | x.exe"]
    assert "Windows file names cannot" in skipped['o"); x.exe']
    assert "control character" in skipped["fine\x1b[31m"]
    reasons = dict(result.skipped_tools)
    assert "backtick" in reasons["Evil ``` | delete index=* ```"]
    assert "control character" in reasons["Evil\n| union DeviceLogonEvents"]
