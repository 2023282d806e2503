"""Waiting for a device to finish: poll a condition until a deadline, never a fixed sleep.

Used by the adapters' `wait_*` methods; a condition may raise `DeviceError` to stop early
(a camera in its Error state, a shutter that reports Error).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestrator.devices.errors import DeviceTimeout

POLL_INTERVAL_S = 0.1


def poll_until(
    condition: Callable[[], bool],
    timeout_s: float,
    role: str,
    action: str,
    interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Return when `condition()` is true; DeviceTimeout naming the role after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise DeviceTimeout(role, action, timeout_s)
        time.sleep(interval_s)
