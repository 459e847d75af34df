"""Tests of the tool catalog: schema, loading, overrides, lookups, seed fixes and lint."""

from __future__ import annotations

import fnmatch
import json
import ntpath
from pathlib import Path

import pytest
from pydantic import ValidationError

from rmmhunt.catalog import (
    DEFAULT_CATEGORIES,
    INDICATOR_COLUMNS,
    SEED_NAMES,
    Catalog,
    CatalogValidationError,
    Category,
    lint_catalog,
    load_catalog,
)
from rmmhunt.catalog.loader import parse_tool
from rmmhunt.catalog.model import Tool
from rmmhunt.catalog.render import find_tool, list_rows, tool_document, tool_yaml
from rmmhunt.errors import CatalogError


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def catalog_fixtures() -> Path:
    return Path(__file__).resolve().parent / "fixtures" / "catalog"


def ids(tools: list[object]) -> list[str]:
    return [tool.id for tool in tools]  # type: ignore[attr-defined]


# Required tools -> one real binary name each tool runs as.
REQUIRED_TOOLS = {
    "AnyDesk": "AnyDesk.exe",
    "ConnectWise ScreenConnect": "ScreenConnect.ClientService.exe",
    "Splashtop": "SRService.exe",
    "Syncro": "Syncro.Service.exe",
    "Bravura OptiTune": "OTService.exe",
    "TeamViewer": "TeamViewer_Service.exe",
    "Atera": "AteraAgent.exe",
    "NetSupport Manager": "client32.exe",
    "RustDesk": "rustdesk.exe",
    "SimpleHelp": "SimpleService.exe",
    "MeshCentral": "MeshAgent.exe",
    "Action1": "action1_agent.exe",
    "Level": "level.exe",
    "Tactical RMM": "tacticalrmm.exe",
    "Kaseya VSA": "AgentMon.exe",
    "N-able Take Control": "BASupSrvc.exe",
    "N-able N-sight RMM": "winagent.exe",
    "NinjaOne": "NinjaRMMAgent.exe",
    "Zoho Assist": "ZA_Connect.exe",
    "Remote Utilities": "rutview.exe",
    "Remote Manipulator System": "rutserv.exe",
    "Ammyy Admin": "AA_v3.exe",
    "Radmin": "rserver3.exe",
    "UltraVNC": "winvnc.exe",
    "TightVNC": "tvnserver.exe",
    "RealVNC Connect": "vncserver.exe",
    "LogMeIn": "LMIGuardianSvc.exe",
    "LogMeIn Rescue": "lmi_rescue.exe",
    "GoTo Resolve": "GoToResolveService.exe",
    "GoToMyPC": "g2svc.exe",
    "Chrome Remote Desktop": "remoting_host.exe",
    "Supremo": "SupremoService.exe",
    "DWService": "dwagsvc.exe",
    "FleetDeck": "fleetdeck_agent_svc.exe",
    "Pulseway": "PCMonitorSrv.exe",
    "BeyondTrust Remote Support": "bomgar-scc.exe",
    "DameWare": "dwrcs.exe",
    "PDQ Connect": "pdq-connect-agent.exe",
    "ITarian": "ITSMAgent.exe",
    "Microsoft Quick Assist": "quickassist.exe",
    "ConnectWise Automate": "LTSVC.exe",
    "Datto RMM": "CagService.exe",
    "ManageEngine Endpoint Central": "dcagentservice.exe",
    "AeroAdmin": "AeroAdmin.exe",
    "UltraViewer": "UltraViewer_Service.exe",
    "RemotePC": "RemotePCService.exe",
    "Parsec": "parsecd.exe",
    "Getscreen.me": "getscreen.exe",
    "ISL Online": "ISLLight.exe",
    "AnyViewer": "RCService.exe",
    "HopToDesk": "HopToDesk.exe",
    "NoMachine": "nxd.exe",
    "ToDesk": "ToDesk_Service.exe",
    "Sunlogin": "SunloginClient.exe",
    "Iperius Remote": "IperiusRemote.exe",
    "Netop Remote Control": "nhostsvc.exe",
    "LiteManager": "ROMServer.exe",
    "ShowMyPC": "ShowMyPC.exe",
    "Mikogo": "mikogo-service.exe",
    "Jump Desktop": "JumpConnect.exe",
    "Distant Desktop": "ddsystem.exe",
    "PsExec": "PSEXESVC.exe",
    "PuTTY": "plink.exe",
    "ngrok": "ngrok.exe",
    "Cloudflare Tunnel": "cloudflared.exe",
    "RDP Wrapper": "RDPWInst.exe",
}


