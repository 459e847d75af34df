"""`rmmhunt catalog`: list and show tools, import LOLRMM, and export lookup tables."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rmmhunt.catalog import Catalog, Category, lint_catalog, load_catalog
from rmmhunt.catalog import render as catalog_render
from rmmhunt.catalog.lolrmm import LolrmmImport, import_lolrmm, read_lolrmm
from rmmhunt.catalog.tables import TABLE_FORMATS, export_table
from rmmhunt.cli.common import (
    ExitCode,
    UsageError,
    add_catalog_option,
    check_categories,
    parse_categories,
    print_warning,
    write_output,
)
from rmmhunt.errors import CatalogError
from rmmhunt.report.safety import terminal_text


def add_parser(commands: Any) -> None:
    """Register the `catalog` subcommands on the top-level subparsers."""
    catalog = commands.add_parser(
        "catalog", help="list, show, import or export the catalog of RMM tools"
    )
    catalog.set_defaults(handler=run)
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)

    listing = catalog_commands.add_parser("list", help="list the catalog's tools")
    add_catalog_option(listing)
    listing.add_argument("--category", action="append", help="only tools in these categories")
    listing.add_argument("--format", choices=("table", "json"), default="table")

    show = catalog_commands.add_parser("show", help="show one tool's entry")
    add_catalog_option(show)
    show.add_argument("tool", help="the tool's id or name, such as anydesk")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")

    _add_import_parser(catalog_commands)
    _add_export_parser(catalog_commands)


def _add_import_parser(catalog_commands: Any) -> None:
    importer = catalog_commands.add_parser(
        "import",
        help="turn another project's tool list into catalog YAML files",
        description="Convert LOLRMM's rmm_tools.json into one catalog YAML file per tool. "
        "A summary of what was imported and skipped goes to stderr.",
    )
    importer.add_argument("source", choices=("lolrmm",), help="the format of FILE")
    importer.add_argument("file", type=Path, metavar="FILE", help="LOLRMM's rmm_tools.json")
    importer.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="write <id>.yaml files into DIR (created if missing) instead of one YAML stream "
        "on stdout; pass DIR to --catalog to hunt with them",
    )
    importer.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write every skipped value, skipped tool and lint issue as JSON to FILE",
    )


def _add_export_parser(catalog_commands: Any) -> None:
    exporter = catalog_commands.add_parser(
        "export",
        help="write the catalog's indicators as a lookup table",
        description="Write one row per catalog indicator as CSV: plain, as a Splunk lookup "
        "file, or as a Microsoft Sentinel watchlist.",
    )
    exporter.add_argument("--to", required=True, choices=TABLE_FORMATS, help="the table format")
    add_catalog_option(exporter)
    exporter.add_argument(
        "--category",
        action="append",
        metavar="NAME[,NAME]",
        help="only tools in these categories (repeatable, or 'all'); default: every tool",
    )
    exporter.add_argument("--output", type=Path, metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace) -> int:
    """Run a `catalog` subcommand."""
    if args.catalog_command == "import":
        return _run_import(args)
    catalog = load_catalog(args.catalog)
    if args.catalog_command == "export":
        return _run_export(args, catalog)
    if args.catalog_command == "list":
        return _run_list(args, catalog)

    try:
        tool = catalog_render.find_tool(catalog, args.tool)
    except CatalogError as error:
        # An unknown name is a wrong argument, not an invalid catalog.
        raise UsageError(str(error)) from None
    if args.format == "json":
        sys.stdout.write(json.dumps(catalog_render.tool_document(tool), indent=2) + "\n")
    else:
        sys.stdout.write(_terminal_lines(catalog_render.tool_yaml(tool)))
    return ExitCode.OK


def _run_list(args: argparse.Namespace, catalog: Catalog) -> int:
    categories = parse_categories(args.category) if args.category else frozenset({"all"})
    known = {category.value for category in Category}
    if unknown := sorted(categories - known - {"all"}):
        raise UsageError(f"--category: unknown categories {unknown}; choose from {sorted(known)}")
    wanted = () if "all" in categories else tuple(sorted(categories))
    rows = catalog_render.list_rows(catalog, wanted)
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        sys.stdout.write(_catalog_table(rows))
    return ExitCode.OK


def _run_export(args: argparse.Namespace, catalog: Catalog) -> int:
    categories = parse_categories(args.category) if args.category else frozenset({"all"})
    check_categories(categories)
    table = export_table(catalog, args.to, sorted(categories))
    write_output(table.text, args.output)
    if table.widened:
        print_warning(
            f"{table.widened} pattern(s) match more in {args.to} than in the catalog, because "
            "its '*' also matches '\\' and it has no '?'"
        )
    return ExitCode.OK


def _run_import(args: argparse.Namespace) -> int:
    imported = import_lolrmm(read_lolrmm(args.file))
    if args.output is None:
        documents = [catalog_render.tool_yaml(tool) for tool in imported.tools]
        write_output("---\n".join(documents), None)
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        for tool in imported.tools:
            text = catalog_render.tool_yaml(tool)
            (args.output / f"{tool.id}.yaml").write_text(text, encoding="utf-8")

    issues = lint_catalog(Catalog(imported.tools))
    if args.report is not None:
        args.report.write_text(_import_report(imported, issues), encoding="utf-8")
    _print_import_summary(imported, len(issues), args.report)
    return ExitCode.OK


def _import_report(imported: LolrmmImport, issues: list[Any]) -> str:
    report = {
        "counts": imported.counts(),
        "skipped_tools": [
            {"name": name, "reason": reason} for name, reason in imported.skipped_tools
        ],
        "skipped_values": [vars(value) for value in imported.skipped_values],
        "merged_duplicates": imported.merged,
        "unused_fields": dict(sorted(imported.unused.items())),
        "lint_issues": [
            {"severity": issue.severity, "tool_id": issue.tool_id, "message": issue.message}
            for issue in issues
        ],
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _print_import_summary(imported: LolrmmImport, issue_count: int, report: Path | None) -> None:
    counts = ", ".join(f"{key} {value}" for key, value in imported.counts().items())
    sys.stderr.write(f"rmmhunt: imported from LOLRMM: {counts}\n")
    for name, reason in imported.skipped_tools:
        print_warning(f"skipped tool {name!r}: {reason}")
    for name in imported.merged:
        print_warning(f"merged the entries named {name!r} into one tool")
    unused = sum(imported.unused.values())
    detail = f"see {report}" if report else "pass --report FILE to list them"
    print_warning(
        f"{len(imported.skipped_values)} value(s) skipped and {unused} value(s) in fields the "
        f"catalog has no place for; {detail}"
    )
    if issue_count:
        print_warning(
            f"{issue_count} lint issue(s), mostly names or domains that LOLRMM gives to several "
            f"tools; {detail}"
        )


def _terminal_lines(text: str) -> str:
    """Escape catalog text for the terminal line by line, keeping the line breaks."""
    return "".join(terminal_text(line) + "\n" for line in text.splitlines())


def _catalog_table(rows: list[dict[str, object]]) -> str:
    columns = catalog_render.LIST_COLUMNS
    cells = [{c: terminal_text(str(row[c])) for c in columns} for row in rows]
    widths = {c: max([len(c), *(len(row[c]) for row in cells)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    for row in cells:
        lines.append("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())
    lines.append(f"{len(rows)} tool(s).")
    return "\n".join(lines) + "\n"
