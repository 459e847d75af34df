"""The command line, in process, on the bundled example and the real public logs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.cli import ExitCode, main
from rmmhunt.cli import hunt as hunt_command
from rmmhunt.schema import SEED_FIELDS

REPOSITORY = Path(__file__).resolve().parents[1]
XDR_EXAMPLE = REPOSITORY / "examples" / "xdr" / "xdr_data.ndjson"
SEED_NAMES = {
    "anydesk.exe",
    "screenconnect.exe",
    "client.screenconnect.com",
    "optitune.exe",
    "syncrormm.exe",
    "splashtop.exe",
    "splashtopstreamer.exe",
}
PARSER_LOSS_REASONS = ("chunk_parse_error", "chunk_records_missing", "record_parse_error")


def _hunt_json(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    output = tmp_path / "alerts.json"
    summary = tmp_path / "summary.json"
    code = main(
        ["hunt", *args, "--format", "json", "--output", str(output), "--summary-json", str(summary)]
    )
    return code, json.loads(output.read_text()), json.loads(summary.read_text())


@pytest.fixture(scope="module")
def evtx_run(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("evtx_run")
    return _hunt_json(tmp_path, str(shared_data / "evtx"), "--category", "all", "-q")


def test_evtx_run_reads_every_file(evtx_run: tuple[int, Any, dict[str, Any]]) -> None:
    code, _, summary = evtx_run

    assert code == ExitCode.PARTIAL
    assert summary["files_read"] == 580
    assert summary["files_failed"] == 1
    assert summary["failed_files"][0]["path"].endswith("hayabusa-zero-byte-test1.evtx")
    assert "empty" in summary["failed_files"][0]["reason"]


def test_evtx_run_accounting_closes(evtx_run: tuple[int, Any, dict[str, Any]]) -> None:
    _, _, summary = evtx_run
    skipped = summary["records_skipped"]

    assert summary["records_read"] == summary["records_normalised"] + sum(skipped.values())
    assert summary["accounting_closes"] is True
    parser_losses = sum(skipped.get(reason, 0) for reason in PARSER_LOSS_REASONS)
    assert summary["records_read"] - parser_losses == 36_666


@pytest.mark.parametrize("kind", ["process_start", "service_install"])
def test_evtx_run_events_before_dedup(
    shared_data: Path,
    tmp_path: Path,
    evtx_kind_records: dict[Path, dict[str, Counter[int]]],
    kind: str,
) -> None:
    expected = sum(sum(by_kind[kind].values()) for by_kind in evtx_kind_records.values())

    _, _, summary = _hunt_json(tmp_path, str(shared_data / "evtx"), "--no-dedup", "-q")

    assert summary["duplicates_merged"] == 0
    assert summary["events_by_kind"][kind] == expected


def test_samples_run_without_crash_or_hang(shared_data: Path, tmp_path: Path) -> None:
    samples = shared_data / "evtx" / "omerbenamram-evtx" / "samples"
    names = sorted(path.name for path in samples.rglob("*") if path.is_file())
    summary_path = tmp_path / "summary.json"
    command = [
        sys.executable,
        "-c",
        "import sys; from rmmhunt.cli import main; sys.exit(main(sys.argv[1:]))",
        "hunt",
        str(samples),
        "--category",
        "all",
        "--format",
        "json",
        "--output",
        str(tmp_path / "alerts.json"),
        "--summary-json",
        str(summary_path),
        "-q",
    ]

    # A child process turns a crash of the native parser into a test failure. The timeout turns
    # a hang into one too, and is set far above a normal run because it is no speed check.
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "Traceback" not in completed.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["files_read"] == len(names)
    assert sorted(Path(entry["path"]).name for entry in summary["inputs"]) == names
    skipped = sum(summary["records_skipped"].values())
    assert summary["records_read"] == summary["records_normalised"] + skipped


def test_evtx_run_finds_teamviewer_service(evtx_run: tuple[int, Any, dict[str, Any]]) -> None:
    _, alerts, _ = evtx_run
    services = [a for a in alerts if a["kind"] == "service_install" and a["tool"] == "TeamViewer"]
    by_name = {a["action_service_name"]: a for a in services}

    service = by_name["TeamViewer 13"]
    assert service["_time"].startswith("2018-07-30T23:11:32.")
    assert service["action_process_image_path"] == (
        "C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe"
    )
    assert service["action_service_image_path"] == (
        '"C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe"'
    )
    assert service["source_file" if "source_file" in service else "sources"]
    assert by_name["TeamViewer VPN Adapter"]["matched_on"] == ["driver_name"]


def test_evtx_run_summary_keys(evtx_run: tuple[int, Any, dict[str, Any]]) -> None:
    _, _, summary = evtx_run

    for key in (
        "files_read",
        "files_failed",
        "failed_files",
        "records_read",
        "records_normalised",
        "records_skipped",
        "events_by_kind",
        "alerts_by_kind",
        "inputs",
        "rmmhunt_version",
        "catalog_version",
    ):
        assert key in summary, key
    assert summary["events_by_kind"]["process_start"] > 0
    assert summary["events_by_kind"]["service_install"] > 0
    assert all(len(entry["sha256"]) == 64 for entry in summary["inputs"])


def test_evtx_run_dual_use_tools_found(evtx_run: tuple[int, Any, dict[str, Any]]) -> None:
    _, alerts, _ = evtx_run
    images = {
        a["action_process_image_name"].lower() for a in alerts if a["kind"] == "process_start"
    }

    assert {"psexec64.exe", "plink.exe", "rdpwinst.exe"} <= images
    # RDPWInst.exe is also the parent of netsh.exe, which must not become an alert.
    assert "netsh.exe" not in images


def test_default_categories_skip_dual_use(shared_data: Path, tmp_path: Path) -> None:
    code, alerts, _ = _hunt_json(tmp_path, str(shared_data / "evtx"), "-q")

    assert code == ExitCode.PARTIAL
    assert {a["tool"] for a in alerts} == {"TeamViewer"}


@pytest.mark.parametrize(
    "category_options",
    [
        ["--category", "remote-admin,tunnel"],
        ["--category", "remote-admin", "--category", "tunnel"],
        ["--category", " Remote-Admin , TUNNEL "],
    ],
)
def test_category_option_forms(
    shared_data: Path, tmp_path: Path, category_options: list[str]
) -> None:
    _, alerts, summary = _hunt_json(tmp_path, str(shared_data / "evtx"), *category_options, "-q")

    assert summary["categories"] == ["remote-admin", "tunnel"]
    assert {a["tool"] for a in alerts} == {"PsExec", "PuTTY", "RDP Wrapper"}
    assert {a["category"] for a in alerts} == {"remote-admin", "tunnel"}


def test_seed_profile_selects_the_seed_rows(tmp_path: Path) -> None:
    expected = []
    for line in XDR_EXAMPLE.read_text().splitlines():
        row = json.loads(line)
        if (
            row.get("event_type", "").removeprefix("ENUM.") == "PROCESS"
            and row.get("event_sub_type", "").removeprefix("ENUM.") == "PROCESS_START"
            and row.get("agent_os_type", "").removeprefix("ENUM.") == "AGENT_OS_WINDOWS"
            and str(row.get("action_process_image_name", "")).lower() in SEED_NAMES
        ):
            expected.append(row["event_id"])

    code, alerts, _ = _hunt_json(tmp_path, str(XDR_EXAMPLE), "--profile", "seed", "-q")

    assert code == ExitCode.OK
    assert sorted(a["event_id"] for a in alerts) == sorted(expected)
    assert [list(a)[:15] for a in alerts] == [list(SEED_FIELDS)] * len(alerts)
    times = [a["_time"] for a in alerts]
    assert times == sorted(times, reverse=True)


def test_examples_run_clean(tmp_path: Path) -> None:
    examples = REPOSITORY / "examples"
    code, alerts, summary = _hunt_json(
        tmp_path, str(examples / "evtx"), str(examples / "xdr"), "-q"
    )

    assert code == ExitCode.OK
    assert summary["files_failed"] == 0
    assert {"AnyDesk", "ConnectWise ScreenConnect", "Splashtop"} <= {a["tool"] for a in alerts}


def test_table_output_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", str(XDR_EXAMPLE)])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "AnyDesk" in captured.out
    assert "records:" in captured.err


def test_csv_output_has_seed_header(tmp_path: Path) -> None:
    output = tmp_path / "alerts.csv"

    code = main(["hunt", str(XDR_EXAMPLE), "--format", "csv", "--output", str(output), "-q"])

    assert code == ExitCode.OK
    header = next(csv.reader(io.StringIO(output.read_text())))
    assert header[:15] == list(SEED_FIELDS)


def test_missing_input_exit_code(tmp_path: Path) -> None:
    assert main(["hunt", str(tmp_path / "absent.evtx"), "-q"]) == ExitCode.NO_INPUT


def test_unknown_category_is_usage_error() -> None:
    assert main(["hunt", str(XDR_EXAMPLE), "--category", "nope", "-q"]) == ExitCode.USAGE


def test_invalid_since_is_usage_error() -> None:
    assert main(["hunt", str(XDR_EXAMPLE), "--since", "yesterday", "-q"]) == ExitCode.USAGE


@pytest.mark.parametrize("option", ["--output", "--summary-json"])
def test_unwritable_output_is_usage_error(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-folder" / "out.json"

    code = main(["hunt", str(XDR_EXAMPLE), option, str(target), "-q"])

    assert code == ExitCode.USAGE
    error = capsys.readouterr().err
    assert option in error
    assert str(target) in error


def test_unexpected_error_is_internal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(hunt_command, "hunt_paths", fail)

    assert main(["hunt", str(XDR_EXAMPLE), "-q"]) == ExitCode.INTERNAL
    assert "internal error: ZeroDivisionError" in capsys.readouterr().err


def test_catalog_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list"]) == ExitCode.OK
    listing = capsys.readouterr().out
    assert "anydesk" in listing

    assert main(["catalog", "show", "AnyDesk", "--format", "json"]) == ExitCode.OK
    tool = json.loads(capsys.readouterr().out)
    assert "AnyDesk.exe" in tool["executables"]


def test_catalog_show_unknown_tool() -> None:
    assert main(["catalog", "show", "no-such-tool"]) == ExitCode.USAGE
