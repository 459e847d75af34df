"""Resolve `config timeframe` into a UTC (start, end) pair.

Forms from the Cortex XDR 3.x "timeframe" reference page: `= <number><unit>`, and
`between "<start>" and "<end>"` where each end is an exact time
`Year-Month-Day H:M:S ±hhmm`, a relative `+N<unit>` or `-N<unit>`, `now`, or (start only)
`begin`. Relative times count back from `now`.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.nodes import ConfigTimeframe

# Units in the order the Cortex timeframe page lists them; `mo` and `y` are calendar units.
FIXED_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
FIXED_UNITS["w"] = timedelta(weeks=1)
CALENDAR_UNITS = {"mo": 1, "y": 12}
UNIT_NAMES = "m (minutes), h, d, w, mo (months), y"

DURATION = re.compile(r"(?P<count>[0-9]+)(?P<unit>[a-z]+)")
RELATIVE = re.compile(r"(?P<sign>[+-])(?P<count>[0-9]+)(?P<unit>[a-z]+)")
EXACT_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M")

# The lower bound that `begin` stands for: every event, however old.
BEGINNING = datetime.min.replace(tzinfo=UTC)


def _error(stage: ConfigTimeframe, message: str, hint: str) -> XqlError:
    # NOTE: the stage keeps no position for its values, so errors point at the stage's start.
    return XqlError(
        message,
        line=stage.pos.line,
        column=stage.pos.column,
        construct="config timeframe",
        hint=hint,
    )


def _shift_months(moment: datetime, months: int) -> datetime:
    """Move `moment` by whole calendar months, clamping the day to the target month's length."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _shift(stage: ConfigTimeframe, moment: datetime, count: int, unit: str) -> datetime:
    if unit not in FIXED_UNITS and unit not in CALENDAR_UNITS:
        raise _error(stage, f"unknown time unit {unit!r}", f"use one of {UNIT_NAMES}")
    try:
        if unit in FIXED_UNITS:
            return moment + count * FIXED_UNITS[unit]
        return _shift_months(moment, count * CALENDAR_UNITS[unit])
    except (OverflowError, ValueError):
        # Python's datetime holds only the years 1 to 9999.
        raise _error(
            stage,
            f"the time frame {count}{unit} from {moment.date().isoformat()} "
            "falls outside the years 1-9999",
            "use a shorter time frame, or a later --now",
        ) from None


def _resolve_end(stage: ConfigTimeframe, text: str, now: datetime, is_start: bool) -> datetime:
    lowered = text.strip().lower()
    if lowered == "now":
        return now
    if lowered == "begin":
        if not is_start:
            raise _error(stage, "'begin' can only start a time frame", 'write "begin" and "now"')
        return BEGINNING

    relative = RELATIVE.fullmatch(lowered)
    if relative:
        count = int(relative["count"]) * (-1 if relative["sign"] == "-" else 1)
        return _shift(stage, now, count, relative["unit"])

    for pattern in EXACT_FORMATS:
        try:
            parsed = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        # NOTE: a time without an offset is read as UTC; Cortex may use the tenant's time zone.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    raise _error(
        stage,
        f"invalid time {text!r}",
        'use "2024-05-01 13:00:00 +0200", "-7d", "now" or "begin"',
    )


def resolve_timeframe(stage: ConfigTimeframe, now: datetime) -> tuple[datetime, datetime]:
    """Return the (start, end) UTC instants of a timeframe stage, both inclusive.

    Raises:
        XqlError: the duration, a time or a unit is invalid, or the start is after the end.
    """
    if stage.duration is not None:
        match = DURATION.fullmatch(stage.duration.lower())
        if match is None or int(match["count"]) == 0:
            raise _error(stage, f"invalid duration {stage.duration!r}", "write for example 7d")
        return _shift(stage, now, -int(match["count"]), match["unit"]), now

    start = _resolve_end(stage, stage.start or "", now, is_start=True)
    end = _resolve_end(stage, stage.end or "", now, is_start=False)
    if start > end:
        raise _error(stage, "the time frame starts after it ends", "swap the start and the end")
    return start, end