@pytest.mark.parametrize(("tool_name", "binary"), sorted(REQUIRED_TOOLS.items()))
def test_required_tool_present(catalog: Catalog, tool_name: str, binary: str) -> None:
    names = [tool.name for tool in catalog.match_image_name(binary)]
    assert tool_name in names


def test_builtin_catalog_lint_clean(catalog: Catalog) -> None:
    errors = [issue for issue in lint_catalog(catalog) if issue.severity == "error"]
    assert errors == []


def test_builtin_ids_equal_file_stems(catalog: Catalog) -> None:
    for tool_id, source in catalog.sources.items():
        assert source.endswith(f"/{tool_id}.yaml")


@pytest.mark.parametrize(
    ("tool_id", "expected"),
    [
        ("psexec", Category.REMOTE_ADMIN),
        ("putty", Category.REMOTE_ADMIN),
        ("ngrok", Category.TUNNEL),
        ("cloudflare-tunnel", Category.TUNNEL),
        ("rdp-wrapper", Category.TUNNEL),
    ],
)
def test_dual_use_tools_outside_default(catalog: Catalog, tool_id: str, expected: Category) -> None:
    assert catalog.tools[tool_id].category is expected
    assert catalog.tools[tool_id].category not in DEFAULT_CATEGORIES


def test_default_categories_exclude_dual_use(catalog: Catalog) -> None:
    default_ids = ids(catalog.tools_in_categories(DEFAULT_CATEGORIES))
    assert "anydesk" in default_ids
    assert "atera" in default_ids
    assert "psexec" not in default_ids
    assert "ngrok" not in default_ids


def test_seed_names_verbatim() -> None:
    assert SEED_NAMES == (
        "anydesk.exe",
        "screenconnect.exe",
        "client.screenconnect.com",
        "optitune.exe",
        "syncrormm.exe",
        "splashtop.exe",
        "splashtopstreamer.exe",
    )


@pytest.mark.parametrize(
    ("image_name", "tool_id"),
    [
        ("SRService.exe", "splashtop"),
        ("SRManager.exe", "splashtop"),
        ("Syncro.Service.exe", "syncro"),
        ("Syncro.App.Runner.exe", "syncro"),
        ("OTService.exe", "optitune"),
        ("OTPowerShell.exe", "optitune"),
        ("ScreenConnect.ClientService.exe", "screenconnect"),
        ("ScreenConnect.WindowsClient.exe", "screenconnect"),
    ],
)
def test_seed_mistakes_fixed(catalog: Catalog, image_name: str, tool_id: str) -> None:
    assert ids(catalog.match_image_name(image_name)) == [tool_id]


def test_screenconnect_domain_not_executable(catalog: Catalog) -> None:
    screenconnect = catalog.tools["screenconnect"]
    assert "client.screenconnect.com" not in [name.casefold() for name in screenconnect.executables]
    assert catalog.match_image_name("client.screenconnect.com") == []
    assert ids(catalog.match_domain("client.screenconnect.com")) == ["screenconnect"]


def test_teamviewer_required_facts(catalog: Catalog) -> None:
    teamviewer = catalog.tools["teamviewer"]
    for name in ("TeamViewer.exe", "TeamViewer_Service.exe", "tv_w32.exe", "tv_x64.exe"):
        assert name in teamviewer.executables
    assert "teamviewervpn.sys" in teamviewer.drivers
    assert "TeamViewer" in teamviewer.services


