"""The orchestrator process: named APScheduler jobs, each leaving a heartbeat.

Replaces the seed's Celery agents and `while ...: sleep()` loops. Every job runs with
`max_instances=1` and `coalesce=True`; its heartbeat row tells the watchdog and `pyros status`
when it last ran and whether it failed. Later capabilities add their jobs to `job_specs()`.
Partial: the watchdog only flags a late job (state "late", one warning); it does not restart
a stuck job inside this process. Dead processes are restarted by the supervisor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.model import JobHeartbeat
from orchestrator.runtime import Runtime
from orchestrator.status import LATE_FACTOR

log = logging.getLogger(__name__)
PROCESS = "orchestrator"


@dataclass(frozen=True)
class JobSpec:
    name: str
    period_s: float
    run: Callable[[], None]


def upsert_beat(
    session: Session, name: str, process: str, period_s: float, now: datetime, error: str = ""
) -> None:
    """Upsert the heartbeat row of `name` in `session` (any process: the gateway's jobs too)."""
    hb = session.scalar(select(JobHeartbeat).where(JobHeartbeat.name == name))
    if hb is None:
        hb = JobHeartbeat(name=name, process=process, period_s=period_s)
        session.add(hb)
    hb.last_beat = now
    hb.period_s = period_s
    hb.state = "error" if error else "ok"
    hb.last_error = error


def record_beat(runtime: Runtime, name: str, period_s: float, error: str = "") -> None:
    """Upsert the heartbeat row of an orchestrator job, in its own transaction."""
    with runtime.sessions.begin() as session:
        upsert_beat(session, name, PROCESS, period_s, runtime.clock.now(), error)


def _with_heartbeat(runtime: Runtime, spec: JobSpec) -> Callable[[], None]:
    def run() -> None:
        error = ""
        try:
            spec.run()
        except Exception as exc:  # a job failure is logged and stored, never kills the process
            log.exception("job %s failed", spec.name)
            error = f"{type(exc).__name__}: {exc}"
        record_beat(runtime, spec.name, spec.period_s, error)

    return run


class Watchdog:
    """Flags jobs whose heartbeat is late (a stuck or dead job) and logs each once.

    A job is late when it has not beaten for LATE_FACTOR periods, counted from its last beat or
    from the watchdog's start, whichever is later: heartbeats left by a previous run are not
    reported the moment the orchestrator restarts, only if their job does not come back.
    """

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.started = runtime.clock.now()

    def __call__(self) -> None:
        now = self.runtime.clock.now()
        with self.runtime.sessions.begin() as session:
            for hb in session.scalars(select(JobHeartbeat)):
                silent_s = (now - max(hb.last_beat, self.started)).total_seconds()
                if silent_s > LATE_FACTOR * hb.period_s and hb.state != "late":
                    log.warning(
                        "job %s (%s) is late: last beat %s",
                        hb.name,
                        hb.process,
                        hb.last_beat.isoformat(timespec="seconds"),
                    )
                    hb.state = "late"


PLANNER_PERIOD_S = 10.0


def job_specs(runtime: Runtime) -> list[JobSpec]:
    from orchestrator.alerts.service import alert_job_specs
    from orchestrator.planner.triggers import ReplanTriggers

    return [
        JobSpec("watchdog", 5.0, Watchdog(runtime)),
        JobSpec("planner", PLANNER_PERIOD_S, ReplanTriggers(runtime).run),
        # the lead wires on_urgent to Majordome.preempt at merge
        *alert_job_specs(runtime, on_urgent=None),
    ]


def run_orchestrator(runtime: Runtime, stop: threading.Event) -> None:
    """Run the jobs until `stop` is set (Ctrl-C or SIGTERM from the supervisor)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    specs = job_specs(runtime)
    for spec in specs:
        # Intervals are real seconds (APScheduler runs on the wall clock); the jobs themselves
        # read the injectable clock. Each job runs once at start, then every period.
        scheduler.add_job(
            _with_heartbeat(runtime, spec),
            "interval",
            seconds=spec.period_s,
            id=spec.name,
            name=spec.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(spec.period_s)),
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    log.info("orchestrator started with jobs: %s", ", ".join(s.name for s in specs))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        log.info("orchestrator stopped")
