"""`pyros start`: run the embedded default as supervised child processes.

Each process (orchestrator jobs, web, and in the embedded default the simulators) is a
`pyros` sub-command in its own OS process, like RTS2's daemons or POCS under supervisord:
one that dies is logged and restarted with back-off; Ctrl-C or SIGTERM stops them all.
Children die with the supervisor (Linux PR_SET_PDEATHSIG: a `kill -9` of `pyros start` sends
them SIGTERM), a port already taken is refused before anything starts, with one line naming
the port and its holder, and a child that exits because another PyROS holds its port or the
orchestrator lease (codes 3, 4) stops everything instead of a restart loop.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from orchestrator.config import DEFAULT_TELESCOPE, Config

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (1, 2, 5, 10, 30)
STOP_TIMEOUT_S = 10.0
EXIT_LEASE_HELD = 3  # orchestrator.lease: another orchestrator runs on this database
EXIT_PORT_IN_USE = 4  # a server's port is taken (orchestrator.cli)
FATAL_EXIT_CODES = {EXIT_LEASE_HELD: "another orchestrator holds the database",
                    EXIT_PORT_IN_USE: "its port is in use"}  # fmt: skip
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]  # arguments after `pyros --config FILE`
    ports: tuple[tuple[str, int], ...] = ()  # TCP (host, port) it listens on


def embedded_processes(config: Config) -> list[ProcessSpec]:
    """What `pyros start` runs: the three PyROS processes, and the simulators if enabled."""
    web = ((config.web.host, config.web.port),)
    orchestrator: tuple[str, ...] = ("orchestrator",)
    if config.telescope.name != DEFAULT_TELESCOPE:  # `pyros start --telescope NAME`
        orchestrator += ("--telescope", config.telescope.name)
    specs = [ProcessSpec("orchestrator", orchestrator), ProcessSpec("web", ("web",), web)]
    if config.simulators.enabled:
        specs.append(ProcessSpec("plc-sim", ("plc-sim",), (config.plc.host_port,)))
        # alpaca-simulators for every device of the default config (`pyros devices simulate`).
        alpaca = (config.simulators.alpaca_host_port,)
        specs.append(ProcessSpec("alpaca-simulator", ("devices", "simulate"), alpaca))
    gateway = ((config.gateway.host, config.gateway.port),)
    specs.append(ProcessSpec("gateway", ("gateway",), gateway))
    if config.pipeline.enabled:  # calibration, WCS, alert reports: heavy work out of the jobs
        specs.append(ProcessSpec("pipeline", ("pipeline",)))
    return specs


def port_holder(port: int) -> str:
    """Who listens on a TCP port: 'pid N (command)', or '' if it cannot be told."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    return ""
                cmd = " ".join(psutil.Process(conn.pid).cmdline()[-3:])
                return f"pid {conn.pid} ({cmd})"
    except (psutil.Error, OSError):
        pass
    return ""


def busy_ports(specs: list[ProcessSpec]) -> list[str]:
    """One line per port a child would fail to bind: the port, the child and the holder."""
    lines = []
    for spec in specs:
        for host, port in spec.ports:
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        continue  # not ours to judge (e.g. an address of another machine)
                    holder = port_holder(port)
                    lines.append(
                        f"port {port} ({spec.name}) is already in use"
                        + (f" by {holder}" if holder else "")
                        + ": stop that process (another `pyros start`?) or change the port "
                        "in the configuration"
                    )
    return lines


def _die_with_parent(parent_pid: int) -> None:
    """In the child before exec: SIGTERM when the supervisor dies, even by kill -9 (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: children outlive a killed supervisor
        return
    if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


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
        self.fatal = ""  # why the supervisor stopped by itself

    def _start(self, child: _Child) -> None:
        argv = [*self.base_argv, *child.spec.argv]
        log.info("starting %s: %s", child.spec.name, " ".join(argv))
        parent = os.getpid()
        child.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, preexec_fn=lambda: _die_with_parent(parent)
        )
        child.started = time.monotonic()

    def run(self) -> int:
        busy = busy_ports([c.spec for c in self.children])
        if busy:
            for line in busy:
                print(f"pyros: {line}", flush=True)
            return 1
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop_event.set())
        for child in self.children:
            self._start(child)
        print(f"pyros: started {', '.join(c.spec.name for c in self.children)}; Ctrl-C stops")
        self.fatal = ""
        while not self.stop_event.wait(0.5):
            for child in self.children:
                self._check(child)
        self._stop_all()
        if self.fatal:
            print(f"pyros: {self.fatal}", flush=True)
            return 1
        return 0

    def _check(self, child: _Child) -> None:
        now = time.monotonic()
        if child.popen is not None:
            code = child.popen.poll()
            if code is None:
                if now - child.started > 60:
                    child.restarts = 0  # it ran long enough: reset the back-off
                return
            if code in FATAL_EXIT_CODES:  # restarting cannot help: stop, say why, once
                self.fatal = (
                    f"{child.spec.name} cannot run ({FATAL_EXIT_CODES[code]}; its message is "
                    "above): everything stopped"
                )
                log.error("%s", self.fatal)
                child.popen = None
                self.stop_event.set()
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
