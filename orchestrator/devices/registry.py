"""Build the configured devices: which adapter serves which role is configuration.

The adapter package is imported by name (`alpaca_devices`, `indi_bridge`), never at module
level, so the orchestrator does not depend on alpyca or PyIndi. `build_devices()` refuses at
start, with an error naming the role, an unknown role or adapter, an unreachable device, or a
device missing a capability its role needs (a camera that cannot take darks, ...).
The orchestrator's majordome service builds them at start (a device that does not answer is
retried by the guard, never fatal there); `pyros devices check` builds its own.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.clock import Clock
from orchestrator.config import Config, DeviceConfig, SiteConfig
from orchestrator.devices.errors import DeviceError, TargetBelowHorizon
from orchestrator.devices.guard import GuardedDevice, StatusSink
from orchestrator.devices.ports import KIND_NEEDS, KIND_PORTS, ROLE_KINDS
from orchestrator.runtime import configure_astropy_offline

log = logging.getLogger(__name__)

ADAPTER_PACKAGES = {"alpaca": "alpaca_devices", "indi": "indi_bridge"}


class GuardedTelescope(GuardedDevice):
    """The mount behind its guard, refusing targets below the site's horizon.

    Simulators (and some real mounts) accept any target; the horizon is ours to enforce.
    """

    def __init__(self, device: Any, role: str, adapter: str, timeout_s: float, status, site, clock):
        super().__init__(device, role, adapter, timeout_s, status)
        self.site = site
        self._clock = clock

    def altitude_deg(self, target: Any) -> float:
        from orchestrator.devices.coords import horizontal_deg, icrs_deg

        return horizontal_deg(*icrs_deg(target), self.site, self._clock.now())[0]

    def _check_horizon(self, target: Any, action: str) -> None:
        alt_deg = self.altitude_deg(target)
        if alt_deg < self.site.horizon_deg:
            raise TargetBelowHorizon(
                self.role,
                action,
                f"target at altitude {alt_deg:.1f} deg is below the horizon "
                f"(site.horizon_deg = {self.site.horizon_deg:g})",
            )

    def start_slew(self, target: Any) -> None:
        self._check_horizon(target, "start_slew")
        self.call("start_slew", self._device.start_slew, target)

    def slew(self, target: Any, timeout_s: float) -> None:
        self._check_horizon(target, "slew")
        self.call("slew", self._device.slew, target, timeout_s=timeout_s)


@dataclass
class Devices:
    """The guarded devices by role; `get(role)` says clearly when a role is not configured."""

    by_role: dict[str, GuardedDevice] = field(default_factory=dict)

    def get(self, role: str) -> Any:
        try:
            return self.by_role[role]
        except KeyError:
            raise DeviceError(role, "use", "no device is configured for this role") from None

    def __contains__(self, role: str) -> bool:
        return role in self.by_role

    def roles(self) -> list[str]:
        return list(self.by_role)

    def close(self) -> None:
        for device in self.by_role.values():
            try:
                device.disconnect()
            except DeviceError as exc:
                log.warning("%s", exc)


def make_adapter(role: str, dev: DeviceConfig, site: SiteConfig) -> Any:
    """The adapter object for `role` (not yet connected)."""
    kind = ROLE_KINDS.get(role)
    if kind is None:
        raise DeviceError(role, "configure", f"unknown role (known: {', '.join(ROLE_KINDS)})")
    package = ADAPTER_PACKAGES.get(dev.adapter)
    if package is None:
        known = ", ".join(ADAPTER_PACKAGES)
        raise DeviceError(role, "configure", f"unknown adapter {dev.adapter!r} (known: {known})")
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise DeviceError(role, "configure", f"adapter {package} cannot load: {exc}") from None
    device = module.make_device(kind, role, dev, site)
    if not isinstance(device, KIND_PORTS[kind]):
        raise DeviceError(role, "configure", f"{package} has no {kind} port")
    return device


def build_devices(
    config: Config,
    clock: Clock,
    status: StatusSink | None = None,
    roles: Iterable[str] | None = None,
    connect: bool = True,
) -> Devices:
    """Build (and by default connect and check) the configured devices, all or `roles`."""
    configure_astropy_offline()  # the adapters convert coordinates: never download IERS
    wanted = config.devices.configured()
    if roles is not None:
        wanted = {role: wanted[role] for role in roles if role in wanted}
    devices = Devices()
    try:
        for role, dev in wanted.items():
            adapter = make_adapter(role, dev, config.site)
            if ROLE_KINDS[role] == "telescope":
                guarded: GuardedDevice = GuardedTelescope(
                    adapter, role, dev.adapter, dev.timeout_s, status, config.site, clock
                )
            else:
                guarded = GuardedDevice(adapter, role, dev.adapter, dev.timeout_s, status)
            devices.by_role[role] = guarded
            if connect:
                connect_and_check(guarded)
    except DeviceError:
        devices.close()
        raise
    return devices


def connect_and_check(device: GuardedDevice) -> None:
    """Connect, then refuse a device that lacks a capability its role needs."""
    device.connect()
    kind = ROLE_KINDS[device.role]
    missing = KIND_NEEDS[kind] - device.capabilities()
    if missing:
        raise DeviceError(
            device.role,
            "check capabilities",
            f"{device.describe()} cannot do what a {kind} needs: {', '.join(sorted(missing))}",
        )
