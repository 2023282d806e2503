"""The urgent fast path: an alert observable right now goes first without waiting for a full
re-plan of the night (seconds with hundreds of sequences).

`observable_now` checks the night (the sequence's twilight), the altitude now and at the end of
the sequence on the planner's own cached night grid; `store_urgent_schedule` (`plan_new_urgent`
for a sequence just written) stores a schedule whose first entry is the urgent sequence from
now, followed by the previous schedule's entries that start after it. The full re-plan that
follows places everything else again.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
from sqlalchemy import insert, literal, select, update
from sqlalchemy.orm import Session

from orchestrator.config import Config
from orchestrator.errors import IllegalTransition
from orchestrator.model import Schedule, ScheduleEntry, Sequence, SequenceStatus
from orchestrator.planner.night import Site, to_unix
from orchestrator.planner.service import tonight


def _altitude_deg(grid, ra_deg: float, dec_deg: float, at_unix: float) -> float:
    """Altitude from the grid's sidereal time (mean place: a fraction of a degree is enough)."""
    lst = float(np.interp(at_unix, grid.times_unix, np.unwrap(grid.lst_rad)))
    lat, dec = math.radians(grid.site.latitude_deg), math.radians(dec_deg)
    hour_angle = lst - math.radians(ra_deg)
    sin_alt = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_alt))))


class Urgent(Protocol):
    """What the fast path reads of the urgent sequence: a stored `Sequence`, or the spec it
    was just written from (the alert's path reads nothing back)."""

    duration_s: float
    twilight: str | None
    window_start: datetime
    window_end: datetime
    min_altitude_deg: float
    ra_deg: float
    dec_deg: float


def observable_now(config: Config, sequence: Urgent, now: datetime) -> str | None:
    """None if the sequence can start now and run its duration; else the reason it cannot."""
    grid = tonight(Site.from_config(config.site), config.site.timezone, now)
    start, end = to_unix(now), to_unix(now) + sequence.duration_s
    dusk, dawn = grid.night_bounds(sequence.twilight or config.site.twilight)
    if not dusk <= start and end <= dawn:
        return "not night now (Sun limit)" if not dusk <= start else "the night ends before it"
    if not (
        sequence.window_start <= now
        and now + timedelta(seconds=sequence.duration_s) <= sequence.window_end
    ):
        return "outside its window"
    limit = max(sequence.min_altitude_deg, config.site.horizon_deg)
    for moment in (start, end):
        alt = _altitude_deg(grid, sequence.ra_deg, sequence.dec_deg, moment)
        if alt < limit:
            return f"altitude {alt:.1f} deg below {limit:g} deg"
    return None


def store_urgent_schedule(
    session: Session, config: Config, sequence: Sequence, now: datetime
) -> int:
    """The previous schedule with the urgent sequence first, from now; the sequence is planned
    (through its life cycle: a status that may not move to planned raises). Returns the new
    schedule's id."""
    if SequenceStatus(sequence.status) is not SequenceStatus.PLANNED:
        sequence.plan(now)
    return _write_schedule(session, config, sequence.id, sequence.duration_s, now)


def plan_new_urgent(
    session: Session, config: Config, sequence_id: int, duration_s: float, now: datetime
) -> int:
    """As `store_urgent_schedule`, for a sequence written in this transaction (to be planned):
    statements only, no ORM object loaded or flushed on the alert's way to the mount."""
    table = Sequence.__table__
    moved = session.execute(
        update(table)
        .where(table.c.id == sequence_id, table.c.status == SequenceStatus.TO_BE_PLANNED)
        .values(status=SequenceStatus.PLANNED, status_reason="", status_changed=now)
    ).rowcount
    if moved != 1:  # the life cycle's rule: only a sequence to be planned is planned here
        raise IllegalTransition(f"sequence {sequence_id}: not to be planned, not planned now")
    return _write_schedule(session, config, sequence_id, duration_s, now)


def _write_schedule(
    session: Session, config: Config, sequence_id: int, duration_s: float, now: datetime
) -> int:
    # Columns and statements only (INSERT ... RETURNING, INSERT ... SELECT): the hot path.
    end = now + timedelta(seconds=duration_s)
    telescope = config.telescope.name
    table = Schedule.__table__
    previous = session.execute(
        select(table.c.id, table.c.night_start, table.c.night_end, table.c.score)
        .where(table.c.telescope == telescope)
        .order_by(table.c.id.desc())
        .limit(1)
    ).first()
    grid = tonight(Site.from_config(config.site), config.site.timezone, now)
    schedule_id = session.execute(
        insert(table)
        .values(
            created=now,
            night=grid.night,
            night_start=previous.night_start if previous else now,
            night_end=previous.night_end if previous else end,
            trigger="alert",
            telescope=telescope,
            score=previous.score if previous else 0.0,
            notes=f"urgent sequence {sequence_id} first (alert fast path); full re-plan follows",
        )
        .returning(table.c.id)
    ).scalar_one()
    entries = ScheduleEntry.__table__
    session.execute(
        insert(entries).values(schedule_id=schedule_id, sequence_id=sequence_id, start=now, end=end)
    )
    if previous is not None:  # copied by the database: no row comes back to Python
        kept = (
            select(literal(schedule_id), entries.c.sequence_id, entries.c.start, entries.c.end)
            .where(entries.c.schedule_id == previous.id, entries.c.start >= end)
            .where(entries.c.sequence_id != sequence_id)
            .order_by(entries.c.start)
        )
        columns = ["schedule_id", "sequence_id", "start", "end"]
        session.execute(insert(entries).from_select(columns, kept))
    return schedule_id
