"""`rmmhunt xql`: the verbatim hunt query against the seed profile, formats, errors, warnings."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.cli import ExitCode, main
from rmmhunt.schema import SEED_FIELDS

REPOSITORY = Path(__file__).resolve().parents[1]
FIXTURES = REPOSITORY / "tests" / "fixtures"
HUNT_QUERY = FIXTURES / "xql" / "rmm_execution.xql"
HUNT_DOCUMENT = REPOSITORY.parent / "shared" / "seed" / "000_d9ef69c0275913e6.txt"
INPUTS = {
    "xdr-fixtures": [
        str(path) for path in sorted((FIXTURES / "xdr").glob("*")) if path.suffix != ".md"
    ],
    "examples": [str(REPOSITORY / "examples" / "evtx"), str(REPOSITORY / "examples" / "xdr")],
}


@pytest.fixture(scope="session")
def hunt_document() -> Path:
    """Return the original hunt's Markdown document; skip outside CI when it is missing."""
    if HUNT_DOCUMENT.is_file():
        return HUNT_DOCUMENT
    if os.environ.get("CI"):
        pytest.fail(f"the original hunt document is missing at {HUNT_DOCUMENT}")
    pytest.skip(f"original hunt document not found at {HUNT_DOCUMENT}")


def _run_json(tmp_path: Path, command: list[str]) -> tuple[int, list[dict[str, Any]]]:
    output = tmp_path / f"{command[0]}-{len(list(tmp_path.iterdir()))}.json"
    code = main([*command, "--format", "json", "--output", str(output), "-q"])
    return code, json.loads(output.read_text(encoding="utf-8"))


def _seed_profile_rows(tmp_path: Path, paths: list[str]) -> list[list[tuple[str, Any]]]:
    code, alerts = _run_json(tmp_path, ["hunt", "--profile", "seed", *paths])
    assert code == ExitCode.OK
    return [[(name, alert[name]) for name in SEED_FIELDS] for alert in alerts]


@pytest.mark.parametrize("inputs", list(INPUTS), ids=list(INPUTS))
def test_verbatim_query_equals_seed_profile(tmp_path: Path, inputs: str) -> None:
    paths = INPUTS[inputs]
    query = HUNT_QUERY.read_text(encoding="utf-8")

    code, rows = _run_json(tmp_path, ["xql", query, *paths])
    expected = _seed_profile_rows(tmp_path, paths)

    assert code == ExitCode.OK
    assert expected, "the inputs must hold matches for the comparison to mean anything"
    assert [list(row) for row in rows] == [list(SEED_FIELDS)] * len(rows)
    assert [list(row.items()) for row in rows] == expected


@pytest.mark.parametrize("inputs", list(INPUTS), ids=list(INPUTS))
def test_hunt_document_file_equals_seed_profile(
    tmp_path: Path, hunt_document: Path, inputs: str
) -> None:
    paths = INPUTS[inputs]

    code, rows = _run_json(tmp_path, ["xql", "--file", str(hunt_document), *paths])

    assert code == ExitCode.OK
    assert [list(row.items()) for row in rows] == _seed_profile_rows(tmp_path, paths)


def test_markdown_file_runs_its_block(tmp_path: Path) -> None:
    document = tmp_path / "hunt.md"
    query = HUNT_QUERY.read_text(encoding="utf-8")
    document.write_text(f"# A hunt\n\nProse.\n\n```xql\n{query}```\n", encoding="utf-8")

    code, rows = _run_json(tmp_path, ["xql", "--file", str(document), *INPUTS["examples"]])

    assert code == ExitCode.OK
    assert [list(row.items()) for row in rows] == _seed_profile_rows(tmp_path, INPUTS["examples"])


def test_xql_file_runs(tmp_path: Path) -> None:
    code, rows = _run_json(tmp_path, ["xql", "--file", str(HUNT_QUERY), *INPUTS["xdr-fixtures"]])

    assert code == ExitCode.OK
    assert [row["event_id"] for row in rows] == ["AAABjuNvQ1Qx0006", "AAABjuNvQ1Qx0001"]


COUNT_QUERY = (
    'filter event_sub_type = ENUM.PROCESS_START and agent_hostname = "WS0*"\n'
    "| comp count() as starts, values(action_process_image_name) as images by agent_hostname\n"
    "| sort asc agent_hostname"
)


