"""An alert with its follow-up request and sequence, as the alert manager stores them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from orchestrator.bootstrap import init_site
from orchestrator.model import Alert, Request, Sequence, User


def make_alert(runtime, ra_deg: float, dec_deg: float, radius_deg: float, name="GRB 261125A"):
    """Returns (alert id, sequence id); the trigger is 10 min before the runtime's clock."""
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        if session.scalar(select(User).where(User.username == "admin")) is None:
            init_site(runtime, "admin-password-1")
    with runtime.sessions.begin() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        request = Request(name=name, user_id=admin.id, is_alert=True, submitted=now, source="alert")
        session.add(request)
        session.flush()
        sequence = Sequence(
            request_id=request.id, name=name, target_name=name, ra_deg=ra_deg, dec_deg=dec_deg,
            window_start=now, window_end=now + timedelta(hours=2), duration_s=600,
        )  # fmt: skip
        session.add(sequence)
        alert = Alert(
            ivorn=f"ivo://test/{name}", mission="SVOM", notice_type="ECLAIRs", received=now,
            event_time=now - timedelta(minutes=10), ra_deg=ra_deg, dec_deg=dec_deg,
            error_radius_deg=radius_deg, request_id=request.id, payload="{}",
        )  # fmt: skip
        session.add(alert)
        session.flush()
        return alert.id, sequence.id
