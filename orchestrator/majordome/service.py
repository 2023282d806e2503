"""The majordome inside the orchestrator process: devices, observer, watcher and its jobs.

`MajordomeService.start()` recovers what a killed process left (executing sequences become
re-plannable), builds the devices (one that does not answer is retried, never fatal), and
starts the safety watcher. Its jobs: `monitoring`, `majordome` (the tick), `commands`, and the
`night_start` / `night_end` date jobs recomputed each night from astroplan's twilights, and
`night_report` after sunrise (the fallback when the tick did not write the night report).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta

from orchestrator.devices.errors import DeviceError
from orchestrator.devices.registry import build_devices, connect_and_check
from orchestrator.majordome.commands import CommandRunner
from orchestrator.majordome.core import REPLANNABLE_CAUSES, Majordome
from orchestrator.majordome.monitor import SafetyWatcher
from orchestrator.majordome.night import current_night
from orchestrator.majordome.states import State
from orchestrator.network.claim import Claims

log = logging.getLogger(__name__)
# the fallback night report: late enough for the dawn darks, before tomorrow is "tonight"
REPORT_AFTER_SUNRISE = timedelta(minutes=45)


class MajordomeService:
    def __init__(self, runtime, devices=None, observer=None):
        self.runtime = runtime
        self.devices = devices
        self.observer = observer
        self.majordome: Majordome | None = None
        self.watcher: SafetyWatcher | None = None
        self.commands: CommandRunner | None = None
        self._scheduler = None
        self._stop = threading.Event()

    def start(self) -> MajordomeService:
        from orchestrator.devices.status import DeviceStatusStore
        from orchestrator.observer import Observer, recover_interrupted

        recovered = recover_interrupted(self.runtime)
        if recovered:
            log.warning("recovered interrupted sequences: %s", recovered)
            self._back_to_pool(recovered)
        released = Claims(self.runtime.sessions, self.runtime.config.telescope.name).release_all()
        if released:
            log.warning("released %d claim(s) this telescope held when it stopped", released)
        if recovered:
            self._replan_recovered()
        if self.devices is None:
            self.devices = build_devices(
                self.runtime.config,
                self.runtime.clock,
                DeviceStatusStore(self.runtime),
                connect=False,
            )
            for role in self.devices.roles():
                device = self.devices.get(role)
                try:
                    connect_and_check(device)
                except DeviceError as exc:
                    device._stale = True  # the guard reconnects before its next use
                    log.error("device %s not ready at start: %s", role, exc)
        if self.observer is None:
            self.observer = Observer(self.runtime, self.devices, on_slew=self._slew_sent)
        self.majordome = Majordome(self.runtime, self.devices, self.observer)
        snap = self.majordome.store.snapshot()
        # after a restart (even a kill -9), re-enter through startup: check before moving
        self.majordome.store.move(
            State.STARTUP, f"process start (was {snap.state.value})", force=True
        )
        self.majordome.store.set(current_sequence_id=None)
        self.commands = CommandRunner(self.majordome)
        self.watcher = SafetyWatcher(self.majordome)
        self.watcher.poll_once()  # the first tick knows the weather
        self.watcher.start()
        return self

    def _replan_recovered(self) -> None:
        """Before the first tick: the newest schedule predates the kill and would start the
        next routine entry, not the recovered sequence (an alert's goes first)."""
        from orchestrator.planner.service import replan

        try:
            replan(self.runtime, "sequence back in the pool")
        except Exception:  # the planner job re-plans on the same trigger at its next run
            log.exception("re-plan of the recovered sequences failed")

    def _back_to_pool(self, ids: list[int]) -> None:
        for sequence_id in ids:
            self.majordome_back_to_pool(sequence_id)

    def majordome_back_to_pool(self, sequence_id: int) -> None:
        from orchestrator.model import Sequence, SequenceStatus

        with self.runtime.sessions.begin() as session:
            row = session.get(Sequence, sequence_id)
            if row is not None and row.status == SequenceStatus.FAILED:
                row.retry(self.runtime.clock.now(), "interrupted: back to the pool")

    def _slew_sent(self, sequence_id: int, at_unix: float | None = None) -> None:
        from orchestrator.alerts.store import record_slew

        # closes an alert's latency chain at the instant the command went out
        record_slew(self.runtime.sessions, sequence_id, at_unix)

    def preempt(self, sequence_id: int, reason: str) -> dict[str, float]:
        """The alert manager's `on_urgent`: the urgent sequence runs now (see Majordome.preempt).
        Returns when the slew is out (or refused): {"abort": unix, "slew": unix} as taken."""
        if self.majordome is None:
            return {}
        return self.majordome.preempt(sequence_id, reason).first.steps()

    def stop_sequence(self, sequence_id: int, reason: str) -> None:
        """The alert manager's `on_cancel`: a retracted sequence that is executing stops now."""
        if self.observer is not None and self.observer.sequence_id == sequence_id:
            self.observer.abort("operator", reason)

    def stop(self) -> None:
        self._stop.set()
        if self.watcher is not None:
            self.watcher.stop()
        if self.observer is not None and self.observer.busy:
            self.observer.abort("interrupted", "orchestrator stopping")
        if self.majordome is not None and self.majordome._worker is not None:
            self.majordome._worker.join(self.runtime.config.majordome.abort_timeout_s)
        if self.majordome is not None:
            self.majordome.reader.close()
        if self.devices is not None:
            self.devices.close()

    # ---- jobs -------------------------------------------------------------------------------

    def monitoring(self) -> None:
        """Check the watcher is alive (restart it if not); the verdict is already stored."""
        watcher = self.watcher
        if not watcher.alive and not self._stop.is_set():
            log.error("safety watcher died: restarting it")
            self.watcher = SafetyWatcher(self.majordome).start()
        if time.monotonic() - watcher.last_read > 10 * max(1.0, watcher.period_s):
            raise RuntimeError("safety watcher has not read IsSafe for 10 periods")

    def tick(self) -> None:
        from orchestrator.majordome.tick import tick

        tick(self.majordome)

    def check_deadline(self) -> None:
        """A majordome thread stuck past its device deadline: exit, the supervisor restarts."""
        deadline = self.majordome.deadline if self.majordome else None
        if deadline and time.monotonic() > deadline[1]:
            log.critical(
                "majordome stuck in %r past its deadline: exiting for a restart", deadline[0]
            )
            logging.shutdown()
            os._exit(3)

    def job_specs(self):
        from orchestrator.jobs import JobSpec

        m = self.runtime.config.majordome
        return [
            JobSpec("monitoring", 1.0, self.monitoring),
            JobSpec("majordome", m.tick_period_s, self.tick),
            JobSpec("commands", 1.0, self.commands),
            JobSpec("claims", max(1.0, self.runtime.config.telescope.claim_ttl_s / 4), self.claims),
        ]

    def claims(self) -> None:
        """The network: take back the sequences of a telescope whose claim expired (killed
        mid-sequence), and re-plan so that this one or another may execute them."""
        taken = self.majordome.claims.take_over_expired(self.runtime.clock.now())
        if taken:
            self.majordome._replan(f"claims expired: {len(taken)}"[:32], delayed=False)
            self.majordome.wake.set()

    def install(self, scheduler) -> None:
        """Date jobs of the night, automation, and the wake-up of the tick on events."""
        from orchestrator.majordome import automation

        self._scheduler = scheduler
        self.schedule_night_jobs()
        automation.install(scheduler, self.runtime)
        threading.Thread(target=self._waker, name="majordome-waker", daemon=True).start()

    def _waker(self) -> None:
        while not self._stop.is_set():
            if self.majordome.wake.wait(0.5):
                self.majordome.wake.clear()
                job = self._scheduler.get_job("majordome")
                if job is not None:
                    job.modify(next_run_time=datetime.now(UTC))

    def wall_time(self, instant: datetime) -> datetime:
        """The wall-clock instant when the injected clock reads `instant` (APScheduler runs on
        wall time; the simulated clock may run faster)."""
        speed = getattr(self.runtime.clock, "speed", 1.0)
        return datetime.now(UTC) + (instant - self.runtime.clock.now()) / speed

    def schedule_night_jobs(self) -> dict[str, datetime]:
        night = current_night(self.runtime.config, self.runtime.clock.now())
        planned = {}
        for name, instant in (("night_start", night.dusk), ("night_end", night.dawn)):
            if instant is None or instant <= self.runtime.clock.now():
                continue
            self._scheduler.add_job(
                self._night_event,
                "date",
                run_date=self.wall_time(instant),
                args=[name],
                id=name,
                name=name,
                replace_existing=True,
                misfire_grace_time=3600,
            )
            planned[name] = instant
        # the night's report: written by the tick after the last calibrations; this job is
        # the fallback when they never came (manual mode, error, a restart at dawn)
        report_at = night.sunrise + REPORT_AFTER_SUNRISE if night.sunrise else None
        if report_at is not None and report_at > self.runtime.clock.now():
            self._scheduler.add_job(
                self._night_report,
                "date",
                run_date=self.wall_time(report_at),
                args=[night.night],
                id="night_report",
                name="night_report",
                replace_existing=True,
                misfire_grace_time=3600,
            )
            planned["night_report"] = report_at
        if "night_end" not in planned:
            # past dawn: recompute once tomorrow's night is the current one
            self._scheduler.add_job(
                self.schedule_night_jobs,
                "date",
                run_date=self.wall_time(self.runtime.clock.now() + timedelta(hours=2)),
                id="night_recompute",
                name="night_recompute",
                replace_existing=True,
            )
        log.info("night jobs: %s", {k: v.isoformat(timespec="seconds") for k, v in planned.items()})
        return planned

    def _night_report(self, night) -> None:
        from orchestrator.majordome.tick import night_report_once

        night_report_once(self.majordome, night, background=False)

    def _night_event(self, name: str) -> None:
        from orchestrator.jobs import record_beat
        from orchestrator.planner.service import replan

        log.info("%s", name.replace("_", " "))
        if name == "night_start":
            replan(self.runtime, "new night")
        else:
            self.schedule_night_jobs()
        self.majordome.wake.set()
        record_beat(self.runtime, name, 86400.0)


__all__ = ["REPLANNABLE_CAUSES", "MajordomeService"]