def test_ndjson_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["xql", COUNT_QUERY, *INPUTS["examples"], "--format", "ndjson", "-q"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert code == ExitCode.OK
    assert [row["agent_hostname"] for row in rows] == [
        "WS01.corp.local",
        "WS02.corp.local",
        "WS03.corp.local",
        "WS04.corp.local",
    ]
    assert [list(row) for row in rows] == [["agent_hostname", "starts", "images"]] * 4
    assert "AnyDesk.exe" in rows[2]["images"]
    assert sum(row["starts"] for row in rows) > 0


def test_csv_output_to_file(tmp_path: Path) -> None:
    output = tmp_path / "rows.csv"
    code = main(
        ["xql", COUNT_QUERY, *INPUTS["examples"], "--format", "csv", "--output", str(output), "-q"]
    )
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))

    assert code == ExitCode.OK
    assert rows[0] == ["agent_hostname", "starts", "images"]
    assert len(rows) == 5
    assert json.loads(rows[3][2])[0] == "AnyDesk.exe"


def test_table_output_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["xql", COUNT_QUERY, *INPUTS["examples"]])
    captured = capsys.readouterr()

    assert code == ExitCode.OK
    assert captured.out.splitlines()[0].split() == ["agent_hostname", "starts", "images"]
    assert captured.out.endswith("4 row(s).\n")
    assert "profile xql" in captured.err
    assert "rows 4" in captured.err


def test_summary_json_counts_rows(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    code = main(
        ["xql", COUNT_QUERY, *INPUTS["examples"], "-q", "--summary-json", str(summary_path)]
    )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))

    assert code == ExitCode.OK
    assert summary["profile"] == "xql"
    assert summary["alerts"] == 4
    assert summary["files_read"] == 4
    assert summary["accounting_closes"] is True


TIMEFRAME_QUERY = 'config timeframe = 7d | filter agent_hostname = "WS03*" | comp count() as n'


def test_timeframe_counts_back_from_now(capsys: pytest.CaptureFixture[str]) -> None:
    now = "2025-03-15T00:00:00Z"
    code = main(["xql", TIMEFRAME_QUERY, *INPUTS["examples"], "--now", now, "--format", "json"])
    captured = capsys.readouterr()

    assert code == ExitCode.OK
    assert json.loads(captured.out)[0]["n"] > 0
    assert "excludes every event" not in captured.err


def test_timeframe_warns_when_empty(capsys: pytest.CaptureFixture[str]) -> None:
    # Without --now, the time frame ends at the current time, long after the examples.
    code = main(["xql", TIMEFRAME_QUERY, *INPUTS["examples"], "--format", "json", "-q"])
    captured = capsys.readouterr()

    assert code == ExitCode.OK
    assert json.loads(captured.out) == [{"n": 0}]
    assert "warning: the time frame" in captured.err
    assert "excludes every event in xdr_data" in captured.err


def test_timeframe_before_events_warns(capsys: pytest.CaptureFixture[str]) -> None:
    now = "2024-01-01T00:00:00Z"
    code = main(["xql", TIMEFRAME_QUERY, *INPUTS["examples"], "--now", now, "-q"])

    assert code == ExitCode.OK
    assert "excludes every event" in capsys.readouterr().err


def test_query_error_names_position(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["xql", "dataset = xdr_data\n| bin _time span = 1h", *INPUTS["examples"]])
    error = capsys.readouterr().err

    assert code == ExitCode.USAGE
    assert "<query>:2:3: unsupported stage 'bin'" in error
    assert "profile xql" not in error, "a bad query must fail before any input is read"


def test_markdown_error_counts_file_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "hunt.md"
    document.write_text(
        '# Hunt\n\nText.\n\n```xql\ndataset = xdr_data\n| filter agent_hostnam = "a"\n```\n',
        encoding="utf-8",
    )

    code = main(["xql", "--file", str(document), *INPUTS["examples"]])
    error = capsys.readouterr().err

    assert code == ExitCode.USAGE
    assert f"{document}:7:10: unknown column 'agent_hostnam'" in error
    assert "did you mean 'agent_hostname'?" in error


def test_markdown_without_block_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = tmp_path / "notes.md"
    document.write_text("# Notes\n\n```sql\nselect 1\n```\n", encoding="utf-8")

    code = main(["xql", "--file", str(document), *INPUTS["examples"]])

    assert code == ExitCode.USAGE
    assert f"{document}: no ```xql code block found" in capsys.readouterr().err


def test_missing_query_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["xql", "--file", str(tmp_path / "absent.xql"), *INPUTS["examples"]])

    assert code == ExitCode.USAGE
    assert "failed to read the query file" in capsys.readouterr().err


def test_query_without_paths_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["xql", "dataset = xdr_data"])

    assert code == ExitCode.USAGE
    assert "give a query and at least one PATH" in capsys.readouterr().err


def test_unreadable_inputs_exit_no_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01not telemetry")

    assert main(["xql", "dataset = xdr_data | limit 1", str(junk), "-q"]) == ExitCode.NO_INPUT
