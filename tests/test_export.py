"""Tests of `rmmhunt export`: Sigma validated by pySigma, backend queries, SQL in each dialect."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.seed import SEED_NAMES
from rmmhunt.cli import main
from rmmhunt.dataset import Dataset
from rmmhunt.export import BACKEND_TARGETS, SQL_DIALECTS, ExportError, export_hunt
from rmmhunt.export.sigma import sigma_rule_documents
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.pipeline import load_inputs
from rmmhunt.schema import SEED_FIELDS

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("default", "seed")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def offline_pysigma(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import pySigma, and make its ATT&CK and D3FEND loaders fail instead of downloading.

    pySigma 1.5 downloads MITRE ATT&CK and D3FEND data from the internet the first time a tag
    validator or an Elastic rule format needs it. The export must never need it.
    """
    pytest.importorskip("sigma", reason="pySigma is missing; install rmmhunt[export]")
    attack = importlib.import_module("sigma.data.mitre_attack")
    d3fend = importlib.import_module("sigma.data.mitre_d3fend")

    def reject_download(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pySigma tried to download MITRE data")

    monkeypatch.setattr(attack, "_load_mitre_attack_data", reject_download)
    monkeypatch.setattr(d3fend, "_load_mitre_d3fend_data", reject_download)
    return importlib.import_module("sigma.collection")


def _offline_validators() -> list[Any]:
    """Every core pySigma validator except the two that download MITRE data."""
    core = importlib.import_module("sigma.validators.core")
    tags = importlib.import_module("sigma.validators.core.tags")
    excluded = {tags.ATTACKTagValidator, tags.D3FENDTagValidator}
    return [validator for validator in core.validators.values() if validator not in excluded]


@pytest.mark.parametrize("profile", PROFILES)
def test_sigma_rules_validate_in_pysigma(
    catalog: Catalog, offline_pysigma: Any, profile: str
) -> None:
    validation = importlib.import_module("sigma.validation")
    text = export_hunt(catalog, "sigma", profile=profile).text

    collection = offline_pysigma.SigmaCollection.from_yaml(text)
    rule_errors = [(rule.title, error) for rule in collection.rules for error in rule.errors]
    validators = _offline_validators()
    issues = validation.SigmaValidator(validators).validate_rules(collection)

    assert len(validators) > 20
    assert collection.rules
    assert rule_errors == []
    assert [str(issue) for issue in issues] == []


def test_sigma_rules_cover_each_tool(catalog: Catalog) -> None:
    documents = sigma_rule_documents(catalog, "default", ["all"])
    by_title = {document["title"]: document for document in documents}
    ids = [document["id"] for document in documents]
    with_names = [tool for tool in catalog.tools.values() if tool.executables]
    service = by_title["Remote access tool installed as a service"]
    service_paths = service["detection"]["selection"]["ImagePath|contains"]

    assert len(ids) == len(set(ids))
    assert len(documents) == len(with_names) + 1
    for tool in with_names:
        detection = by_title[f"{tool.name} process start"]["detection"]
        images = detection["selection_image"]["Image|endswith"]
        assert images == [f"\\{name}" for name in dict.fromkeys(tool.executables)], tool.id
        for name in (*tool.executables, *tool.drivers):
            assert f"\\{name}" in service_paths, name
    assert service["detection"]["selection"]["EventID"] == 7045


def test_sigma_rules_carry_catalog_hashes(tmp_path: Path) -> None:
    source = (ROOT / "src" / "rmmhunt" / "catalog" / "data" / "anydesk.yaml").read_text()
    digest = "ab" * 32
    (tmp_path / "anydesk.yaml").write_text(
        source + f"hashes: {{sha256: ['{digest}'], md5: ['{'cd' * 16}']}}\n", encoding="utf-8"
    )
    catalog = load_catalog([tmp_path])

    documents = sigma_rule_documents(catalog, "default")
    anydesk = next(document for document in documents if document["title"].startswith("AnyDesk"))

    assert anydesk["detection"]["selection_hash"]["Hashes|contains"] == [
        f"SHA256={digest.upper()}",
        f"MD5={'CD' * 16}",
    ]


def test_sigma_seed_rule_has_seven_names(catalog: Catalog) -> None:
    documents = list(yaml.safe_load_all(export_hunt(catalog, "sigma", profile="seed").text))

    assert len(documents) == 1
    images = documents[0]["detection"]["selection"]["Image|endswith"]
    assert images == [f"\\{name}" for name in SEED_NAMES]


@pytest.mark.parametrize("target", sorted(BACKEND_TARGETS))
@pytest.mark.parametrize("profile", PROFILES)
def test_backend_query_for_each_rule(
    catalog: Catalog, offline_pysigma: Any, target: str, profile: str
) -> None:
    spec = BACKEND_TARGETS[target]
    result = export_hunt(catalog, target, profile=profile)
    rules = sigma_rule_documents(catalog, profile, options=spec.options)
    lines = result.text.splitlines()
    names = ("anydesk.exe",) if profile == "seed" else ("AnyDesk.exe", "TeamViewer.exe")

    assert rules
    if spec.comment is None:
        assert len(lines) == len(rules)
        assert all(line.strip() for line in lines)
    else:
        for rule in rules:
            header = next(i for i, line in enumerate(lines) if f"({rule['id']})" in line)
            assert lines[header + 1].strip(), f"{rule['title']} has no query"
    for name in names:
        assert name.casefold() in result.text.casefold(), name
    if profile == "seed":
        assert result.dropped == []


def test_backend_drops_are_listed(catalog: Catalog, offline_pysigma: Any) -> None:
    sentinel = export_hunt(catalog, "sentinel-kql")
    defender = export_hunt(catalog, "defender-kql")
    splunk = export_hunt(catalog, "splunk")

    assert any("OriginalFileName" in note for note in sentinel.dropped)
    assert "ProcessVersionInfoOriginalFileName" in defender.text
    assert any("7045" in note for note in defender.dropped)
    assert "EventCode=7045" in splunk.text
    for note in defender.dropped:
        assert f"// dropped: {note}" in defender.text
    for note in splunk.dropped:
        assert f"``` dropped: {note} ```" in splunk.text


def test_core_import_needs_no_pysigma() -> None:
    code = "import sys, rmmhunt.export, rmmhunt.cli; print('sigma' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_missing_pysigma_names_the_extra(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def without_sigma(name: str, package: str | None = None) -> Any:
        if name == "sigma" or name.startswith("sigma."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", without_sigma)

    with pytest.raises(ExportError, match=r"rmmhunt\[export\]"):
        export_hunt(catalog, "splunk")


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
@pytest.mark.parametrize("profile", PROFILES)
def test_sql_parses_back_in_dialect(catalog: Catalog, dialect: str, profile: str) -> None:
    text = export_hunt(catalog, "sql", profile=profile, dialect=dialect).text

    statements = [statement for statement in sqlglot.parse(text, read=dialect) if statement]

    assert len(statements) == 1
    assert statements[0].find(sqlglot.exp.Table) is not None
    assert "xdr_data" in text


@pytest.fixture(scope="module")
def example_dataset() -> Iterator[Dataset]:
    loaded = load_inputs([str(ROOT / "examples" / "evtx"), str(ROOT / "examples" / "xdr")])
    yield loaded.dataset
    loaded.dataset.close()


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _row_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[name]) for name in SEED_FIELDS)


