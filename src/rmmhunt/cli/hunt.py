"""`rmmhunt hunt`: read the inputs, run the hunt and report its alerts and run summary."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli.common import (
    ExitCode,
    UsageError,
    add_catalog_option,
    check_categories,
    check_output_paths,
    parse_categories,
    parse_cli_time,
    print_error,
    print_warning,
    write_file,
    write_output,
)
from rmmhunt.hunt import PROFILES, HuntOptions
from rmmhunt.inventory import Inventory, load_column_mapping, load_inventory, parse_column_mapping
from rmmhunt.normalise import check_time_format
from rmmhunt.pipeline import hunt_paths
from rmmhunt.readers.base import ReadOptions
from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.model import RunSummary
from rmmhunt.report.table import render_summary_text, render_table
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
        default="default",
        help="default: the catalog hunt; seed: the seed query's seven names and nothing more",
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
    hunt.add_argument(
        "--summary-json", type=Path, metavar="FILE", help="write the run summary as JSON to FILE"
    )
    hunt.add_argument(
        "--no-dedup", action="store_true", help="keep duplicate copies of the same event"
    )
    hunt.add_argument(
        "--input-tz",
        metavar="+HH:MM",
        help="time zone offset of input times that carry none (default: UTC)",
    )
    hunt.add_argument(
        "--input-time-format",
        metavar="STRPTIME",
        help="strptime format for input times that are not ISO 8601, "
        "for example '%%b %%d, %%Y %%I:%%M:%%S %%p'",
    )
    hunt.add_argument(
        "--field-map", type=Path, metavar="FILE", help="YAML field map for a generic CSV or JSON"
    )
    hunt.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the run summary on stderr"
    )
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


# The world's time zones span UTC-12:00 to UTC+14:00 (IANA tz database: Etc/GMT+12 and
# Pacific/Kiritimati).
_MIN_OFFSET = timedelta(hours=-12)
_MAX_OFFSET = timedelta(hours=14)


def _parse_offset(value: str | None) -> timedelta | None:
    """Parse `--input-tz` as a UTC offset between -12:00 and +14:00."""
    if value is None:
        return None
    text = value.strip()
    if text.upper() in ("UTC", "Z"):
        return timedelta(0)
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", text, re.IGNORECASE)
    if not match:
        raise UsageError(f"--input-tz: invalid offset {value!r}; write it as +HH:MM or -HH:MM")

    hours, minutes = int(match[2]), int(match[3] or 0)
    if minutes > 59:
        raise UsageError(f"--input-tz: invalid offset {value!r}; the minutes must be 00 to 59")
    offset = (-1 if match[1] == "-" else 1) * timedelta(hours=hours, minutes=minutes)
    if not _MIN_OFFSET <= offset <= _MAX_OFFSET:
        raise UsageError(
            f"--input-tz: offset {value!r} is outside -12:00 to +14:00, the range of time zones"
        )
    return offset


def _check_time_format(value: str | None) -> str | None:
    """Check `--input-time-format` before any input is read."""
    if value is None:
        return None
    try:
        check_time_format(value)
    except ValueError as error:
        raise UsageError(f"--input-time-format: {error}") from None
    return value


def _check_paths(args: argparse.Namespace) -> None:
    """Reject a second `-` and unusable output files before any input is read."""
    if args.paths.count("-") > 1:
        raise UsageError("- (standard input) is given more than once; it can be read only once")
    outputs = [("--output", args.output), ("--summary-json", args.summary_json)]
    check_output_paths(outputs, args.paths)


def run(args: argparse.Namespace) -> int:
    """Run the hunt and return the exit code."""
    _check_paths(args)
    read_options = ReadOptions(
        input_tz=_parse_offset(args.input_tz),
        input_time_format=_check_time_format(args.input_time_format),
        field_map=args.field_map,
    )
    catalog = load_catalog(args.catalog)
    options = _hunt_options(args)
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
    if args.summary_json is not None:
        text = json.dumps(summary.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
        write_file(text, args.summary_json)
    if not args.quiet:
        for warning in summary.warnings:
            print_warning(warning)
        if summary.warning_count > len(summary.warnings):
            hidden = summary.warning_count - len(summary.warnings)
            print_warning(f"{hidden} more warning(s) not shown")
        sys.stderr.write(render_summary_text(summary))
    if summary.files_read == 0 and summary.files_failed == 0:
        print_error("no input files found: the given folders and archives contain no files to read")
    return _hunt_exit_code(summary)


def _hunt_options(args: argparse.Namespace) -> HuntOptions:
    categories = parse_categories(args.category)
    check_categories(categories)
    return HuntOptions(
        profile=args.profile,
        categories=categories,
        since=parse_cli_time(args.since, "--since"),
        until=parse_cli_time(args.until, "--until", end_of_day=True),
        hosts=tuple(args.host),
        users=tuple(args.user),
    )


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


def _hunt_exit_code(summary: RunSummary) -> int:
    if summary.files_read == 0:
        return ExitCode.NO_INPUT
    if summary.files_failed:
        return ExitCode.PARTIAL
    return ExitCode.OK
