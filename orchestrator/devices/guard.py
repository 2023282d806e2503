"""The guard around every device: deadlines, errors that name the role, reconnection, status.

Each call on a guarded device runs in a worker thread with a deadline (the device's
`timeout_s`, or the call's own `timeout_s` plus that margin for long actions), so no job ever
hangs on a device. A device that times out or drops its connection is marked stale and is
reconnected before its next use; every change of its state is reported to a `StatusSink`
(the DeviceStatus table in production).
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from orchestrator.devices.errors import DeviceError, DeviceOffline, DeviceTimeout

log = logging.getLogger(__name__)

# Calls that must not first reconnect a stale device (they are the reconnection, or harmless).
_NO_RECONNECT = frozenset({"connect", "disconnect", "describe"})


class StatusSink(Protocol):
    def __call__(
        self, role: str, adapter: str, state: str, connected: bool, error: str, details: dict
    ) -> None: ...


def short_reason(exc: BaseException) -> str:
    """One readable line from a library exception (requests' messages run to 300 chars)."""
    text = str(exc) or type(exc).__name__
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno:
        return errno.group(1).strip()
    if "timed out" in text.lower():
        return "connection timed out"
    return f"{type(exc).__name__}: {text}"[:300]


class GuardedDevice:
    """A port implementation behind deadlines; behaves like the device it wraps."""

    def __init__(
        self,
        device: Any,
        role: str,
        adapter: str,
        timeout_s: float,
        status: StatusSink | None = None,
    ):
        self._device = device
        self.role = role
        self.adapter = adapter
        self.timeout_s = timeout_s
        self._status = status
        self._stale = False
        self._last: tuple[str, bool, str] | None = None

    @property
    def stale(self) -> bool:
        """True after a timeout or a lost connection: the next call reconnects first."""
        return self._stale

    @property
    def device(self) -> Any:
        """The adapter object itself (tests and diagnostics only)."""
        return self._device

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._device, name)
        if not callable(member):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, member, *args, **kwargs)

        call.__name__ = name
        return call

    def _deadline_s(self, member: Callable, args: tuple, kwargs: dict) -> float:
        try:
            bound = inspect.signature(member).bind(*args, **kwargs)
        except (TypeError, ValueError):
            return self.timeout_s
        action_s = bound.arguments.get("timeout_s")
        return self.timeout_s + float(action_s) if action_s is not None else self.timeout_s

    def call(self, action: str, member: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run `member(*args, **kwargs)` with a deadline; errors become DeviceError."""
        if self._stale and action not in _NO_RECONNECT:
            self._run("reconnect", self._device.connect, (), {}, self.timeout_s)
            self._stale = False
            log.info("device %s reconnected", self.role)
        result = self._run(action, member, args, kwargs, self._deadline_s(member, args, kwargs))
        if action == "connect":
            self._stale = False
        self._report("ok", action != "disconnect", "")
        return result

    def _run(
        self, action: str, member: Callable, args: tuple, kwargs: dict, deadline_s: float
    ) -> Any:
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = member(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"device-{self.role}-{action}", daemon=True)
        worker.start()
        worker.join(deadline_s)
        if worker.is_alive():
            # The worker is abandoned (daemon); the library's own socket timeout ends it.
            self._stale = True
            error = DeviceTimeout(self.role, action, deadline_s)
            self._report("offline", False, str(error))
            raise error
        if "error" in outcome:
            exc = outcome["error"]
            if isinstance(exc, DeviceOffline):
                self._stale = True
                self._report("offline", False, str(exc))
                raise exc
            if isinstance(exc, DeviceTimeout):
                # The device answered but did not finish in time (a slew, an exposure).
                self._report("error", True, str(exc))
                raise exc
            if isinstance(exc, DeviceError):
                # A refusal from a device that answered: no reconnection needed.
                self._report("error", True, str(exc))
                raise exc
            self._stale = True
            error = DeviceError(self.role, action, short_reason(exc))
            self._report("offline", False, str(error))
            raise error from exc
        return outcome.get("value")

    def _report(self, state: str, connected: bool, error: str) -> None:
        key = (state, connected, error)
        if self._status is None or key == self._last:
            return
        self._last = key
        try:
            self._status(self.role, self.adapter, state, connected, error, {})
        except Exception:  # storing a status must never break a device call
            log.exception("cannot store the status of device %s", self.role)
