"""The shared YAML loader: anchors, aliases, the size cap and invalid dates in every file type."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.loader import parse_tool
from rmmhunt.cli import ExitCode, main
from rmmhunt.errors import InputError, InventoryError, QueryError
from rmmhunt.hunts.loader import parse_hunt
from rmmhunt.inventory import load_column_mapping, load_inventory
from rmmhunt.readers.fieldmap import load_field_map
from rmmhunt.yamlsafe import MAX_YAML_BYTES, YamlLimitError, compose_yaml

# Each level doubles the previous one, the shape of an alias expansion attack.
ALIAS_BOMB = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n"

HUNT_HEAD = "---\nid: T-1\nname: test\nrisk_score: 75\nseverity: High\n"


def test_alias_rejected_at_its_line() -> None:
    with pytest.raises(YamlLimitError) as caught:
        compose_yaml("a: [1]\nb: *a\n")

    assert caught.value.problem_mark is not None
    assert caught.value.problem_mark.line == 1
    assert "aliases" in str(caught.value.problem)


def test_anchor_alone_rejected() -> None:
    with pytest.raises(YamlLimitError, match="anchors"):
        compose_yaml("a: &name 1\n")


def test_size_cap_rejects_large_text() -> None:
    text = "a: " + "x" * MAX_YAML_BYTES + "\n"

    with pytest.raises(YamlLimitError) as caught:
        compose_yaml(text)

    assert "16 MiB" in str(caught.value.problem)


def test_size_cap_counts_utf8_bytes() -> None:
    # Each `é` is two bytes in UTF-8, so the text is over the cap with fewer characters.
    text = "a: " + "é" * (MAX_YAML_BYTES // 2 + 1)

    with pytest.raises(YamlLimitError):
        compose_yaml(text)


@pytest.mark.parametrize("value", ["2025-02-30", "2025-03-12T24:00:00Z", "2025-13-01"])
def test_invalid_date_is_located(value: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        compose_yaml(f"first: 1\nwhen: {value}\n")

    assert caught.value.problem_mark is not None
    assert caught.value.problem_mark.line == 1
    assert value in str(caught.value.problem)


def test_plain_values_still_load() -> None:
    root, data = compose_yaml("when: 2025-03-12\nitems: [a, b]\n")

    assert root is not None
    assert data == {"when": date(2025, 3, 12), "items": ["a", "b"]}


def test_inventory_rejects_aliases(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")

    with pytest.raises(InventoryError) as caught:
        load_inventory(path, catalog=load_catalog())

    assert caught.value.line == 1
    assert "aliases" in caught.value.message


def test_column_mapping_rejects_aliases(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text("tool: &t Software\nhosts: *t\n", encoding="utf-8")

    with pytest.raises(InventoryError) as caught:
        load_column_mapping(path)

    assert caught.value.line == 1


def test_catalog_file_rejects_aliases() -> None:
    text = "id: x\nname: &n X\naliases: [*n]\n"

    tool, errors = parse_tool(text, "x.yaml", "x")

    assert tool is None
    assert len(errors) == 1
    assert errors[0].line == 2
    assert "aliases" in errors[0].message


def test_field_map_rejects_aliases(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("format: json\nfields:\n  _time: &t ts\n  agent_id: *t\n", encoding="utf-8")

    with pytest.raises(InputError) as caught:
        load_field_map(path)

    assert caught.value.line == 3
    assert "aliases" in caught.value.message


def test_hunt_front_matter_rejects_aliases() -> None:
    text = HUNT_HEAD + "description: &d x\nnotes: *d\n---\n"

    with pytest.raises(QueryError) as caught:
        parse_hunt(text, "hunt.md", load_catalog())

    assert caught.value.line == 6
    assert "aliases" in caught.value.message


def test_hunt_invalid_date_is_located() -> None:
    text = HUNT_HEAD + "date: 2025-02-30\n---\n"

    with pytest.raises(QueryError) as caught:
        parse_hunt(text, "hunt.md", load_catalog())

    assert caught.value.line == 6
    assert "2025-02-30" in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ALIAS_BOMB, "aliases"),
        ("approvals:\n  - tool: teamviewer\n    valid_until: 2025-02-30\n", "2025-02-30"),
        ("approvals:\n  - tool: teamviewer\n    valid_until: 2025-03-12T24:00:00Z\n", "hour"),
    ],
)
def test_hunt_cli_exits_5_on_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text, encoding="utf-8")
    events = tmp_path / "events.ndjson"
    events.write_text("", encoding="utf-8")

    code = main(["hunt", str(events), "-q", "--inventory", str(inventory)])

    error = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert f"{inventory}:" in error
    assert expected in error
