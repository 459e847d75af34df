"""The command line's checks before a run, its error messages and its exit codes."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog.loader import parse_tool
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Category, Tool
from rmmhunt.cli import ExitCode, build_parser, main
from rmmhunt.cli.common import parse_cli_time
from rmmhunt.readers.registry import all_readers

REPOSITORY = Path(__file__).resolve().parents[1]
XDR_EXAMPLE = REPOSITORY / "examples" / "xdr" / "xdr_data.ndjson"
README = REPOSITORY / "README.md"

VALID_TOOL = """\
id: sample-tool
name: Sample Tool
vendor: Example Ltd
category: rmm
description: A tool for these tests.
executables: [SampleTool.exe]
techniques: [T1219]
references:
  - url: https://example.org/sample
    covers: [executables]
"""


def _stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def _copy_example(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "events.ndjson"
    target.write_bytes(XDR_EXAMPLE.read_bytes())
    return target


def _deep_yaml(path: Path) -> Path:
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    return path


def _not_utf8(path: Path) -> Path:
    path.write_bytes(b"\xff\xfeid: x\n")
    return path


# Outputs and inputs


def test_output_naming_input_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _copy_example(tmp_path)
    before = events.read_bytes()

    code = main(["hunt", str(events), "--output", str(events), "-q"])

    assert code == ExitCode.USAGE
    assert events.read_bytes() == before
    assert "is an input" in capsys.readouterr().err


def test_summary_json_inside_input_folder_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _copy_example(tmp_path / "logs")
    before = events.read_bytes()

    code = main(["hunt", str(tmp_path / "logs"), "--summary-json", str(events), "-q"])

    assert code == ExitCode.USAGE
    assert events.read_bytes() == before
    assert "is an input" in capsys.readouterr().err


def test_output_missing_folder_rejected_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail_if_called(*args: object, **kwargs: object) -> None:
        raise AssertionError("the inputs were read before the output path was checked")

    monkeypatch.setattr("rmmhunt.cli.hunt.hunt_paths", fail_if_called)
    output = tmp_path / "missing" / "alerts.txt"

    code = main(["hunt", str(XDR_EXAMPLE), "--output", str(output)])

    assert code == ExitCode.USAGE
    assert "folder" in capsys.readouterr().err
    assert not output.exists()


def test_output_write_failure_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def reject_write(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", reject_write)

    code = main(["hunt", str(XDR_EXAMPLE), "--output", str(tmp_path / "alerts.txt"), "-q"])

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "cannot write" in err
    assert "internal error" not in err


def test_output_and_summary_same_file_rejected(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    args = ["hunt", str(XDR_EXAMPLE), "--output", str(target), "--summary-json", str(target)]
    assert main(args) == ExitCode.USAGE


def test_stdin_twice_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunt", "-", "-"]) == ExitCode.USAGE
    assert "standard input" in capsys.readouterr().err


def test_empty_folder_says_no_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()

    code = main(["hunt", str(tmp_path / "empty")])

    assert code == ExitCode.NO_INPUT
    assert "no input files found" in capsys.readouterr().err


def test_empty_zip_says_no_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w"):
        pass

    code = main(["hunt", str(archive)])

    assert code == ExitCode.NO_INPUT
    assert "no input files found" in capsys.readouterr().err


# Unexpected errors


def test_unexpected_error_exits_internal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("rmmhunt.cli.hunt.hunt_paths", explode)

    code = main(["hunt", str(XDR_EXAMPLE)])

    lines = _stderr_lines(capsys)
    assert code == ExitCode.INTERNAL
    assert len(lines) == 1
    assert "internal error" in lines[0]
    assert "report" in lines[0]
    assert "boom" in lines[0]


def test_unexpected_error_traceback_with_debug(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("rmmhunt.cli.hunt.hunt_paths", explode)
    caplog.set_level(logging.DEBUG, logger="rmmhunt")

    code = main(["-d", "hunt", str(XDR_EXAMPLE)])

    logged = [record for record in caplog.records if record.exc_info is not None]
    assert code == ExitCode.INTERNAL
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG


def test_closed_stdout_no_traceback(tmp_path: Path) -> None:
    program = "import sys; from rmmhunt.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", program, "hunt", str(XDR_EXAMPLE), "-q"]
    process = subprocess.Popen(
        [*command, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()

    assert process.wait() == ExitCode.PIPE_CLOSED
    assert "Traceback" not in stderr
    assert "internal error" not in stderr


@pytest.mark.parametrize("value", ["99999999999999999", "-99999999999999999", "2025-13-45"])
def test_since_out_of_range_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", str(XDR_EXAMPLE), f"--since={value}"])

    assert code == ExitCode.USAGE
    assert "--since" in capsys.readouterr().err


# Configuration files that cannot be read


def _config_args(option: str, path: Path) -> list[str]:
    if option == "--catalog":
        return ["--catalog", str(path.parent)]
    if option == "--inventory-columns":
        return ["--inventory", str(REPOSITORY / "examples" / "inventory.yaml"), option, str(path)]
    return [option, str(path)]


CONFIG_OPTIONS = ["--catalog", "--field-map", "--inventory", "--inventory-columns"]


@pytest.mark.parametrize("option", CONFIG_OPTIONS)
def test_config_not_utf8_exits_config(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _not_utf8(tmp_path / "bad.yaml")

    code = main(["hunt", str(XDR_EXAMPLE), *_config_args(option, path)])

    err = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert str(path) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("option", CONFIG_OPTIONS)
def test_config_deep_yaml_exits_config(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _deep_yaml(tmp_path / "deep.yaml")

    code = main(["hunt", str(XDR_EXAMPLE), *_config_args(option, path)])

    err = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    assert str(path) in err
    assert "nested too deeply" in err


@pytest.mark.parametrize("subcommand", [["catalog", "list"], ["catalog", "show", "anydesk"]])
def test_catalog_command_not_utf8_exits_config(subcommand: list[str], tmp_path: Path) -> None:
    _not_utf8(tmp_path / "bad.yaml")
    assert main([*subcommand, "--catalog", str(tmp_path)]) == ExitCode.CONFIG


def test_catalog_problems_one_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.yaml").write_text("a: 1\n", encoding="utf-8")

    code = main(["catalog", "list", "--catalog", str(tmp_path)])

    lines = _stderr_lines(capsys)
    assert code == ExitCode.CONFIG
    assert "7 problem(s)" in lines[0]
    assert len(lines) == 8
    assert all(str(tmp_path / "x.yaml") in line for line in lines[1:])
    assert not any("\\x0a" in line for line in lines)


# Catalog text and patterns


@pytest.mark.parametrize("pattern", ["*", "*.exe", "?*", "*.*", "??.exe", "**"])
def test_catalog_rejects_match_all_executable(pattern: str) -> None:
    text = VALID_TOOL.replace("[SampleTool.exe]", f"['{pattern}']")

    tool, errors = parse_tool(text, "sample-tool.yaml", "sample-tool")

    assert tool is None
    assert len(errors) == 1
    assert errors[0].path == "sample-tool.yaml"
    assert errors[0].message.startswith("executables")
    assert "matches every file name" in errors[0].message


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("install_paths: ['C:\\**']", "install_paths", "can match a file in any folder"),
        (
            "install_paths: ['C:\\Program Files\\X\\..\\..\\**']",
            "install_paths",
            "can match a file in any folder",
        ),
        ("domains: ['*.*']", "domains", "matches every"),
        ("drivers: ['*.sys']", "drivers", "matches every"),
    ],
)
def test_catalog_rejects_match_all_pattern(line: str, field: str, expected: str) -> None:
    text = VALID_TOOL + line + "\n"

    tool, errors = parse_tool(text, "sample-tool.yaml", "sample-tool")

    assert tool is None
    assert errors[0].path == "sample-tool.yaml"
    assert errors[0].line == VALID_TOOL.count("\n") + 1
    assert errors[0].message.startswith(field)
    assert expected in errors[0].message


def test_catalog_dot_dot_path_exits_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    tool_file = catalog / "sample-tool.yaml"
    tool_file.write_text(VALID_TOOL + "install_paths: ['C:\\Program Files\\X\\..\\..\\**']\n")
    events = tmp_path / "events.ndjson"
    events.write_text("", encoding="utf-8")

    code = main(["hunt", str(events), "-q", "--catalog", str(catalog)])

    error = capsys.readouterr().err
    assert code == ExitCode.CONFIG
    line = VALID_TOOL.count("\n") + 1
    assert f"{tool_file}:{line}:" in error
    assert "install_paths" in error


@pytest.mark.parametrize("pattern", ["AnyDesk*.exe", "*desk.exe", "tv_w?.exe"])
def test_catalog_accepts_narrow_pattern(pattern: str) -> None:
    text = VALID_TOOL.replace("[SampleTool.exe]", f"['{pattern}']")
    tool, errors = parse_tool(text, "sample-tool.yaml", "sample-tool")
    assert errors == []
    assert tool is not None


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("name: Sample Tool", 'name: "Sample\\e[31mTool"', "name"),
        ("vendor: Example Ltd", 'vendor: "Example\\rLtd"', "vendor"),
        ("description: A tool", 'description: "\\u202eA tool', "description"),
        ("https://example.org/sample", '"https://example.org/\\e]8;;x"', "references.0.url"),
        ("[SampleTool.exe]", '["Sample\\u200bTool.exe"]', "executables"),
    ],
)
def test_catalog_rejects_control_characters(old: str, new: str, field: str) -> None:
    text = VALID_TOOL.replace(old, new)
    if field == "description":
        text = text.replace("these tests.", 'these tests."')

    tool, errors = parse_tool(text, "sample-tool.yaml", "sample-tool")

    assert tool is None
    assert len(errors) == 1
    assert errors[0].path == "sample-tool.yaml"
    assert errors[0].message.startswith(f"{field}:")
    assert "control character" in errors[0].message


def test_catalog_allows_multiline_notes() -> None:
    text = VALID_TOOL + "notes: |\n  first line\n  second line\n"
    tool, errors = parse_tool(text, "sample-tool.yaml", "sample-tool")
    assert errors == []
    assert tool is not None


def _hostile_catalog() -> Catalog:
    # Built without validation, as a catalog from an older release could be.
    tool = Tool.model_construct(
        id="evil",
        name="Evil\x1b[31mRED\x1b]8;;http://x.example/\x1b\\\r\u202eX",
        vendor="Example",
        category=Category.RMM,
        description="desc\x1b[2J",
        executables=("evil.exe",),
        techniques=("T1219",),
    )
    return Catalog([tool], {"evil": "evil.yaml"})


@pytest.mark.parametrize(
    "subcommand", [["catalog", "list"], ["catalog", "show", "evil"], ["catalog", "show", "EVIL"]]
)
def test_catalog_output_escapes_controls(
    subcommand: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("rmmhunt.cli.catalog.load_catalog", lambda folders: _hostile_catalog())

    code = main(subcommand)

    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "\x1b" not in out
    assert "\r" not in out
    assert "\u202e" not in out
    assert "\\x1b" in out or "\\e" in out


def test_catalog_show_unknown_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["catalog", "show", "nope"])

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "not found" in err
    assert "<input>" not in err


# Time options


@pytest.mark.parametrize("value", ["+99:00", "+05:99", "+14:30", "-13:00", "UTC+15"])
def test_input_tz_out_of_range_rejected(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", str(XDR_EXAMPLE), f"--input-tz={value}"])

    assert code == ExitCode.USAGE
    assert "--input-tz" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["+14:00", "-12:00", "+05:45", "-0330", "UTC", "Z"])
def test_input_tz_in_range_accepted(value: str, tmp_path: Path) -> None:
    output = tmp_path / "alerts.json"
    args = ["hunt", str(XDR_EXAMPLE), f"--input-tz={value}", "--output", str(output), "-q"]
    assert main(args) == ExitCode.OK


@pytest.mark.parametrize("value", ["%Q", "%Y-%m-%d %H:%M:%S %", "%H:%M", "%d/%m/%Y", "%b %d %I:%M"])
def test_input_time_format_checked(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", str(XDR_EXAMPLE), f"--input-time-format={value}"])

    assert code == ExitCode.USAGE
    assert "--input-time-format" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["%d/%m/%Y %H:%M:%S", "%b %d, %Y %I:%M:%S %p", "%Y%m%d%H%M"])
def test_input_time_format_accepted(value: str, tmp_path: Path) -> None:
    output = tmp_path / "alerts.json"
    args = ["hunt", str(XDR_EXAMPLE), f"--input-time-format={value}", "--output", str(output)]
    assert main([*args, "-q"]) == ExitCode.OK


@pytest.mark.parametrize(("value", "code"), [("%H:%M", ExitCode.CONFIG), ("%d/%m/%Y %H:%M", 0)])
def test_field_map_time_format_checked(
    value: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    field_map = tmp_path / "map.yaml"
    field_map.write_text(
        f"format: csv\nfields:\n  agent_hostname: host\ntime_format: '{value}'\n",
        encoding="utf-8",
    )
    output = tmp_path / "alerts.json"
    args = ["hunt", str(XDR_EXAMPLE), "--field-map", str(field_map), "--output", str(output)]

    assert main([*args, "-q"]) == code
    if code == ExitCode.CONFIG:
        err = capsys.readouterr().err
        assert str(field_map) in err
        assert "time_format" in err


def test_since_date_is_day_start() -> None:
    assert parse_cli_time("2025-03-12", "--since") == datetime(2025, 3, 12, tzinfo=UTC)


def test_until_date_includes_day() -> None:
    expected = datetime(2025, 3, 12, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_cli_time("2025-03-12", "--until", end_of_day=True) == expected


def test_since_date_filters_events(tmp_path: Path) -> None:
    output = tmp_path / "alerts.json"
    args = ["hunt", str(XDR_EXAMPLE), "--format", "json", "--output", str(output), "-q"]

    assert main([*args, "--since", "2000-01-01"]) == ExitCode.OK
    everything = json.loads(output.read_text())
    assert main([*args, "--since", "2999-01-01"]) == ExitCode.OK
    nothing = json.loads(output.read_text())

    assert everything
    assert nothing == []


# Host patterns


def _fqdn_example(tmp_path: Path) -> Path:
    """Write the example export with every host name given a domain suffix."""
    lines = []
    for line in XDR_EXAMPLE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["agent_hostname"] = f"{record['agent_hostname']}.corp.local"
        lines.append(json.dumps(record))
    path = tmp_path / "fqdn.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _hunt_hosts(tmp_path: Path, source: Path, *hosts: str) -> set[str]:
    output = tmp_path / "alerts.json"
    args = ["hunt", str(source), "--format", "json", "--output", str(output), "-q"]
    for host in hosts:
        args.extend(["--host", host])
    assert main(args) == ExitCode.OK
    alerts: list[dict[str, Any]] = json.loads(output.read_text())
    return {str(alert["agent_hostname"]) for alert in alerts}


def test_host_matches_short_name(tmp_path: Path) -> None:
    source = _fqdn_example(tmp_path)
    assert _hunt_hosts(tmp_path, source, "fin-lt-07") == {"FIN-LT-07.corp.local"}


def test_host_matches_full_name(tmp_path: Path) -> None:
    source = _fqdn_example(tmp_path)
    assert _hunt_hosts(tmp_path, source, "FIN-LT-07.CORP.LOCAL") == {"FIN-LT-07.corp.local"}


def test_host_brackets_are_literal(tmp_path: Path) -> None:
    source = _fqdn_example(tmp_path)
    assert _hunt_hosts(tmp_path, source, "FIN-LT-0[7]") == set()
    assert _hunt_hosts(tmp_path, source, "FIN-LT-0?") == {"FIN-LT-07.corp.local"}


def test_host_short_name_no_partial(tmp_path: Path) -> None:
    source = _fqdn_example(tmp_path)
    assert _hunt_hosts(tmp_path, source, "fin-lt") == set()


# Documentation and packaging


def _hunt_option_strings() -> set[str]:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    hunt = commands.choices["hunt"]  # type: ignore[index]
    return {
        option
        for action in hunt._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }


def test_readme_lists_every_hunt_option() -> None:
    text = README.read_text(encoding="utf-8")
    missing = sorted(option for option in _hunt_option_strings() if f"`{option}" not in text)
    assert missing == []


def test_readme_lists_every_reader() -> None:
    text = README.read_text(encoding="utf-8")
    names = [reader.format_name for reader in all_readers()]
    missing = [name for name in names if f"`{name}`" not in text]
    assert missing == []


def test_readme_lists_every_alert_field(tmp_path: Path) -> None:
    output = tmp_path / "alerts.json"
    args = ["hunt", str(XDR_EXAMPLE), "--format", "json", "--output", str(output), "-q"]
    assert main(args) == ExitCode.OK
    alerts = json.loads(output.read_text())
    fields = {key for alert in alerts for key in alert}
    documented = set(re.findall(r"`([a-z0-9_]+)`", README.read_text(encoding="utf-8")))

    assert alerts
    assert sorted(fields - documented) == []


def test_pyproject_license_is_spdx() -> None:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = project["build-system"]["requires"]
    setuptools = next(item for item in requirements if item.startswith("setuptools"))

    assert project["project"]["license"] == "Apache-2.0"
    # Setuptools reads an SPDX license string from version 77.0.0 on.
    assert int(re.findall(r"\d+", setuptools)[0]) >= 77


def test_new_output_inside_input_folder_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "events.ndjson").write_bytes(XDR_EXAMPLE.read_bytes())
    output = folder / "alerts.ndjson"

    code = main(["hunt", str(folder), "--output", str(output), "--format", "ndjson", "-q"])

    assert code == ExitCode.USAGE
    assert not output.exists()


def test_hard_linked_output_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    source = folder / "events.ndjson"
    source.write_bytes(XDR_EXAMPLE.read_bytes())
    link = tmp_path / "alerts.ndjson"
    os.link(source, link)

    code = main(["hunt", str(folder), "--output", str(link), "-q"])

    assert code == ExitCode.USAGE
    assert source.read_bytes() == XDR_EXAMPLE.read_bytes()