def test_anydesk_required_domains(catalog: Catalog) -> None:
    domains = catalog.tools["anydesk"].domains
    assert "anydesk.com" in domains
    assert "net.anydesk.com" in domains


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ANYDESK.EXE", ["anydesk"]),
        ("C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe", ["anydesk"]),
        ("rustdesk-1.2.3-x86_64.exe", ["rustdesk"]),
        ("AA_v4.exe", ["ammyy-admin"]),
        ("vncviewer.exe", ["realvnc", "ultravnc"]),
        ("notanydesk.exe", []),
        ("rd.exe", []),
        ("", []),
    ],
)
def test_match_image_name_cases(catalog: Catalog, name: str, expected: list[str]) -> None:
    assert ids(catalog.match_image_name(name)) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("relay-1a2b3c4d.net.anydesk.com", ["anydesk"]),
        ("ANYDESK.COM.", ["anydesk"]),
        ("notanydesk.com", []),
        ("anydesk.com.example", []),
        ("router15.teamviewer.com", ["teamviewer"]),
        ("relay.optitune.us", ["optitune"]),
        ("optitune.us", []),
        ("", []),
    ],
)
def test_match_domain_cases(catalog: Catalog, host: str, expected: list[str]) -> None:
    assert ids(catalog.match_domain(host)) == expected


def test_match_original_file_name(catalog: Catalog) -> None:
    assert ids(catalog.match_original_file_name("psexesvc.exe")) == ["psexec"]
    assert ids(catalog.match_original_file_name("RServer3.exe")) == ["radmin"]
    assert catalog.match_original_file_name("unknown.exe") == []


def test_folder_adds_and_overrides(catalog_fixtures: Path) -> None:
    merged = load_catalog([catalog_fixtures / "override"])
    anydesk = merged.tools["anydesk"]
    assert anydesk.name == "AnyDesk (site build)"
    assert anydesk.domains == ()
    assert ids(merged.match_image_name("SiteDesk.exe")) == ["anydesk"]
    assert merged.match_image_name("AnyDesk.exe") == []
    assert "site-agent" in merged.tools
    assert merged.sources["site-agent"].endswith("site-agent.yaml")


def test_version_changes_with_content(catalog: Catalog, catalog_fixtures: Path) -> None:
    assert catalog.version == load_catalog().version
    assert catalog.version.startswith("1-")
    assert load_catalog([catalog_fixtures / "override"]).version != catalog.version


def test_match_hash_case_insensitive(catalog_fixtures: Path) -> None:
    merged = load_catalog([catalog_fixtures / "override"])
    assert ids(merged.match_hash("a" * 64)) == ["site-agent"]
    assert ids(merged.match_hash("0123456789ABCDEF0123456789ABCDEF")) == ["site-agent"]
    assert merged.match_hash("b" * 64) == []


def test_wildcard_domain_subdomains_only(catalog_fixtures: Path) -> None:
    merged = load_catalog([catalog_fixtures / "override"])
    assert ids(merged.match_domain("eu.agents.example.org")) == ["site-agent"]
    assert merged.match_domain("agents.example.org") == []


def test_invalid_folder_reports_all(catalog_fixtures: Path) -> None:
    with pytest.raises(CatalogValidationError) as caught:
        load_catalog([catalog_fixtures / "invalid"])

    problems = {(Path(p.path or "").name, p.line): p.message for p in caught.value.problems}
    assert len(problems) == 5
    assert "Extra inputs are not permitted" in problems[("unknown-key.yaml", 6)]
    assert problems[("unknown-key.yaml", 6)].startswith("executable:")
    assert "invalid YAML" in problems[("broken-yaml.yaml", 4)]
    assert "does not equal the file name" in problems[("wrong-stem.yaml", 1)]
    assert problems[("bad-values.yaml", 4)].startswith("category:")
    assert problems[("bad-values.yaml", 6)].startswith("techniques.1:")
    assert caught.value.path is not None
    assert "5 problem(s)" in str(caught.value)


