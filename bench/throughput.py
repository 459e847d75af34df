"""Measure rmmhunt's throughput and peak memory as ratios against baselines from the same run.

Each workload runs in a fresh Python process, so that its peak resident set size (RSS) is its
own. The parent runs the workloads in turn, `--repeat` times, so that a baseline and the workload
compared with it share the machine's load. Every figure is a median over the repeats.

Workloads, in pairs of baseline and measured:

- `evtx-parse`: pyevtx-rs alone (`PyEvtxParser.records_json()`), iterating every record of every
  `.evtx` file under the EVTX folder and going on past parser errors.
- `evtx-hunt`: `rmmhunt hunt` on the same folder, in process through `rmmhunt.cli.main`, with
  JSON output and the summary written to a temporary folder.
- `json-loads`: `json.loads` on every line of the large flat JSON archives, read with `zipfile`.
- `json-read`: rmmhunt's input layer (hash, unzip, spool) and the flat JSON reader on the same
  archives, with rows counted but not loaded into the dataset.
- `json-hunt`: `rmmhunt hunt` on the same archives.

Times exclude interpreter start-up and imports; they cover the work only. Usage:

    python bench/throughput.py [--data DIR] [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data"
EVTX_FOLDER = "evtx"
LARGE_JSON_GLOB = "json/Security-Datasets/compound/LSASS_campaign_0*/*.zip"

# Each measured workload and the baseline it is divided by.
BASELINE_OF = {
    "evtx-parse": "evtx-parse",
    "evtx-hunt": "evtx-parse",
    "json-loads": "json-loads",
    "json-read": "json-loads",
    "json-hunt": "json-loads",
}
PACKAGES = ("rmmhunt", "evtx", "duckdb", "pyarrow", "pydantic")


@dataclass
class Sample:
    """One run of one workload: its records, its work time and its process's peak RSS."""

    workload: str
    records: int
    seconds: float
    peak_rss_kib: int


# Workloads. Each runs in the worker process and returns the number of records it handled.


def evtx_files(data: Path) -> list[Path]:
    """Return every `.evtx` file under the EVTX folder, in sorted order."""
    return sorted((data / EVTX_FOLDER).rglob("*.evtx"))


def large_json_archives(data: Path) -> list[Path]:
    """Return the large flat JSON archives, in sorted order."""
    archives = sorted(data.glob(LARGE_JSON_GLOB))
    if not archives:
        raise SystemExit(f"no archives match {LARGE_JSON_GLOB} under {data}; check --data")
    return archives


def run_evtx_parse(data: Path) -> int:
    import evtx

    records = 0
    for path in evtx_files(data):
        try:
            parser = evtx.PyEvtxParser(str(path))
        except (OSError, RuntimeError):
            # pyevtx-rs cannot open the empty file, which rmmhunt counts as a failed file.
            continue
        iterator = parser.records_json()
        while True:
            try:
                next(iterator)
            except StopIteration:
                break
            except RuntimeError:
                continue
            records += 1
    return records


def run_json_loads(data: Path) -> int:
    records = 0
    for archive in large_json_archives(data):
        with zipfile.ZipFile(archive) as opened:
            for member in opened.namelist():
                with opened.open(member) as stream:
                    for line in stream:
                        if line.strip():
                            json.loads(line)
                            records += 1
    return records


def run_json_read(data: Path) -> int:
    from rmmhunt.inputs import Discovery, detect_reader, iter_paths, open_inputs
    from rmmhunt.readers.base import ReadOptions, ReadStats
    from rmmhunt.readers.flatjson import FlatJsonReader

    reader = FlatJsonReader()
    stats = ReadStats()
    discovery = Discovery()
    paths = [str(path) for path in large_json_archives(data)]
    for display, path in iter_paths(paths, discovery):
        for source in open_inputs(display, path, discovery):
            if detect_reader(source, [reader]) is None:
                raise SystemExit(f"the flat JSON reader rejected {source.display}; check --data")
            for _ in reader.read(source, stats, ReadOptions()):
                pass
    if discovery.failures:
        raise SystemExit(f"failed to read inputs: {discovery.failures}")
    return stats.records_read


def run_hunt(paths: list[Path]) -> int:
    from rmmhunt.cli import main

    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as folder:
        summary_path = Path(folder) / "summary.json"
        arguments = [
            "hunt",
            *(str(path) for path in paths),
            "--format",
            "json",
            "--output",
            str(Path(folder) / "alerts.json"),
            "--summary-json",
            str(summary_path),
            "-q",
        ]
        code = main(arguments)
        if code not in (0, 3):
            raise SystemExit(f"rmmhunt hunt failed with exit code {code}")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return int(summary["records_read"])


WORKLOADS: dict[str, Callable[[Path], int]] = {
    "evtx-parse": run_evtx_parse,
    "evtx-hunt": lambda data: run_hunt([data / EVTX_FOLDER]),
    "json-loads": run_json_loads,
    "json-read": run_json_read,
    "json-hunt": lambda data: run_hunt(large_json_archives(data)),
}


def run_worker(workload: str, data: Path) -> None:
    """Run one workload in this process and print its sample as one JSON line."""
    # Import before the clock starts, so that the time covers the work alone.
    if workload == "evtx-parse":
        import evtx  # noqa: F401
    elif workload != "json-loads":
        import rmmhunt.cli  # noqa: F401

    start = time.perf_counter()
    records = WORKLOADS[workload](data)
    seconds = time.perf_counter() - start

    # NOTE: ru_maxrss is in KiB on Linux but in bytes on macOS, so the figures assume Linux.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": records, "seconds": seconds, "peak_rss_kib": peak}))


