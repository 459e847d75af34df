"""Short text lines that explain an alert's score and approval under its table row."""

from __future__ import annotations

from typing import Any


def explanation_lines(alert: dict[str, Any]) -> list[str]:
    """Return the lines that explain one alert: its reasons with weights, and its approval.

    The lines are not escaped: they quote telemetry and inventory values, so the caller must
    pass them through `safety.terminal_text` before printing.
    """
    lines: list[str] = []
    reasons = [reason for reason in alert.get("reasons") or [] if isinstance(reason, dict)]
    if reasons:
        parts = [f"{reason.get('id')} {int(reason.get('weight') or 0):+d}" for reason in reasons]
        lines.append(f"reasons: {', '.join(parts)}")

    approval = alert.get("approval")
    if isinstance(approval, dict) and approval.get("status") in ("approved", "outside_approval"):
        label = "suppressed" if alert.get("suppressed") else "approval"
        lines.append(f"{label}: {approval.get('reason')}")
    return lines
