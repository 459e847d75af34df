"""`rmmhunt hunt`: read the inputs, run the hunt and report its alerts and run summary."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli import huntfile
from rmmhunt.cli.common import (
    UsageError,
    add_catalog_option,
    add_input_options,
    build_read_options,
    check_categories,
    check_paths,
    exit_code_for,
    parse_categories,
    parse_cli_time,
    report_summary,
    write_output,
)
from rmmhunt.hunt import PROFILES, HuntOptions
from rmmhunt.inventory import Inventory, load_column_mapping, load_inventory, parse_column_mapping
from rmmhunt.pipeline import hunt_paths
from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.table import render_table
from rmmhunt.scoring import SEVERITIES, SORT_ORDERS
from rmmhunt.triage import TriageOptions

log = logging.getLogger("rmmhunt")

OUTPUT_FORMATS = ("table", "json", "ndjson", "csv")


def add_parser(commands: Any) -> None:
    """Register `hunt` on the top-level subparsers."""
    hunt = commands.add_parser("hunt", help="run the RMM hunt on files, directories or stdin")
    hunt.set_defaults(handler=run)
    _add_hunt_arguments(hunt)


def _add_hunt_arguments(hunt: argparse.ArgumentParser) -> None:
    hunt.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or directories to read, or - for stdin"
    )
    hunt.add_argument(
        "--profile",
        choices=PROFILES,
        help="default: the catalog hunt; seed: the seed query's seven names and nothing more",
    )
    hunt.add_argument(
        "--hunt",
        type=Path,
        metavar="FILE",
        help="run the XQL of this hunt file (docs/hunts.md) instead of a profile",
    )
    hunt.add_argument(
        "--now",
        metavar="TIME",
        help="with --hunt: the ISO 8601 time that the query's relative time frames count back "
        "from (UTC if no zone); default: the current time",
    )
    add_catalog_option(hunt)
    hunt.add_argument(
        "--category",
        action="append",
        metavar="NAME[,NAME]",
        help="tool categories to hunt (repeatable, comma-separated, or 'all'); "
        "default: rmm,remote-desktop",
    )
    _add_filter_arguments(hunt)
    hunt.add_argument("--format", choices=OUTPUT_FORMATS, default="table", help="output format")
    hunt.add_argument(
        "--output", type=Path, metavar="FILE", help="write the alerts to FILE instead of stdout"
    )
    add_input_options(hunt)
    _add_triage_arguments(hunt)


def _add_filter_arguments(hunt: argparse.ArgumentParser) -> None:
    hunt.add_argument(
        "--since",
        metavar="TIME",
        help="only events at or after this ISO 8601 time (UTC if no zone); "
        "a date alone is the start of that day in UTC",
    )
    hunt.add_argument(
        "--until",
        metavar="TIME",
        help="only events at or before this ISO 8601 time (UTC if no zone); "
        "a date alone includes that whole day in UTC",
    )
    hunt.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only hosts whose full name or short name (before the first dot) matches "
        "(repeatable); case-insensitive, * matches any characters and ? one character, "
        "and every other character, [ and ] included, is literal",
    )
    hunt.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only events whose actor or process user name matches (repeatable); "
        "same pattern syntax as --host, so write DOMAIN\\user or *\\user",
    )


def _add_triage_arguments(hunt: argparse.ArgumentParser) -> None:
    hunt.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="approved-software inventory (.yaml, .yml or .csv); alerts that an approval "
        "covers are suppressed and counted in the summary",
    )
    hunt.add_argument(
        "--inventory-columns",
        metavar="FIELD=HEADER[,...]|FILE",
        help="CSV inventory column mapping: field=header pairs, or a YAML file of them",
    )
    hunt.add_argument(
        "--show-suppressed",
        action="store_true",
        help="also list the alerts that an approval covers, marked suppressed",
    )
    hunt.add_argument(
        "--min-severity",
        choices=[name.lower() for name in SEVERITIES],
        help="report only alerts at or above this severity",
    )
    hunt.add_argument(
        "--sort",
        choices=SORT_ORDERS,
        help="score: highest score first, then newest; time: newest first. "
        "Default: score for the table, time for json, ndjson and csv",
    )


def run(args: argparse.Namespace) -> int:
    """Run the hunt and return the exit code."""
    check_paths(args.paths, args)
    if args.hunt is not None:
        return huntfile.run_command(args)
    if args.now is not None:
        raise UsageError("--now applies only to --hunt FILE")
    catalog = load_catalog(args.catalog)
    categories = parse_categories(args.category)
    check_categories(categories)

    options = HuntOptions(
        profile=args.profile or "default",
        categories=categories,
        since=parse_cli_time(args.since, "--since"),
        until=parse_cli_time(args.until, "--until", end_of_day=True),
        hosts=tuple(args.host),
        users=tuple(args.user),
    )
    read_options = build_read_options(args)
    alerts, summary = hunt_paths(
        args.paths,
        catalog,
        options,
        read_options=read_options,
        dedup=not args.no_dedup,
        progress=lambda name: log.debug("reading %s", name),
        triage_options=_triage_options(args, catalog),
    )

    write_output(_render(alerts, args.format), args.output)
    report_summary(args, summary)
    return exit_code_for(summary)


def _triage_options(args: argparse.Namespace, catalog: Catalog) -> TriageOptions:
    """Build the triage options; the table sorts by score, other formats newest first."""
    return TriageOptions(
        inventory=_load_inventory(args, catalog),
        min_severity=args.min_severity,
        sort=args.sort or ("score" if args.format == "table" else "time"),
        show_suppressed=args.show_suppressed,
    )


def _load_inventory(args: argparse.Namespace, catalog: Catalog) -> Inventory | None:
    """Load `--inventory` with its `--inventory-columns` mapping, or return None without one.

    Raises:
        UsageError: `--inventory-columns` was given without `--inventory`.
        InventoryError: the inventory or the mapping file is invalid.
    """
    if args.inventory is None:
        if args.inventory_columns is not None:
            raise UsageError("--inventory-columns needs --inventory FILE")
        return None

    columns = None
    if args.inventory_columns is not None:
        text = args.inventory_columns
        columns = parse_column_mapping(text) if "=" in text else load_column_mapping(Path(text))
    return load_inventory(args.inventory, catalog=catalog, columns=columns)


def _render(alerts: list[dict[str, Any]], output_format: str) -> str:
    if output_format == "json":
        return render_json(alerts)
    if output_format == "ndjson":
        return render_ndjson(alerts)
    if output_format == "csv":
        return render_csv(alerts)
    return render_table(alerts)
