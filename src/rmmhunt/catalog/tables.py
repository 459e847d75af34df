"""Write the catalog as a lookup table for Splunk, Microsoft Sentinel or any CSV reader.

Every format is CSV with one row per indicator, from `Catalog.indicator_rows()`. Each cell goes
through `csv_cell`, so a value that a spreadsheet would run as a formula starts with `'`.

- `csv`: the indicator table as the hunt uses it, with the columns in `INDICATOR_COLUMNS`.
- `splunk-lookup`: a CSV lookup file. Splunk's `WILDCARD(value)` match type supports only `*`,
  which also matches `\\`, so `**` and `?` become `*`, and a path pattern's single `*` widens.
- `sentinel-watchlist`: a CSV file to upload as a Microsoft Sentinel watchlist, with `Indicator`
  as the column to choose as the search key. Patterns keep the catalog's syntax, and `IsPattern`
  marks them, because a watchlist lookup compares whole values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from rmmhunt.catalog.lookup import INDICATOR_COLUMNS, Catalog
from rmmhunt.report.safety import csv_cell

__all__ = ["TABLE_FORMATS", "TableExport", "export_table"]

TABLE_FORMATS = ("csv", "splunk-lookup", "sentinel-watchlist")

SPLUNK_COLUMNS = ("indicator_type", "value", "tool_id", "tool_name", "category", "is_pattern")
SENTINEL_COLUMNS = ("Indicator", "IndicatorType", "ToolId", "ToolName", "Category", "IsPattern")


@dataclass(frozen=True)
class TableExport:
    """A rendered lookup table.

    Attributes:
        text: the CSV text, with a header row and CRLF line ends as RFC 4180 writes them.
        rows: the number of data rows.
        widened: the number of patterns that became broader in the target's wildcard syntax.
    """

    text: str
    rows: int
    widened: int


def _selected_rows(catalog: Catalog, categories: Iterable[str]) -> list[dict[str, str]]:
    chosen = {category.strip().lower() for category in categories} - {""}
    rows = catalog.indicator_rows()
    if not chosen or "all" in chosen:
        return rows
    return [row for row in rows if row["category"] in chosen]


def _splunk_value(row: dict[str, str]) -> str:
    value = row["value"]
    if row["indicator_type"] == "install_path":
        # Catalog paths are stored without their volume, and match on any volume.
        value = "*" + value
    elif row["is_pattern"] != "true":
        return value
    return value.replace("**", "*").replace("?", "*")


def _widens_in_splunk(row: dict[str, str]) -> bool:
    """Tell whether Splunk's `*` matches more than the catalog pattern does.

    Splunk's `*` also matches `\\`, so a single `*` in a path pattern widens, as does every `?`.
    """
    if row["is_pattern"] != "true":
        return False
    value = row["value"]
    single_star = row["indicator_type"] == "install_path" and "*" in value.replace("**", "")
    return "?" in value or single_star


def _write(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


def export_table(
    catalog: Catalog, table_format: str, categories: Iterable[str] = ()
) -> TableExport:
    """Render the catalog's indicators as a lookup table.

    Args:
        catalog: the loaded catalog.
        table_format: one of `TABLE_FORMATS`.
        categories: keep only tools in these categories; every tool when empty or `all`.

    Raises:
        ValueError: the format is not one of `TABLE_FORMATS`.
    """
    if table_format not in TABLE_FORMATS:
        raise ValueError(f"unknown table format {table_format!r}; choose from {TABLE_FORMATS}")
    rows = _selected_rows(catalog, categories)

    if table_format == "csv":
        cells = [[row[column] for column in INDICATOR_COLUMNS] for row in rows]
        return TableExport(_write(INDICATOR_COLUMNS, cells), len(rows), 0)

    if table_format == "sentinel-watchlist":
        sentinel = [
            [
                row["value"],
                row["indicator_type"],
                row["tool_id"],
                row["tool_name"],
                row["category"],
                row["is_pattern"],
            ]
            for row in rows
        ]
        return TableExport(_write(SENTINEL_COLUMNS, sentinel), len(rows), 0)

    splunk = [[row[column] for column in SPLUNK_COLUMNS] for row in rows]
    for values, row in zip(splunk, rows, strict=True):
        values[1] = _splunk_value(row)
    widened = sum(1 for row in rows if _widens_in_splunk(row))
    return TableExport(_write(SPLUNK_COLUMNS, splunk), len(rows), widened)