@pytest.mark.parametrize("profile", PROFILES)
def test_duckdb_sql_equals_native_hunt(
    catalog: Catalog, example_dataset: Dataset, profile: str
) -> None:
    native = run_hunt(example_dataset, catalog, HuntOptions(profile=profile))
    expected = [{name: alert[name] for name in SEED_FIELDS} for alert in native]
    text = export_hunt(catalog, "sql", profile=profile, dialect="duckdb").text

    cursor = example_dataset.connection.execute(text)
    columns = [column[0] for column in cursor.description]
    rows = [dict(zip(columns, map(_utc, record), strict=True)) for record in cursor.fetchall()]
    times = [row["_time"] for row in rows]

    assert expected, "the example estate must raise alerts for the comparison to mean anything"
    assert columns == list(SEED_FIELDS)
    # Rows with the same time may come in any order, as the query sorts on `_time` alone.
    assert sorted(rows, key=_row_key) == sorted(expected, key=_row_key)
    assert times == sorted(times, reverse=True)


def test_cli_export_writes_file_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "hunt.sql"

    code = main(["export", "--to", "sql", "--dialect", "snowflake", "--output", str(output)])
    text = output.read_text(encoding="utf-8")

    assert code == 0
    assert text.startswith("-- rmmhunt built-in hunt, profile default, SQL dialect snowflake")
    assert capsys.readouterr().out == ""


def test_cli_export_sigma_warns_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--to", "sigma", "--category", "rmm"])
    captured = capsys.readouterr()

    assert code == 0
    assert "title: Atera process start" in captured.out
    assert "rmmhunt: warning: sigma dropped: service installs" in captured.err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--to", "sql"], "--to sql needs --dialect"),
        (["--to", "xql", "--dialect", "spark"], "--dialect applies only to --to sql"),
        (["--to", "xql", "--category", "games"], "unknown categories"),
    ],
)
def test_cli_export_rejects_bad_options(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", *arguments])

    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_export_xql_is_rendered_hunt(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--to", "xql", "--profile", "seed"])
    out = capsys.readouterr().out

    assert code == 0
    assert "dataset = xdr_data" in out
    for name in SEED_NAMES:
        assert f'"{name}"' in out
