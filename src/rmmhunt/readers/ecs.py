"""Reader for Windows events in Elastic Common Schema: Winlogbeat and Elastic Agent NDJSON.

Winlogbeat and the Elastic Agent Windows integrations keep the original event under `winlog.*`
and add ECS fields. Field meanings: Elastic, "Winlogbeat fields" reference (`winlog.channel`,
`winlog.event_id`, `winlog.record_id`, `winlog.computer_name`, `winlog.provider_name`,
`winlog.version`, `winlog.event_data.*`) and "ECS Process Fields" (`process.executable`,
`process.command_line`, `process.pid`, `process.entity_id`, `process.pe.original_file_name`,
`process.hash.*`, and the same under `process.parent.*`). `@timestamp` is the event's
TimeCreated in these shippers.

ECS process fields take precedence, and `winlog.event_data` fills what they lack, because
ingest pipelines may drop or rename event data once they have mapped it. Elasticsearch exports
are unwrapped: NDJSON of `{"_index": ..., "_source": {...}}` documents and search responses
with `hits.hits[]._source`. Documents without `winlog`, such as Elastic Defend's endpoint events,
are read by `ecsprocess` from their ECS fields alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from rmmhunt.errors import InputError
from rmmhunt.readers._edr_records import RecordRejected, finish_row
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.ecsprocess import ecs_field, is_ecs_process_document, map_ecs_process
from rmmhunt.readers.eventtext import (
    SKIP_NOT_AN_EVENT,
    emit_row,
    event_id_number,
    event_time,
    text_value,
    warn_malformed,
)
from rmmhunt.readers.jsonstream import first_json_value, iter_json_records
from rmmhunt.readers.textstream import head_text
from rmmhunt.readers.winevent import SKIP_EVENT_NOT_USED, WinEvent
from rmmhunt.schema import Row

FORMAT_NAME: Final = "ecs-json"

_SYSMON_CHANNEL: Final = "Microsoft-Windows-Sysmon/Operational"

# EventData names filled from ECS fields, by ECS path. Sysmon writes the acting or created
# process as Image, ProcessId ...; Security 4688 writes the new process as NewProcessName and
# its creator as ParentProcessName and ProcessId.
_SYSMON_FROM_ECS: Final[tuple[tuple[str, str], ...]] = (
    ("Image", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("ProcessId", "process.pid"),
    ("ProcessGuid", "process.entity_id"),
    ("OriginalFileName", "process.pe.original_file_name"),
    ("ParentImage", "process.parent.executable"),
    ("ParentCommandLine", "process.parent.command_line"),
    ("ParentProcessId", "process.parent.pid"),
    ("ParentProcessGuid", "process.parent.entity_id"),
)
# Winlogbeat's Sysmon module moves these EventData values to ECS fields, by Sysmon event ID.
_SYSMON_EVENT_FROM_ECS: Final[dict[int, tuple[tuple[str, str], ...]]] = {
    3: (
        ("SourceIp", "source.ip"),
        ("SourcePort", "source.port"),
        ("DestinationIp", "destination.ip"),
        ("DestinationPort", "destination.port"),
        ("DestinationHostname", "destination.domain"),
        ("Protocol", "network.transport"),
    ),
    7: (("ImageLoaded", "file.path"),),
    11: (("TargetFilename", "file.path"),),
    12: (("TargetObject", "registry.path"),),
    13: (("TargetObject", "registry.path"),),
    14: (("TargetObject", "registry.path"),),
    22: (("QueryName", "dns.question.name"),),
}
_SECURITY_4688_FROM_ECS: Final[tuple[tuple[str, str], ...]] = (
    ("NewProcessName", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("NewProcessId", "process.pid"),
    ("ParentProcessName", "process.parent.executable"),
    ("ProcessId", "process.parent.pid"),
)


class EcsJsonReader:
    """Reader for Winlogbeat and Elastic Agent Windows events, bare or in Elasticsearch hits."""

    format_name = FORMAT_NAME

    def detect(self, head: bytes, name: str) -> bool:
        """Accept JSON whose first document, once unwrapped, has a `winlog` or ECS process."""
        first = first_json_value(head)
        if isinstance(first, Mapping):
            documents = list(_documents(first))
            if not documents:
                return False
            return isinstance(documents[0].get("winlog"), Mapping) or is_ecs_process_document(
                documents[0]
            )
        text = head_text(head)
        return text[:1] in ("{", "[") and '"winlog"' in text and '"hits"' in text

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per Windows event document, counting every document read or skipped."""
        for record in iter_json_records(source.stream, source.head):
            if record.error is not None:
                warn_malformed(stats, source, record.error, line=record.line)
                continue
            if not isinstance(record.value, Mapping):
                stats.skip(SKIP_NOT_AN_EVENT)
                continue

            for index, document in enumerate(_documents(record.value)):
                provenance = f"line {record.line}" + (f" hit {index}" if index else "")
                if not isinstance(document.get("winlog"), Mapping):
                    row = _endpoint_row(document, source, stats, options, record.line, provenance)
                    if row is not None:
                        yield row
                    continue
                event = ecs_event(document, stats, source, record.line)
                row = emit_row(
                    event, format_name=FORMAT_NAME, source=source, record=provenance, stats=stats
                )
                if row is not None:
                    yield row


