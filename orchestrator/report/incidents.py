"""What happened to the night besides the plan: alerts (decisions, latency chain, error-box
report) and device faults with their recoveries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from orchestrator.model import (
    Alert,
    AlertDecision,
    DeviceStatus,
    ErrorBoxReport,
    LogEntry,
    MajordomeHistory,
)
from orchestrator.report.weather import iso

FAULT_LOG_LEVELS = ("WARNING", "ERROR", "CRITICAL")


def alerts(session, start: datetime, end: datetime) -> list[dict]:
    alerts = list(
        session.scalars(
            select(Alert)
            .where(Alert.received >= start, Alert.received <= end)
            .order_by(Alert.received, Alert.id)
        )
    )
    decisions: dict[int, list[dict]] = defaultdict(list)
    if alerts:
        for d in session.scalars(
            select(AlertDecision)
            .where(AlertDecision.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertDecision.time, AlertDecision.id)
        ):
            decisions[d.alert_id].append(
                {"time": iso(d.time), "action": d.action, "reason": d.reason}
            )
    boxes: dict[int, dict] = {}
    if alerts:
        for box in session.scalars(
            select(ErrorBoxReport)
            .where(ErrorBoxReport.alert_id.in_([a.id for a in alerts]))
            .order_by(ErrorBoxReport.created, ErrorBoxReport.id)
        ):  # the latest report of each alert
            boxes[box.alert_id] = {
                "created": iso(box.created),
                "images": box.n_images,
                "candidates": box.n_candidates,
            }
    out = []
    for a in alerts:
        steps = {k: v for k, v in (a.latency_ms or {}).items() if k != "arrived_unix"}
        chain = [
            {"step": k, "ms": float(v)} for k, v in sorted(steps.items(), key=lambda kv: kv[1])
        ]
        out.append(
            {
                "id": a.id,
                "mission": a.mission,
                "notice_type": a.notice_type,
                "trigger_id": a.trigger_id,
                "kind": a.kind,
                "source": a.source,
                "status": a.status,
                "reason": a.reason,
                "received": iso(a.received),
                "event_time": iso(a.event_time),
                "ra_deg": a.ra_deg,
                "dec_deg": a.dec_deg,
                "error_radius_deg": a.error_radius_deg,
                "request_id": a.request_id,
                "latency_chain": chain,
                "decisions": decisions.get(a.id, []),
                "error_box": boxes.get(a.id),
            }
        )
    return out


def faults(
    session, start: datetime, end: datetime, sequences: list[dict], telescope: str = "main"
) -> list[dict]:
    """Device faults and recoveries: the majordome's error state (entered, left), warnings
    and errors of the log table, device failures of sequences, devices in error now."""
    history = list(
        session.scalars(
            select(MajordomeHistory)
            .where(
                MajordomeHistory.time >= start,
                MajordomeHistory.time <= end,
                MajordomeHistory.telescope == telescope,
            )
            .order_by(MajordomeHistory.time, MajordomeHistory.id)
        )
    )
    faults = []
    for i, row in enumerate(history):
        if row.to_state != "error":
            continue
        recovered = next((h for h in history[i + 1 :] if h.from_state == "error"), None)
        faults.append(
            {
                "time": iso(row.time),
                "source": "majordome",
                "message": row.reason,
                "recovered": iso(recovered.time) if recovered else None,
                "recovery": recovered.reason if recovered else None,
                "down_s": (recovered.time - row.time).total_seconds() if recovered else None,
            }
        )
    for entry in session.scalars(
        select(LogEntry)
        .where(LogEntry.time >= start, LogEntry.time <= end)
        .where(LogEntry.level.in_(FAULT_LOG_LEVELS))
        .order_by(LogEntry.time, LogEntry.id)
    ):
        faults.append(_fault(entry.time, f"log {entry.level} {entry.source}", entry.message))
    for s in sequences:
        if s["reason"].startswith("device") and s["status_changed"]:
            when = datetime.fromisoformat(s["status_changed"])
            faults.append(_fault(when, f"sequence {s['id']}", s["reason"]))
    for device in session.scalars(
        select(DeviceStatus).where(
            DeviceStatus.state.in_(("error", "offline")),
            DeviceStatus.updated >= start,
            DeviceStatus.updated <= end,
        )
    ):  # only the last state of each device is stored: one still in error at the end
        message = f"{device.state}: {device.last_error}".strip(": ")
        faults.append(_fault(device.updated, f"device {device.role}", message))
    return sorted(faults, key=lambda f: f["time"])


def _fault(when: datetime, source: str, message: str) -> dict:
    return {
        "time": iso(when),
        "source": source,
        "message": message,
        "recovered": None,
        "recovery": None,
        "down_s": None,
    }
