"""SQL spellings that differ between engines, kept in one class per dialect.

The compiler writes portable SQL (CTEs, CASE, window functions, explicit column lists) and
uses the dialect only for what engines spell differently. DuckDB is the only dialect so far;
names follow the DuckDB 1.x function reference (duckdb.org/docs/sql/functions).
"""

from __future__ import annotations

from datetime import UTC, datetime

# extract_time parts (Cortex names) to DuckDB date_part names.
EXTRACT_PARTS = {
    "MICROSECOND": "microsecond",
    "MILLISECOND": "millisecond",
    "SECOND": "second",
    "MINUTE": "minute",
    "HOUR": "hour",
    "DAY": "day",
    "DAYOFWEEK": "dayofweek",
    "DAYOFYEAR": "dayofyear",
    "WEEK": "week",
    "MONTH": "month",
    "QUARTER": "quarter",
    "YEAR": "year",
}

# An IPv4 address in dotted-quad form with each octet 0..255.
OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}"


class DuckDBDialect:
    """DuckDB SQL."""

    name = "duckdb"

    def quote(self, identifier: str) -> str:
        """Quote an identifier."""
        return '"' + identifier.replace('"', '""') + '"'

    def string(self, value: str) -> str:
        """Write a string literal; DuckDB takes backslashes literally."""
        return "'" + value.replace("'", "''") + "'"

    def timestamp(self, moment: datetime) -> str:
        """Write an aware instant as a UTC TIMESTAMPTZ literal."""
        text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"TIMESTAMPTZ '{text}+00:00'"

    def like(self, operand: str, pattern: str) -> str:
        """Match a LIKE pattern that uses backslash as its escape character."""
        return f"({operand} LIKE {pattern} ESCAPE '\\')"

    def regex_search(self, operand: str, pattern: str, case_insensitive: bool) -> str:
        """Return true when the RE2 pattern matches anywhere in the operand."""
        options = ", 'i'" if case_insensitive else ""
        return f"regexp_matches({operand}, {pattern}{options})"

    def regex_extract_all(self, operand: str, pattern: str, group: int) -> str:
        """Return every match of the pattern (or of its capture group) as a list."""
        return f"regexp_extract_all({operand}, {pattern}, {group})"

    def contains(self, haystack: str, needle: str) -> str:
        """Return true when the needle occurs in the haystack."""
        return f"(strpos({haystack}, {needle}) > 0)"

    def ipv4_to_integer(self, operand: str) -> str:
        """Return an IPv4 address text as a BIGINT, or NULL when it is not a valid address."""
        octets = " + ".join(
            f"CAST(split_part({operand}, '.', {index + 1}) AS BIGINT) * {256 ** (3 - index)}"
            for index in range(4)
        )
        valid = f"regexp_full_match({operand}, {self.string(IPV4_PATTERN)})"
        return f"(CASE WHEN {valid} THEN {octets} END)"

    def cast_text(self, operand: str) -> str:
        return f"CAST({operand} AS VARCHAR)"

    def try_cast_integer(self, operand: str) -> str:
        return f"TRY_CAST({operand} AS BIGINT)"

    def try_cast_number(self, operand: str) -> str:
        return f"TRY_CAST({operand} AS DOUBLE)"

    def split(self, operand: str, delimiter: str) -> str:
        return f"string_split({operand}, {delimiter})"

    def list_element(self, array: str, one_based_index: str) -> str:
        """Return the element at a 1-based index (negative counts from the end), or NULL."""
        return f"list_extract({array}, {one_based_index})"

    def text_length(self, operand: str) -> str:
        return f"length({operand})"

    def list_length(self, operand: str) -> str:
        return f"len({operand})"

    def json_scalar(self, document: str, path: str) -> str:
        """Return the scalar at a JSONPath as text; NULL for objects, arrays and missing keys."""
        kind = f"json_type({document}, {path})"
        value = f"json_extract_string({document}, {path})"
        return f"(CASE WHEN {kind} IN ('OBJECT', 'ARRAY') THEN NULL ELSE {value} END)"

    def extract_part(self, moment: str, part: str) -> str:
        """Return a calendar part of an instant, read in UTC whatever the session time zone."""
        utc = f"({moment} AT TIME ZONE 'UTC')"
        value = f"date_part('{EXTRACT_PARTS[part]}', {utc})"
        # DuckDB numbers weekdays 0 (Sunday) to 6; Cortex numbers them 1 (Sunday) to 7.
        return f"({value} + 1)" if part == "DAYOFWEEK" else value

    def epoch_microseconds(self, moment: str) -> str:
        return f"epoch_us({moment})"

    def distinct_values(self, operand: str) -> str:
        """Aggregate the distinct non-NULL values, sorted, as a list (empty when none)."""
        values = (
            f"array_agg(DISTINCT {operand} ORDER BY {operand}) FILTER (WHERE {operand} IS NOT NULL)"
        )
        return f"coalesce({values}, [])"

    def value_at_min(self, operand: str, key: str) -> str:
        """Aggregate the non-NULL value whose key is smallest."""
        return f"arg_min({operand}, {key})"

    def value_at_max(self, operand: str, key: str) -> str:
        """Aggregate the non-NULL value whose key is largest."""
        return f"arg_max({operand}, {key})"


Dialect = DuckDBDialect

DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect()}
