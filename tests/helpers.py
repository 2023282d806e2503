"""Small helpers shared by tests: waiting for a condition, running and stopping processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil

from tests.pg import free_port

T = TypeVar("T")
__all__ = ["free_port", "pyros", "stop_process", "stop_process_tree", "wait_for"]


def wait_for(
    condition: Callable[[], T],
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - the peer may not be up yet
            last_error = exc
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}: {last_error}")


def pyros(
    *args: str, cwd: Path, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the `pyros` CLI as a user would, in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
    """Send `sig` to a child still running, wait for it, kill it if it does not stop."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_process_tree(proc: subprocess.Popen) -> None:
    """Stop `pyros start` (SIGINT, as Ctrl-C) and every process it left behind, and reap them."""
    if proc.poll() is not None:
        return
    descendants = psutil.Process(proc.pid).children(recursive=True)
    stop_process(proc, signal.SIGINT, timeout_s=30)
    _gone, alive = psutil.wait_procs(descendants, timeout=10)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=10)
