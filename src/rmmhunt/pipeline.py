"""Load inputs into the dataset, and run the hunt with the summary it needs.

This module joins the layers: input discovery, readers, the dataset and the hunt. It returns
values and never prints; the CLI decides what to show.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmmhunt import __version__
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.dataset import Dataset
from rmmhunt.enrich import ALERT_KINDS, enrich, prepare_dataset
from rmmhunt.errors import InputError
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.inputs import (
    Discovery,
    InputFailure,
    describe_unknown,
    detect_reader,
    iter_paths,
    open_inputs,
)
from rmmhunt.readers.base import InputFile, Reader, ReadOptions, ReadStats
from rmmhunt.readers.registry import all_readers
from rmmhunt.report.model import FailedFile, InputEntry, RunSummary, SkippedFile
from rmmhunt.triage import TriageOptions, add_triage_counts, triage

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]


@dataclass
class LoadResult:
    """The dataset built from the inputs, with the accounting of how it was built."""

    dataset: Dataset
    stats: ReadStats
    discovery: Discovery
    files_read: int = 0
    formats: Counter[str] = field(default_factory=Counter)


def load_inputs(
    paths: Sequence[str],
    *,
    options: ReadOptions | None = None,
    readers: list[Reader] | None = None,
    dedup: bool = True,
    progress: ProgressCallback | None = None,
    database: str = ":memory:",
) -> LoadResult:
    """Read every input into a new dataset. One bad file or record never stops the others.

    The dataset is finalised and prepared (process links, parent users and causality actors
    filled in), so the hunt, XQL queries and hunt files all query the same `xdr_data`. Its
    connection is then restricted (`Dataset.restrict`), so SQL can reach no file or network.
    """
    options = options or ReadOptions()
    readers = readers if readers is not None else default_readers(options)
    result = LoadResult(dataset=Dataset(database), stats=ReadStats(), discovery=Discovery())

    for display, path in iter_paths(list(paths), result.discovery):
        for source in open_inputs(display, path, result.discovery):
            if progress is not None:
                progress(source.display)
            _read_one(source, readers, options, result)

    result.dataset.finalise(dedup=dedup)
    _warn_conflicts(result)
    prepare_dataset(result.dataset)
    # Every input is read by now, so the hunt and the queries need no file access.
    result.dataset.restrict()
    return result


def _warn_conflicts(result: LoadResult) -> None:
    # Each warning is located at the first copy's file; the message names every copy.
    for conflict in result.dataset.duplicate_conflicts:
        result.stats.warn(InputError(conflict.describe(), path=conflict.first_file))


def default_readers(options: ReadOptions) -> list[Reader]:
    """Return the registered readers, plus the field-map reader last when a map is given.

    The field map comes last so that files in a known format keep their own reader, and only
    files that no reader recognises are read through the user's map.

    Raises:
        InputError: the field map file is invalid.
    """
    readers = all_readers()
    if options.field_map is not None:
        from rmmhunt.readers.fieldmap import FieldMapReader

        readers.append(FieldMapReader(options.field_map))
    return readers


def _read_one(
    source: InputFile, readers: list[Reader], options: ReadOptions, result: LoadResult
) -> None:
    try:
        reader = detect_reader(source, readers)
    except Exception as error:
        # A bug in one reader's detection must not stop the other files.
        log.exception("format detection failed on %s", source.display)
        reason = f"internal error while detecting the format: {error!r}; please report it"
        result.discovery.failures.append(InputFailure(source.display, reason))
        return
    if reader is None:
        reason = describe_unknown(source, readers)
        result.discovery.failures.append(InputFailure(source.display, reason))
        return

    stats = result.stats
    try:
        for row in reader.read(source, stats, options):
            row.setdefault("source_format", reader.format_name)
            row.setdefault("source_file", source.display)
            result.dataset.add(row)
            stats.records_normalised += 1
    except InputError as error:
        result.discovery.failures.append(InputFailure(source.display, error.message))
        return
    except Exception as error:
        # A bug in one reader must not stop the other files, so it fails this file only.
        log.exception("reader %s failed on %s", reader.format_name, source.display)
        reason = f"internal error in the {reader.format_name} reader: {error!r}; please report it"
        result.discovery.failures.append(InputFailure(source.display, reason))
        return

    result.files_read += 1
    result.formats[reader.format_name] += 1
    _record_format(result.discovery, reader.format_name)


def _record_format(discovery: Discovery, format_name: str) -> None:
    # open_inputs appends a file's record before it yields the file's streams, so the last
    # record is the one that this stream came from.
    record = discovery.inputs[-1]
    formats = set(record.format.split(", ")) if record.format else set()
    formats.add(format_name)
    record.format = ", ".join(sorted(formats))


def build_summary(
    loaded: LoadResult,
    catalog: Catalog,
    options: HuntOptions,
    alerts: list[dict[str, Any]],
) -> RunSummary:
    """Collect the run's counts into the summary document."""
    stats = loaded.stats
    dataset = loaded.dataset
    discovery = loaded.discovery
    alerts_by_kind: Counter[str] = Counter(str(alert["kind"]) for alert in alerts)
    return RunSummary(
        rmmhunt_version=__version__,
        catalog_version=catalog.version,
        profile=options.profile,
        categories=sorted(options.categories),
        files_read=loaded.files_read,
        files_failed=len(discovery.failures),
        failed_files=[FailedFile(path=f.path, reason=f.reason) for f in discovery.failures],
        skipped_files=[SkippedFile(path=s.path, reason=s.reason) for s in discovery.skipped],
        records_read=stats.records_read,
        records_normalised=stats.records_normalised,
        records_skipped=dict(sorted(stats.skipped.items())),
        duplicates_merged=dataset.duplicates_removed,
        duplicates_conflicting=dataset.conflicting_events,
        events_without_time=dataset.count_rows("_time IS NULL"),
        events_by_kind=dataset.count_events_by_kind(),
        formats=dict(sorted(loaded.formats.items())),
        alerts=len(alerts),
        alerts_by_kind={kind: alerts_by_kind.get(kind, 0) for kind in _alert_kinds(alerts)},
        inputs=[
            InputEntry(
                path=i.path, sha256=i.sha256, size=i.size, format=i.format, members=i.members
            )
            for i in discovery.inputs
        ],
        warnings=stats.warnings,
        warning_count=stats.warning_count,
        limitations=runtime_notes(loaded),
    )


