"""The DuckDB connection that runs the hunt and XQL queries reaches no file or network."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from rmmhunt.dataset import Dataset
from rmmhunt.pipeline import load_inputs
from rmmhunt.xql import run

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text("value\nsecret\n", encoding="utf-8")
    return path


def _escapes(secret: Path) -> list[str]:
    target = secret.parent / "copied.csv"
    return [
        f"SELECT * FROM read_csv('{secret}')",
        f"COPY (SELECT 1) TO '{target}'",
        f"ATTACH '{secret.parent / 'other.db'}' AS other",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
    ]


def test_loaded_dataset_rejects_file_access(secret: Path) -> None:
    loaded = load_inputs([str(REPOSITORY / "examples" / "xdr")])
    dataset = loaded.dataset

    for sql in _escapes(secret):
        with pytest.raises(duckdb.Error):
            dataset.query(sql)
    assert not (secret.parent / "copied.csv").exists()
    assert dataset.count_rows() > 0


def test_xql_run_restricts_connection(secret: Path) -> None:
    dataset = Dataset()
    dataset.finalise()

    result = run("dataset = xdr_data | comp count() as n", dataset.connection)

    assert result.rows == [{"n": 0}]
    for sql in _escapes(secret):
        with pytest.raises(duckdb.Error):
            dataset.connection.execute(sql)


def test_restricted_dataset_still_registers_arrow() -> None:
    dataset = Dataset()
    dataset.finalise()
    dataset.restrict()

    dataset.load_table("extra", [{"a": "x"}], ["a"])

    assert dataset.query("SELECT a FROM extra") == [{"a": "x"}]
