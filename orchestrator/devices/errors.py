"""Device errors: every one names the device role and the action that failed.

Raised by the adapters and by the guard in `orchestrator.devices.guard`; the CLI prints them in
one line (they are `PyrosError`s), jobs log and store them in DeviceStatus.
"""

from __future__ import annotations

from orchestrator.errors import PyrosError


class DeviceError(PyrosError):
    """A device refused or failed an action (or cannot be built from the configuration)."""

    def __init__(self, role: str, action: str, reason: str):
        self.role = role
        self.action = action
        self.reason = reason
        super().__init__(f"device {role}: {action}: {reason}")


class DeviceTimeout(DeviceError):
    """A device did not answer (or did not finish) within its timeout."""

    def __init__(self, role: str, action: str, timeout_s: float):
        self.timeout_s = timeout_s
        super().__init__(role, action, f"no answer within {timeout_s:g} s")


class DeviceOffline(DeviceError):
    """The link to a device is lost (server gone): the guard reconnects before the next use."""


class TargetBelowHorizon(DeviceError):
    """The mount refused a target below the site's horizon (config site.horizon_deg)."""
