"""The one safety read: IsSafe through the SafetyMonitor *port*, as any Alpaca client would.

The configured `safety_monitor` role is used, else our gateway's Alpaca address. A gateway that
does not answer in time, or a monitor that errors, is UNSAFE. The reasons come from the
gateway's stored synthesis. Used by the monitoring job, manual commands and `devices check`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import select

from orchestrator.config import Config, DeviceConfig
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.guard import GuardedDevice
from orchestrator.devices.registry import make_adapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    is_safe: bool
    reasons: tuple[str, ...] = ()
    source: str = ""  # which monitor answered
    reachable: bool = True

    def text(self) -> str:
        verdict = "SAFE" if self.is_safe else "UNSAFE"
        why = "; ".join(self.reasons)
        return f"{verdict}" + (f" ({why})" if why else "")


def monitor_config(config: Config) -> DeviceConfig:
    """The SafetyMonitor to ask: `devices.safety_monitor`, else our gateway's Alpaca server."""
    configured = config.devices.safety_monitor
    if configured is not None:
        return configured
    gateway = config.gateway
    return DeviceConfig(
        adapter="alpaca",
        address=f"{gateway.host}:{gateway.port}",
        device_number=0,
        timeout_s=config.majordome.safety_timeout_s,
    )


@dataclass
class SafetyReader:
    """Reads IsSafe; keeps its connection and reconnects a monitor that lost it."""

    runtime: object
    _monitor: GuardedDevice | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _device(self) -> GuardedDevice:
        if self._monitor is None:
            config = self.runtime.config
            dev = monitor_config(config)
            timeout_s = min(dev.timeout_s, config.majordome.safety_timeout_s)
            adapter = make_adapter("safety_monitor", dev, config.site)
            self._monitor = GuardedDevice(adapter, "safety_monitor", dev.adapter, timeout_s)
            self._monitor.connect()
        return self._monitor

    def read(self) -> Verdict:
        """The verdict now; never raises (unreachable = unsafe, with the reason)."""
        with self._lock:
            source = monitor_config(self.runtime.config).address
            try:
                monitor = self._device()
                safe = bool(monitor.is_safe())
                if not safe and not monitor.is_connected():
                    # ASCOM: a disconnected monitor answers IsSafe False (the gateway restarted)
                    monitor.connect()
                    safe = bool(monitor.is_safe())
            except DeviceError as exc:
                self._monitor = None  # build and connect again at the next read
                return Verdict(False, (f"safety monitor unreachable: {exc}",), source, False)
            if safe:
                return Verdict(True, (), source)
            return Verdict(
                False, tuple(stored_reasons(self.runtime)) or ("IsSafe is false",), source
            )

    def close(self) -> None:
        with self._lock:
            if self._monitor is not None:
                try:
                    self._monitor.disconnect()
                except DeviceError:
                    pass
                self._monitor = None


def stored_reasons(runtime) -> list[str]:
    """Why the gateway says unsafe, from its stored synthesis (empty when none is stored)."""
    from orchestrator.model import WeatherWatch
    from orchestrator.status import safety_of

    try:
        with runtime.sessions() as session:
            return safety_of(runtime, session.scalar(select(WeatherWatch)))["reasons"]
    except Exception:  # noqa: BLE001 - the reasons are a courtesy; the verdict stands
        log.exception("cannot read the stored weather synthesis")
        return []


def read_safety(runtime) -> Verdict:
    """One read with a fresh connection (CLI commands); jobs keep a `SafetyReader`."""
    reader = SafetyReader(runtime)
    try:
        return reader.read()
    finally:
        reader.close()
