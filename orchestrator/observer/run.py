"""The state of one execution shared by its threads: the first failure wins, everyone stops.

Blocking device calls run in a helper thread while the caller waits for either the call or
the stop signal, so an abort never waits for a 20-minute exposure (nor for a simulator whose
AbortExposure lets the image arrive at full duration).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

WAIT_SLICE_S = 0.02  # how often a waiting thread looks at the stop signal


class Stopped(Exception):
    """This execution must end (abort, or another thread's failure): unwind quietly."""


class Run:
    """One execution's stop signal, its first failure and the cameras exposing now."""

    def __init__(self, on_stop: Callable[[], None]):
        self.stop = threading.Event()
        self.cause: str | None = None
        self.reason = ""
        self.exposing: set[str] = set()
        self.abort_threads: list[threading.Thread] = []
        # set by a pre-emption: the end of this execution is stored once the slew went out
        self.hold: threading.Event | None = None
        self.lock = threading.Lock()
        self._on_stop = on_stop

    def fail(self, cause: str, reason: str) -> bool:
        """Record the failure if it is the first, stop everything; True if it was the first."""
        with self.lock:
            first = self.cause is None
            if first:
                self.cause, self.reason = cause, reason
            self.stop.set()
        if first:
            self._on_stop()
        return first

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped()

    def wait_call(self, member: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`member(*args, **kwargs)` in a helper thread; Stopped as soon as the run stops."""
        self.check()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = member(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed back to the waiting thread
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="observer-call", daemon=True).start()
        while not done.wait(WAIT_SLICE_S):
            if self.stop.is_set():
                raise Stopped()  # the helper thread is abandoned; the guard's deadline ends it
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")


def monotonic_s() -> float:
    """Durations of device actions (bench figures), not instants: the clock is not used."""
    return time.monotonic()
