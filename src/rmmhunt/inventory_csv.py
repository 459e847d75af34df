"""Read a CSV inventory: map the header to inventory fields and validate each row.

The default column names equal the field names, and a column mapping renames them for an asset
or software inventory export. A header or row that would drop or change a restriction is an
error: a mapped header that the file lacks, a duplicate header, or a row whose cell count
differs from the header's.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from rmmhunt.errors import InventoryError
from rmmhunt.inventory_model import LIST_FIELDS, ApprovalEntry

__all__ = ["DEFAULT_COLUMNS", "Problem", "parse_csv"]

logger = logging.getLogger(__name__)

# Inventory field -> default CSV header. Headers compare case-insensitively after stripping.
DEFAULT_COLUMNS: dict[str, str] = {name: name for name in ApprovalEntry.model_fields}

# A problem is (line or None, message, hint or None).
Problem = tuple[int | None, str, str | None]


def parse_csv(
    text: str, display: str, columns: Mapping[str, str] | None
) -> tuple[list[tuple[int, ApprovalEntry]], list[Problem]]:
    """Validate a CSV inventory; each entry comes with the line its row starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InventoryError(
            "the inventory file is empty", path=display, hint="add a header row"
        ) from None
    except csv.Error as error:
        raise InventoryError(f"invalid CSV: {error}", path=display, line=1) from error

    field_by_index, problems = _map_header(header, columns)
    if problems:
        # Rows cannot be read correctly under a wrong header, so their errors would be noise.
        return [], problems

    entries: list[tuple[int, ApprovalEntry]] = []
    previous_line = reader.line_num
    while True:
        start_line = previous_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append((start_line, f"invalid CSV: {error}", None))
            break
        previous_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        entry, row_problems = _parse_row(row, len(header), field_by_index, columns)
        problems.extend((start_line, message, hint) for message, hint in row_problems)
        if entry is not None:
            entries.append((start_line, entry))
    return entries, problems


def _parse_row(
    row: Sequence[str],
    header_length: int,
    field_by_index: Mapping[int, str],
    columns: Mapping[str, str] | None,
) -> tuple[ApprovalEntry | None, list[tuple[str, str | None]]]:
    """Validate one CSV row, returning its entry or its (message, hint) problems."""
    if len(row) != header_length:
        # A cell too many usually means an unquoted comma, which shifts every later column,
        # and a cell too few can drop a restriction.
        message = f"the row has {len(row)} cells but the header has {header_length}"
        return None, [(message, "quote cells that contain a comma")]

    values: dict[str, object] = {}
    problems: list[tuple[str, str | None]] = []
    for index, field in field_by_index.items():
        cell = row[index].strip()
        if not cell:
            # A blank cell leaves the field unrestricted, as an omitted YAML field does.
            continue
        if field not in LIST_FIELDS:
            values[field] = cell
            continue
        parts = [part.strip() for part in cell.replace("\n", ";").split(";")]
        values[field] = tuple(part for part in parts if part)
        if not values[field]:
            header = _header_name(field, columns)
            problems.append(
                (
                    f"column {header!r}: the cell contains only separators",
                    "leave the cell blank for no restriction, or list at least one value",
                )
            )
    if problems:
        return None, problems

    try:
        return ApprovalEntry.model_validate(values), []
    except ValidationError as error:
        return None, [(_csv_message(item, columns), None) for item in error.errors()]


def _map_header(
    header: Sequence[str], columns: Mapping[str, str] | None
) -> tuple[dict[int, str], list[Problem]]:
    """Map each header cell's index to an inventory field.

    A mapped header that the file lacks, a header that two fields map to, and a mapped header
    that appears twice are errors, because each would silently drop or change a restriction.
    """
    expected_columns = {**DEFAULT_COLUMNS, **(columns or {})}
    problems = _mapping_problems(header, expected_columns, columns)
    by_header = {csv_name.strip().casefold(): field for field, csv_name in expected_columns.items()}
    field_by_index: dict[int, str] = {}
    first_index: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        name = cell.strip().casefold()
        if name in by_header:
            if name in first_index:
                problems.append(
                    (
                        1,
                        f"duplicate column {cell!r} (columns {first_index[name] + 1} and "
                        f"{index + 1})",
                        "keep one column for each field",
                    )
                )
            first_index.setdefault(name, index)
            field_by_index[index] = by_header[name]
        elif columns is not None:
            ignored.append(cell)
        else:
            close = difflib.get_close_matches(name, list(by_header), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "map it with a column mapping"
            problems.append((1, f"unknown column {cell!r}", hint))

    if ignored:
        logger.info("inventory CSV columns not mapped to any field, ignored: %s", ignored)
    if "tool" not in field_by_index.values():
        problems.append(
            (
                1,
                f"no {expected_columns['tool']!r} column in the header",
                "map the tool column, tool=...",
            )
        )
    return field_by_index, problems


def _mapping_problems(
    header: Sequence[str], expected_columns: Mapping[str, str], columns: Mapping[str, str] | None
) -> list[Problem]:
    """Check a column mapping against the header: every mapped header must be there, once."""
    problems: list[Problem] = []
    fields_by_header: dict[str, list[str]] = {}
    for field, csv_name in expected_columns.items():
        fields_by_header.setdefault(csv_name.strip().casefold(), []).append(field)
    for csv_name, fields in fields_by_header.items():
        if len(fields) > 1:
            problems.append(
                (
                    1,
                    f"fields {', '.join(fields)} are mapped to the same column {csv_name!r}",
                    "map each field to its own column",
                )
            )

    present = {cell.strip().casefold() for cell in header}
    found = ", ".join(repr(cell) for cell in header)
    for field, csv_name in (columns or {}).items():
        if csv_name.strip().casefold() not in present:
            problems.append(
                (
                    1,
                    f"the column mapping maps {field} to {csv_name!r}, which is not in the header",
                    f"the header has {found}; correct the mapping",
                )
            )
    return problems


def _header_name(field: str, columns: Mapping[str, str] | None) -> str:
    return {**DEFAULT_COLUMNS, **(columns or {})}.get(field, field)


def _csv_message(item: Mapping[str, object], columns: Mapping[str, str] | None) -> str:
    location = item["loc"]
    if not isinstance(location, tuple) or not location:
        # A check across fields, such as valid_from later than valid_until.
        return str(item["msg"])
    return f"column {_header_name(str(location[0]), columns)!r}: {item['msg']}"
