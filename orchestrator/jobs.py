"""The orchestrator process: named APScheduler jobs, each leaving a heartbeat.

Replaces the seed's Celery agents and `while ...: sleep()` loops. Every job runs with
`max_instances=1` and `coalesce=True`; its heartbeat row tells the watchdog and `pyros status`
when it last ran and whether it failed. Later capabilities add their jobs to `job_specs()`.
The watchdog removes and re-adds a job of this process that is late by more than
LATE_FACTOR periods (logged, `restarts` counted); a majordome thread stuck past its device
deadline makes the process exit so that the supervisor restarts it.
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

from orchestrator.config import DEFAULT_TELESCOPE
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


def beat_name(runtime: Runtime, job: str) -> str:
    """The heartbeat row of this telescope's job: `job`, or `job@NAME` in a network (two
    telescopes' jobs in one row hid a dead one's and collided at their first beat)."""
    telescope = runtime.config.telescope.name
    return job if telescope == DEFAULT_TELESCOPE else f"{job}@{telescope}"


def job_of_beat(runtime: Runtime, name: str) -> str | None:
    """The job of this telescope a heartbeat row is for; None for another telescope's."""
    telescope = runtime.config.telescope.name
    if telescope == DEFAULT_TELESCOPE:
        return None if "@" in name else name
    job, _, owner = name.rpartition("@")
    return job if owner == telescope and job else None


def record_beat(runtime: Runtime, name: str, period_s: float, error: str = "") -> None:
    """Upsert the heartbeat row of an orchestrator job, in its own transaction."""
    with runtime.sessions.begin() as session:
        upsert_beat(
            session, beat_name(runtime, name), PROCESS, period_s, runtime.clock.now(), error
        )


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

    def __init__(
        self,
        runtime: Runtime,
        restart: Callable[[str], bool] | None = None,
        checks: list[Callable[[], None]] | None = None,
    ):
        self.runtime = runtime
        self.started = runtime.clock.now()
        self.restart = restart  # re-adds a job of this process by name; False if not ours
        self.checks = checks or []  # e.g. the majordome's device deadline

    def __call__(self) -> None:
        for check in self.checks:
            check()
        now = self.runtime.clock.now()
        speed = float(getattr(self.runtime.clock, "speed", 1.0))  # periods are real seconds
        with self.runtime.sessions.begin() as session:
            for hb in session.scalars(select(JobHeartbeat)):
                silent_s = (now - max(hb.last_beat, self.started)).total_seconds() / speed
                if silent_s <= LATE_FACTOR * hb.period_s or hb.state in ("late", "restarted"):
                    continue
                log.warning(
                    "job %s (%s) is late: last beat %s",
                    hb.name,
                    hb.process,
                    hb.last_beat.isoformat(timespec="seconds"),
                )
                hb.state = "late"
                job = job_of_beat(self.runtime, hb.name) if hb.process == PROCESS else None
                if job is not None and self.restart is not None and self.restart(job):
                    hb.state = "restarted"
                    hb.restarts += 1
                    log.warning("job %s removed and re-added (restart #%d)", hb.name, hb.restarts)


PLANNER_PERIOD_S = 10.0


def job_specs(runtime: Runtime, majordome=None) -> list[JobSpec]:
    """The jobs of this process; `majordome` (a MajordomeService) receives the alerts'
    pre-emptions and retractions, in this process: an alert reaches the mount directly."""
    from orchestrator.alerts.service import alert_job_specs
    from orchestrator.planner.triggers import ReplanTriggers

    on_urgent = majordome.preempt if majordome is not None else None
    return [
        JobSpec("watchdog", 5.0, Watchdog(runtime)),
        JobSpec("planner", PLANNER_PERIOD_S, ReplanTriggers(runtime, on_urgent).run),
        *alert_job_specs(
            runtime,
            on_urgent=on_urgent,
            on_cancel=majordome.stop_sequence if majordome is not None else None,
        ),
    ]


def add_interval_job(scheduler: BackgroundScheduler, runtime: Runtime, spec: JobSpec) -> None:
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
        replace_existing=True,
    )


def run_orchestrator(runtime: Runtime, stop: threading.Event, majordome: bool = True) -> None:
    """Run the jobs until `stop` is set (Ctrl-C or SIGTERM from the supervisor)."""
    from orchestrator.majordome.automation import STORE, job_store
    from orchestrator.majordome.service import MajordomeService

    scheduler = BackgroundScheduler(timezone="UTC", jobstores={STORE: job_store(runtime)})
    service = MajordomeService(runtime).start() if majordome else None
    specs = job_specs(runtime, service)
    if service is not None:
        specs += service.job_specs()
    by_name = {spec.name: spec for spec in specs}

    def restart(name: str) -> bool:
        spec = by_name.get(name)
        if spec is None:
            return False
        if scheduler.get_job(name) is not None:
            scheduler.remove_job(name)
        add_interval_job(scheduler, runtime, spec)
        return True

    watchdog = by_name["watchdog"]
    watchdog.run.restart = restart  # type: ignore[attr-defined]
    if service is not None:
        watchdog.run.checks.append(service.check_deadline)  # type: ignore[attr-defined]
    for spec in specs:
        add_interval_job(scheduler, runtime, spec)
    scheduler.start()
    if service is not None:
        service.install(scheduler)  # after start: the stored automation jobs are replaced
    log.info("orchestrator started with jobs: %s", ", ".join(s.name for s in specs))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        if service is not None:
            service.stop()
        log.info("orchestrator stopped")
