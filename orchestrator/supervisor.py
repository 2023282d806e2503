"""`pyros start`: run the embedded default as supervised child processes.

Each process (orchestrator jobs, web, and in the embedded default the simulators) is a
`pyros` sub-command in its own OS process, like RTS2's daemons or POCS under supervisord:
one that dies is logged and restarted with back-off; Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config import Config

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (1, 2, 5, 10, 30)
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]  # arguments after `pyros --config FILE`


def embedded_processes(config: Config) -> list[ProcessSpec]:
    """What `pyros start` runs: the three PyROS processes, and the simulators if enabled."""
    specs = [ProcessSpec("orchestrator", ("orchestrator",)), ProcessSpec("web", ("web",))]
    if config.simulators.enabled:
        specs.append(ProcessSpec("plc-sim", ("plc-sim",)))
        # alpaca-simulators for every device of the default config (`pyros devices simulate`).
        specs.append(ProcessSpec("alpaca-simulator", ("devices", "simulate")))
    specs.append(ProcessSpec("gateway", ("gateway",)))
    if config.pipeline.enabled:  # calibration, WCS, alert reports: heavy work out of the jobs
        specs.append(ProcessSpec("pipeline", ("pipeline",)))
    return specs


@dataclass
class _Child:
    spec: ProcessSpec
    popen: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: float = field(default=0.0)


class Supervisor:
    def __init__(self, specs: list[ProcessSpec], base_argv: list[str], log_dir: Path):
        self.children = [_Child(spec) for spec in specs]
        self.base_argv = base_argv
        self.log_dir = log_dir
        self.stop_event = threading.Event()

    def _start(self, child: _Child) -> None:
        argv = [*self.base_argv, *child.spec.argv]
        log.info("starting %s: %s", child.spec.name, " ".join(argv))
        child.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        child.started = time.monotonic()

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop_event.set())
        for child in self.children:
            self._start(child)
        print(f"pyros: started {', '.join(c.spec.name for c in self.children)}; Ctrl-C stops")
        while not self.stop_event.wait(0.5):
            for child in self.children:
                self._check(child)
        self._stop_all()
        return 0

    def _check(self, child: _Child) -> None:
        now = time.monotonic()
        if child.popen is not None:
            code = child.popen.poll()
            if code is None:
                if now - child.started > 60:
                    child.restarts = 0  # it ran long enough: reset the back-off
                return
            delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
            log.error("%s exited with code %s; restarting in %s s", child.spec.name, code, delay)
            child.popen = None
            child.restarts += 1
            child.next_start = now + delay
        elif now >= child.next_start:
            self._start(child)

    def _stop_all(self) -> None:
        running = [c.popen for c in self.children if c.popen and c.popen.poll() is None]
        for popen in running:
            popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for popen in running:
            try:
                popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        print("pyros: all processes stopped")


def pyros_argv(config_path: Path | None, verbosity: int) -> list[str]:
    argv = [sys.executable, "-m", "orchestrator.cli"]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    return argv
