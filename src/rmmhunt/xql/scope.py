"""The columns visible at a point in a query, with the coarse types the compiler needs."""

from __future__ import annotations

import difflib

import pyarrow as pa

from rmmhunt.schema import COLUMNS
from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.nodes import Column

# Coarse value types: enough to choose string semantics, list functions and time parts.
STRING = "string"
INTEGER = "integer"
NUMBER = "number"
BOOLEAN = "boolean"
TIMESTAMP = "timestamp"
LIST = "list"
NULL = "null"
UNKNOWN = "unknown"


def arrow_type_name(arrow_type: pa.DataType) -> str:
    """Map an Arrow type onto a coarse value type."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return STRING
    if pa.types.is_integer(arrow_type):
        return INTEGER
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return NUMBER
    if pa.types.is_boolean(arrow_type):
        return BOOLEAN
    if pa.types.is_timestamp(arrow_type):
        return TIMESTAMP
    if pa.types.is_list(arrow_type):
        return LIST
    return UNKNOWN


def dataset_columns() -> dict[str, str]:
    """Return the xdr_data columns, in order, with their coarse types."""
    return {name: arrow_type_name(arrow_type) for name, arrow_type in COLUMNS}


class Scope:
    """An ordered mapping of column names to coarse types; `origin` says where they came from."""

    def __init__(self, columns: dict[str, str], origin: str = "the dataset") -> None:
        self.columns = dict(columns)
        self.origin = origin

    def copy(self, origin: str | None = None) -> Scope:
        return Scope(self.columns, origin or self.origin)

    def names(self) -> list[str]:
        return list(self.columns)

    def type_of(self, column: Column) -> str:
        """Return the column's type, or raise XqlError with a "did you mean" for unknown names."""
        if column.name in self.columns:
            return self.columns[column.name]
        matches = difflib.get_close_matches(column.name, self.names(), n=1, cutoff=0.7)
        hint = f"did you mean {matches[0]!r}?" if matches else None
        raise XqlError(
            f"unknown column {column.name!r} (not in {self.origin})",
            line=column.pos.line,
            column=column.pos.column,
            construct=f"column {column.name!r}",
            hint=hint,
        )
