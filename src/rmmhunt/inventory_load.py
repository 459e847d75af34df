"""Load an approved-software inventory from YAML or from a CSV export.

YAML files hold a mapping with `version: 1` and an `approvals` list. CSV files hold one approval
per row, with a header row; the default column names equal the field names (`tool`, `hosts`,
`users`, `paths`, `signers`, `parents`, `valid_from`, `valid_until`, `reason`, `ticket`, `id`),
and a column mapping renames them for an asset or software inventory export (`inventory_csv`
reads them). Every problem in a file is collected before one `InventoryError` is raised, at the
line of the first problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.errors import InventoryError
from rmmhunt.inventory_csv import DEFAULT_COLUMNS, Problem, parse_csv
from rmmhunt.inventory_model import (
    Approval,
    ApprovalEntry,
    Inventory,
    InventoryDocument,
)
from rmmhunt.yamlsafe import compose_yaml, error_hint, load_yaml

_YAML_HINT = "check the indentation and quoting; quote Windows paths with '...'"

__all__ = [
    "DEFAULT_COLUMNS",
    "load_column_mapping",
    "load_inventory",
    "parse_column_mapping",
]

_YAML_SUFFIXES = (".yaml", ".yml")
_CSV_SUFFIXES = (".csv",)


def load_inventory(
    path: Path,
    *,
    catalog: Catalog | None = None,
    columns: Mapping[str, str] | None = None,
) -> Inventory:
    """Load and validate an inventory file, choosing YAML or CSV by the file's suffix.

    Args:
        path: a `.yaml`/`.yml` or `.csv` file.
        catalog: the catalog that approvals name tools from; the built-in catalog by default.
        columns: for CSV, inventory field -> CSV header, for the fields whose header differs from
            the default. When given, CSV columns that no field maps to are ignored; without it,
            an unknown header is an error, because a misspelt header would widen approvals.

    Raises:
        InventoryError: the file is missing, unreadable or invalid. The error carries the file
            and the line of the first problem and lists every problem found.
    """
    if catalog is None:
        from rmmhunt.catalog.loader import load_catalog

        catalog = load_catalog()

    display = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InventoryError(
            "inventory file not found", path=display, hint="check the --inventory path"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(
            f"cannot read the inventory file: {error}",
            path=display,
            hint="save the file as UTF-8 text",
        ) from error

    suffix = path.suffix.casefold()
    if suffix in _YAML_SUFFIXES:
        entries, problems = _parse_yaml(text, display)
    elif suffix in _CSV_SUFFIXES:
        entries, problems = parse_csv(text, display, columns)
    else:
        raise InventoryError(
            f"unsupported inventory file type {path.suffix or '(none)'!r}",
            path=display,
            hint="use a .yaml, .yml or .csv file",
        )

    approvals = _resolve(entries, catalog, display, problems)
    if problems:
        _raise_problems(problems, display)
    return Inventory(approvals=tuple(approvals), source=display)


def parse_column_mapping(text: str) -> dict[str, str]:
    """Parse a `field=header,field=header` column mapping, as given on the command line.

    Raises:
        InventoryError: an item has no `=`, or names an unknown inventory field.
    """
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        field, separator, header = item.partition("=")
        if not separator or not field.strip() or not header.strip():
            raise InventoryError(
                f"invalid column mapping item {item.strip()!r}",
                hint="write field=header pairs separated by commas, for example tool=Software",
            )
        mapping[field.strip()] = header.strip()
    _check_mapping_fields(mapping, None)
    return mapping


def load_column_mapping(path: Path) -> dict[str, str]:
    """Load a column mapping file: a YAML mapping of inventory field to CSV header.

    Raises:
        InventoryError: the file is missing or invalid, or names an unknown field.
    """
    display = str(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InventoryError("column mapping file not found", path=display) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(
            f"cannot read the column mapping file: {error}",
            path=display,
            hint="save the file as UTF-8 text",
        ) from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise InventoryError(
            f"invalid YAML: {error.problem}",
            path=display,
            line=mark.line + 1 if mark else None,
            hint=error_hint(error, "write one `field: header` line per renamed column"),
        ) from error
    except RecursionError:
        raise _too_deep(display) from None
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise InventoryError(
            "a column mapping must be a mapping of field names to CSV headers",
            path=display,
            line=1,
            hint="write one `field: header` line per renamed column, for example tool: Software",
        )
    _check_mapping_fields(data, display)
    return dict(data)


def _check_mapping_fields(mapping: Mapping[str, str], display: str | None) -> None:
    unknown = [field for field in mapping if field not in DEFAULT_COLUMNS]
    if unknown:
        raise InventoryError(
            f"unknown inventory field(s) in the column mapping: {', '.join(unknown)}",
            path=display,
            hint=f"map any of {', '.join(DEFAULT_COLUMNS)}",
        )


def _raise_problems(problems: Sequence[Problem], display: str) -> None:
    ordered = sorted(problems, key=lambda problem: problem[0] or 0)
    line, message, hint = ordered[0]
    if len(ordered) > 1:
        details = "; ".join(
            f"line {item_line}: {item_message}" if item_line else item_message
            for item_line, item_message, _ in ordered
        )
        message = f"{len(ordered)} problems: {details}"
    raise InventoryError(message, path=display, line=line, hint=hint)


def _too_deep(display: str) -> InventoryError:
    # PyYAML composes nested collections recursively, so deep nesting exhausts the stack.
    return InventoryError(
        "invalid YAML: the collections are nested too deeply to parse", path=display
    )


def _parse_yaml(text: str, display: str) -> tuple[list[tuple[int, ApprovalEntry]], list[Problem]]:
    """Validate a YAML inventory; each entry comes with the line it starts on."""
    try:
        root, data = compose_yaml(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise InventoryError(
            f"invalid YAML: {error.problem}",
            path=display,
            line=mark.line + 1 if mark else None,
            hint=error_hint(error, _YAML_HINT),
        ) from error
    except RecursionError:
        raise _too_deep(display) from None

    if root is None:
        raise InventoryError(
            "the inventory file is empty", path=display, hint="add an `approvals:` list"
        )

    problems: list[Problem] = [
        (line, f"duplicate key {key!r}", "keep one entry for each key")
        for line, key in _duplicate_keys(root)
    ]
    try:
        document = InventoryDocument.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            line = _node_line(root, item["loc"])
            problems.append((line, _pydantic_message(item), None))
        return [], problems

    entries = []
    for index, entry in enumerate(document.approvals):
        entries.append((_node_line(root, ("approvals", index)), entry))
    return entries, problems


def _node_line(root: yaml.Node, location: Sequence[int | str]) -> int:
    """Return the 1-based line of the deepest YAML node on a pydantic error location."""
    node = root
    for part in location:
        if isinstance(node, yaml.MappingNode):
            matches = [value for key, value in node.value if key.value == part]
            if not matches:
                # An unknown key is reported at the key itself.
                keys = [key for key, _ in node.value if key.value == part]
                return (keys[0] if keys else node).start_mark.line + 1
            node = matches[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return int(node.start_mark.line) + 1


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[int, str]]:
    # PyYAML keeps the last of two equal keys, which could silently drop a `hosts` restriction.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark.line + 1, str(key.value)
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _pydantic_message(item: Mapping[str, object]) -> str:
    location = ".".join(str(part) for part in item["loc"])  # type: ignore[attr-defined]
    return f"{location}: {item['msg']}"


def _tool_names(catalog: Catalog) -> dict[str, set[str]]:
    """Map each case-folded tool id, name and alias to the ids of the tools it names."""
    names: dict[str, set[str]] = {}
    for tool in catalog.tools.values():
        for name in (tool.id, tool.name, *tool.aliases):
            names.setdefault(name.casefold(), set()).add(tool.id)
    return names


def _resolve(
    entries: Sequence[tuple[int, ApprovalEntry]],
    catalog: Catalog,
    display: str,
    problems: list[Problem],
) -> list[Approval]:
    """Resolve tool names to catalog ids and give every approval a unique id."""
    names = _tool_names(catalog)
    approvals: list[Approval] = []
    seen_ids: dict[str, int] = {}
    for position, (line, entry) in enumerate(entries, start=1):
        tool_ids = names.get(entry.tool.casefold(), set())
        if len(tool_ids) != 1:
            problems.append(_tool_problem(line, entry.tool, tool_ids, names))
            continue
        tool_id = next(iter(tool_ids))

        approval_id = entry.id or f"{tool_id}-{position}"
        if approval_id in seen_ids:
            problems.append(
                (
                    line,
                    f"duplicate approval id {approval_id!r}, first used on line "
                    f"{seen_ids[approval_id]}",
                    "give each approval its own id",
                )
            )
            continue
        seen_ids[approval_id] = line

        fields = entry.model_dump(exclude={"id", "tool"})
        approvals.append(
            Approval(id=approval_id, tool_id=tool_id, source=display, line=line, **fields)
        )
    return approvals


def _tool_problem(
    line: int, written: str, tool_ids: set[str], names: Mapping[str, set[str]]
) -> Problem:
    if tool_ids:
        return (
            line,
            f"tool {written!r} names several catalog tools: {', '.join(sorted(tool_ids))}",
            "use the tool id",
        )
    close = difflib.get_close_matches(written.casefold(), list(names), n=3, cutoff=0.6)
    hint = (
        f"did you mean {', '.join(repr(name) for name in close)}?"
        if close
        else "run `rmmhunt catalog list` to see the tool ids"
    )
    return line, f"unknown tool {written!r}", hint
