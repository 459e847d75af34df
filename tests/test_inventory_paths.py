"""Tests of inventory path patterns: match-all rejection, folder paths and drive letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli import ExitCode, main
from rmmhunt.errors import InventoryError
from rmmhunt.inventory import Approval, Inventory, apply_inventory, load_inventory

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
TEAMVIEWER_PATH = r"C:\Program Files\TeamViewer\TeamViewer.exe"

MATCH_ALL_PATHS = [
    r"C:\**",
    r"\**",
    r"**\*.exe",
    r"**\TeamViewer.exe",
    r"C:\*\*\*.exe",
    r"C:\Program Files\TeamViewer\..\..\**",
    r"\\?\C:\Program Files\TeamViewer\.\..\..\**",
    "C:\\",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _yaml(path_pattern: str) -> str:
    quoted = path_pattern.replace("'", "''")
    return f"version: 1\napprovals:\n  - id: a\n    tool: teamviewer\n    paths: ['{quoted}']\n"


def _status(approval: Approval, image_path: str) -> str:
    alert: dict[str, Any] = {
        "_time": datetime(2025, 3, 12, 9, 0, tzinfo=UTC),
        "kind": "process_start",
        "tool": "TeamViewer",
        "tool_id": "teamviewer",
        "agent_hostname": "WS01",
        "action_process_image_path": image_path,
    }
    apply_inventory([alert], Inventory((approval,), source="test.yaml"), now=NOW)
    return str(alert["approval"]["status"])


@pytest.mark.parametrize("pattern", MATCH_ALL_PATHS)
def test_yaml_match_all_path_rejected(tmp_path: Path, catalog: Catalog, pattern: str) -> None:
    path = _write(tmp_path, "inventory.yaml", _yaml(pattern))

    with pytest.raises(InventoryError) as raised:
        load_inventory(path, catalog=catalog)

    error = raised.value
    assert error.path == str(path)
    assert error.line == 5
    assert "approvals.0.paths" in error.message
    assert "any folder" in error.message


@pytest.mark.parametrize("pattern", MATCH_ALL_PATHS)
def test_csv_match_all_path_rejected(tmp_path: Path, catalog: Catalog, pattern: str) -> None:
    text = f'tool,paths\nteamviewer,"{TEAMVIEWER_PATH}"\nteamviewer,"{pattern}"\n'
    path = _write(tmp_path, "inventory.csv", text)

    with pytest.raises(InventoryError) as raised:
        load_inventory(path, catalog=catalog)

    error = raised.value
    assert error.line == 3
    assert "paths" in error.message
    assert "any folder" in error.message


def test_match_all_path_exits_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = _write(tmp_path, "inventory.yaml", _yaml(r"C:\Program Files\TeamViewer\..\..\**"))
    events = _write(tmp_path, "events.ndjson", "")

    code = main(["hunt", str(events), "-q", "--inventory", str(inventory)])

    error = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert code == 5
    assert f"{inventory}:5:" in error
    assert "approvals.0.paths" in error


@pytest.mark.parametrize("name", ["inventory.csv", "inventory.yaml"])
def test_folder_path_covers_files_below(tmp_path: Path, catalog: Catalog, name: str) -> None:
    folder = r"C:\Program Files\TeamViewer"
    csv_text = f'tool,paths\nteamviewer,"{folder}"\n'
    text = csv_text if name.endswith(".csv") else _yaml(folder)
    inventory = load_inventory(_write(tmp_path, name, text), catalog=catalog)
    [approval] = inventory.approvals

    assert approval.paths == (folder + r"\**",)
    assert _status(approval, TEAMVIEWER_PATH) == "approved"
    assert _status(approval, r"C:\Program Files\TeamViewer\x64\tv.exe") == "approved"
    assert _status(approval, r"C:\Program Files\TeamViewerX\TeamViewer.exe") != "approved"


def test_file_path_stays_a_file(tmp_path: Path, catalog: Catalog) -> None:
    text = f'tool,paths\nteamviewer,"{TEAMVIEWER_PATH}"\n'
    inventory = load_inventory(_write(tmp_path, "inventory.csv", text), catalog=catalog)

    assert inventory.approvals[0].paths == (TEAMVIEWER_PATH,)


@pytest.mark.parametrize(
    ("image_path", "expected"),
    [
        (TEAMVIEWER_PATH, "approved"),
        (r"D:\Program Files\TeamViewer\TeamViewer.exe", "outside_approval"),
        (r"\\?\D:\Program Files\TeamViewer\TeamViewer.exe", "outside_approval"),
        (r"\Device\HarddiskVolume5\Program Files\TeamViewer\TeamViewer.exe", "approved"),
        (r"\Program Files\TeamViewer\TeamViewer.exe", "approved"),
    ],
)
def test_approval_drive_letter_must_match(image_path: str, expected: str) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", paths=(r"C:\Program Files\TeamViewer\**",))

    assert _status(approval, image_path) == expected


def test_approval_without_drive_matches_any() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", paths=(r"\Program Files\TeamViewer\**",))

    assert _status(approval, r"D:\Program Files\TeamViewer\TeamViewer.exe") == "approved"
