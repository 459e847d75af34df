"""`rmmhunt catalog`: list the catalog's tools or show one entry."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rmmhunt.catalog import Category, load_catalog
from rmmhunt.catalog import render as catalog_render
from rmmhunt.cli.common import ExitCode, UsageError, add_catalog_option, parse_categories
from rmmhunt.errors import CatalogError
from rmmhunt.report.safety import terminal_text


def add_parser(commands: Any) -> None:
    """Register `catalog list` and `catalog show` on the top-level subparsers."""
    catalog = commands.add_parser("catalog", help="list or show the catalog of RMM tools")
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


def run(args: argparse.Namespace) -> int:
    """Run a `catalog` subcommand."""
    catalog = load_catalog(args.catalog)
    if args.catalog_command == "list":
        categories = parse_categories(args.category) if args.category else frozenset({"all"})
        known = {category.value for category in Category}
        if unknown := sorted(categories - known - {"all"}):
            raise UsageError(
                f"--category: unknown categories {unknown}; choose from {sorted(known)}"
            )
        wanted = () if "all" in categories else tuple(sorted(categories))
        rows = catalog_render.list_rows(catalog, wanted)
        if args.format == "json":
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            sys.stdout.write(_catalog_table(rows))
        return ExitCode.OK

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
