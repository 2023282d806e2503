"""What every INDI adapter shares: the client of its indiserver, CONNECTION, describing itself.

A device is connected through its standard CONNECTION switch (CONNECT/DISCONNECT); the
properties a role relies on are defined by the driver only after that, so `connect()` waits
for them (`key_properties`) with the device's timeout.
"""

from __future__ import annotations

import PyIndi

from indi_bridge.client import IndiProperties, client_for
from orchestrator.config import DeviceConfig, SiteConfig
from orchestrator.devices.waiting import poll_until


class IndiDevice:
    kind = ""
    key_properties: tuple[tuple[str, str], ...] = ()  # (kind, name) defined after CONNECT

    def __init__(self, role: str, config: DeviceConfig, site: SiteConfig):
        self.role = role
        self.config = config
        self.site = site
        host, port = config.host_port
        self.address = config.address
        self.device_name = config.device_name or ""
        self.client = client_for(host, port)
        self.props = IndiProperties(self.client, self.device_name, role, config.timeout_s)

    def connect(self) -> None:
        self.client.ensure_server(self.role, self.config.timeout_s)
        self.props.device()  # waits until the driver has announced the device
        if "CONNECT" not in self.props.switches_on("CONNECTION"):
            self.props.set_switch("CONNECTION", "CONNECT")
        poll_until(self.is_connected, self.config.timeout_s, self.role, "connect")
        for kind, name in self.key_properties:
            self.props.get(kind, name)
        self.after_connect()

    def after_connect(self) -> None:
        """Device-specific set-up once connected (BLOB mode, site, ...)."""

    def disconnect(self) -> None:
        # Leave the driver connected: other clients (and roles on this server) share it.
        return None

    def is_connected(self) -> bool:
        if not self.client.link_up:
            return False
        on = self.props.switches_on("CONNECTION")
        return "CONNECT" in on and self.props.state("switch", "CONNECTION") != PyIndi.IPS_BUSY

    def capabilities(self) -> frozenset[str]:
        return frozenset()

    def describe(self) -> str:
        return f"INDI {self.device_name!r} at {self.address}"
