"""Inventory validation: restrictions that would be dropped or widened are errors with a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli import ExitCode, main
from rmmhunt.errors import InventoryError
from rmmhunt.inventory import load_inventory

MAPPING = {"tool": "Software", "hosts": "Computer", "paths": "Install Location"}
EXPORT_HEADER = "Software,Computer,Install Location\n"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _load_error(
    tmp_path: Path,
    catalog: Catalog,
    name: str,
    text: str,
    columns: dict[str, str] | None = None,
) -> InventoryError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as raised:
        load_inventory(path, catalog=catalog, columns=columns)
    return raised.value


# Column mappings


def test_mapped_header_missing_is_error(tmp_path: Path, catalog: Catalog) -> None:
    columns = {"tool": "Software", "hosts": "Computr", "paths": "Install Location"}
    text = EXPORT_HEADER + "TeamViewer,NOPE-HOST,D:\\Nowhere\\**\n"

    error = _load_error(tmp_path, catalog, "export.csv", text, columns)

    assert error.line == 1
    assert "'Computr'" in error.message
    assert "hosts" in error.message
    assert error.hint is not None
    assert "'Computer'" in error.hint
    assert "'Install Location'" in error.hint


def test_mapped_header_missing_exits_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "export.csv"
    inventory.write_text(EXPORT_HEADER + "TeamViewer,NOPE-HOST,D:\\Nowhere\\**\n")
    events = tmp_path / "events.ndjson"
    events.write_text("", encoding="utf-8")
    mapping = "tool=Software,hosts=Computr,paths=Install Locaton"

    code = main(
        ["hunt", str(events), "-q", "--inventory", str(inventory), "--inventory-columns", mapping]
    )

    error = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert "'Computr'" in error
    assert "'Install Locaton'" in error


def test_two_fields_one_header_is_error(tmp_path: Path, catalog: Catalog) -> None:
    columns = {"tool": "Software", "hosts": "Computer", "users": "Computer"}
    text = EXPORT_HEADER + "TeamViewer,WS01,C:\\x\n"

    error = _load_error(tmp_path, catalog, "export.csv", text, columns)

    assert "hosts, users" in error.message


# CSV structure


def test_duplicate_header_is_error(tmp_path: Path, catalog: Catalog) -> None:
    error = _load_error(tmp_path, catalog, "dup.csv", "tool,hosts,hosts\nteamviewer,H0,H1\n")

    assert error.line == 1
    assert "duplicate column 'hosts'" in error.message


def test_duplicate_mapped_header_is_error(tmp_path: Path, catalog: Catalog) -> None:
    text = "Software,Computer,computer,Install Location\nTeamViewer,WS01,WS02,C:\\x\n"

    error = _load_error(tmp_path, catalog, "dup.csv", text, MAPPING)

    assert error.line == 1
    assert "duplicate column 'computer'" in error.message


@pytest.mark.parametrize(
    "row",
    ["teamviewer,H0,extra\n", "teamviewer\n"],
)
def test_row_cell_count_must_match_header(tmp_path: Path, catalog: Catalog, row: str) -> None:
    error = _load_error(tmp_path, catalog, "rows.csv", "tool,hosts\nteamviewer,H0\n" + row)

    assert error.line == 3
    assert "cells but the header has 2" in error.message


# Empty restrictions


@pytest.mark.parametrize("field", ["hosts", "users", "paths", "signers", "parents"])
def test_yaml_empty_list_is_error(tmp_path: Path, catalog: Catalog, field: str) -> None:
    text = f"version: 1\napprovals:\n  - tool: teamviewer\n    {field}: []\n"

    error = _load_error(tmp_path, catalog, "inventory.yaml", text)

    assert error.line == 4
    assert "empty list" in error.message
    assert "omit the field" in error.message


@pytest.mark.parametrize("cell", [";", " ; ; ", '"\n;\n"'])
def test_csv_separator_only_cell_is_error(tmp_path: Path, catalog: Catalog, cell: str) -> None:
    error = _load_error(tmp_path, catalog, "inventory.csv", f"tool,hosts\nteamviewer,{cell}\n")

    assert error.line == 2
    assert "column 'hosts'" in error.message
    assert "only separators" in error.message


def test_csv_blank_cell_is_unrestricted(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT_HEADER + "TeamViewer,,C:\\Program Files\\TeamViewer\\**\n")

    (approval,) = load_inventory(path, catalog=catalog, columns=MAPPING).approvals

    assert approval.hosts == ()
    assert approval.paths == ("C:\\Program Files\\TeamViewer\\**",)
    assert "any host" in approval.scope()


# Validity windows


@pytest.mark.parametrize("value", ["20250312", "1741737600", "2025.5"])
def test_yaml_number_date_is_error(tmp_path: Path, catalog: Catalog, value: str) -> None:
    text = f"version: 1\napprovals:\n  - tool: teamviewer\n    valid_until: {value}\n"

    error = _load_error(tmp_path, catalog, "inventory.yaml", text)

    assert error.line == 4
    assert "not a date" in error.message


def test_csv_number_date_is_error(tmp_path: Path, catalog: Catalog) -> None:
    error = _load_error(
        tmp_path, catalog, "inventory.csv", "tool,valid_from\nteamviewer,20250312\n"
    )

    assert error.line == 2
    assert "column 'valid_from'" in error.message
    assert "not a date" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025-02-30", "day is out of range"), ("2025-03-12T24:00:00Z", "hour must be")],
)
def test_csv_impossible_date_is_error(
    tmp_path: Path, catalog: Catalog, value: str, expected: str
) -> None:
    text = f"tool,valid_until\nteamviewer,{value}\n"

    error = _load_error(tmp_path, catalog, "inventory.csv", text)

    assert error.line == 2
    assert value in error.message
    assert expected in error.message


def test_yaml_window_ending_before_start(tmp_path: Path, catalog: Catalog) -> None:
    text = (
        "version: 1\napprovals:\n  - tool: teamviewer\n"
        "    valid_from: 2025-03-12\n    valid_until: 2025-03-01\n"
    )

    error = _load_error(tmp_path, catalog, "inventory.yaml", text)

    assert error.line == 3
    assert "later than valid_until" in error.message


def test_csv_window_ending_before_start(tmp_path: Path, catalog: Catalog) -> None:
    text = "tool,valid_from,valid_until\nteamviewer,2025-03-12,2025-03-01\n"

    error = _load_error(tmp_path, catalog, "inventory.csv", text)

    assert error.line == 2
    assert "valid_from" in error.message
    assert "later than valid_until" in error.message


def test_one_day_window_is_valid(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("tool,valid_from,valid_until\nteamviewer,2025-03-12,2025-03-12\n")

    (approval,) = load_inventory(path, catalog=catalog).approvals

    assert approval.valid_from is not None
    assert approval.valid_until is not None
    assert approval.valid_from < approval.valid_until
