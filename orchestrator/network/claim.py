"""A telescope's claim on the sequence it executes: one atomic step, a lease with an expiry.

On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED` then an UPDATE in the same
transaction (a row another telescope is claiming right now is skipped, never waited for); on
SQLite one conditional `UPDATE ... WHERE claimed_by IS NULL OR claim_expires < now`. The claim
is renewed while the sequence runs and cleared at its end; a telescope killed mid-sequence
leaves an expiring claim that another telescope takes over (`take_over_expired`). Times are
wall-clock UTC, as the orchestrator lease's: a claim is about a process alive now, not about
the (possibly accelerated) observatory clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.model import Sequence, SequenceStatus

log = logging.getLogger(__name__)
S = SequenceStatus


def wall_now() -> datetime:
    return datetime.now(UTC)


def free_for(telescope: str, now: datetime) -> ColumnElement[bool]:
    """SQL: the sequence is claimed by nobody alive but (maybe) `telescope`."""
    return or_(
        Sequence.claimed_by.is_(None),
        Sequence.claimed_by == telescope,
        Sequence.claim_expires < now,
    )


@dataclass
class Claims:
    """One telescope's claims on the shared pool of sequences."""

    sessions: sessionmaker[Session]
    telescope: str
    ttl_s: float = 60.0
    now: Callable[[], datetime] = wall_now

    def claim(self, sequence_id: int) -> bool:
        """Claim a PLANNED sequence that is free (or whose claim expired); True if ours now."""
        return self.claim_first([sequence_id]) == sequence_id

    def claim_first(self, sequence_ids: list[int]) -> int | None:
        """Claim the first sequence of `sequence_ids` (in that order) that is PLANNED and free;
        its id, or None when every one is taken or no longer planned."""
        if not sequence_ids:
            return None
        now = self.now()
        values = dict(claimed_by=self.telescope, claim_expires=now + timedelta(seconds=self.ttl_s))
        free = (Sequence.status == S.PLANNED, free_for(self.telescope, now))
        with self.sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                rank = case({sid: i for i, sid in enumerate(sequence_ids)}, value=Sequence.id)
                chosen = session.scalar(
                    select(Sequence.id)
                    .where(Sequence.id.in_(sequence_ids), *free)
                    .order_by(rank)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if chosen is None:
                    return None
                session.execute(_raw(update(Sequence).where(Sequence.id == chosen), values))
                return chosen
            for sid in sequence_ids:  # SQLite: one writer at a time, each UPDATE is atomic
                statement = update(Sequence).where(Sequence.id == sid, *free)
                if session.execute(_raw(statement, values)).rowcount == 1:
                    return sid
        return None

    def renew(self, sequence_id: int) -> bool:
        """Push the expiry forward; False if the claim is not ours any more."""
        statement = update(Sequence).where(
            Sequence.id == sequence_id, Sequence.claimed_by == self.telescope
        )
        expires = self.now() + timedelta(seconds=self.ttl_s)
        with self.sessions.begin() as session:
            return session.execute(_raw(statement, {"claim_expires": expires})).rowcount == 1

    def release(self, sequence_id: int) -> None:
        statement = update(Sequence).where(
            Sequence.id == sequence_id, Sequence.claimed_by == self.telescope
        )
        with self.sessions.begin() as session:
            session.execute(_raw(statement, {"claimed_by": None, "claim_expires": None}))

    def release_all(self) -> int:
        """At start: claims this telescope left when it was killed (it runs nothing yet)."""
        statement = update(Sequence).where(Sequence.claimed_by == self.telescope)
        with self.sessions.begin() as session:
            return session.execute(
                _raw(statement, {"claimed_by": None, "claim_expires": None})
            ).rowcount

    def take_over_expired(self, clock_now: datetime) -> list[int]:
        """Sequences left EXECUTING under another telescope's expired claim: failed with cause
        "interrupted" (quota refunded, back to the pool, frames kept) so any telescope may plan
        and claim them again. Each row is taken by one conditional UPDATE: of two telescopes
        doing this at once, one wins it. Returns their ids."""
        from orchestrator.observer.progress import fail_interrupted

        now = self.now()
        with self.sessions() as session:
            ids = session.scalars(
                select(Sequence.id).where(
                    Sequence.status == S.EXECUTING,
                    Sequence.claimed_by.is_not(None),
                    Sequence.claimed_by != self.telescope,
                    Sequence.claim_expires < now,
                )
            ).all()
        taken = []
        for sid in ids:
            with self.sessions.begin() as session:
                holder = session.scalar(select(Sequence.claimed_by).where(Sequence.id == sid))
                statement = update(Sequence).where(
                    Sequence.id == sid,
                    Sequence.status == S.EXECUTING,
                    Sequence.claimed_by == holder,
                    Sequence.claim_expires < now,
                )
                values = {"claimed_by": None, "claim_expires": None}
                if holder is None or session.execute(_raw(statement, values)).rowcount != 1:
                    continue
                fail_interrupted(session, sid, clock_now, f"telescope {holder} stopped answering")
            log.warning("sequence %s: claim of telescope %s expired: back to the pool", sid, holder)
            taken.append(sid)
        return taken

    @contextmanager
    def kept(self, sequence_id: int, on_lost: Callable[[str], None]) -> Iterator[None]:
        """Renew the claim every ttl/3 while the body runs, release it at the end.

        `on_lost(reason)` is called once when the claim was taken by another telescope or could
        not be renewed for most of its lifetime (the database unreachable): the caller stops,
        since another telescope may take the sequence once the claim expires."""
        done = threading.Event()

        def renew_loop() -> None:
            last_ok = self.now()
            while not done.wait(self.ttl_s / 3):
                try:
                    if self.renew(sequence_id):
                        last_ok = self.now()
                        continue
                    reason = "its claim was taken by another telescope"
                except OperationalError as exc:
                    if (self.now() - last_ok).total_seconds() < 0.8 * self.ttl_s:
                        log.error("renewing the claim on sequence %s failed: %s", sequence_id, exc)
                        continue
                    reason = "its claim could not be renewed"
                log.error("sequence %s: %s: stopping it", sequence_id, reason)
                on_lost(reason)
                return

        thread = threading.Thread(target=renew_loop, name="claim-renew", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(5)
            try:
                self.release(sequence_id)
            except OperationalError as exc:  # it expires by itself
                log.warning("releasing the claim on sequence %s failed: %s", sequence_id, exc)


def _raw(statement, values: dict):  # noqa: ANN001, ANN202 - a Core UPDATE, no ORM sync
    return statement.values(**values).execution_options(synchronize_session=False)
