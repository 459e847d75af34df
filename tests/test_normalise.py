"""The normalisation rules every reader shares: times, placeholders, paths and image names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rmmhunt.normalise import (
    clean,
    image_from_command_line,
    image_name,
    parse_time,
    short_hostname,
    strip_quotes,
)
from rmmhunt.readers._edr_records import RecordRejected
from rmmhunt.readers._edr_values import epoch_seconds, event_time
from rmmhunt.readers.base import ReadOptions

T = datetime(2024, 4, 15, 11, 9, 27, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-15T11:09:27.123456Z", T),
        ("2024-04-15T11:09:27.1234567Z", T),
        ("2024-04-15T11:09:27.123456789Z", T),
        ("2024-04-15 11:09:27.1234567", T),
        ("2024-04-15T13:09:27.1234567+02:00", T),
        ("2024-04-15T06:39:27.1234567-0430", T),
        ("2024-04-15T11:09:27,1234567 UTC", T),
        ("2024-04-15T11:09:27Z", T.replace(microsecond=0)),
    ],
)
def test_parse_time_iso_forms(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


def test_seventh_digit_truncated_not_rounded() -> None:
    # Rounding .1239999 up would move the event into the next millisecond, so that it would no
    # longer merge with an export that keeps .123.
    assert parse_time("2024-04-15T11:09:27.1239999Z") == T.replace(microsecond=123999)


def test_parse_time_zone_less_uses_input_tz() -> None:
    parsed = parse_time("2024-04-15 13:09:27.123456", default_tz=timedelta(hours=2))
    assert parsed == T


def test_parse_time_explicit_offset_beats_input_tz() -> None:
    parsed = parse_time("2024-04-15T11:09:27.123456Z", default_tz=timedelta(hours=2))
    assert parsed == T


@pytest.mark.parametrize(
    "text", ["04/15/2024 11:09:27", "15/04/2024 11:09:27", "Apr 15, 2024 11:09:27 AM"]
)
def test_parse_time_never_guesses_locale(text: str) -> None:
    with pytest.raises(ValueError, match="invalid timestamp"):
        parse_time(text)


def test_locale_time_rejected_without_options() -> None:
    with pytest.raises(RecordRejected) as raised:
        event_time("Apr 15, 2024 11:09:27 AM", ReadOptions())
    assert raised.value.reason == "invalid_time"
    assert "never guessed" in (raised.value.hint or "")


def test_locale_time_read_with_input_tz() -> None:
    options = ReadOptions(input_tz=timedelta(hours=-4))
    parsed = event_time("Apr 15, 2024 07:09:27 AM", options)
    assert parsed == T.replace(microsecond=0)


def test_locale_time_read_with_format() -> None:
    options = ReadOptions(input_time_format="%d/%m/%Y %H:%M:%S.%f")
    assert event_time("15/04/2024 11:09:27.123456", options) == T


def test_epoch_seconds_seven_digits_exact() -> None:
    assert epoch_seconds("1713179367.1234567") == T


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "-",
        " - ",
        "00000000-0000-0000-0000-000000000000",
        "{00000000-0000-0000-0000-000000000000}",
    ],
)
def test_placeholders_become_null(value: str) -> None:
    assert clean(value) is None


@pytest.mark.parametrize("value", ["--", "0", "{00000000-0000-0000-0000-000000000001}", "C:\\-"])
def test_values_like_placeholders_kept(value: str) -> None:
    assert clean(value) == value


def test_strip_quotes_one_pair() -> None:
    assert strip_quotes('"C:\\Program Files\\AnyDesk\\AnyDesk.exe"') == (
        "C:\\Program Files\\AnyDesk\\AnyDesk.exe"
    )
    assert strip_quotes("'C:\\a.exe'") == "C:\\a.exe"
    assert strip_quotes('"C:\\a.exe') == '"C:\\a.exe'


def test_image_name_of_quoted_path() -> None:
    assert image_name('"C:\\Program Files\\AnyDesk\\AnyDesk.exe"') == "AnyDesk.exe"
    assert image_name("\\Device\\HarddiskVolume3\\Tools\\rustdesk.exe") == "rustdesk.exe"


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        ('"C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe" --control', "AnyDesk.exe"),
        ("C:\\Program Files\\Splashtop\\SRServer.exe -start", "SRServer.exe"),
        ("cmd.exe /c whoami", "cmd.exe"),
        ("rundll32 shell32.dll,Control_RunDLL", "rundll32"),
    ],
)
def test_image_from_command_line(command_line: str, expected: str) -> None:
    assert image_from_command_line(command_line) == expected


def test_short_hostname_folds_case_and_domain() -> None:
    assert short_hostname("WS01.corp.local") == "ws01"
    assert short_hostname("ws01") == "ws01"
    assert short_hostname("") is None
