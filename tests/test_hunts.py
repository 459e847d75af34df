"""Hunt files: the format's validation, the built-in hunts and running a user's hunt file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.cli import ExitCode, main
from rmmhunt.errors import QueryError
from rmmhunt.hunt import BASE_RISK_SCORE, BASE_SEVERITY, SEED_TECHNIQUES, HuntOptions
from rmmhunt.hunts.loader import builtin_hunts, find_hunt, load_hunt_file, parse_hunt
from rmmhunt.hunts.render import render_hunt_xql
from rmmhunt.hunts.run import run_hunt_file
from rmmhunt.pipeline import load_inputs
from rmmhunt.schema import SEED_FIELDS
from rmmhunt.xql import XqlError, parse

REPOSITORY = Path(__file__).resolve().parents[1]
HUNTS_FOLDER = REPOSITORY / "src" / "rmmhunt" / "hunts"
EXAMPLES = [str(REPOSITORY / "examples" / "evtx"), str(REPOSITORY / "examples" / "xdr")]
HUNT_QUERY = REPOSITORY / "tests" / "fixtures" / "xql" / "rmm_execution.xql"

FRONT_MATTER = """\
---
id: Site-AnyDesk-Starts
name: AnyDesk starts on workstations
risk_score: 75
severity: High
attack:
  - tactic: TA0011
    tactic_name: Command and Control
    technique: T1219.002
    technique_name: Remote Desktop Software
false_positives: [Help desk sessions.]
version_history:
  - version: "1.0"
    date: 2025-01-02
    notes: First version.
