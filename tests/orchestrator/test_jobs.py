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
