"""The readable terminal table, and the run summary as text for stderr."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rmmhunt.report.explain import explanation_lines
from rmmhunt.report.formats import format_time
from rmmhunt.report.model import RunSummary
from rmmhunt.report.safety import terminal_text

TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("_time", "time (UTC)", 27),
    ("agent_hostname", "host", 18),
    ("severity", "severity", 8),
    ("risk_score", "score", 5),
    ("kind", "kind", 15),
    ("tool", "tool", 22),
    ("action_process_image_path", "image", 48),
    ("actor_process_image_name", "parent", 20),
    ("actor_effective_username", "user", 20),
)


# Width of the context lines below each alert row, and destinations shown there.
CONTEXT_WIDTH = 160
MAX_DESTINATIONS = 4


def _cell(alert: dict[str, Any], key: str, width: int) -> str:
    value = alert.get(key)
    if value is None:
        text = "-"
    elif key == "_time":
        text = format_time(value)
    else:
        text = terminal_text(str(value))
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def render_table(alerts: list[dict[str, Any]]) -> str:
    """Render alerts as a fixed-width table, escaping any control characters."""
    if not alerts:
        return "No alerts.\n"
    header = "  ".join(title.ljust(width) for _, title, width in TABLE_COLUMNS)
    lines = [header.rstrip(), "  ".join("-" * width for _, _, width in TABLE_COLUMNS)]
    for alert in alerts:
        lines.append(
            "  ".join(
                _cell(_table_view(alert), key, width) for key, _, width in TABLE_COLUMNS
            ).rstrip()
        )
        lines.extend(context_lines(alert))
        lines.extend(
            _indent(terminal_text(line), CONTEXT_WIDTH) for line in explanation_lines(alert)
        )
    lines.append(f"{len(alerts)} alert(s).")
    return "\n".join(lines) + "\n"


def _table_view(alert: dict[str, Any]) -> dict[str, Any]:
    """Show the tool's own process in the image and parent columns, whatever the alert kind.

    In `rmm_activity` and `rmm_vendor_contact` alerts the tool or contacting process is the
    event's actor, and a persistence alert's tool is in the command it registers.
    """
    kind = alert.get("kind")
    if kind in ("rmm_activity", "rmm_vendor_contact"):
        chain = alert.get("causality_chain") or []
        parent = chain[0].get("image_name") if chain else None
        image = alert.get("actor_process_image_path") or alert.get("actor_process_image_name")
        return {**alert, "action_process_image_path": image, "actor_process_image_name": parent}
    if kind == "persistence":
        return {**alert, "action_process_image_path": alert.get("persistence_command")}
    return alert


def context_lines(alert: dict[str, Any], width: int = CONTEXT_WIDTH) -> list[str]:
    """Render an alert's causality chain and destinations as short indented lines.

    The chain lists image names from the nearest parent up, and is shown only when it goes
    beyond the parent column. Each destination is shown once, as its host name or else its
    address, with the ports contacted and `vendor` or `unknown`, vendor infrastructure first.
    """
    lines: list[str] = []
    chain = [entry.get("image_name") or "?" for entry in alert.get("causality_chain") or []]
    if len(chain) > 1:
        lines.append("chain: " + " < ".join(chain))

    remotes = _remotes(alert.get("destinations") or [])
    labels = [_remote_text(remote, ports, kind) for remote, (ports, kind) in remotes.items()]
    if len(labels) > MAX_DESTINATIONS:
        labels = [*labels[:MAX_DESTINATIONS], f"{len(labels) - MAX_DESTINATIONS} more"]
    if labels:
        lines.append("destinations: " + ", ".join(labels))

    return [_indent(terminal_text(line), width) for line in lines]


def _remotes(destinations: list[dict[str, Any]]) -> dict[str, tuple[list[int], str]]:
    """Group destinations by host name or address, with their ports and infrastructure."""
    ordered = sorted(destinations, key=lambda d: d.get("infrastructure") != "vendor")
    remotes: dict[str, tuple[list[int], str]] = {}
    for destination in ordered:
        remote = str(destination.get("host_name") or destination.get("address") or "?")
        infrastructure = str(destination.get("infrastructure") or "unknown")
        ports = remotes.setdefault(remote, ([], infrastructure))[0]
        port = destination.get("port")
        if isinstance(port, int) and port not in ports:
            ports.append(port)
    return remotes


def _remote_text(remote: str, ports: list[int], kind: str) -> str:
    text = remote + "".join(f":{port}" for port in ports[:1])
    if len(ports) > 1:
        text += f" (+{len(ports) - 1} ports)"
    return f"{text} ({kind})"


def _indent(line: str, width: int) -> str:
    text = "    " + line
    return text if len(text) <= width else text[: width - 1] + "…"


def render_summary_text(summary: RunSummary) -> str:
    """Render the run summary as a few lines for stderr."""
    skipped = ", ".join(
        f"{reason} {count}" for reason, count in sorted(summary.records_skipped.items())
    )
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.events_by_kind.items() if count)
    alerts = ", ".join(f"{kind} {count}" for kind, count in summary.alerts_by_kind.items())
    lines = [
        f"rmmhunt {summary.rmmhunt_version}, catalog {summary.catalog_version}, "
        f"profile {summary.profile}",
        f"files: {summary.files_read} read, {summary.files_failed} failed, "
        f"{len(summary.skipped_files)} skipped",
        f"records: {summary.records_read} read, {summary.records_normalised} normalised, "
        f"{sum(summary.records_skipped.values())} skipped ({skipped or 'none'})",
        f"events: {kinds or 'none'}; {summary.duplicates_merged} duplicate(s) merged; "
        f"{summary.duplicates_conflicting} conflicting duplicate(s) kept apart; "
        f"{summary.events_without_time} without a time",
        f"alerts: {summary.alerts} ({alerts or 'none'})",
    ]
    lines.extend(_triage_lines(summary))
    for failure in summary.failed_files[:20]:
        lines.append(f"failed: {terminal_text(failure.path)}: {terminal_text(failure.reason)}")
    if len(summary.failed_files) > 20:
        lines.append(f"failed: ... and {len(summary.failed_files) - 20} more (see --summary-json)")
    for entry in summary.skipped_files[:20]:
        lines.append(f"skipped: {terminal_text(entry.path)}: {terminal_text(entry.reason)}")
    if len(summary.skipped_files) > 20:
        more = len(summary.skipped_files) - 20
        lines.append(f"skipped: ... and {more} more (see --summary-json)")
    if not summary.accounting_closes:
        lines.append("WARNING: record accounting does not close; please report this as a bug")
    for limitation in summary.limitations:
        lines.append(f"note: {limitation}")
    return "\n".join(lines) + "\n"


def render_rows_table(rows: list[dict[str, Any]], columns: list[str], width: int = 40) -> str:
    """Render query result rows as a fixed-width table, each cell cut at `width` characters."""
    if not rows:
        return "No rows.\n"
    cells = [[_query_cell(row.get(column), width) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[index]) for line in cells))
        for index, column in enumerate(columns)
    ]
    header = "  ".join(column.ljust(w) for column, w in zip(columns, widths, strict=True))
    lines = [header.rstrip(), "  ".join("-" * w for w in widths)]
    for line in cells:
        lines.append(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        )
    lines.append(f"{len(rows)} row(s).")
    return "\n".join(lines) + "\n"


def _query_cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, datetime):
        text = format_time(value)
    else:
        text = terminal_text(str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def _triage_lines(summary: RunSummary) -> list[str]:
    """Describe the alerts by severity, and those that the inventory or a filter left out."""
    severities = ", ".join(f"{name} {count}" for name, count in summary.alerts_by_severity.items())
    lines = [f"severity: {severities}"] if severities else []
    if summary.inventory is not None:
        approvals = ", ".join(
            f"{approval_id} {count}"
            for approval_id, count in summary.suppressed_by_approval.items()
        )
        if summary.suppressed_listed is None:
            listing = "listed only with --show-suppressed"
        else:
            listing = f"{summary.suppressed_listed} listed"
        lines.append(
            f"suppressed by the inventory {terminal_text(summary.inventory)}: "
            f"{summary.alerts_suppressed} ({terminal_text(approvals) or 'none'}); {listing}"
        )
        # The scope shows what each approval that suppressed an alert leaves unrestricted.
        lines.extend(
            f"  {terminal_text(approval_id)}: {terminal_text(summary.approval_scopes[approval_id])}"
            for approval_id in summary.suppressed_by_approval
            if approval_id in summary.approval_scopes
        )
    if summary.alerts_below_min_severity:
        lines.append(f"below --min-severity: {summary.alerts_below_min_severity} not shown")
    return lines
