"""The command line. Only this package reads arguments, prints or exits.

Each subcommand is one module with `add_parser(commands)`, which registers its parser and sets
`handler`, and the handler `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rmmhunt import __version__
from rmmhunt.cli import catalog, export, hunt, hunts, xql
from rmmhunt.cli.common import ExitCode, UsageError, print_error
from rmmhunt.errors import RmmhuntError

__all__ = ["ExitCode", "build_parser", "main"]

SUBCOMMANDS = (hunt, catalog, xql, hunts, export)


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
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


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
        return int(args.handler(args))
    except RmmhuntError as error:
        print_error(str(error))
        return ExitCode.CONFIG
    except UsageError as error:
        print_error(str(error))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return ExitCode.INTERNAL
    except Exception as error:
        # A bug must end with the documented exit code, and the traceback stays available.
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print_error(
            f"internal error: {error!r}; rerun as rmmhunt --debug for the traceback, and report it"
        )
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
