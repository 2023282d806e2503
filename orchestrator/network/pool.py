"""The shared pool as one telescope's planner sees it: what the other telescopes hold.

A sequence another telescope claims is not this telescope's to plan; a sequence another
telescope's newest schedule still holds stays PLANNED even if this telescope leaves it out.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.model import Schedule, ScheduleEntry


def planned_by_others(session: Session, telescope: str, night: date, now: datetime) -> set[int]:
    """Sequence ids with an entry ending after `now` in another telescope's newest schedule of
    `night` (empty on a single telescope: one query, no rows)."""
    newest = (
        select(func.max(Schedule.id))
        .where(Schedule.night == night, Schedule.telescope != telescope)
        .group_by(Schedule.telescope)
    )
    return set(
        session.scalars(
            select(ScheduleEntry.sequence_id).where(
                ScheduleEntry.schedule_id.in_(newest), ScheduleEntry.end > now
            )
        )
    )
