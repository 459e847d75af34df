"""The command line. This is the only module that reads arguments, prints or exits."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

from rmmhunt import __version__
from rmmhunt.catalog import Category, load_catalog
from rmmhunt.catalog import render as catalog_render
from rmmhunt.errors import RmmhuntError
from rmmhunt.hunt import DEFAULT_CATEGORIES, PROFILES, HuntOptions
from rmmhunt.normalise import parse_time
from rmmhunt.pipeline import hunt_paths
from rmmhunt.readers.base import ReadOptions
from rmmhunt.report.formats import render_csv, render_json, render_ndjson
from rmmhunt.report.model import RunSummary
from rmmhunt.report.safety import terminal_text
from rmmhunt.report.table import render_summary_text, render_table

log = logging.getLogger("rmmhunt")


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    USAGE = 2
    PARTIAL = 3
    NO_INPUT = 4
    CONFIG = 5
    INTERNAL = 70


OUTPUT_FORMATS = ("table", "json", "ndjson", "csv")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rmmhunt",
        description="Hunt remote monitoring and management (RMM) tool executions in Windows "
        "telemetry: EVTX, Cortex XDR and other EDR or SIEM exports.",
    )
    parser.add_argument("--version", action="version", version=f"rmmhunt {__version__}")
    parser.add_argument("-d", "--debug", action="store_true", help="log debugging detail to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    hunt = commands.add_parser("hunt", help="run the RMM hunt on files, directories or stdin")
    _add_hunt_arguments(hunt)

    catalog = commands.add_parser("catalog", help="list or show the catalog of RMM tools")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    listing = catalog_commands.add_parser("list", help="list the catalog's tools")
    _add_catalog_option(listing)
    listing.add_argument("--category", action="append", help="only tools in these categories")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    show = catalog_commands.add_parser("show", help="show one tool's entry")
    _add_catalog_option(show)
    show.add_argument("tool", help="the tool's id or name, such as anydesk")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")
    return parser


def _add_catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a folder of catalog YAML files that adds or overrides tools (repeatable)",
    )


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
    _add_catalog_option(hunt)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return int(exit_request.code or 0)

    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="rmmhunt: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "hunt":
            return _run_hunt(args)
        if args.command == "catalog":
            return _run_catalog(args)
    except RmmhuntError as error:
        _error(str(error))
        return ExitCode.CONFIG
    except UsageError as error:
        _error(str(error))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return ExitCode.INTERNAL
    parser.error(f"unknown command {args.command!r}")
    return ExitCode.USAGE


class UsageError(Exception):
    """An option value that is invalid."""


def _error(message: str) -> None:
    sys.stderr.write(f"rmmhunt: error: {terminal_text(message)}\n")


def _parse_categories(values: list[str] | None) -> frozenset[str]:
    if not values:
        return DEFAULT_CATEGORIES
    categories = {part.strip().lower() for value in values for part in value.split(",")}
    categories.discard("")
    return frozenset(categories) or DEFAULT_CATEGORIES


def _parse_cli_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _parse_offset(value: str | None) -> timedelta | None:
    if value is None:
        return None
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", value.strip(), re.IGNORECASE)
    if value.strip().upper() in ("UTC", "Z"):
        return timedelta(0)
    if not match:
        raise UsageError(f"--input-tz: invalid offset {value!r}; write it as +HH:MM or -HH:MM")
    sign = -1 if match[1] == "-" else 1
    return sign * timedelta(hours=int(match[2]), minutes=int(match[3] or 0))


def _run_hunt(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    categories = _parse_categories(args.category)
    known = {category.value for category in Category} | {"all"}
    unknown = sorted(categories - known)
    if unknown:
        raise UsageError(f"--category: unknown categories {unknown}; choose from {sorted(known)}")

    options = HuntOptions(
        profile=args.profile,
        categories=categories,
        since=_parse_cli_time(args.since, "--since"),
        until=_parse_cli_time(args.until, "--until"),
        hosts=tuple(args.host),
        users=tuple(args.user),
    )
    read_options = ReadOptions(
        input_tz=_parse_offset(args.input_tz),
        input_time_format=args.input_time_format,
        field_map=args.field_map,
    )
    alerts, summary = hunt_paths(
        args.paths,
        catalog,
        options,
        read_options=read_options,
        dedup=not args.no_dedup,
        progress=lambda name: log.debug("reading %s", name),
    )

    _write_output(_render(alerts, args.format), args.output)
    if args.summary_json is not None:
        text = json.dumps(summary.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
        args.summary_json.write_text(text, encoding="utf-8")
    if not args.quiet:
        for warning in summary.warnings:
            sys.stderr.write(f"rmmhunt: warning: {terminal_text(warning)}\n")
        if summary.warning_count > len(summary.warnings):
            hidden = summary.warning_count - len(summary.warnings)
            sys.stderr.write(f"rmmhunt: warning: {hidden} more warning(s) not shown\n")
        sys.stderr.write(render_summary_text(summary))
    return _hunt_exit_code(summary)


def _render(alerts: list[dict[str, Any]], output_format: str) -> str:
    if output_format == "json":
        return render_json(alerts)
    if output_format == "ndjson":
        return render_ndjson(alerts)
    if output_format == "csv":
        return render_csv(alerts)
    return render_table(alerts)


def _write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8")


def _hunt_exit_code(summary: RunSummary) -> int:
    if summary.files_read == 0:
        return ExitCode.NO_INPUT
    if summary.files_failed:
        return ExitCode.PARTIAL
    return ExitCode.OK


def _run_catalog(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    if args.catalog_command == "list":
        categories = _parse_categories(args.category) if args.category else frozenset({"all"})
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

    tool = catalog_render.find_tool(catalog, args.tool)
    if args.format == "json":
        sys.stdout.write(json.dumps(catalog_render.tool_document(tool), indent=2) + "\n")
    else:
        sys.stdout.write(catalog_render.tool_yaml(tool))
    return ExitCode.OK


def _catalog_table(rows: list[dict[str, object]]) -> str:
    columns = catalog_render.LIST_COLUMNS
    widths = {c: max([len(c), *(len(str(row[c])) for row in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    for row in rows:
        lines.append("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
    lines.append(f"{len(rows)} tool(s).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