---
"""
USER_QUERY = """\
filter event_sub_type = ENUM.PROCESS_START and action_process_image_name = "anydesk.exe"
| fields _time, agent_hostname, action_process_image_name
| sort desc _time
"""
USER_HUNT = f"{FRONT_MATTER}\n# AnyDesk starts\n\nProse.\n\n```xql\n{USER_QUERY}```\n"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _write(tmp_path: Path, text: str, name: str = "hunt.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_hunts_load(catalog: Catalog) -> None:
    hunts = builtin_hunts(catalog)

    assert [hunt.id for hunt in hunts] == ["HuntQuery-Windows-RMM-Abuse", "rmmhunt-rmm-tools"]


def test_builtin_hunt_matches_native_scores(catalog: Catalog) -> None:
    for hunt in builtin_hunts(catalog):
        assert hunt.metadata.risk_score == BASE_RISK_SCORE, hunt.id
        assert hunt.metadata.severity == BASE_SEVERITY, hunt.id
        assert tuple(hunt.metadata.techniques) == SEED_TECHNIQUES, hunt.id


def test_builtin_files_hold_no_query(catalog: Catalog) -> None:
    # The catalog is the one source of truth, so no built-in file contains a hand-written query.
    files = sorted(HUNTS_FOLDER.glob("*.md"))

    assert len(files) == len(builtin_hunts(catalog))
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "```xql" not in text, path.name
        assert "anydesk.exe" not in text.lower(), path.name


def test_rmm_hunt_query_is_rendered(catalog: Catalog, fixtures: Path) -> None:
    hunt = find_hunt(builtin_hunts(catalog), "rmmhunt-rmm-tools")
    overridden = load_catalog([fixtures / "catalog" / "override"])
    rendered = find_hunt(builtin_hunts(overridden), "rmmhunt-rmm-tools")

    assert hunt.query.text == render_hunt_xql(catalog, "default", ["rmm", "remote-desktop"])
    assert '"siteagent.exe"' not in hunt.query.text
    assert '"siteagent.exe"' in rendered.query.text


def test_seed_hunt_query_equals_verbatim(catalog: Catalog) -> None:
    hunt = find_hunt(builtin_hunts(catalog), "huntquery-windows-rmm-abuse")
    verbatim = parse(HUNT_QUERY.read_text(encoding="utf-8"))

    assert parse(hunt.query.text).to_xql() == verbatim.to_xql()
    assert hunt.metadata.version_history[0].version == "1.0"
    assert hunt.metadata.false_positive_rate == "High"
    assert len(hunt.metadata.response) == 4


def test_user_hunt_parses(catalog: Catalog) -> None:
    hunt = parse_hunt(USER_HUNT, "site.md", catalog)

    assert hunt.id == "Site-AnyDesk-Starts"
    assert hunt.metadata.techniques == ["T1219.002"]
    assert hunt.query.text == USER_QUERY
    assert hunt.query.path == "site.md"
    assert hunt.query.first_line == 23


INVALID_HUNTS = [
    ("no front matter", "# Hunt\n", 1, "does not start with YAML front matter"),
    (
        "bad yaml",
        FRONT_MATTER.replace("severity: High", "severity: [High"),
        6,
        "invalid YAML in the front matter",
    ),
    (
        "unknown key",
        FRONT_MATTER.replace("severity: High", "severity: High\nsevrity: High"),
        6,
        "sevrity: Extra inputs are not permitted",
    ),
    (
        "score out of range",
        FRONT_MATTER.replace("risk_score: 75", "risk_score: 700"),
        4,
        "risk_score: Input should be less than or equal to 100",
    ),
    (
        "bad technique",
        FRONT_MATTER.replace("technique: T1219.002", "technique: 1219"),
        9,
        "attack.0.technique",
    ),
    ("no xql block", FRONT_MATTER + "\nProse only.\n", None, "no ```xql code block"),
    (
        "two xql blocks",
        FRONT_MATTER + "\n```xql\nlimit 1\n```\n\n```xql\nlimit 2\n```\n",
        22,
        "2 ```xql code blocks",
    ),
    (
        "catalog query and block",
        FRONT_MATTER.removesuffix("---\n")
        + "catalog_query: {profile: seed}\n---\n```xql\nx\n```\n",
        None,
        "both a catalog_query and an ```xql block",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [case[1:] for case in INVALID_HUNTS],
    ids=[case[0] for case in INVALID_HUNTS],
)
def test_invalid_hunt_names_line(
    catalog: Catalog, text: str, line: int | None, message: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse_hunt(text, "bad.md", catalog)

    assert message in caught.value.message
    assert caught.value.path == "bad.md"
    assert caught.value.line == line


def test_query_error_counts_file_lines(catalog: Catalog, tmp_path: Path) -> None:
    path = _write(tmp_path, USER_HUNT.replace("| sort desc _time", "| bin _time span = 1h"))
    hunt = load_hunt_file(path, catalog)

    with pytest.raises(XqlError) as caught:
        hunt.query.parse()

    assert str(caught.value).startswith(f"{path}:25:3: unsupported stage 'bin'")


def test_missing_hunt_file_fails(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="failed to read the hunt file"):
        load_hunt_file(tmp_path / "absent.md", catalog)


def test_unknown_hunt_id_fails(catalog: Catalog) -> None:
    with pytest.raises(QueryError, match="hunt 'nope' not found"):
        find_hunt(builtin_hunts(catalog), "nope")


def test_hunt_file_rows_become_alerts(catalog: Catalog) -> None:
    hunt = parse_hunt(USER_HUNT, "site.md", catalog)
    loaded = load_inputs(EXAMPLES)
    try:
        everything = run_hunt_file(loaded.dataset, hunt, HuntOptions())
        ws03 = run_hunt_file(loaded.dataset, hunt, HuntOptions(hosts=("ws03*",)))
    finally:
        loaded.dataset.close()

    assert everything.columns == [
        "_time",
        "agent_hostname",
        "action_process_image_name",
        "hunt_id",
        "hunt_name",
        "kind",
        "risk_score",
        "severity",
        "mitre_techniques",
    ]
    assert len(everything.alerts) == 6
    assert {alert["risk_score"] for alert in everything.alerts} == {75}
    assert {alert["severity"] for alert in everything.alerts} == {"High"}
    assert everything.alerts[0]["mitre_techniques"] == ["T1219.002"]
    assert everything.alerts[0]["kind"] == "hunt"
    assert [alert["agent_hostname"] for alert in ws03.alerts] == ["WS03.corp.local"] * 3


def _json(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    output = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    code = main([*args, "--format", "json", "--output", str(output), "-q"])
    return code, json.loads(output.read_text(encoding="utf-8"))


def test_hunt_option_runs_user_file(tmp_path: Path) -> None:
    path = _write(tmp_path, USER_HUNT)

    code, alerts = _json(tmp_path, "hunt", "--hunt", str(path), *EXAMPLES)

    assert code == ExitCode.OK
    assert len(alerts) == 6
    assert alerts[0]["hunt_id"] == "Site-AnyDesk-Starts"
    assert alerts[0]["severity"] == "High"


def test_builtin_seed_file_equals_profile(tmp_path: Path) -> None:
    seed_file = HUNTS_FOLDER / "windows-rmm-abuse.md"

    code, alerts = _json(tmp_path, "hunt", "--hunt", str(seed_file), *EXAMPLES)
    _, expected = _json(tmp_path, "hunt", "--profile", "seed", *EXAMPLES)

    assert code == ExitCode.OK
    assert expected
    assert [[alert[name] for name in SEED_FIELDS] for alert in alerts] == [
        [alert[name] for name in SEED_FIELDS] for alert in expected
    ]
    assert {alert["risk_score"] for alert in alerts} == {60}


def test_hunt_option_rejects_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, USER_HUNT)

    code = main(["hunt", "--hunt", str(path), "--profile", "seed", *EXAMPLES])

    assert code == ExitCode.USAGE
    assert "leave out --profile and --category" in capsys.readouterr().err


def test_hunt_option_reports_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, USER_HUNT.replace("agent_hostname,", "agent_hostnam,"))

    code = main(["hunt", "--hunt", str(path), *EXAMPLES])

    assert code == ExitCode.USAGE
    assert f"{path}:24:17: unknown column 'agent_hostnam'" in capsys.readouterr().err


def test_now_needs_hunt_option(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", "--now", "2025-01-01T00:00:00Z", *EXAMPLES])

    assert code == ExitCode.USAGE
    assert "--now applies only to --hunt FILE" in capsys.readouterr().err


def test_hunts_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunts", "list", "--format", "json"]) == ExitCode.OK
    rows = json.loads(capsys.readouterr().out)

    assert [row["id"] for row in rows] == ["HuntQuery-Windows-RMM-Abuse", "rmmhunt-rmm-tools"]
    assert rows[1]["query"] == "catalog profile default"
    assert rows[1]["techniques"] == "T1219, T1133"


def test_hunts_show_renders_xql(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunts", "show", "rmmhunt-rmm-tools"]) == ExitCode.OK
    text = capsys.readouterr().out

    assert "id: rmmhunt-rmm-tools" in text
    assert "version_history:" in text
    assert '"anydesk.exe",' in text
    assert "| sort desc _time" in text


def test_hunts_show_xql_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunts", "show", "rmmhunt-rmm-tools", "--format", "xql"]) == ExitCode.OK
    query = _write(tmp_path, capsys.readouterr().out, "rmm.xql")

    code, rows = _json(tmp_path, "xql", "--file", str(query), *EXAMPLES)
    _, alerts = _json(tmp_path, "hunt", *EXAMPLES)

    assert code == ExitCode.OK
    # The query expresses the hunt's two base kinds; context alerts come from enrichment.
    base = [a for a in alerts if a["kind"] in ("process_start", "service_install")]
    assert rows == [{name: alert[name] for name in SEED_FIELDS} for alert in base]


def test_hunts_show_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, USER_HUNT)

    assert main(["hunts", "show", str(path), "--format", "json"]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)

    assert document["id"] == "Site-AnyDesk-Starts"
    assert document["xql"] == USER_QUERY
    assert document["version_history"][0]["date"] == "2025-01-02"


def test_hunts_show_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunts", "show", "nope"]) == ExitCode.USAGE
    assert "hunt 'nope' not found" in capsys.readouterr().err


def test_hunts_show_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.md"

    assert main(["hunts", "show", str(missing)]) == ExitCode.USAGE
    assert f"{missing}: failed to read the hunt file" in capsys.readouterr().err


def test_hunt_option_fails_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, USER_HUNT.replace("| sort desc _time", "| sort desc tim"))

    code = main(["hunt", "--hunt", str(path), *EXAMPLES])
    error = capsys.readouterr().err

    assert code == ExitCode.USAGE
    assert f"{path}:25:13: unknown column 'tim'" in error
    assert "files:" not in error, "a bad query must fail before any input is read"