def test_duplicate_key_rejected() -> None:
    text = (
        "id: dup\nname: A\nname: B\nvendor: V\ncategory: rmm\ndescription: D\ntechniques: [T1219]\n"
    )
    tool, errors = parse_tool(text, "dup.yaml", "dup")
    assert tool is None
    assert [error.line for error in errors] == [3]
    assert "duplicate key 'name'" in errors[0].message


def test_empty_file_rejected() -> None:
    tool, errors = parse_tool("", "empty.yaml", "empty")
    assert tool is None
    assert errors[0].message == "the file is empty"


def test_missing_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="catalog folder not found"):
        load_catalog([tmp_path / "missing"])


LINT_CASES = [
    ("anydesk", "is also claimed by claims-anydesk"),
    ("teamviewer", "is also claimed by claims-by-pattern (through the pattern 'tv_w*.exe')"),
    ("dead-patterns", "contains a path separator"),
    ("dead-patterns", "'agentnoext' has no file extension"),
    ("no-references", "the tool has no references"),
    ("uncovered-fact", "no reference covers domains"),
    ("bad-indicators", "sha256 value 'not-a-hash' is invalid"),
    ("bad-indicators", "md5 value '0123456789abcdef' is invalid"),
    ("bad-indicators", "domain '51.255.19.178' is invalid"),
    ("bad-indicators", "domain 'https://example.org' is invalid"),
    ("bad-indicators", "domain 'relay-[a-f0-9]{8}.net.example.org' is invalid"),
    ("bad-indicators", "shared_with names unknown tool 'missing-tool'"),
]


@pytest.mark.parametrize(("tool_id", "fragment"), LINT_CASES)
def test_lint_catches_problem(catalog_fixtures: Path, tool_id: str, fragment: str) -> None:
    issues = lint_catalog(load_catalog([catalog_fixtures / "lint"]))
    messages = [issue.message for issue in issues if issue.tool_id == tool_id]
    assert any(fragment in message for message in messages), messages


def test_lint_wildcard_only_not_repeated(catalog_fixtures: Path) -> None:
    issues = lint_catalog(load_catalog([catalog_fixtures / "lint"]))
    assert not any("through the pattern '*'" in issue.message for issue in issues)


def test_lint_accepts_mutual_shared_with(catalog: Catalog) -> None:
    assert "remote-manipulator-system" in catalog.tools["remote-utilities"].shared_with
    messages = [issue.message for issue in lint_catalog(catalog)]
    assert not any("rutserv.exe" in message for message in messages)


def test_indicator_rows_shape(catalog: Catalog) -> None:
    rows = catalog.indicator_rows()
    assert rows
    assert all(tuple(row) == INDICATOR_COLUMNS for row in rows)
    types = {row["indicator_type"] for row in rows}
    assert {"image_name", "install_path", "domain", "service_name", "driver_name"} <= types
    assert all(row["value"] == row["value"].casefold() for row in rows)
    assert {
        "tool_id": "teamviewer",
        "tool_name": "TeamViewer",
        "category": "remote-desktop",
        "indicator_type": "driver_name",
        "value": "teamviewervpn.sys",
        "is_pattern": "false",
    } in rows


def test_indicator_rows_normalise_paths(catalog: Catalog) -> None:
    rows = [row for row in catalog.indicator_rows() if row["tool_id"] == "anydesk"]
    paths = {
        row["value"]: row["is_pattern"] for row in rows if row["indicator_type"] == "install_path"
    }
    assert paths == {
        "\\program files (x86)\\anydesk\\**": "true",
        "\\program files\\anydesk\\**": "true",
    }


def test_list_rows_count_indicators(catalog: Catalog) -> None:
    rows = list_rows(catalog)
    assert len(rows) == len(catalog)
    optitune = next(row for row in rows if row["id"] == "optitune")
    assert optitune == {
        "id": "optitune",
        "name": "Bravura OptiTune",
        "category": "rmm",
        "indicators": 4,
    }
    assert [row["id"] for row in list_rows(catalog, ("tunnel",))] == [
        "cloudflare-tunnel",
        "ngrok",
        "rdp-wrapper",
    ]