def runtime_notes(loaded: LoadResult) -> list[str]:
    """Describe gaps in this run's own data that can hide or weaken alerts."""
    dataset = loaded.dataset
    skipped = loaded.stats.skipped
    notes: list[str] = []

    no_command_line = dataset.count_rows(
        "action_evtlog_event_id = 4688 AND action_process_image_command_line IS NULL"
    )
    if no_command_line:
        notes.append(
            f"{no_command_line} Security 4688 process start(s) carry no command line; enable "
            "'Include command line in process creation events' to see RMM install options"
        )

    old_field_set = dataset.count_rows(
        "action_evtlog_event_id = 4688 AND action_process_username IS NULL"
    )
    if old_field_set:
        notes.append(
            f"{old_field_set} Security 4688 process start(s) name no account for the new "
            "process (the old field set, or TargetUserName '-')"
        )

    lost = sum(
        skipped.get(reason, 0)
        for reason in ("chunk_records_missing", "chunk_parse_error", "file_truncated")
    )
    if lost:
        notes.append(
            f"{lost} EVTX record(s) or chunk(s) were lost to damage or truncation; a chunk whose "
            "header is unreadable or cut off counts once, whatever it held"
        )

    conflicting = dataset.conflicting_events
    if conflicting:
        described = len(dataset.duplicate_conflicts)
        notes.append(
            f"{conflicting} event(s) have copies with the same event_id and time but different "
            f"content; each copy was kept and hunted (the first {described} are in the warnings)"
        )

    untimed = dataset.count_rows("_time IS NULL")
    if untimed:
        notes.append(f"{untimed} event(s) have no time; they sort last and escape --since/--until")
    return notes


def _alert_kinds(alerts: list[dict[str, Any]]) -> list[str]:
    kinds = list(ALERT_KINDS)
    kinds.extend(sorted({str(a["kind"]) for a in alerts} - set(kinds)))
    return kinds


def hunt_paths(
    paths: Sequence[str],
    catalog: Catalog,
    options: HuntOptions,
    *,
    read_options: ReadOptions | None = None,
    dedup: bool = True,
    progress: ProgressCallback | None = None,
    triage_options: TriageOptions | None = None,
) -> tuple[list[dict[str, Any]], RunSummary]:
    """Load the inputs, run the hunt, enrich, triage and score, and return alerts and summary.

    The alerts are those that `triage_options` selects, in its order. The summary counts those
    that the inventory suppressed or `min_severity` left out.
    """
    loaded = load_inputs(paths, options=read_options, dedup=dedup, progress=progress)
    try:
        alerts = run_hunt(loaded.dataset, catalog, options)
        alerts = enrich(loaded.dataset, catalog, options, alerts)
        triaged = triage(alerts, catalog, triage_options or TriageOptions())
        summary = build_summary(loaded, catalog, options, triaged.active)
        add_triage_counts(summary, triaged, triage_options)
    finally:
        loaded.dataset.close()
    return triaged.alerts, summary
