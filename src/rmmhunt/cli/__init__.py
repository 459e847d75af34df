"""The command line. Only this package reads arguments, prints or exits.

Each subcommand is one module with `add_parser(commands)`, which registers its parser and sets
`handler`, and the handler `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from rmmhunt import __version__
from rmmhunt.catalog.loader import CatalogValidationError
from rmmhunt.cli import catalog, export, hunt, hunts, xql
from rmmhunt.cli.common import ExitCode, UsageError, print_error, print_problems
from rmmhunt.errors import RmmhuntError

__all__ = ["ExitCode", "build_parser", "main"]

SUBCOMMANDS = (hunt, catalog, xql, hunts, export)

log = logging.getLogger("rmmhunt")


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
    except CatalogValidationError as error:
        print_problems(error)
        return ExitCode.CONFIG
    except RmmhuntError as error:
        print_error(str(error))
        return ExitCode.CONFIG
    except UsageError as error:
        print_error(str(error))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return ExitCode.INTERNAL
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as error:
        # Any other exception is a bug: the user gets one line, and -d shows the traceback.
        log.debug("internal error", exc_info=True)
        print_error(
            f"internal error: {type(error).__name__}: {error}; please report it with the "
            "output of the same command run with rmmhunt -d"
        )
        return ExitCode.INTERNAL


def _stdout_closed() -> int:
    """Handle a reader of stdout that closed the pipe early, as `rmmhunt ... | head` does.

    Python's documentation advises pointing stdout at devnull, so that the flush at exit does
    not raise a second BrokenPipeError.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