def test_find_tool_by_alias_and_hint(catalog: Catalog) -> None:
    assert find_tool(catalog, "ConnectWise Control").id == "screenconnect"
    assert find_tool(catalog, "TEAMVIEWER").id == "teamviewer"
    with pytest.raises(CatalogError) as caught:
        find_tool(catalog, "anydsk")
    assert caught.value.hint is not None
    assert "anydesk" in caught.value.hint


def test_tool_yaml_round_trips(catalog: Catalog) -> None:
    tool = catalog.tools["teamviewer"]
    text = tool_yaml(tool)
    parsed, errors = parse_tool(text, "teamviewer.yaml", "teamviewer")
    assert errors == []
    assert parsed == tool
    assert tool_document(tool)["category"] == "remote-desktop"


def lolrmm_binaries(shared_data: Path) -> dict[str, set[str]]:
    """Map each case-folded file name in the public LOLRMM catalog to the tools that list it.

    Names come from each tool's PE metadata (`Filename`, `OriginalFileName`) and from the base
    names of its installation paths, which mix directories, executables and wildcards.
    """
    tools = json.loads((shared_data / "lolrmm" / "rmm_tools.json").read_text(encoding="utf-8"))
    binaries: dict[str, set[str]] = {}
    for tool in tools:
        details = tool.get("Details") or {}
        metadata = details.get("PEMetadata") or []
        if isinstance(metadata, dict):
            metadata = [metadata]
        names = [entry.get(key) for entry in metadata for key in ("Filename", "OriginalFileName")]
        names += [ntpath.basename(path) for path in details.get("InstallationPaths") or []]
        for name in names:
            if name:
                binaries.setdefault(name.casefold(), set()).add(tool["Name"])
    return binaries


@pytest.mark.parametrize(
    ("image_name", "tool_id", "lolrmm_tool"),
    [
        ("SRService.exe", "splashtop", "Splashtop Remote"),
        ("Syncro.Service.exe", "syncro", "Syncro"),
        ("OTService.exe", "optitune", "OptiTune"),
        ("ScreenConnect.ClientService.exe", "screenconnect", "ScreenConnect"),
    ],
)
def test_seed_fixes_agree_with_lolrmm(
    shared_data: Path, catalog: Catalog, image_name: str, tool_id: str, lolrmm_tool: str
) -> None:
    assert lolrmm_tool in lolrmm_binaries(shared_data)[image_name.casefold()]
    assert ids(catalog.match_image_name(image_name)) == [tool_id]


def test_required_binaries_have_a_source(shared_data: Path, catalog: Catalog) -> None:
    binaries = lolrmm_binaries(shared_data)
    patterns = [name for name in binaries if "*" in name or "?" in name]
    unsourced = []
    for tool_name, binary in sorted(REQUIRED_TOOLS.items()):
        if binary.casefold() in binaries:
            continue
        if any(fnmatch.fnmatchcase(binary.casefold(), pattern) for pattern in patterns):
            continue
        # A name that LOLRMM lacks needs another source that covers executables.
        [tool] = [t for t in catalog.match_image_name(binary) if t.name == tool_name]
        urls = [r.url for r in tool.references if "executables" in r.covers]
        if not any("lolrmm.io" not in url for url in urls):
            unsourced.append(f"{tool_name}: {binary}")
    assert unsourced == []


@pytest.mark.parametrize(
    "path",
    [
        "**\\*.exe",
        "*\\*.exe",
        "C:\\**\\*.exe",
        "**",
        "C:\\**",
        "\\**",
        "**\\demo.exe",
        "C:\\Program Files\\Demo\\..\\..\\**",
        "C:\\Program Files\\Demo\\..\\..\\*\\*\\*.exe",
    ],
)
def test_match_all_install_path_rejected(path: str) -> None:
    document = {
        "id": "demo",
        "name": "Demo",
        "vendor": "x",
        "category": "rmm",
        "description": "x",
        "install_paths": [path],
        "techniques": ["T1219"],
    }

    with pytest.raises(ValidationError, match="can match a file in any folder"):
        Tool.model_validate(document)
