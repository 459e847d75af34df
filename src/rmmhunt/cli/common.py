"""Exit codes, errors and option parsers that every subcommand shares."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path

from rmmhunt.catalog import Category
from rmmhunt.hunt import DEFAULT_CATEGORIES
from rmmhunt.normalise import parse_time
from rmmhunt.readers.base import ReadOptions
from rmmhunt.report.model import RunSummary
from rmmhunt.report.safety import terminal_text
from rmmhunt.report.table import render_summary_text


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    USAGE = 2
    PARTIAL = 3
    NO_INPUT = 4
    CONFIG = 5
    INTERNAL = 70


class UsageError(Exception):
    """An option value that is invalid."""


def print_error(message: str) -> None:
    """Write an error line to stderr, with control characters made visible."""
    sys.stderr.write(f"rmmhunt: error: {terminal_text(message)}\n")


def print_warning(message: str) -> None:
    """Write a warning line to stderr, with control characters made visible."""
    sys.stderr.write(f"rmmhunt: warning: {terminal_text(message)}\n")


def write_output(text: str, output: Path | None, option: str = "--output") -> None:
    """Write a rendered result to FILE, or to stdout without one.

    Raises:
        UsageError: FILE cannot be written; `option` names the option that gave it.
    """
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(
            f"{option}: cannot write {output}: {reason}; choose a writable file path"
        ) from None


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable `--catalog PATH` option."""
    parser.add_argument(
        "--catalog",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a folder of catalog YAML files that adds or overrides tools (repeatable)",
    )


def parse_categories(values: list[str] | None) -> frozenset[str]:
    """Split repeatable, comma-separated `--category` values; the default set without any."""
    if not values:
        return DEFAULT_CATEGORIES
    categories = {part.strip().lower() for value in values for part in value.split(",")}
    categories.discard("")
    return frozenset(categories) or DEFAULT_CATEGORIES


def check_categories(categories: frozenset[str]) -> None:
    """Raise UsageError for a category the catalog does not define."""
    known = {category.value for category in Category} | {"all"}
    unknown = sorted(categories - known)
    if unknown:
        raise UsageError(f"--category: unknown categories {unknown}; choose from {sorted(known)}")


def parse_cli_time(value: str | None, option: str) -> datetime | None:
    """Parse an ISO 8601 option value; a time without a zone is UTC."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that set how inputs are read, and the run summary options."""
    parser.add_argument(
        "--summary-json", type=Path, metavar="FILE", help="write the run summary as JSON to FILE"
    )
    parser.add_argument(
        "--no-dedup", action="store_true", help="keep duplicate copies of the same event"
    )
    parser.add_argument(
        "--input-tz",
        metavar="+HH:MM",
        help="time zone offset of input times that carry none (default: UTC)",
    )
    parser.add_argument(
        "--input-time-format",
        metavar="STRPTIME",
        help="strptime format for input times that are not ISO 8601, "
        "for example '%%b %%d, %%Y %%I:%%M:%%S %%p'",
    )
    parser.add_argument(
        "--field-map", type=Path, metavar="FILE", help="YAML field map for a generic CSV or JSON"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the run summary on stderr"
    )


def build_read_options(args: argparse.Namespace) -> ReadOptions:
    """Build the reader options from `add_input_options` arguments."""
    return ReadOptions(
        input_tz=parse_offset(args.input_tz),
        input_time_format=args.input_time_format,
        field_map=args.field_map,
    )


def parse_offset(value: str | None) -> timedelta | None:
    """Parse `--input-tz`: `UTC`, `Z`, `+HH:MM`, `-HHMM` or `+H`."""
    if value is None:
        return None
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", value.strip(), re.IGNORECASE)
    if value.strip().upper() in ("UTC", "Z"):
        return timedelta(0)
    if not match:
        raise UsageError(f"--input-tz: invalid offset {value!r}; write it as +HH:MM or -HH:MM")
    sign = -1 if match[1] == "-" else 1
    return sign * timedelta(hours=int(match[2]), minutes=int(match[3] or 0))


def report_summary(args: argparse.Namespace, summary: RunSummary) -> None:
    """Write the run summary to `--summary-json`, and its warnings and text to stderr."""
    if args.summary_json is not None:
        text = json.dumps(summary.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
        write_output(text, args.summary_json, "--summary-json")
    if args.quiet:
        return
    for warning in summary.warnings:
        print_warning(warning)
    if summary.warning_count > len(summary.warnings):
        hidden = summary.warning_count - len(summary.warnings)
        print_warning(f"{hidden} more warning(s) not shown")
    sys.stderr.write(render_summary_text(summary))


def exit_code_for(summary: RunSummary) -> int:
    """Return NO_INPUT when nothing was read, PARTIAL when some inputs failed, else OK."""
    if summary.files_read == 0:
        return ExitCode.NO_INPUT
    if summary.files_failed:
        return ExitCode.PARTIAL
    return ExitCode.OK
