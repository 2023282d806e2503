"""Storage first: every notice is written (raw payload, source, key, outcome) before its ack.

Also the decisions taken on alerts and the latency chain (milliseconds after arrival, plus the
arrival's Unix time so that a later leg, e.g. the majordome's slew, can add its own step); the
chain is merged, never overwritten, so steps written by two threads are all kept.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.alerts.notice import Kind, Notice
from orchestrator.model import Alert, AlertDecision

STORED_PAYLOAD_MAX = 65536  # a larger (rejected) payload is stored truncated, with a note
LATENCY_STEPS = (
    "received",
    "parsed",
    "stored",
    "request",
    "schedule",
    "abort",  # the pre-emption stopped the running sequence (majordome's fast slew)
    "slew",
    "majordome",
    "replanned",
)
# The chain's writers are the alert manager and the majordome's hooks, in one process.
_CHAIN_LOCK = threading.Lock()


def payload_text(payload: bytes) -> str:
    text = payload[:STORED_PAYLOAD_MAX].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    if len(payload) > STORED_PAYLOAD_MAX:
        text += f"\n[truncated: {len(payload)} bytes received]"
    return text


def find_alert(session: Session, key: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.ivorn == key[:512]))


def store_notice(
    sessions: sessionmaker[Session],
    key: str,
    payload: bytes,
    source: str,
    received: datetime,
    notice: Notice | None,
    reason: str,
    latency_ms: dict,
) -> tuple[int, bool]:
    """Insert the alert row once; returns (id, True) if it was already there (a duplicate)."""
    row = Alert(
        ivorn=key[:512],
        mission=(notice.mission if notice else "")[:32],
        notice_type=(notice.notice_type if notice else "")[:64],
        role=(notice.role if notice else "")[:16],
        event_time=notice.trigger_time if notice else None,
        received=received,
        ra_deg=notice.ra_deg if notice else None,
        dec_deg=notice.dec_deg if notice else None,
        error_radius_deg=notice.error_radius_deg if notice else None,
        is_retraction=bool(notice and notice.kind is Kind.RETRACTION),
        status="rejected" if notice is None else "received",
        payload=payload_text(payload),
        source=source[:16],
        trigger_id=(notice.trigger_id or None) if notice else None,
        kind=notice.kind.value if notice else Kind.REJECTED.value,
        instrument=(notice.instrument if notice else "")[:32],
        reason=reason,
        latency_ms=dict(latency_ms),
    )
    try:
        with sessions.begin() as session:  # one transaction: look, then insert
            existing = find_alert(session, key)
            if existing is not None:
                return existing.id, True
            session.add(row)
            session.flush()
            return row.id, False
    except IntegrityError:  # the same notice from another listener at the same instant
        with sessions.begin() as session:
            existing = find_alert(session, key)
            if existing is None:
                raise
            return existing.id, True


def decide(
    session: Session,
    alert: Alert,
    action: str,
    reason: str,
    now: datetime,
    status: str | None = None,
    request_id: int | None = None,
) -> None:
    """Store one decision with its reason; the alert's status and reason follow it."""
    session.add(
        AlertDecision(
            alert_id=alert.id, time=now, action=action, reason=reason, request_id=request_id
        )
    )
    if status is not None:
        alert.status = status
    alert.reason = reason


def decide_by_id(
    session: Session,
    alert_id: int,
    action: str,
    reason: str,
    now: datetime,
    status: str,
    request_id: int | None = None,
    **alert_fields: object,
) -> None:
    """As `decide`, with two statements and no Alert object loaded (the alert's hot path);
    the alert's request_id follows the decision's when given; `alert_fields` are more of its
    columns to set (strategy)."""
    session.execute(
        insert(AlertDecision.__table__).values(
            alert_id=alert_id, time=now, action=action, reason=reason, request_id=request_id
        )
    )
    if request_id is not None:
        alert_fields["request_id"] = request_id
    table = Alert.__table__
    session.execute(
        update(table)
        .where(table.c.id == alert_id)
        .values(status=status, reason=reason, **alert_fields)
    )


def merge_latency(sessions: sessionmaker[Session], alert_id: int, steps: dict) -> None:
    """Add `steps` to the alert's stored chain (theirs win), keeping the steps it has."""
    with _CHAIN_LOCK, sessions.begin() as session:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None:
            return
        chain = dict(alert.latency_ms or {})
        chain.update(steps)
        alert.latency_ms = chain


def add_latency_step(
    sessions: sessionmaker[Session], alert_id: int, step: str, at_unix: float | None = None
) -> None:
    """A later leg (e.g. the majordome's slew command) adds its step to a stored chain."""
    at_unix = time.time() if at_unix is None else at_unix
    with _CHAIN_LOCK, sessions.begin() as session:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None or "arrived_unix" not in alert.latency_ms:
            return
        chain = dict(alert.latency_ms)
        chain[step] = round((at_unix - chain["arrived_unix"]) * 1000.0, 3)
        alert.latency_ms = chain


def record_slew(
    sessions: sessionmaker[Session], sequence_id: int, at_unix: float | None = None
) -> list[int]:
    """For the majordome: the slew command of `sequence_id` was sent; close the chain of each
    alert of its request that has no slew step yet. Returns those alerts' ids."""
    from orchestrator.model import Sequence

    with sessions() as session:
        sequence = session.get(Sequence, sequence_id)
        if sequence is None:
            return []
        ids = [
            a.id
            for a in session.scalars(select(Alert).where(Alert.request_id == sequence.request_id))
            if "slew" not in (a.latency_ms or {})
        ]
    for alert_id in ids:
        add_latency_step(sessions, alert_id, "slew", at_unix)
    return ids
