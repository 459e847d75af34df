"""`rmmhunt hunt`: read the inputs, run the hunt and report its alerts and run summary."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from rmmhunt.catalog import load_catalog
from rmmhunt.cli import huntfile
from rmmhunt.cli.common import (
    UsageError,
    add_catalog_option,
    add_input_options,
    build_read_options,
    check_categories,
    exit_code_for,
    parse_categories,
    parse_cli_time,
    report_summary,
    write_output,
)
from rmmhunt.hunt import PROFILES, HuntOptions
from rmmhunt.pipeline import hunt_paths
from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.table import render_table

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
    hunt.add_argument("--since", help="only events at or after this ISO 8601 time (UTC if no zone)")
    hunt.add_argument("--until", help="only events at or before this ISO 8601 time")
    hunt.add_argument(
        "--host", action="append", default=[], help="only these hosts (glob, repeatable)"
    )
    hunt.add_argument(
        "--user", action="append", default=[], help="only these users (glob, repeatable)"
    )
    hunt.add_argument("--format", choices=OUTPUT_FORMATS, default="table", help="output format")
    hunt.add_argument("--output", type=Path, help="write the alerts to FILE instead of stdout")
    add_input_options(hunt)


def run(args: argparse.Namespace) -> int:
    """Run the hunt and return the exit code."""
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
        until=parse_cli_time(args.until, "--until"),
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
    )

    write_output(_render(alerts, args.format), args.output)
    report_summary(args, summary)
    return exit_code_for(summary)


def _render(alerts: list[dict[str, Any]], output_format: str) -> str:
    if output_format == "json":
        return render_json(alerts)
    if output_format == "ndjson":
        return render_ndjson(alerts)
    if output_format == "csv":
        return render_csv(alerts)
    return render_table(alerts)