def _endpoint_row(
    document: Mapping[str, object],
    source: InputFile,
    stats: ReadStats,
    options: ReadOptions,
    line: int,
    provenance: str,
) -> Row | None:
    """Map an ECS document without `winlog`, counting it as read or skipped."""
    if not is_ecs_process_document(document):
        stats.skip(SKIP_NOT_AN_EVENT)
        return None
    try:
        row = map_ecs_process(document, options)
    except RecordRejected as rejection:
        stats.warn(
            InputError(rejection.message, path=source.display, line=line, hint=rejection.hint)
        )
        stats.skip(rejection.reason)
        return None
    if row is None:
        stats.skip(SKIP_EVENT_NOT_USED)
        return None
    stats.records_read += 1
    return finish_row(row, source, FORMAT_NAME, provenance)


def _documents(value: Mapping[str, object]) -> Iterator[Mapping[str, object]]:
    """Unwrap `_source` and search responses; yield the value itself otherwise."""
    hits = ecs_field(value, "hits.hits")
    if isinstance(hits, list):
        for hit in hits:
            if isinstance(hit, Mapping):
                yield _source_of(hit)
        return
    yield _source_of(value)


def _source_of(value: Mapping[str, object]) -> Mapping[str, object]:
    source = value.get("_source")
    return source if isinstance(source, Mapping) else value


def ecs_event(
    document: Mapping[str, object], stats: ReadStats, source: InputFile, line: int
) -> WinEvent:
    """Build a WinEvent from one ECS document."""
    provider = text_value(
        ecs_field(document, "winlog.provider_name") or ecs_field(document, "event.provider")
    )
    channel = text_value(ecs_field(document, "winlog.channel"))
    if channel is None and provider and provider.casefold() == "microsoft-windows-sysmon":
        channel = _SYSMON_CHANNEL
    event_id = event_id_number(
        ecs_field(document, "winlog.event_id") or ecs_field(document, "event.code")
    )
    computer = (
        ecs_field(document, "winlog.computer_name")
        or ecs_field(document, "host.name")
        or ecs_field(document, "agent.hostname")
    )

    return WinEvent(
        channel=channel,
        event_id=event_id,
        provider=provider,
        computer=text_value(computer),
        record_id=event_id_number(ecs_field(document, "winlog.record_id")),
        time_created=event_time(document.get("@timestamp"), stats, source, line),
        data=_event_data(document, provider, event_id),
        version=event_id_number(ecs_field(document, "winlog.version")),
    )


def _event_data(
    document: Mapping[str, object], provider: str | None, event_id: int | None
) -> dict[str, object]:
    event_data = ecs_field(document, "winlog.event_data")
    data: dict[str, object] = dict(event_data) if isinstance(event_data, Mapping) else {}

    sysmon = provider is not None and provider.casefold() == "microsoft-windows-sysmon"
    if sysmon:
        pairs = _SYSMON_FROM_ECS + _SYSMON_EVENT_FROM_ECS.get(event_id or 0, ())
    else:
        pairs = _SECURITY_4688_FROM_ECS if event_id == 4688 else ()
    for name, path in pairs:
        value = ecs_field(document, path)
        if value is not None:
            data[name] = value

    if sysmon and "User" not in data:
        user = text_value(ecs_field(document, "user.name"))
        domain = text_value(ecs_field(document, "user.domain"))
        if user is not None:
            data["User"] = f"{domain}\\{user}" if domain else user

    if sysmon and "Hashes" not in data:
        hashes = ecs_field(document, "process.hash")
        if isinstance(hashes, Mapping):
            data["Hashes"] = ",".join(f"{kind.upper()}={value}" for kind, value in hashes.items())
    return data
