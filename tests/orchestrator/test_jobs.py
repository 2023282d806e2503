"""The watchdog: a silent job is flagged late once; a restart does not flag the last run's beats."""

from __future__ import annotations

import logging

from sqlalchemy import select

from orchestrator.jobs import Watchdog, record_beat
from orchestrator.model import JobHeartbeat
from orchestrator.status import LATE_FACTOR


def _states(runtime) -> dict[str, str]:
    with runtime.sessions() as session:
        return {hb.name: hb.state for hb in session.scalars(select(JobHeartbeat))}


def test_a_silent_job_is_flagged_once_and_clears_when_it_beats(runtime, clock, caplog):
    watchdog = Watchdog(runtime)
    record_beat(runtime, "planner", 10.0)
    record_beat(runtime, "watchdog", 5.0)
    clock.advance(LATE_FACTOR * 5.0 + 1)  # watchdog's own limit passed, planner's not yet
    record_beat(runtime, "watchdog", 5.0)
    watchdog()
    assert _states(runtime) == {"planner": "ok", "watchdog": "ok"}
    clock.advance(LATE_FACTOR * 10.0)
    record_beat(runtime, "watchdog", 5.0)
    with caplog.at_level(logging.WARNING, logger="orchestrator.jobs"):
        watchdog()
        watchdog()
    assert _states(runtime)["planner"] == "late"
    assert [r.getMessage() for r in caplog.records if "is late" in r.getMessage()] == [
        "job planner (orchestrator) is late: last beat 2026-11-25T04:00:00+00:00"
    ]
    record_beat(runtime, "planner", 10.0)
    assert _states(runtime)["planner"] == "ok"


def test_beats_of_a_previous_run_are_not_flagged_at_restart(runtime, clock):
    record_beat(runtime, "weather_store", 2.0)
    clock.advance(3600)  # the site was down for an hour
    watchdog = Watchdog(runtime)  # the orchestrator starts again
    watchdog()
    assert _states(runtime)["weather_store"] == "ok"
    clock.advance(LATE_FACTOR * 2.0 + 1)  # the gateway did not come back
    watchdog()
    assert _states(runtime)["weather_store"] == "late"


def test_a_late_job_of_this_process_is_re_added_and_counted(runtime, clock, caplog):
    from apscheduler.schedulers.background import BackgroundScheduler

    from orchestrator.jobs import JobSpec, add_interval_job, record_beat

    runs: list[str] = []
    scheduler = BackgroundScheduler(timezone="UTC")
    spec = JobSpec("planner", 10.0, lambda: runs.append("planner"))
    add_interval_job(scheduler, runtime, spec)
    first = scheduler.get_job("planner")
    restarted: list[str] = []

    def restart(name: str) -> bool:
        if name != "planner":
            return False
        scheduler.remove_job(name)
        add_interval_job(scheduler, runtime, spec)
        restarted.append(name)
        return True

    watchdog = Watchdog(runtime, restart=restart)
    record_beat(runtime, "planner", 10.0)
    with runtime.sessions.begin() as session:
        from orchestrator.jobs import upsert_beat

        upsert_beat(session, "weather_store", "gateway", 2.0, clock.now())
    clock.advance(LATE_FACTOR * 10.0 + 1)
    with caplog.at_level(logging.WARNING, logger="orchestrator.jobs"):
        watchdog()
        watchdog()  # once per silence, not at every round
    assert restarted == ["planner"]  # the gateway's job is the supervisor's business
    assert scheduler.get_job("planner") is not first
    with runtime.sessions() as session:
        rows = {hb.name: hb for hb in session.scalars(select(JobHeartbeat))}
    assert (rows["planner"].state, rows["planner"].restarts) == ("restarted", 1)
    assert (rows["weather_store"].state, rows["weather_store"].restarts) == ("late", 0)
    assert any("restart #1" in r.getMessage() for r in caplog.records)
    record_beat(runtime, "planner", 10.0)  # it beats again: ok, the count stays
    with runtime.sessions() as session:
        hb = session.scalar(select(JobHeartbeat).where(JobHeartbeat.name == "planner"))
    assert (hb.state, hb.restarts) == ("ok", 1)
