"""The orchestrator lease (issue 18 item 6): at most one orchestrator per database.

On SQLite and PostgreSQL: a second claimant is refused with the holder named, an expired or
dead holder is replaced, a holder whose lease was taken stops, a clean stop releases it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.lease import Lease, LeaseHeld, held_lease
from orchestrator.model import ProcessLease
from tests.helpers import wait_for


class WallClock:
    """An adjustable wall time for the lease (it reads real UTC time in production)."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def test_second_claimant_is_refused_naming_the_holder(runtime):
    now = WallClock()
    first = Lease(runtime.sessions, now=now)
    first.acquire()
    second = Lease(runtime.sessions, now=now)
    second.pid = first.pid + 1  # another process of this host, alive (ours)
    with pytest.raises(LeaseHeld) as info:
        second.acquire()
    text = str(info.value)
    assert f"pid {first.pid}" in text and first.host in text and "since 2026-11-25T12:00" in text
    assert "\n" not in text
    first.acquire()  # the holder itself may re-acquire


def test_expired_lease_is_taken_over_and_the_old_holder_learns_it(runtime):
    now = WallClock()
    first = Lease(runtime.sessions, ttl_s=30, now=now)
    first.acquire()
    second = Lease(runtime.sessions, ttl_s=30, now=now)
    second.host = "elsewhere"  # its pid check cannot judge another host: only expiry counts
    now.t += timedelta(seconds=29)
    with pytest.raises(LeaseHeld):
        second.acquire()
    assert first.renew() is True  # pushed to t+59
    now.t += timedelta(seconds=20)
    with pytest.raises(LeaseHeld):
        second.acquire()
    now.t += timedelta(seconds=20)
    second.acquire()
    assert first.renew() is False  # taken: the old holder must stop
    with runtime.sessions() as session:
        row = session.scalar(select(ProcessLease))
        assert row.holder == second.holder


def test_lease_of_a_dead_process_on_this_host_is_taken_at_once(runtime):
    now = WallClock()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first = Lease(runtime.sessions, now=now)
    first.pid = dead.pid  # as if taken by a process since killed -9
    first.holder = f"{first.host}:{dead.pid}:x"
    first.acquire()
    second = Lease(runtime.sessions, now=now)
    second.acquire()  # not expired, but its holder is gone


def test_release_frees_and_held_lease_stops_when_taken(runtime):
    stop = threading.Event()
    with held_lease(runtime.sessions, stop, ttl_s=0.3) as lease:
        with runtime.sessions.begin() as session:  # someone takes it behind our back
            row = session.scalar(select(ProcessLease))
            row.holder, row.expires = "thief:1:x", datetime(2000, 1, 1, tzinfo=UTC)
        wait_for(stop.is_set, 10, what="stop set once the lease is lost")
    assert lease.holder  # released without error although taken
    stop2 = threading.Event()
    with held_lease(runtime.sessions, stop2, ttl_s=30):
        pass
    with runtime.sessions() as session:
        assert session.scalar(select(ProcessLease)) is None  # a clean stop releases
