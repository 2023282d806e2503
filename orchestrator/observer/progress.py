"""What the observer stores as a sequence moves: statuses of sequence, albums and plans,
frames done, the one-line progress `pyros status` shows, and the quota charge and refund.

Each function is one short transaction, so the two album threads never hold a lock for long
and a reader always sees the state of the last completed step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from orchestrator.model import Album, Plan, Sequence, SequenceStatus
from orchestrator.runtime import Runtime
from orchestrator.users import FailureCause, fail_execution, start_execution

# The causes an ExecutionResult names, and the quota rule (users.FailureCause) each follows.
CAUSES: dict[str, FailureCause] = {
    "weather": FailureCause.WEATHER,
    "device": FailureCause.DEVICE,
    "interrupted": FailureCause.INTERRUPTED,
    "pre-empted": FailureCause.PREEMPTED,
    "operator": FailureCause.OPERATOR,
    "disk": FailureCause.DISK,
    "user": FailureCause.REQUEST,
}

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


@dataclass(frozen=True)
class PlanWork:
    id: int
    filter_name: str
    exposure_s: float
    count: int
    binning: int


@dataclass(frozen=True)
class AlbumWork:
    id: int
    channel: str  # VIS or NIR
    plans: tuple[PlanWork, ...]


@dataclass(frozen=True)
class SequenceWork:
    """A detached copy of what one execution needs (no ORM object crosses threads)."""

    id: int
    request_id: int
    name: str
    target_name: str
    ra_deg: float
    dec_deg: float
    min_altitude_deg: float
    albums: tuple[AlbumWork, ...]


def start(runtime: Runtime, sequence_id: int, when: datetime) -> SequenceWork:
    """PLANNED -> EXECUTING, quota charged, albums and plans reset; IllegalTransition if the
    sequence is not PLANNED (then nothing changes)."""
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, sequence_id, with_for_update=True)
        if sequence is None:
            from orchestrator.errors import InputError

            raise InputError("sequence_id", f"no sequence {sequence_id}")
        start_execution(sequence, when)
        sequence.progress = "starting"
        albums = []
        for album in sequence.albums:
            album.status = PENDING
            plans = []
            for plan in album.plans:
                plan.status, plan.frames_done = PENDING, 0
                plans.append(
                    PlanWork(plan.id, plan.filter_name, plan.exposure_s, plan.count, plan.binning)
                )
            albums.append(AlbumWork(album.id, str(album.channel.value), tuple(plans)))
        return SequenceWork(
            sequence.id,
            sequence.request_id,
            sequence.name,
            sequence.target_name,
            sequence.ra_deg,
            sequence.dec_deg,
            sequence.min_altitude_deg,
            tuple(albums),
        )


def set_progress(runtime: Runtime, sequence_id: int, text: str) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(Sequence).where(Sequence.id == sequence_id).values(progress=text))


def set_album(runtime: Runtime, album_id: int, status: str) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(Album).where(Album.id == album_id).values(status=status))


def set_plan(runtime: Runtime, plan_id: int, status: str, frames_done: int | None = None) -> None:
    values: dict = {"status": status}
    if frames_done is not None:
        values["frames_done"] = frames_done
    with runtime.sessions.begin() as session:
        session.execute(update(Plan).where(Plan.id == plan_id).values(**values))


def _close_parts(sequence: Sequence, ok: bool) -> None:
    for album in sequence.albums:
        for plan in album.plans:
            if plan.status != DONE:
                plan.status = FAILED if not ok else DONE
        if album.status != DONE:
            album.status = FAILED if not ok else DONE


def finish(runtime: Runtime, sequence_id: int, when: datetime) -> None:
    """EXECUTING -> EXECUTED (the hours stay charged)."""
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, sequence_id, with_for_update=True)
        if _taken_over(runtime, sequence) or _cancelled_meanwhile(sequence):
            return
        sequence.finish(when)
        sequence.progress = ""
        _close_parts(sequence, ok=True)


def fail(runtime: Runtime, sequence_id: int, when: datetime, cause: str, reason: str) -> bool:
    """EXECUTING -> FAILED; when the cause is not the user's, the hours are refunded and the
    sequence goes back to the pool (TO_BE_PLANNED, the reason kept). Returns the refund."""
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, sequence_id, with_for_update=True)
        if _taken_over(runtime, sequence) or _cancelled_meanwhile(sequence):
            return False
        return _fail(sequence, when, cause, reason)


def _taken_over(runtime: Runtime, sequence: Sequence) -> bool:
    """Another telescope claims it (this one's claim expired and was taken over): its status
    is theirs now, this telescope's late ending changes nothing."""
    holder = sequence.claimed_by
    return holder is not None and holder != runtime.config.telescope.name


def _cancelled_meanwhile(sequence: Sequence) -> bool:
    """Cancelled while it ran (an alert's retraction, an operator): it stays cancelled, its
    unfinished plans and albums are closed as failed, and its frames stay."""
    if SequenceStatus(sequence.status) is not SequenceStatus.CANCELLED:
        return False
    sequence.progress = ""
    _close_parts(sequence, ok=False)
    return True


def _fail(sequence: Sequence, when: datetime, cause: str, reason: str) -> bool:
    failure = CAUSES[cause]
    refunded = fail_execution(sequence, when, failure, reason)
    sequence.progress = ""
    _close_parts(sequence, ok=False)
    if refunded:
        sequence.retry(when, f"{failure.value}: {reason}")
    return refunded


def fail_interrupted(session: Session, sequence_id: int, when: datetime, reason: str) -> None:
    """EXECUTING -> FAILED (interrupted, refunded) -> back to the pool, in `session`."""
    sequence = session.get(Sequence, sequence_id, with_for_update=True)
    if sequence is not None and SequenceStatus(sequence.status) is SequenceStatus.EXECUTING:
        _fail(sequence, when, "interrupted", reason)


def recover_interrupted(runtime: Runtime) -> list[int]:
    """At orchestrator start: every sequence this telescope left EXECUTING when it was killed
    (claimed by it, or unclaimed) is failed with cause "interrupted" (quota refunded, back to
    the pool); its Image rows and files stay. Another telescope's running sequence is not
    touched: its claim says who runs it."""
    now = runtime.clock.now()
    telescope = runtime.config.telescope.name
    with runtime.sessions.begin() as session:
        stuck = session.scalars(
            select(Sequence)
            .where(Sequence.status == SequenceStatus.EXECUTING)
            .where(or_(Sequence.claimed_by.is_(None), Sequence.claimed_by == telescope))
            .order_by(Sequence.id)
            .with_for_update()
        ).all()
        for sequence in stuck:
            _fail(sequence, now, "interrupted", "the orchestrator stopped while it executed")
        return [s.id for s in stuck]