# The parent: repeats, medians, ratios and the report.


def measure(workload: str, data: Path) -> Sample:
    """Run one workload in a fresh interpreter and return its sample."""
    command = [sys.executable, __file__, "--worker", workload, "--data", str(data)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"workload {workload} failed:\n{completed.stderr}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(workload, result["records"], result["seconds"], result["peak_rss_kib"])


def run_all(data: Path, workloads: list[str], repeat: int) -> dict[str, list[Sample]]:
    """Run every workload `repeat` times, interleaved, and return the samples by workload."""
    samples: dict[str, list[Sample]] = {name: [] for name in workloads}
    for round_number in range(1, repeat + 1):
        for name in workloads:
            sample = measure(name, data)
            samples[name].append(sample)
            print(
                f"round {round_number}/{repeat} {name}: {sample.records} records in "
                f"{sample.seconds:.2f} s, peak RSS {sample.peak_rss_kib / 1024:.0f} MiB",
                file=sys.stderr,
            )
    return samples


def summarise(samples: dict[str, list[Sample]]) -> list[dict[str, Any]]:
    """Reduce the samples to one line per workload: medians, spread and ratios."""
    medians = {name: statistics.median(s.seconds for s in runs) for name, runs in samples.items()}
    lines = []
    for name, runs in samples.items():
        baseline = BASELINE_OF[name]
        records = {s.records for s in runs}
        if len(records) != 1:
            raise SystemExit(f"workload {name} handled different record counts: {records}")
        median = medians[name]
        lines.append(
            {
                "workload": name,
                "baseline": baseline,
                "records": runs[0].records,
                "median_seconds": median,
                "min_seconds": min(s.seconds for s in runs),
                "max_seconds": max(s.seconds for s in runs),
                "records_per_second": runs[0].records / median if median else None,
                "time_ratio": median / medians[baseline] if baseline in medians else None,
                "round_ratio_median": round_ratio_median(runs, samples.get(baseline)),
                "median_peak_rss_mib": statistics.median(s.peak_rss_kib for s in runs) / 1024,
                "max_peak_rss_mib": max(s.peak_rss_kib for s in runs) / 1024,
            }
        )
    return lines


def round_ratio_median(runs: list[Sample], baseline_runs: list[Sample] | None) -> float | None:
    """Return the median of each round's time divided by its baseline's time in that round.

    The two runs of a round are close in time, so this ratio is less sensitive than the ratio
    of medians to load that changes between rounds.
    """
    if not baseline_runs:
        return None
    ratios = [run.seconds / base.seconds for run, base in zip(runs, baseline_runs, strict=True)]
    return statistics.median(ratios)


def environment() -> dict[str, Any]:
    """Describe the machine, the interpreter and the package versions behind the figures."""
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "system": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": versions,
    }


def markdown_table(lines: list[dict[str, Any]]) -> str:
    """Render the summary lines as a Markdown table."""
    rows = [
        "| workload | baseline | records | median s | min s | max s | records/s "
        "| time ÷ baseline (of medians) | time ÷ baseline (median of rounds) "
        "| peak RSS MiB (median, max) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for line in lines:
        rows.append(
            f"| `{line['workload']}` | `{line['baseline']}` | {line['records']:,} "
            f"| {line['median_seconds']:.2f} | {line['min_seconds']:.2f} "
            f"| {line['max_seconds']:.2f} | {line['records_per_second']:,.0f} "
            f"| {format_ratio(line['time_ratio'])} | {format_ratio(line['round_ratio_median'])} "
            f"| {line['median_peak_rss_mib']:.0f}, {line['max_peak_rss_mib']:.0f} |"
        )
    return "\n".join(rows) + "\n"


def format_ratio(ratio: float | None) -> str:
    return f"{ratio:.2f}" if ratio is not None else "n/a"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public test logs (default: shared/data beside the repository)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="number of runs of each workload (default: 5)"
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="run only this workload and its baseline (repeatable; default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--worker", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def selected_workloads(requested: list[str] | None) -> list[str]:
    """Return the requested workloads with their baselines, in the order of WORKLOADS."""
    if not requested:
        return list(WORKLOADS)
    selected = set(requested) | {BASELINE_OF[name] for name in requested}
    return [name for name in WORKLOADS if name in selected]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures as Markdown; return the exit code."""
    arguments = parse_arguments(argv)
    if arguments.worker:
        run_worker(arguments.worker, arguments.data)
        return 0
    if arguments.repeat < 1:
        raise SystemExit("--repeat must be 1 or more")
    if not arguments.data.is_dir():
        raise SystemExit(f"data folder not found: {arguments.data}; pass --data DIR")

    load_before = os.getloadavg()
    samples = run_all(arguments.data, selected_workloads(arguments.workload), arguments.repeat)
    load_after = os.getloadavg()

    lines = summarise(samples)
    report = {
        "environment": environment(),
        "repeat": arguments.repeat,
        "load_average_1_5_15_before": load_before,
        "load_average_1_5_15_after": load_after,
        "results": lines,
    }
    print(markdown_table(lines))
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
