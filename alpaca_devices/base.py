"""What every Alpaca adapter shares: the alpyca client, connecting, describing itself.

alpyca's property reads use a 5 s HTTP timeout of their own; the orchestrator's guard puts the
configured deadline around every call, so a silent server never hangs a job.
"""

from __future__ import annotations

from typing import Any

from alpaca.exceptions import NotImplementedException

from orchestrator.config import DeviceConfig, SiteConfig
from orchestrator.devices.errors import DeviceError


class AlpacaDevice:
    kind = ""  # ASCOM device type, lower case
    client_class: type = object

    def __init__(self, role: str, config: DeviceConfig, site: SiteConfig):
        self.role = role
        self.config = config
        self.site = site
        self.address = config.address
        self.device_number = config.device_number
        self.client: Any = self.client_class(config.address, config.device_number)
        self._name = ""

    def connect(self) -> None:
        # Connected=True works on every interface version (Platform 7 adds Connect()).
        self.client.Connected = True
        if not self.client.Connected:
            raise DeviceError(self.role, "connect", f"{self.describe()} stays disconnected")
        self._name = self.client.Name

    def disconnect(self) -> None:
        self.client.Connected = False

    def is_connected(self) -> bool:
        return bool(self.client.Connected)

    def capabilities(self) -> frozenset[str]:
        return frozenset()

    def describe(self) -> str:
        name = f"{self._name!r} " if self._name else ""
        return f"Alpaca {self.kind} #{self.device_number} {name}at {self.address}"


def optional(read: Any, default: Any = None) -> Any:
    """Read an optional ASCOM member: a device may answer NotImplemented."""
    try:
        return read()
    except NotImplementedException:
        return default
