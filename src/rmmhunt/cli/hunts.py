"""`rmmhunt hunts`: list the built-in hunts, or show one with its rendered XQL."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from rmmhunt.catalog import load_catalog
from rmmhunt.cli.common import ExitCode, UsageError, add_catalog_option
from rmmhunt.errors import QueryError
from rmmhunt.hunts.loader import Hunt, builtin_hunts, find_hunt, load_hunt_file
from rmmhunt.report.safety import terminal_text
from rmmhunt.report.table import render_rows_table

LIST_COLUMNS = ["id", "name", "risk_score", "severity", "techniques", "version", "query"]


def add_parser(commands: Any) -> None:
    """Register `hunts list` and `hunts show` on the top-level subparsers."""
    hunts = commands.add_parser("hunts", help="list the built-in hunts or show one")
    hunts.set_defaults(handler=run)
    hunts_commands = hunts.add_subparsers(dest="hunts_command", required=True)

    listing = hunts_commands.add_parser("list", help="list the built-in hunts")
    add_catalog_option(listing)
    listing.add_argument("--format", choices=("table", "json"), default="table")

    show = hunts_commands.add_parser("show", help="show one hunt's metadata and XQL")
    add_catalog_option(show)
    show.add_argument("hunt", help="a built-in hunt's id, or the path of a hunt file")
    show.add_argument(
        "--format",
        choices=("text", "json", "xql"),
        default="text",
        help="text: metadata as YAML, then the XQL; json: one object; xql: the query alone",
    )


def run(args: argparse.Namespace) -> int:
    """Run a `hunts` subcommand."""
    catalog = load_catalog(args.catalog)
    if args.hunts_command == "list":
        rows = [_list_row(hunt) for hunt in builtin_hunts(catalog)]
        if args.format == "json":
            sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(render_rows_table(rows, LIST_COLUMNS, width=60))
        return ExitCode.OK

    try:
        path = Path(args.hunt)
        if path.suffix.lower() == ".md":
            hunt = load_hunt_file(path, catalog)
        else:
            hunt = find_hunt(builtin_hunts(catalog), args.hunt)
    except QueryError as error:
        raise UsageError(str(error)) from None
    sys.stdout.write(_show(hunt, args.format))
    return ExitCode.OK


def _list_row(hunt: Hunt) -> dict[str, Any]:
    metadata = hunt.metadata
    spec = metadata.catalog_query
    query = f"catalog profile {spec.profile}" if spec else "xql block"
    return {
        "id": metadata.id,
        "name": metadata.name,
        "risk_score": metadata.risk_score,
        "severity": metadata.severity,
        "techniques": ", ".join(metadata.techniques),
        "version": metadata.version,
        "query": query,
    }


def hunt_document(hunt: Hunt) -> dict[str, Any]:
    """Return a hunt's metadata as a plain dict in file order, with its XQL under `xql`."""
    document: dict[str, Any] = hunt.metadata.model_dump(mode="json", exclude_none=True)
    document["path"] = hunt.path
    document["xql"] = hunt.query.text
    return document


def _show(hunt: Hunt, output_format: str) -> str:
    if output_format == "xql":
        return hunt.query.text
    document = hunt_document(hunt)
    if output_format == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    xql = document.pop("xql")
    metadata = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=96)
    # Hunt files from users reach the terminal here, so control characters are escaped.
    text = f"{metadata}\nXQL:\n\n{xql}"
    return "\n".join(terminal_text(line) for line in text.splitlines()) + "\n"
