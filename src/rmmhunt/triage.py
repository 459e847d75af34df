"""Triage enriched alerts: launch context, inventory, scores, response steps, filter and order.

This is the last step before rendering. It runs after enrichment because scoring reads the
causality chains, destinations and prevalence that enrichment attaches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.inventory import Inventory, apply_inventory
from rmmhunt.launch.context import attach_launch_context
from rmmhunt.report.model import RunSummary
from rmmhunt.response import attach_response
from rmmhunt.scoring import SEVERITIES, order_alerts, score_alerts, severity_at_least

Alert = dict[str, Any]


@dataclass(frozen=True)
class TriageOptions:
    """How to triage and which alerts to report.

    Attributes:
        inventory: the approved-software inventory, or None when the user gave none.
        min_severity: report only alerts at or above this severity, or all when None.
        sort: `score` (highest first, then newest) or `time` (newest first).
        show_suppressed: also report the alerts that an approval covers, marked `suppressed`.
        now: the time that approvals are checked at for alerts without a time; the current
            time when None.
    """

    inventory: Inventory | None = None
    min_severity: str | None = None
    sort: str = "time"
    show_suppressed: bool = False
    now: datetime | None = None


@dataclass
class TriageResult:
    """The alerts to report and the counts of those left out.

    Attributes:
        alerts: the alerts to report, in the requested order.
        active: the alerts that no approval covers and that pass `min_severity`.
        suppressed: every alert that an approval covers, whatever its severity.
        below_min_severity: alerts that would be reported but that `min_severity` left out:
            the active ones, and with `show_suppressed` the suppressed ones too.
        suppressed_listed: the suppressed alerts in `alerts`, or None without `show_suppressed`.
    """

    alerts: list[Alert] = field(default_factory=list)
    active: list[Alert] = field(default_factory=list)
    suppressed: list[Alert] = field(default_factory=list)
    below_min_severity: int = 0
    suppressed_listed: int | None = None

    def suppressed_by_approval(self) -> dict[str, int]:
        """Count the suppressed alerts by the id of the approval that covered them."""
        counts = Counter(str(alert["approval"]["approval_id"]) for alert in self.suppressed)
        return dict(sorted(counts.items()))

    def alerts_by_severity(self) -> dict[str, int]:
        """Count the active alerts by severity, highest severity first."""
        counts = Counter(str(alert.get("severity")) for alert in self.active)
        return {name: counts.get(name, 0) for name in reversed(SEVERITIES)}


def triage(alerts: Sequence[Alert], catalog: Catalog, options: TriageOptions) -> TriageResult:
    """Set launch context, approval, score, reasons and response on every alert, then select.

    Every alert gets `launch_context`, `approval`, `reasons`, `risk_score`, `severity`,
    `response` and `suppressed`. Suppressed alerts are kept in the result, never dropped.

    Raises:
        ValueError: `options.sort` or `options.min_severity` is not a known value.
    """
    if options.min_severity is not None and options.min_severity.casefold() not in {
        name.casefold() for name in SEVERITIES
    }:
        raise ValueError(f"unknown severity {options.min_severity!r}")

    attach_launch_context(alerts, catalog)
    now = options.now or datetime.now(UTC)
    not_covered, suppressed = apply_inventory(alerts, options.inventory, now=now)
    score_alerts(alerts)
    attach_response(alerts)
    for alert in not_covered:
        alert["suppressed"] = False
    for alert in suppressed:
        alert["suppressed"] = True

    result = TriageResult(suppressed=order_alerts(suppressed, options.sort))
    for alert in not_covered:
        if options.min_severity is None or severity_at_least(
            alert["severity"], options.min_severity
        ):
            result.active.append(alert)
        else:
            result.below_min_severity += 1

    reported = list(result.active)
    if options.show_suppressed:
        listed = [
            alert
            for alert in suppressed
            if options.min_severity is None
            or severity_at_least(alert["severity"], options.min_severity)
        ]
        reported.extend(listed)
        result.suppressed_listed = len(listed)
        result.below_min_severity += len(suppressed) - len(listed)
    result.alerts = order_alerts(reported, options.sort)
    result.active = order_alerts(result.active, options.sort)
    return result


def add_triage_counts(
    summary: RunSummary, result: TriageResult, options: TriageOptions | None
) -> None:
    """Record the severity counts, the suppressed alerts and the filtered alerts in a summary."""
    summary.alerts_by_severity = result.alerts_by_severity()
    summary.alerts_suppressed = len(result.suppressed)
    summary.suppressed_by_approval = result.suppressed_by_approval()
    summary.alerts_below_min_severity = result.below_min_severity
    summary.suppressed_listed = result.suppressed_listed
    if options is not None and options.inventory is not None:
        summary.inventory = options.inventory.source
        summary.approval_scopes = {
            approval.id: approval.scope() for approval in options.inventory.approvals
        }
