"""Claims on the shared pool: one telescope per sequence, under contention, with expiry.

Contention runs on a real PostgreSQL server (threads, one connection each); the expiry and the
take-over run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text, update

from orchestrator import db
from orchestrator.model import Sequence, SequenceStatus
from orchestrator.network.claim import Claims
from tests.orchestrator.test_planner_service import add_sequences, seq

S = SequenceStatus


class WallClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def planned_pool(sessions, ids) -> None:
    with sessions.begin() as session:
        session.execute(update(Sequence).where(Sequence.id.in_(ids)).values(status=S.PLANNED))


def pool_of(runtime, n: int) -> list[int]:
    ids = list(
        add_sequences(runtime, *(seq(f"s{i}", 1, "03:00", "12:00", 5) for i in range(n))).values()
    )
    planned_pool(runtime.sessions, ids)
    return ids


@pytest.fixture
def pg_runtime(tmp_path, clock, pg_url):
    from tests.conftest import make_runtime

    rt = make_runtime(tmp_path, clock, pg_url)
    yield rt
    rt.engine.dispose()


@pytest.mark.postgres
def test_no_sequence_is_claimed_twice_by_four_telescopes_at_once(pg_runtime):
    """200 planned sequences, 4 telescopes in threads, each with its own connection pool: each
    claims the first free one of the same list, executes it (status EXECUTED), releases it."""
    ids = pool_of(pg_runtime, 200)
    engines = [db.make_engine(pg_runtime.config.database.url) for _ in range(4)]
    statements: list[str] = []
    for engine in engines:
        event.listen(
            engine, "before_cursor_execute", lambda c, cur, stmt, *a: statements.append(stmt)
        )
    done: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def telescope(name: str, engine) -> None:
        claims = Claims(db.make_session_factory(engine), name, ttl_s=60)
        mine = done.setdefault(name, [])
        start.wait()
        while (sid := claims.claim_first(ids)) is not None:
            mine.append(sid)
            with claims.sessions.begin() as session:  # what the observer does, in short
                session.execute(
                    update(Sequence).where(Sequence.id == sid).values(status=S.EXECUTED)
                )
            claims.release(sid)

    threads = [
        threading.Thread(target=telescope, args=(f"t{i}", engine))
        for i, engine in enumerate(engines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    counts = Counter(sid for mine in done.values() for sid in mine)
    assert sorted(counts) == sorted(ids)  # every sequence executed ...
    assert max(counts.values()) == 1  # ... exactly once
    assert sum(1 for mine in done.values() if mine) >= 2  # the telescopes really competed
    assert any("FOR UPDATE SKIP LOCKED" in s for s in statements)
    for engine in engines:
        engine.dispose()


@pytest.mark.postgres
def test_a_row_being_claimed_is_skipped_not_waited_for(pg_runtime):
    """Another transaction holds sequence 1's row lock: the claim takes sequence 2 at once."""
    first, second = pool_of(pg_runtime, 2)
    claims = Claims(pg_runtime.sessions, "east", ttl_s=60)
    with pg_runtime.engine.connect() as other:
        other.execute(text("SET lock_timeout = '20s'"))
        other.execute(text(f"SELECT id FROM sequence WHERE id = {first} FOR UPDATE"))
        assert claims.claim_first([first, second]) == second  # no 20 s wait: SKIP LOCKED
        other.rollback()
    assert claims.claim_first([first, second]) == first


def test_an_expired_claim_may_be_taken_by_another_telescope(runtime):
    (sid,) = pool_of(runtime, 1)
    now = WallClock()
    east = Claims(runtime.sessions, "east", ttl_s=30, now=now)
    west = Claims(runtime.sessions, "west", ttl_s=30, now=now)
    assert east.claim(sid)
    assert not west.claim(sid)
    now.t += timedelta(seconds=20)
    assert east.renew(sid)  # pushed to t+50
    now.t += timedelta(seconds=25)
    assert not west.claim(sid)
    now.t += timedelta(seconds=10)  # east stopped renewing (killed): expired
    assert west.claim(sid)
    assert not east.renew(sid)  # east learns it lost the sequence
    with runtime.sessions() as session:
        assert session.scalar(select(Sequence.claimed_by).where(Sequence.id == sid)) == "west"


def test_a_killed_telescopes_executing_sequence_goes_back_to_the_pool(runtime):
    (sid,) = pool_of(runtime, 1)
    now = WallClock()
    east = Claims(runtime.sessions, "east", ttl_s=30, now=now)
    west = Claims(runtime.sessions, "west", ttl_s=30, now=now)
    assert east.claim(sid)
    with runtime.sessions.begin() as session:  # east started it, then was killed -9
        session.get(Sequence, sid).start(runtime.clock.now())
    assert west.take_over_expired(runtime.clock.now()) == []  # not expired yet
    now.t += timedelta(seconds=31)
    assert west.take_over_expired(runtime.clock.now()) == [sid]
    with runtime.sessions() as session:
        row = session.get(Sequence, sid)
        assert (row.status, row.claimed_by) == (S.TO_BE_PLANNED, None)
        assert "east stopped answering" in row.status_reason
    assert west.take_over_expired(runtime.clock.now()) == []  # taken once
