"""User cron-style jobs (`[[automation]]`): a cron expression in the site's timezone and one
action of a fixed list; no shell. They live in APScheduler's SQLAlchemyJobStore on the project
database (table `apscheduler_jobs`), so they survive restarts and show in `pyros status`.

Each firing queues a `Command` row (issued by `automation:NAME`), run by the `commands` job.
Partial: cron times are wall-clock times (APScheduler's), not the accelerated simulated clock.
"""

from __future__ import annotations

import logging

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)
STORE = "automation"
_runtime = None  # the running orchestrator's runtime (set by `install`)


def queue_action(action: str, name: str) -> None:
    """What an automation job runs (referenced by name in the job store)."""
    from orchestrator.majordome.commands import queue

    if _runtime is None:
        log.error("automation %s fired outside the orchestrator", name)
        return
    queue(_runtime, action, {"automation": name}, issued_by=f"automation:{name}"[:64])


def job_store(runtime) -> SQLAlchemyJobStore:
    """The stored jobs of this telescope (each telescope of a network has its own table)."""
    from orchestrator.config import DEFAULT_TELESCOPE

    name = runtime.config.telescope.name
    if name == DEFAULT_TELESCOPE:
        return SQLAlchemyJobStore(engine=runtime.engine)
    table = "apscheduler_jobs_" + "".join(c if c.isalnum() else "_" for c in name.lower())
    return SQLAlchemyJobStore(engine=runtime.engine, tablename=table)


def install(scheduler, runtime) -> list[str]:
    """Replace the stored automation jobs by the config's; returns their ids."""
    global _runtime
    _runtime = runtime
    for job in scheduler.get_jobs(jobstore=STORE):
        job.remove()
    ids = []
    tz = runtime.config.site.timezone
    for index, entry in enumerate(runtime.config.automation):
        name = entry.name or f"{entry.action}-{index}"
        job_id = f"automation:{name}"
        scheduler.add_job(
            "orchestrator.majordome.automation:queue_action",
            CronTrigger.from_crontab(entry.cron, timezone=tz),
            args=[entry.action, name],
            id=job_id,
            name=f"{name} ({entry.cron}: {entry.action})",
            jobstore=STORE,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
        ids.append(job_id)
    log.info("automation jobs: %s", ", ".join(ids) or "none")
    return ids


def stored_jobs(runtime) -> list[dict]:
    """The stored automation jobs with their next run (for `pyros status`), scheduler or not."""
    from sqlalchemy import inspect

    if "apscheduler_jobs" not in inspect(runtime.engine).get_table_names():
        return []
    store = job_store(runtime)
    store.start(None, STORE)  # type: ignore[arg-type]  # only reads
    try:
        return [
            {"id": job.id, "name": job.name, "next_run": job.next_run_time}
            for job in store.get_all_jobs()
        ]
    finally:
        store.shutdown()
