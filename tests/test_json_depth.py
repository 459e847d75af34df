"""Deeply nested JSON: each reader skips the one record, warns with its place and goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmmhunt.pipeline import LoadResult, load_inputs
from rmmhunt.readers.jsondecode import (
    MAX_JSON_DEPTH,
    JsonDepthError,
    contains_placeholder,
    loads,
    loads_document,
    raw_decode,
)

# Deep enough to exceed Python's default recursion limit of 1,000 while decoding.
RECURSION_DEPTH = 5000


def _deep_object(depth: int) -> str:
    return '{"deep": ' + "[" * depth + "]" * depth + "}"


def _load(path: Path) -> LoadResult:
    loaded = load_inputs([str(path)])
    loaded.dataset.close()
    return loaded


def _with_deep_record(original: Path, target: Path, depth: int) -> int:
    """Copy a fixture with a deep record after its first; return the deep record's line."""
    text = original.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        elements = [json.dumps(element) for element in json.loads(text)]
        elements.insert(1, _deep_object(depth))
        target.write_text("[\n" + ",\n".join(elements) + "\n]\n", encoding="utf-8")
        return 3
    lines = [line for line in text.splitlines() if line.strip()]
    lines.insert(1, _deep_object(depth))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 2


READER_FIXTURES = [
    "xdr/rows.ndjson",
    "xdr/rows.json",
    "flatjson/golden_sysmon1_otrf.jsonl",
    "flatjson/golden_sysmon1_nxlog_array.json",
    "ecs/golden_sysmon1_winlogbeat.ndjson",
    "evtxjson/golden_sysmon1_array.json",
    "crowdstrike/fdr.ndjson",
    "ocsf/events.ndjson",
]


@pytest.mark.parametrize("depth", [RECURSION_DEPTH, MAX_JSON_DEPTH + 5])
@pytest.mark.parametrize("fixture", READER_FIXTURES)
def test_deep_record_skipped_alone(
    fixtures: Path, tmp_path: Path, fixture: str, depth: int
) -> None:
    original = fixtures / fixture
    damaged = tmp_path / original.name
    deep_line = _with_deep_record(original, damaged, depth)
    baseline = _load(original)

    loaded = _load(damaged)

    assert not loaded.discovery.failures
    assert loaded.files_read == 1
    assert loaded.stats.records_normalised == baseline.stats.records_normalised
    assert loaded.stats.records_read == baseline.stats.records_read + 1
    assert sum(loaded.stats.skipped.values()) == sum(baseline.stats.skipped.values()) + 1
    located = [w for w in loaded.stats.warnings if w.startswith(f"{damaged}:{deep_line}")]
    assert located, loaded.stats.warnings
    assert "nested more than" in located[0]


def test_deep_first_record_keeps_file(tmp_path: Path) -> None:
    source = tmp_path / "first.ndjson"
    good = '{"_time": "2025-03-12T09:14:03Z", "event_type": "PROCESS", "event_id": "e1"}'
    first = _deep_object(RECURSION_DEPTH)[:-1] + ', "event_type": "PROCESS", "event_id": "e0"}'
    source.write_text(first + "\n" + good + "\n", encoding="utf-8")

    loaded = _load(source)

    assert not loaded.discovery.failures
    assert loaded.stats.records_read == 2
    assert loaded.stats.records_normalised == 1
    assert loaded.stats.skipped["malformed_record"] == 1
    assert loaded.stats.warnings[0].startswith(f"{source}:1")


def test_loads_rejects_depth_over_limit() -> None:
    text = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)

    with pytest.raises(JsonDepthError) as raised:
        loads(text)

    assert raised.value.end == len(text)


def test_loads_accepts_depth_at_limit() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    assert loads(text) is not None


def test_raw_decode_finds_end_past_recursion() -> None:
    deep = "[" * RECURSION_DEPTH + '"]}["' + "]" * RECURSION_DEPTH
    text = deep + ', {"a": 1}'

    with pytest.raises(JsonDepthError) as raised:
        raw_decode(text)

    assert raised.value.end == len(deep)


def _with_deep_row(original: Path, target: Path, path_to_rows: list[str]) -> None:
    """Copy a wrapper document with a deep row inserted as the second row."""
    document = json.loads(original.read_text(encoding="utf-8"))
    rows = document
    for key in path_to_rows:
        rows = rows[key]
    rows.insert(1, "DEEP-ROW")
    text = json.dumps(document).replace('"DEEP-ROW"', _deep_object(RECURSION_DEPTH))
    target.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("fixture", "path_to_rows"),
    [
        ("defender/api_response.json", ["Results"]),
        ("xdr/query_results_reply.json", ["reply", "results", "data"]),
    ],
)
def test_deep_row_in_wrapper_skipped_alone(
    fixtures: Path, tmp_path: Path, fixture: str, path_to_rows: list[str]
) -> None:
    original = fixtures / fixture
    damaged = tmp_path / original.name
    _with_deep_row(original, damaged, path_to_rows)
    baseline = _load(original)

    loaded = _load(damaged)

    assert not loaded.discovery.failures
    assert loaded.stats.records_normalised == baseline.stats.records_normalised
    assert loaded.stats.records_read == baseline.stats.records_read + 1
    assert loaded.stats.skipped["malformed_record"] == 1
    located = [w for w in loaded.stats.warnings if w.startswith(f"{damaged}: ")]
    assert any("nested more than" in w for w in located), loaded.stats.warnings


def test_loads_document_replaces_only_deep_values() -> None:
    deep = "[" * (MAX_JSON_DEPTH + 5) + "]" * (MAX_JSON_DEPTH + 5)
    text = '{"rows": [{"a": 1}, {"b": ' + deep + '}, {"c": "[{"}]}'

    value, replaced = loads_document(text)

    assert replaced == 1
    assert value["rows"][0] == {"a": 1}
    assert contains_placeholder(value["rows"][1])
    assert value["rows"][2] == {"c": "[{"}
