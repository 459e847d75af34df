"""`rmmhunt export`: write the built-in hunt in another platform's query language."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rmmhunt.catalog import load_catalog
from rmmhunt.cli.common import (
    ExitCode,
    UsageError,
    add_catalog_option,
    check_categories,
    parse_categories,
    print_warning,
    write_output,
)
from rmmhunt.export import SQL_DIALECTS, TARGETS, export_hunt
from rmmhunt.hunt import PROFILES


def add_parser(commands: Any) -> None:
    """Register `export` on the top-level subparsers."""
    export = commands.add_parser(
        "export",
        help="write the built-in hunt as XQL, Sigma, SPL, KQL, Elastic queries or SQL",
        description="Write the built-in, catalog-driven hunt for another platform. Constructs "
        "that the target cannot express are listed on stderr, and in the output as comments "
        "where its format has comments.",
    )
    export.set_defaults(handler=run)
    export.add_argument(
        "--to",
        required=True,
        choices=TARGETS,
        metavar="TARGET",
        help=f"the target: {', '.join(TARGETS)}",
    )
    export.add_argument(
        "--profile",
        choices=PROFILES,
        default="default",
        help="default: the catalog hunt; seed: the original hunt's seven names and nothing more",
    )
    export.add_argument(
        "--category",
        action="append",
        metavar="NAME[,NAME]",
        help="tool categories to export (repeatable, comma-separated, or 'all'); "
        "default: rmm,remote-desktop",
    )
    add_catalog_option(export)
    export.add_argument(
        "--dialect",
        choices=SQL_DIALECTS,
        help=f"the SQL dialect for --to sql: {', '.join(SQL_DIALECTS)}",
    )
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace) -> int:
    """Export the hunt, write it, and list what the target dropped on stderr."""
    if args.to == "sql" and args.dialect is None:
        raise UsageError(f"--to sql needs --dialect, one of {', '.join(SQL_DIALECTS)}")
    if args.to != "sql" and args.dialect is not None:
        raise UsageError("--dialect applies only to --to sql")
    categories = parse_categories(args.category)
    check_categories(categories)

    catalog = load_catalog(args.catalog)
    result = export_hunt(
        catalog,
        args.to,
        profile=args.profile,
        categories=sorted(categories),
        dialect=args.dialect or "duckdb",
    )
    write_output(result.text, args.output)
    for note in result.dropped:
        print_warning(f"{args.to} dropped: {note}")
    return ExitCode.OK
