"""The one injectable clock: every time-dependent part asks it for `now()`.

`RealClock` is wall time; `SimulatedClock` starts at a chosen instant and runs `speed` times
faster, so a night can be replayed in minutes; `ManualClock` only moves when a test moves it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class SimulatedClock:
    """Starts at `start` and advances `speed` clock-seconds per real second.

    By default `start` is read at this object's creation. With `real_start` (a wall instant)
    the clock reads `start` at that wall instant instead: every process given the same pair
    agrees on the time, and a restarted process resumes the night instead of replaying it.
    With `real_start_file`, that instant is read from the file (ISO 8601) once it exists; until
    then the clock stays at `start`: a starting gun for processes started at different moments.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        real_start: datetime | None = None,
        real_start_file: Path | None = None,
    ):
        if start.tzinfo is None:
            raise ValueError("SimulatedClock start must be timezone-aware")
        if speed <= 0:
            raise ValueError("SimulatedClock speed must be > 0")
        if real_start is not None and real_start.tzinfo is None:
            raise ValueError("SimulatedClock real_start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._file = real_start_file
        self._t0: float | None = time.monotonic()
        if real_start is not None:
            self._t0 = self._monotonic_of(real_start)
        elif real_start_file is not None:
            self._t0 = None  # read from the file at the first now() after it appears

    @staticmethod
    def _monotonic_of(instant: datetime) -> float:
        """The same wall instant in this process's monotonic terms."""
        return time.monotonic() - (time.time() - instant.timestamp())

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        t0 = self._t0
        if t0 is None:
            try:
                instant = datetime.fromisoformat(self._file.read_text().strip())
            except (OSError, ValueError):
                return self._start  # the gun has not fired: the clock waits at its start
            t0 = self._t0 = self._monotonic_of(instant)
        return self._start + timedelta(seconds=(time.monotonic() - t0) * self._speed)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self._speed)


class ManualClock:
    """A clock for tests: `advance()` moves it, `sleep()` advances it instantly."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


def clock_from_config(
    start: datetime | None,
    speed: float,
    real_start: datetime | None = None,
    real_start_file: Path | None = None,
) -> Clock:
    """The clock the configuration asks for: real unless a start or a speed ≠ 1 is set."""
    if start is None and speed == 1.0:
        return RealClock()
    return SimulatedClock(start or datetime.now(UTC), speed, real_start, real_start_file)
