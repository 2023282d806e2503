"""The safe state: abort exposures, close the dome, park the mount — in that order.

Each step has its own timeout and is logged with its duration; a step that fails does not stop
the next one (a dome that will not close still gets the mount parked). Used by the safety
reaction (weather), by a failing device, by `close`/`park` commands and at the end of the night.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.devices.errors import DeviceError
from orchestrator.devices.ports import ShutterState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    duration_s: float
    detail: str = ""

    def text(self) -> str:
        verdict = "done" if self.ok else f"FAILED: {self.detail}"
        return f"{self.name} {verdict} in {self.duration_s:.2f} s"


def timed(name: str, action: Callable[[], object]) -> Step:
    started = time.monotonic()
    try:
        action()
        step = Step(name, True, time.monotonic() - started)
    except DeviceError as exc:
        step = Step(name, False, time.monotonic() - started, str(exc))
    except Exception as exc:  # noqa: BLE001 - the next step must run whatever happened
        step = Step(name, False, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    (log.info if step.ok else log.error)("safe state: %s", step.text())
    return step


def shutter_open(devices) -> bool:
    """True unless the dome says CLOSED (an unknown shutter counts as open: close it)."""
    if "dome" not in devices:
        return False
    try:
        return devices.get("dome").shutter_state() != ShutterState.CLOSED
    except DeviceError:
        return True


def close_dome(devices, timeout_s: float) -> Step:
    if "dome" not in devices:
        return Step("close dome", True, 0.0, "no dome configured")
    return timed("close dome", lambda: devices.get("dome").close_shutter(timeout_s=timeout_s))


def park_mount(devices, timeout_s: float) -> Step:
    if "mount" not in devices:
        return Step("park mount", True, 0.0, "no mount configured")

    def park() -> None:
        mount = devices.get("mount")
        if mount.is_slewing():
            mount.abort()  # a slew in progress must stop before the park
        mount.park(timeout_s=timeout_s)

    return timed("park mount", park)


def go_safe(config, devices, abort: Callable[[], object] | None = None) -> list[Step]:
    """Abort (if given), close, park; returns every step with its duration."""
    m = config.majordome
    steps = []
    if abort is not None:
        steps.append(timed("abort exposures", abort))
    steps.append(close_dome(devices, m.close_timeout_s))
    steps.append(park_mount(devices, m.park_timeout_s))
    return steps
