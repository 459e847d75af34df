"""Validation of hunt file front matter: keys, types, dates and file framing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli import main
from rmmhunt.errors import QueryError
from rmmhunt.hunts.loader import parse_hunt

FRONT_MATTER = """\
---
id: Site-Hunt
name: AnyDesk starts
risk_score: 75
severity: High
attack:
  - tactic: TA0011
    tactic_name: Command and Control
    technique: T1219
    technique_name: Remote Access Software
version_history:
  - version: "1.0"
    date: 2025-01-02
    notes: First version.
---
"""
BODY = '\n```xql\nfilter action_process_image_name = "anydesk.exe"\n```\n'


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _parse(text: str, catalog: Catalog) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_hunt(text, "hunt.md", catalog)
    return caught.value


def test_valid_front_matter_loads(catalog: Catalog) -> None:
    hunt = parse_hunt(FRONT_MATTER + BODY, "hunt.md", catalog)

    assert hunt.metadata.risk_score == 75
    assert hunt.metadata.version_history[0].date.isoformat() == "2025-01-02"


def test_invalid_date_is_located(catalog: Catalog) -> None:
    error = _parse(FRONT_MATTER.replace("2025-01-02", "2025-02-30") + BODY, catalog)

    assert error.line == 13
    assert "date" in error.message


def test_duplicate_key_names_both_lines(catalog: Catalog) -> None:
    text = FRONT_MATTER.replace("name: AnyDesk starts\n", "name: A\nname: B\n")

    error = _parse(text + BODY, catalog)

    assert "duplicate key 'name'" in error.message
    assert "line 3" in error.message
    assert error.line == 4


def test_duplicate_nested_key_rejected(catalog: Catalog) -> None:
    text = FRONT_MATTER.replace("    notes: First version.\n", "    notes: a\n    notes: b\n")

    error = _parse(text + BODY, catalog)

    assert "duplicate key 'notes'" in error.message
    assert error.line == 15


@pytest.mark.parametrize("value", ["true", '"75"', "75.0", "101", "-1"])
def test_risk_score_must_be_integer(catalog: Catalog, value: str) -> None:
    error = _parse(FRONT_MATTER.replace("risk_score: 75", f"risk_score: {value}") + BODY, catalog)

    assert "risk_score" in error.message
    assert error.line == 4


def test_byte_order_mark_accepted(catalog: Catalog) -> None:
    hunt = parse_hunt("\ufeff" + FRONT_MATTER + BODY, "hunt.md", catalog)

    assert hunt.id == "Site-Hunt"


def test_unclosed_front_matter_reported(catalog: Catalog) -> None:
    text = FRONT_MATTER.removesuffix("---\n") + BODY

    error = _parse(text, catalog)

    assert error.message == "the front matter is not closed"


def test_notes_required_impact_optional(catalog: Catalog) -> None:
    error = _parse(FRONT_MATTER.replace("    notes: First version.\n", "") + BODY, catalog)

    assert "notes" in error.message


def test_cli_invalid_date_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hunt = tmp_path / "hunt.md"
    hunt.write_text(FRONT_MATTER.replace("2025-01-02", "2025-02-30") + BODY, encoding="utf-8")
    events = tmp_path / "empty.ndjson"
    events.write_text("", encoding="utf-8")

    code = main(["hunt", "--hunt", str(hunt), str(events)])

    assert code == 2
    assert f"{hunt}:13:" in capsys.readouterr().err
