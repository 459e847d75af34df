"""`rmmhunt xql`: run an XQL query on the `xdr_data` dataset built from the inputs."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli.common import (
    UsageError,
    add_input_options,
    build_read_options,
    check_paths,
    exit_code_for,
    parse_cli_time,
    print_warning,
    report_summary,
    write_output,
)
from rmmhunt.errors import QueryError
from rmmhunt.hunt import HuntOptions
from rmmhunt.pipeline import LoadResult, build_summary, load_inputs
from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.model import RunSummary
from rmmhunt.report.table import render_rows_table
from rmmhunt.xql import QuerySource, XqlError, XqlResult, compile_query, read_query_file, run

log = logging.getLogger("rmmhunt")

OUTPUT_FORMATS = ("table", "json", "ndjson", "csv")
T = TypeVar("T")
USAGE = "rmmhunt xql [options] (QUERY | --file HUNT.xql|HUNT.md) PATH..."


def add_parser(commands: Any) -> None:
    """Register `xql` on the top-level subparsers."""
    parser = commands.add_parser(
        "xql",
        usage=USAGE,
        help="run a Cortex XQL query on files, directories or stdin",
        description="Run a Cortex XQL query offline on the xdr_data dataset built from the "
        "inputs. docs/xql.md lists the supported subset.",
    )
    parser.set_defaults(handler=run_command)
    parser.add_argument(
        "arguments",
        nargs="+",
        metavar="QUERY PATH",
        help="the query text (unless --file is given), then files or directories, or - for stdin",
    )
    parser.add_argument(
        "--file",
        type=Path,
        metavar="FILE",
        help="read the query from an .xql file, or from the ```xql block of a Markdown file",
    )
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="the ISO 8601 time that relative time frames count back from (UTC if no zone); "
        "default: the current time",
    )
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="table", help="output format")
    parser.add_argument("--output", type=Path, help="write the rows to FILE instead of stdout")
    add_input_options(parser)


def run_command(args: argparse.Namespace) -> int:
    """Run the query and return the exit code."""
    source, paths = _query_and_paths(args)
    check_paths(paths, args)
    now = parse_cli_time(args.now, "--now")

    # Parse and compile before reading any input, so that a bad query fails fast.
    query = _checked(source, source.parse)
    _checked(source, lambda: compile_query(query, now=now))

    loaded = load_inputs(
        paths,
        options=build_read_options(args),
        dedup=not args.no_dedup,
        progress=lambda name: log.debug("reading %s", name),
    )
    try:
        result = _checked(source, lambda: run(query, loaded.dataset.connection, now=now))
        summary = _summary(loaded, result)
    finally:
        loaded.dataset.close()

    write_output(render_rows(result, args.format), args.output)
    for warning in result.warnings:
        print_warning(warning)
    report_summary(args, summary)
    return exit_code_for(summary)


def _query_and_paths(args: argparse.Namespace) -> tuple[QuerySource, list[str]]:
    arguments: list[str] = list(args.arguments)
    if args.file is not None:
        try:
            return read_query_file(args.file), arguments
        except QueryError as error:
            raise UsageError(str(error)) from None
    if len(arguments) < 2:
        raise UsageError(f"xql: give a query and at least one PATH; usage: {USAGE}")
    return QuerySource(arguments[0]), arguments[1:]


def _checked(source: QuerySource, step: Callable[[], T]) -> T:
    """Run `step`, and turn a query error into a usage error that names the query's file."""
    try:
        value = step()
    except XqlError as error:
        raise UsageError(str(source.locate(error))) from None
    except QueryError as error:
        raise UsageError(str(error)) from None
    return value


def _summary(loaded: LoadResult, result: XqlResult) -> RunSummary:
    """Build the hunt's run summary for an XQL run, which uses no catalog and has rows."""
    summary = build_summary(loaded, Catalog([]), HuntOptions(categories=frozenset()), [])
    return summary.model_copy(
        update={
            "catalog_version": "not used",
            "profile": "xql",
            "alerts": len(result.rows),
            "alerts_by_kind": {"rows": len(result.rows)},
        }
    )


def render_rows(result: XqlResult, output_format: str) -> str:
    """Render query rows in the query's column order as a table, JSON, NDJSON or CSV."""
    rows = [{name: _plain(row.get(name)) for name in result.columns} for row in result.rows]
    if output_format == "json":
        return render_json(rows)
    if output_format == "ndjson":
        return render_ndjson(rows)
    if output_format == "csv":
        return render_csv(rows, result.columns)
    return render_rows_table(rows, result.columns)


def _plain(value: Any) -> Any:
    """Turn the DuckDB values that JSON cannot hold into numbers or ISO 8601 text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value
