"""The urgent fast path: an alert observable right now goes first without waiting for a full
re-plan of the night (seconds with hundreds of sequences).

`observable_now` checks the night (the sequence's twilight), the altitude now and at the end of
the sequence on the planner's own cached night grid; `store_urgent_schedule` stores a schedule
whose first entry is the urgent sequence from now, followed by the previous schedule's entries
that start after it. The full re-plan that follows places everything else again.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orchestrator.config import Config
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


def observable_now(config: Config, sequence: Sequence, now: datetime) -> str | None:
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
) -> Schedule:
    """The previous schedule with the urgent sequence first, from now; the sequence is planned."""
    end = now + timedelta(seconds=sequence.duration_s)
    telescope = config.telescope.name
    previous = session.scalars(
        select(Schedule)
        .where(Schedule.telescope == telescope)
        .order_by(Schedule.id.desc())
        .limit(1)
    ).first()
    grid = tonight(Site.from_config(config.site), config.site.timezone, now)
    schedule = Schedule(
        created=now,
        night=grid.night,
        night_start=previous.night_start if previous else now,
        night_end=previous.night_end if previous else end,
        trigger="alert",
        telescope=telescope,
        score=previous.score if previous else 0.0,
        notes=f"urgent sequence {sequence.id} first (alert fast path); full re-plan follows",
    )
    if SequenceStatus(sequence.status) is not SequenceStatus.PLANNED:
        sequence.plan(now)
    session.add(schedule)
    session.flush()
    rows = [dict(schedule_id=schedule.id, sequence_id=sequence.id, start=now, end=end)]
    if previous is not None:  # columns only and one executemany: this is the hot path
        kept = session.execute(
            select(ScheduleEntry.sequence_id, ScheduleEntry.start, ScheduleEntry.end)
            .where(ScheduleEntry.schedule_id == previous.id, ScheduleEntry.start >= end)
            .where(ScheduleEntry.sequence_id != sequence.id)
            .order_by(ScheduleEntry.start)
        )
        rows += [
            dict(schedule_id=schedule.id, sequence_id=sid, start=s, end=e) for sid, s, e in kept
        ]
    session.execute(insert(ScheduleEntry), rows)
    return schedule
