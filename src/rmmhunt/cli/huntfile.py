"""`rmmhunt hunt --hunt FILE`: run a hunt file's XQL and report its rows as that hunt's alerts."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli.common import (
    UsageError,
    build_read_options,
    exit_code_for,
    parse_cli_time,
    print_warning,
    report_summary,
    write_output,
)
from rmmhunt.cli.xql import render_rows
from rmmhunt.errors import QueryError
from rmmhunt.hunt import HuntOptions
from rmmhunt.hunts.loader import Hunt, load_hunt_file
from rmmhunt.hunts.run import run_hunt_file
from rmmhunt.pipeline import build_summary, load_inputs
from rmmhunt.xql import XqlError, XqlResult, compile_query

log = logging.getLogger("rmmhunt")


def run_command(args: argparse.Namespace) -> int:
    """Load the hunt file, run it on the inputs and return the exit code.

    Raises:
        UsageError: --profile or --category is given too, or the hunt file is invalid.
    """
    if args.profile is not None or args.category:
        raise UsageError("--hunt FILE runs that file's query; leave out --profile and --category")
    catalog = load_catalog(args.catalog)
    now = parse_cli_time(args.now, "--now")
    hunt = _checked_hunt(args.hunt, catalog, now)
    options = HuntOptions(
        profile=f"hunt {hunt.id}",
        categories=frozenset(),
        since=parse_cli_time(args.since, "--since"),
        until=parse_cli_time(args.until, "--until", end_of_day=True),
        hosts=tuple(args.host),
        users=tuple(args.user),
    )
    loaded = load_inputs(
        args.paths,
        options=build_read_options(args),
        dedup=not args.no_dedup,
        progress=lambda name: log.debug("reading %s", name),
    )
    try:
        result = run_hunt_file(loaded.dataset, hunt, options, now=now)
        summary = build_summary(loaded, catalog, options, result.alerts)
    except QueryError as error:
        raise UsageError(str(error)) from None
    finally:
        loaded.dataset.close()

    rows = XqlResult(result.columns, result.alerts)
    write_output(render_rows(rows, args.format), args.output)
    for warning in result.warnings:
        print_warning(warning)
    report_summary(args, summary)
    return exit_code_for(summary)


def _checked_hunt(path: Path, catalog: Catalog, now: datetime | None) -> Hunt:
    """Load a hunt file and compile its query, so that a bad file fails before any input is read.

    Raises:
        UsageError: the file or its query is invalid; the message names the file and line.
    """
    try:
        hunt = load_hunt_file(path, catalog)
        query = hunt.query.parse()
    except QueryError as error:
        raise UsageError(str(error)) from None
    try:
        compile_query(query, now=now)
    except XqlError as error:
        raise UsageError(str(hunt.query.locate(error))) from None
    return hunt
