"""The values the planner passes between stages: settings, relations and located errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.nodes import Position
from rmmhunt.xql.scope import Scope

ORDER_COLUMN = "__rmmhunt_order"
RANK_COLUMN = "__rmmhunt_rank"
HIDDEN_PREFIX = "__rmmhunt"
DEFAULT_DATASET = "xdr_data"

# Cortex ignores case in string comparisons unless a query sets `config case_sensitive = true`
# (Cortex XDR 3.x documentation, "case_sensitive").
DEFAULT_CASE_SENSITIVE = False


@dataclass(frozen=True)
class Settings:
    """The config in force for a query: case sensitivity and the resolved time frame."""

    case_sensitive: bool = DEFAULT_CASE_SENSITIVE
    timeframe: tuple[datetime, datetime] | None = None


@dataclass
class Relation:
    """The output of the stages so far: its CTE name, its columns and whether it is sorted."""

    cte: str
    scope: Scope
    ordered: bool = False


def stage_error(pos: Position, message: str, construct: str, hint: str | None = None) -> XqlError:
    """Build an XqlError located at a stage or one of its parts."""
    return XqlError(message, line=pos.line, column=pos.column, construct=construct, hint=hint)


def check_output_name(name: str, pos: Position, construct: str) -> None:
    """Raise XqlError for an output column name that starts with the reserved prefix.

    The planner adds hidden columns with that prefix (the sort order), so a query column of the
    same name would replace one. DuckDB compares identifiers without case, and so does this.
    """
    if name.casefold().startswith(HIDDEN_PREFIX):
        raise stage_error(
            pos,
            f"column names starting {HIDDEN_PREFIX!r} are reserved",
            construct,
            "choose another column name",
        )
