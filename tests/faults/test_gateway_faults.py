"""Fault suite, the PLC and the database (issue 18): what must hold when they fail.

PLC silent, garbled or gone: unsafe within `unsafe_after_failed_polls` polls (the clock is not
advanced, so the stale timeout plays no part), and safe again without a human once it answers
and the reopen delay has passed. Database locked by another writer: the gateway keeps serving
IsSafe, its store job logs the failure once and catches up, the orchestrator keeps its lease and
its jobs, and nothing committed before or acknowledged during the lock is lost.
`FAULT_DB_LOCK_S` sets the lock (3 s here; `bench` and the soak use 30 s: same behaviour, the
busy timeout of the store's engine is scaled below the lock so that the error path runs).
Partial: the lock is tested on SQLite only (PostgreSQL row locks are covered by the lease
tests). The images disk full fault is in test_disk_full.py.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from alpaca.safetymonitor import SafetyMonitor
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import sessionmaker

from orchestrator import db
from orchestrator.jobs import run_orchestrator
from orchestrator.lease import run_with_lease
from orchestrator.model import JobHeartbeat, ProcessLease, WeatherWatch, WeatherWatchHistory
from simulators.plc_simulator import PlcSimulator
from tests.conftest import make_runtime
from tests.helpers import wait_for

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOCK_S = float(os.environ.get("FAULT_DB_LOCK_S", "3"))


def _open(gw, clock) -> SafetyMonitor:
    monitor = SafetyMonitor(f"127.0.0.1:{gw.port}", 0)
    monitor.Connected = True
    wait_for(
        lambda: any("reopen delay" in r for r in gw.state.current().reasons), 10, what="reopen"
    )
    clock.advance(31)
    wait_for(lambda: monitor.IsSafe, 10, what="IsSafe true after the reopen delay")
    return monitor


FAULTS = {
    # name: (inject, heal) on a running simulator
    "silent": (lambda sim, clock: sim.apply({"silent_s": 3600}),
               lambda sim, clock: clock.advance(3601)),
    "garbled": (lambda sim, clock: sim.apply({"malformed": 10**6}),
                lambda sim, clock: sim.apply({"malformed": 0})),
    "dropped": (lambda sim, clock: sim.stop(), None),
}  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS)
def test_plc_fault_is_unsafe_at_once_and_recovers_without_a_human(clock, make_gateway, fault):
    inject, heal = FAULTS[fault]
    sim = PlcSimulator(clock=clock).start()
    try:
        gw = make_gateway(sim.port)
        monitor = _open(gw, clock)
        inject(sim, clock)
        wait_for(lambda: not monitor.IsSafe, 15, what=f"IsSafe false when the PLC is {fault}")
        assert not gw.state.current().elements["plc"].safe
        if heal is None:  # the PLC comes back on the same port
            sim = PlcSimulator(port=sim.port, clock=clock).start()
        else:
            heal(sim, clock)
        wait_for(lambda: gw.state.current().elements["plc"].safe, 15, what="the PLC answers")
        assert monitor.IsSafe is False  # the reopen delay starts over: no flapping
        wait_for(lambda: any("reopen delay" in r for r in gw.state.current().reasons), 10)
        clock.advance(31)
        wait_for(lambda: monitor.IsSafe, 10, what="safe again without a human")
    finally:
        sim.stop()


def _short_timeout_sessions(url: str, busy_timeout_s: float) -> sessionmaker:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    return sessionmaker(engine, expire_on_commit=False)


def test_database_locked_by_another_writer(tmp_path, clock, make_gateway, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "pyros.db"
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{path}")
    db.upgrade(runtime.engine)
    store_sessions = _short_timeout_sessions(f"sqlite:///{path}", LOCK_S / 6)
    stop = threading.Event()
    orchestrator = threading.Thread(
        target=run_with_lease,
        args=(runtime.sessions, stop, lambda: run_orchestrator(runtime, stop)),
        daemon=True,
    )
    with PlcSimulator(clock=clock) as sim:
        gw = make_gateway(sim.port, store_sessions)
        orchestrator.start()
        try:
            wait_for(lambda: _count(runtime, WeatherWatchHistory) > 0, 20, what="stored history")
            wait_for(lambda: _lease_holder(runtime), 30, what="the orchestrator's lease")
            holder = _lease_holder(runtime)
            before = _count(runtime, WeatherWatchHistory)
            locker = sqlite3.connect(path, timeout=30, isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
            try:
                answered = sim.requests_answered
                clock.advance(120)  # history is due: the store job must try to write
                wait_for(lambda: "database is locked" in caplog.text, LOCK_S * 3,
                         what="the store's failure, logged")  # fmt: skip
                assert SafetyMonitor(f"127.0.0.1:{gw.port}", 0).IsSafe in (True, False)
                wait_for(lambda: sim.requests_answered > answered + 5, 10, what="polling on")
                threading.Event().wait(LOCK_S)  # the fault lasts LOCK_S
            finally:
                locker.execute("COMMIT")
                locker.close()
            released = clock.now()
            wait_for(lambda: "storing the weather synthesis works again" in caplog.text, 30,
                     what="the store catching up")  # fmt: skip
            wait_for(lambda: _latest_measured(runtime) >= released, 30, what="a fresh row")
            assert _count(runtime, WeatherWatchHistory) > before  # nothing committed was lost
            assert caplog.text.count("storing the weather synthesis failed") == 1  # logged once
            clock.advance(1)
            wait_for(lambda: _beat(runtime, "watchdog") is not None, 30, what="heartbeats")
            assert _lease_holder(runtime) == holder and orchestrator.is_alive()
        finally:
            stop.set()
            orchestrator.join(30)
    assert _lease_holder(runtime) is None  # released at the clean stop


def _count(runtime, model) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _latest_measured(runtime):
    with runtime.sessions() as session:
        row = session.scalar(select(WeatherWatch))
        return row.measured if row else EPOCH


def _beat(runtime, name: str):
    with runtime.sessions() as session:
        return session.scalar(select(JobHeartbeat.last_beat).where(JobHeartbeat.name == name))


def _lease_holder(runtime) -> str | None:
    with runtime.sessions() as session:
        return session.scalar(select(ProcessLease.holder))
