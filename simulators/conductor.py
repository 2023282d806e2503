"""The conductor of a simulated night: plays the scenario, prints progress, ends the night.

Runs beside the supervisor of `pyros simulate`, on the run's shared clock, which it starts once
every process is ready (it writes the clock's start file). A scenario entry at
`time` t fires when the clock reads start + t × speed (t wall seconds after the run started, as
in the seed, where scenarios ran in real time); durations in entries (`for_s`, `silent_s`) are
scenario seconds too. The run ends after dawn, once the majordome is back to day (or parked),
or at the hard end; then the supervisor is told to stop.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from orchestrator.model import Image, MajordomeState, Sequence, SequenceStatus, WeatherWatch
from orchestrator.runtime import Runtime
from simulators import night_scenario as ns
from simulators.fault_proxy import FaultProxy
from simulators.night_run import READY_TIMEOUT_S, NightPlacement
from simulators.plc_simulator import PlcSimulator

log = logging.getLogger(__name__)
LOOP_S = 0.1  # wall seconds between two looks at the clock
DONE_STATES = ("day", "parked")


@dataclass
class NightSummary:
    completed: bool = False  # reached the end of the night by itself
    executed: int = 0
    planned: int = 0
    frames: int = 0
    unsafe_s: float = 0.0  # clock seconds the gateway's stored verdict was unsafe
    wall_s: float = 0.0
    actions: list[str] = field(default_factory=list)  # what the scenario did, in order
    state: str = ""


class Conductor:
    def __init__(
        self,
        runtime: Runtime,
        scenario: ns.NightScenario | None,
        placement: NightPlacement,
        speed: float,
        plc: PlcSimulator,
        proxy: FaultProxy,
        kill: Callable[[str], int | None],
        stop: threading.Event,
        out: Callable[[str], None] = print,
        progress_every_s: float = 5.0,
        ready_url: str = "",
        gun: Path | None = None,
    ):
        self.runtime = runtime
        self.entries = list(scenario.entries) if scenario else []
        self.placement = placement
        self.speed = speed
        self.plc = plc
        self.proxy = proxy
        self.kill = kill  # process name -> pid killed (None when not running)
        self.stop = stop  # set it to end the run (the supervisor's stop event)
        self.out = out
        self.progress_every_s = progress_every_s
        self.ready_url = ready_url  # the device simulator's management API
        self.gun = gun  # the clock's real_start_file: the night starts when it is written
        self.summary = NightSummary()
        self.summary_actions_at_start: list[ns.Entry] = []
        self._thread: threading.Thread | None = None

    def start(self) -> Conductor:
        self._thread = threading.Thread(target=self._main, name="conductor", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    # ---- the start: every process ready, then the clock's starting gun ------------------------
    def _main(self) -> None:
        try:
            if self.gun is not None and not self._ready():
                self.out("pyros simulate: the processes did not get ready; stopping")
                self.stop.set()
                return
        except Exception:  # noqa: BLE001 - no night without a start: say so and stop
            log.exception("conductor start")
            self.stop.set()
            return
        self._run()

    def _ready(self) -> bool:
        """Device simulator, orchestrator (jobs and majordome), gateway: then the time-0
        entries, the planner's first schedule of them, and the gun: the clock starts now."""
        from orchestrator.model import JobHeartbeat, Schedule

        t0 = time.monotonic()
        deadline = t0 + READY_TIMEOUT_S
        if not wait_http(self.ready_url, self.stop, READY_TIMEOUT_S):
            return False

        def orchestrator_and_gateway() -> bool:
            with self.runtime.sessions() as session:
                beats = set(session.scalars(select(JobHeartbeat.name)))
                weather = session.scalar(select(func.count()).select_from(WeatherWatch))
            settled = self._state() in ("day", "parked", "night_waiting", "closed_weather")
            return {"majordome", "planner", "commands"} <= beats and bool(weather) and settled

        if not _until(orchestrator_and_gateway, self.stop, deadline):
            return False
        self.play_at_start()
        if any(e.action == ns.USER for e in self.summary_actions_at_start):

            def planned() -> bool:
                with self.runtime.sessions() as session:
                    return bool(session.scalar(select(func.count()).select_from(Schedule)))

            _until(planned, self.stop, min(deadline, time.monotonic() + 60))  # else: the night
        real_start = datetime.now(UTC)
        self.gun.write_text(real_start.isoformat())
        self.out(f"pyros simulate: all processes ready after {time.monotonic() - t0:.0f} s: "
                 f"the night starts")  # fmt: skip
        return True

    # ---- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        t0 = time.monotonic()
        next_progress = t0 + self.progress_every_s
        last_now = self.runtime.clock.now()
        unsafe = False
        while not self.stop.wait(LOOP_S):
            now = self.runtime.clock.now()
            if unsafe:
                self.summary.unsafe_s += (now - last_now).total_seconds()
            last_now = now
            try:
                self._play(now)
                unsafe = self._unsafe()
                if time.monotonic() >= next_progress:
                    next_progress += self.progress_every_s
                    self.out(self.progress_line(now, t0))
                if self._night_over(now):
                    self.summary.completed = True
                    break
            except Exception:  # noqa: BLE001 - a read racing a restart: try again next turn
                log.exception("conductor")
        self.summary.wall_s = time.monotonic() - t0
        self._count()
        self.out(self.progress_line(self.runtime.clock.now(), t0))
        self.stop.set()

    def _night_over(self, now: datetime) -> bool:
        if now >= self.placement.hard_end:
            return True
        return now >= self.placement.soft_end and self._state() in DONE_STATES

    # ---- what the progress line shows ---------------------------------------------------------
    def _state(self) -> str:
        with self.runtime.sessions() as session:
            telescope = self.runtime.config.telescope.name
            row = session.scalar(
                select(MajordomeState).where(MajordomeState.telescope == telescope)
            )
            return row.state if row is not None else "starting"

    def _unsafe(self) -> bool:
        with self.runtime.sessions() as session:
            row = session.scalar(select(WeatherWatch).order_by(WeatherWatch.id.desc()).limit(1))
            return row is not None and not row.is_safe

    def _count(self) -> None:
        with self.runtime.sessions() as session:
            counts = dict(
                session.execute(select(Sequence.status, func.count()).group_by(Sequence.status))
                .tuples()
                .all()
            )
            self.summary.frames = session.scalar(
                select(func.count()).select_from(Image).where(Image.image_type == "light")
            )
        self.summary.executed = counts.get(SequenceStatus.EXECUTED, 0)
        self.summary.planned = counts.get(SequenceStatus.PLANNED, 0) + counts.get(
            SequenceStatus.EXECUTING, 0
        )
        self.summary.state = self._state()

    def progress_line(self, now: datetime, t0: float) -> str:
        self._count()
        unsafe = timedelta(seconds=round(self.summary.unsafe_s))
        return (
            f"simulate {now:%Y-%m-%d %H:%M} UTC | majordome {self.summary.state} | sequences "
            f"{self.summary.executed} done / {self.summary.planned} planned | "
            f"unsafe {unsafe} | wall {time.monotonic() - t0:.0f} s"
        )

    # ---- the scenario -----------------------------------------------------------------------
    def play_at_start(self) -> None:
        """Entries at time 0, before the clock starts: the night begins with them done
        (requests in the pool and planned, a fault already on, ...)."""
        self.summary_actions_at_start = [e for e in self.entries if e.time_s <= 0.0]
        self._play(self.placement.start, limit_s=0.0)

    def _play(self, now: datetime, limit_s: float | None = None) -> None:
        elapsed_s = (now - self.placement.start).total_seconds() / self.speed
        if limit_s is not None:
            elapsed_s = limit_s
        while self.entries and self.entries[0].time_s <= elapsed_s:
            entry = self.entries.pop(0)
            try:
                done = self._act(entry)
            except Exception as exc:  # noqa: BLE001 - one entry failing must not end the night
                done = f"failed: {type(exc).__name__}: {exc}"
            line = f"scenario[{entry.index}] at {entry.time_s:g} s ({now:%H:%M} UTC) {done}"
            self.summary.actions.append(line)
            self.out(line)

    def _act(self, entry: ns.Entry) -> str:
        value: Any = entry.value
        if entry.action == ns.USER:
            return self._submit(value)
        if entry.action == ns.PLC:
            action = dict(value)
            if "silent_s" in action:  # scenario seconds → the PLC simulator's clock seconds
                action["silent_s"] = float(action["silent_s"]) * self.speed
            self.plc.apply(action)
            return f"plcSimulator {action}"
        if entry.action == ns.ALERT:
            from orchestrator.alerts.replay import freshen, to_folder

            folder = self.runtime.config.folders.voevents
            path = to_folder(
                folder, value.name, freshen(value.read_bytes(), self.runtime.clock.now())
            )
            return f"alertSimulator: notice {path.name} in {folder}"
        if entry.action == ns.FAULT:
            self.proxy.inject(value.device_type, value.device_number, value.fault, value.for_s)
            return (
                f"deviceFault: {value.role} ({value.device_type} #{value.device_number}) "
                f"{value.fault} for {value.for_s:g} s ({value.for_s * self.speed:g} s of night)"
            )
        if entry.action == ns.KILL:
            pid = self.kill(value)
            return f"kill {value}: " + (f"pid {pid} killed" if pid else "not running")
        if entry.action == ns.OPERATOR:
            from orchestrator.majordome.commands import queue

            command_id = queue(self.runtime, value.command, value.arguments, issued_by="scenario")
            return f"operator {value.command}: command {command_id} queued"
        raise ValueError(f"unknown action {entry.action}")

    def _submit(self, path) -> str:
        from orchestrator.errors import PyrosError
        from orchestrator.requests.builder import RequestBuilder
        from orchestrator.requests.xml_io import submit_xml

        builder = RequestBuilder(self.runtime.config, self.runtime.clock)
        try:
            done = submit_xml(builder, self.runtime.sessions, path.read_bytes(), path.name, "admin")
        except PyrosError as exc:
            return f"userSimulator {path.name}: refused: {exc}"
        ids = ", ".join(str(i) for i in done.sequence_ids)
        return f"userSimulator {path.name}: request {done.request_id}, sequences {ids}"


def _until(condition: Callable[[], bool], stop: threading.Event, deadline: float) -> bool:
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # noqa: BLE001 - tables not there yet, a process restarting
            pass
        stop.wait(0.5)
    return False


def wait_http(url: str, stop: threading.Event, timeout_s: float) -> bool:
    """True once `url` answers (any HTTP status), False after `timeout_s` or when stopped."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            stop.wait(0.5)
    return False


def kill_child(supervisor) -> Callable[[str], int | None]:
    """`kill` for the conductor: SIGKILL the supervisor's child of that name (it restarts it)."""

    def kill(name: str) -> int | None:
        for child in supervisor.children:
            popen = child.popen
            if child.spec.name == name and popen is not None and popen.poll() is None:
                os.kill(popen.pid, signal.SIGKILL)
                return popen.pid
        return None

    return kill
