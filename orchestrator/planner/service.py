"""Re-planning from the database: tonight's sequences in, a stored Schedule and statuses out.

Called on every event (new request, alert, weather closing or reopening, a sequence ending early
or late) by the orchestrator, and by `pyros replan`. Statuses move only through the model's
methods (plan / unplan / mark_unplannable), each with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from orchestrator.errors import PyrosError
from orchestrator.model import (
    Album,
    Request,
    Schedule,
    ScheduleEntry,
    Sequence,
    SequenceStatus,
)
from orchestrator.network.claim import free_for, wall_now
from orchestrator.network.pool import planned_by_others
from orchestrator.planner.night import NightGrid, Site, from_unix, night_grid, night_of, to_unix
from orchestrator.planner.scheduler import plan_night
from orchestrator.planner.spec import Executing, Overheads, PlanResult, SequenceSpec

log = logging.getLogger(__name__)
S = SequenceStatus
PLANNABLE = (S.TO_BE_PLANNED, S.PLANNED, S.UNPLANNABLE)
REPLAN_ATTEMPTS = 3  # a conflict means the majordome moved a sequence: plan again


@dataclass(frozen=True)
class ReplanOutcome:
    schedule_id: int
    result: PlanResult


def spec_of(sequence: Sequence) -> SequenceSpec:
    """The planner's view of a stored sequence; filters are those of its first album's plans.

    Fair shares: the priority gets the user level's bonus; `share_used` is the program's (else
    the user's) used / allocated hours; `country` names the user's country for its quota.
    """
    albums: list[Album] = sequence.albums
    filters = tuple(p.filter_name for p in albums[0].plans) if albums else ()
    bonus, share_used, country = _owner_terms(sequence)
    return SequenceSpec(
        id=str(sequence.id),
        ra_deg=sequence.ra_deg,
        dec_deg=sequence.dec_deg,
        duration_s=sequence.duration_s,
        priority=sequence.priority + bonus,
        share_used=share_used,
        country=country,
        window_start=sequence.window_start,
        window_end=sequence.window_end,
        preferred_time=sequence.preferred_time,
        min_altitude_deg=sequence.min_altitude_deg,
        max_airmass=sequence.max_airmass,
        min_moon_separation_deg=sequence.min_moon_separation_deg,
        twilight=sequence.twilight,
        urgent=sequence.is_urgent,
        filters=filters,
    )


def _owner_terms(sequence: Sequence) -> tuple[float, float, str | None]:
    """(level priority bonus, share used 0..1+, country name) of the sequence's request."""
    request = getattr(sequence, "request", None)
    user = getattr(request, "user", None) if request is not None else None
    if user is None:
        return 0.0, 0.0, None
    level = user.user_level
    bonus = float(level.priority or 0) if level is not None else 0.0
    owner = request.program or user
    share = owner.used_h / owner.quota_h if owner.quota_h and owner.quota_h > 0 else 0.0
    country = user.country.name if user.country is not None else None
    return bonus, float(share), country


def country_left_h(session: Session) -> dict[str, float]:
    """Hours each country with a quota (> 0) has left: its quota less its users' used hours."""
    from sqlalchemy import func

    from orchestrator.model import Country, User

    rows = session.execute(
        select(Country.name, Country.quota_h, func.coalesce(func.sum(User.used_h), 0.0))
        .outerjoin(User, User.country_id == Country.id)
        .where(Country.quota_h > 0)
        .group_by(Country.id, Country.name, Country.quota_h)
    ).all()
    return {name: float(quota) - float(used) for name, quota, used in rows}


def previous_starts(
    session: Session, night, now: datetime, telescope: str | None = None
) -> dict[str, datetime]:
    """The newest schedule of this night (of `telescope`): its entries not started yet."""
    mine = () if telescope is None else (Schedule.telescope == telescope,)
    last = session.scalar(
        select(Schedule)
        .where(Schedule.night == night, *mine)
        .order_by(Schedule.created.desc(), Schedule.id.desc())
        .limit(1)
    )
    if last is None:
        return {}
    found = {}
    for entry in last.entries:
        start = entry.start if entry.start.tzinfo else entry.start.replace(tzinfo=now.tzinfo)
        if start >= now:
            found[str(entry.sequence_id)] = start
    return found


def tonight(site: Site, timezone: str, now: datetime) -> NightGrid:
    """The night in progress, or the next one once this one's civil dawn has passed."""
    night = night_of(now, timezone)
    grid = night_grid(site, night)
    if to_unix(now) >= grid.times_unix[-1]:
        grid = night_grid(site, night + timedelta(days=1))
    return grid


def replan(runtime, trigger: str = "manual", not_before: datetime | None = None) -> ReplanOutcome:
    """Plan tonight from now on, update the sequences' statuses, store the schedule.

    `not_before` delays every new start, e.g. to the expected reopening while the weather
    keeps the dome closed. A sequence running late keeps the telescope until now at least.
    The sequences are read, planned, then written only if still as read (a conditional
    UPDATE): one the majordome started meanwhile makes the whole re-plan start again, never
    a status written back over it.
    """
    for attempt in range(1, REPLAN_ATTEMPTS + 1):
        try:
            return _replan_once(runtime, trigger, not_before)
        except PlanConflict as exc:
            log.info("re-plan (%s) attempt %d: %s; again", trigger, attempt, exc)
    raise PlanConflict(f"re-plan ({trigger}) gave up after {REPLAN_ATTEMPTS} conflicts")


def _replan_once(runtime, trigger: str, not_before: datetime | None) -> ReplanOutcome:
    config = runtime.config
    telescope = config.telescope.name
    claim_now = wall_now()
    now = runtime.clock.now()
    start_from = max(now, not_before) if not_before else now
    grid = tonight(Site.from_config(config.site), config.site.timezone, now)
    first, last = from_unix(grid.start_unix), from_unix(grid.times_unix[-1])
    with runtime.sessions.begin() as session:
        candidates, executing_row = _load(session, first, last, telescope, claim_now)
        previous = previous_starts(session, grid.night, now, telescope)
        executing = None
        if executing_row is not None:
            started = executing_row.status_changed or now
            expected_end = started + timedelta(seconds=executing_row.duration_s)
            executing = Executing(spec_of(executing_row), started, max(expected_end, now))
        result = plan_night(
            grid,
            [spec_of(s) for s in candidates],
            Overheads.from_config(config.overheads),
            now=start_from,
            executing=executing,
            default_twilight=config.site.twilight,
            horizon_deg=config.site.horizon_deg,
            previous=previous,
            country_left_h=country_left_h(session),
        )
        keep = planned_by_others(session, telescope, grid.night, now)
        notes = _apply(session, candidates, result, now, Guard(telescope, claim_now, keep))
        kept = {(x.id, x.start) for x in result.entries}
        moved = sum(1 for item in previous.items() if item not in kept)
        if previous:
            notes += f"; {moved} of {len(previous)} planned entries moved"
        schedule = Schedule(
            created=now,
            night=grid.night,
            night_start=result.night_start,
            night_end=result.night_end,
            trigger=trigger,
            score=result.score,
            notes=notes,
            telescope=telescope,
        )
        for entry in result.entries:
            schedule.entries.append(
                ScheduleEntry(sequence_id=int(entry.id), start=entry.start, end=entry.end)
            )
        session.add(schedule)
        session.flush()
        started = _started_since_read(session, result, executing_row and executing_row.id)
        if started:
            raise PlanConflict(f"sequence {started[0]} started since it was read")
        log.info("re-planned (%s): %s", trigger, notes)
        return ReplanOutcome(schedule.id, result)


def _load(session: Session, first: datetime, last: datetime, telescope: str, claim_now: datetime):
    """Sequences whose window meets tonight and no other telescope claims, and the one this
    telescope executes now (if any).

    One statement for both: SQLite runs a SELECT outside any transaction, so two statements
    could see a sequence the majordome started between them both as a candidate (PLANNED)
    and as the executing one, and plan it "pre-empted by" itself."""
    plannable = and_(
        Sequence.status.in_(PLANNABLE),
        free_for(telescope, claim_now),
        Sequence.window_end > first,
        Sequence.window_start < last,
    )
    mine = or_(Sequence.claimed_by.is_(None), Sequence.claimed_by == telescope)
    rows = session.scalars(
        select(Sequence)
        .where(or_(plannable, and_(Sequence.status == S.EXECUTING, mine)))
        .options(
            selectinload(Sequence.albums).selectinload(Album.plans),
            selectinload(Sequence.request).selectinload(Request.program),
            selectinload(Sequence.request).selectinload(Request.user),
        )
        .order_by(Sequence.id)
    ).all()
    running = [s for s in rows if S(s.status) is S.EXECUTING]
    candidates = [s for s in rows if S(s.status) is not S.EXECUTING]
    # the newest start when several are marked executing (the others are stale)
    executing = max(running, key=_started_key, default=None)
    return candidates, executing


def _started_key(sequence: Sequence) -> tuple:
    changed = sequence.status_changed
    return (changed is not None, changed.replace(tzinfo=None) if changed else None, -sequence.id)


def _started_since_read(
    session: Session, result: PlanResult, executing_id: int | None
) -> list[int]:
    """Scheduled sequences no longer PLANNED: the majordome started one after the read. Run
    after the schedule's INSERT, which holds SQLite's write lock until the commit."""
    ids = [int(e.id) for e in result.entries if int(e.id) != executing_id]
    if not ids:
        return []
    moved = select(Sequence.id).where(Sequence.id.in_(ids), Sequence.status != S.PLANNED)
    return list(session.scalars(moved))


class PlanConflict(PyrosError):
    """A sequence changed (started, claimed) between the re-plan's read and its write."""


@dataclass(frozen=True)
class Guard:
    """What a write-back checks besides the status read: no other telescope's live claim."""

    telescope: str
    claim_now: datetime
    keep: set[int]  # PLANNED in another telescope's schedule: not demoted by this one


def _write(session: Session, sequence: Sequence, guard: Guard, new, now, reason: str) -> None:
    """Move (or only re-word) the status by the model's rules, as one conditional UPDATE on
    the status this re-plan read: PlanConflict when the row moved meanwhile."""
    read = SequenceStatus(sequence.status)
    if new is not read and not sequence.can_move_to(new):
        sequence.move_to(new, now, reason)  # raises IllegalTransition, row untouched
    values = {"status_reason": reason}
    if new is not read:
        values.update(status=new, status_changed=now)
    statement = (
        update(Sequence)
        .where(Sequence.id == sequence.id, Sequence.status == read)
        .where(free_for(guard.telescope, guard.claim_now))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount != 1:
        raise PlanConflict(f"sequence {sequence.id} changed since it was read ({read.value})")


def _apply(
    session: Session, candidates: list[Sequence], result: PlanResult, now: datetime, guard: Guard
) -> str:
    """Move each sequence's status by the model's rules; return the schedule's notes."""
    scheduled = {e.id for e in result.entries}
    reasons = {u.id: u.reason for u in result.unscheduled}
    for sequence in candidates:
        key = str(sequence.id)
        status = SequenceStatus(sequence.status)
        if key in scheduled:
            if status is not S.PLANNED:
                _write(session, sequence, guard, S.PLANNED, now, "")
            continue
        if status is S.PLANNED and sequence.id in guard.keep:
            continue  # another telescope's schedule holds it
        reason = reasons.get(key, "not scheduled")
        # outranked: it could fit tonight, so it stays in the pool for the next re-plan
        new = S.TO_BE_PLANNED if reason.startswith("outranked") else S.UNPLANNABLE
        _write(session, sequence, guard, new, now, reason)
    notes = f"{len(result.entries)} scheduled, {len(result.unscheduled)} unscheduled"
    pre_empted = [u for u in result.unscheduled if u.reason.startswith("pre-empted")]
    for u in pre_empted:
        notes += f"; sequence {u.id} {u.reason}"
    return notes
