"""Tests of `rmmhunt catalog export`: the CSV, Splunk lookup and Sentinel watchlist shapes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from rmmhunt.catalog import INDICATOR_COLUMNS, load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.tables import SENTINEL_COLUMNS, SPLUNK_COLUMNS, export_table
from rmmhunt.cli import main

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_TOOL = """\
id: hostile
name: =HYPERLINK("http://attacker.example")
vendor: Example
category: rmm
description: A tool whose fields start with spreadsheet formula characters.
executables: ['-hostile?.exe', '+plain.exe']
install_paths: ['C:\\Hostile\\*\\bin\\**']
code_signers: ['@SUM(1+1)']
techniques: [T1219]
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def hostile_catalog(tmp_path: Path) -> Catalog:
    (tmp_path / "hostile.yaml").write_text(HOSTILE_TOOL, encoding="utf-8")
    return load_catalog([tmp_path])


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("table_format", "header"),
    [
        ("csv", list(INDICATOR_COLUMNS)),
        ("splunk-lookup", list(SPLUNK_COLUMNS)),
        ("sentinel-watchlist", list(SENTINEL_COLUMNS)),
    ],
)
def test_table_header_and_row_count(catalog: Catalog, table_format: str, header: list[str]) -> None:
    table = export_table(catalog, table_format)
    rows = _rows(table.text)

    assert rows[0] == header
    assert len(rows) - 1 == len(catalog.indicator_rows()) == table.rows
    assert all(len(row) == len(header) for row in rows)
    assert table.text.endswith("\r\n")


def test_csv_equals_indicator_table(catalog: Catalog) -> None:
    rows = _rows(export_table(catalog, "csv").text)[1:]
    expected = [[row[column] for column in INDICATOR_COLUMNS] for row in catalog.indicator_rows()]

    assert rows == expected


def test_category_filter_keeps_only_its_tools(catalog: Catalog) -> None:
    rows = _rows(export_table(catalog, "csv", ["tunnel"]).text)[1:]
    tunnel_tools = {tool.id for tool in catalog.tools_in_categories(["tunnel"])}

    assert rows
    assert {row[0] for row in rows} == tunnel_tools
    assert {row[2] for row in rows} == {"tunnel"}


@pytest.mark.parametrize("table_format", ["csv", "splunk-lookup", "sentinel-watchlist"])
def test_formula_cells_are_neutralised(hostile_catalog: Catalog, table_format: str) -> None:
    cells = [
        cell for row in _rows(export_table(hostile_catalog, table_format).text) for cell in row
    ]

    assert not [cell for cell in cells if cell[:1] in {"=", "+", "-", "@"}]
    assert '\'=HYPERLINK("http://attacker.example")' in cells
    assert "'@sum(1+1)" in cells
    assert "'+plain.exe" in cells


def test_splunk_wildcards(hostile_catalog: Catalog) -> None:
    table = export_table(hostile_catalog, "splunk-lookup", ["rmm"])
    values = {row[1]: row for row in _rows(table.text)[1:] if row[2] == "hostile"}

    assert "'-hostile*.exe" in values
    assert "*\\hostile\\*\\bin\\*" in values
    assert values["*\\hostile\\*\\bin\\*"][0] == "install_path"
    # The `?` in the name and the single `*` in the path both widen.
    assert table.widened >= 2


def test_sentinel_keeps_catalog_patterns(hostile_catalog: Catalog) -> None:
    rows = _rows(export_table(hostile_catalog, "sentinel-watchlist").text)[1:]
    hostile = {row[0]: row for row in rows if row[2] == "hostile"}

    assert hostile["'-hostile?.exe"][5] == "true"
    assert hostile["\\hostile\\*\\bin\\**"][1] == "install_path"


def test_cli_catalog_export_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "rmm.csv"

    code = main(["catalog", "export", "--to", "splunk-lookup", "--output", str(output)])
    rows = _rows(output.read_text(encoding="utf-8"))

    assert code == 0
    assert rows[0] == list(SPLUNK_COLUMNS)
    assert "match more in splunk-lookup" in capsys.readouterr().err


def test_cli_catalog_export_rejects_category(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["catalog", "export", "--to", "csv", "--category", "games"])

    assert code == 2
    assert "unknown categories" in capsys.readouterr().err
