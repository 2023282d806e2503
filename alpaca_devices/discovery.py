"""Alpaca discovery: find servers with alpyca's UDP discovery, then list their devices.

ASCOM Alpaca API §4: a broadcast "alpacadiscovery1" to UDP port 32227 (configurable) is
answered with {"AlpacaPort": N}; the Management API's /management/v1/configureddevices lists
a server's devices (fetched here with a timeout, which alpyca's management module lacks).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests
from alpaca import discovery

_PORT_LOCK = threading.Lock()  # alpyca reads the port from a module global


@dataclass(frozen=True)
class FoundDevice:
    device_type: str
    device_number: int
    name: str
    unique_id: str = ""


@dataclass
class FoundServer:
    address: str  # HOST:PORT
    devices: list[FoundDevice] = field(default_factory=list)
    error: str = ""


def configured_devices(address: str, timeout_s: float = 2.0) -> list[FoundDevice]:
    answer = requests.get(f"http://{address}/management/v1/configureddevices", timeout=timeout_s)
    answer.raise_for_status()
    return [
        FoundDevice(
            device_type=str(d.get("DeviceType", "")).lower(),
            device_number=int(d.get("DeviceNumber", 0)),
            name=str(d.get("DeviceName", "")),
            unique_id=str(d.get("UniqueID", "")),
        )
        for d in answer.json().get("Value", [])
    ]


def discover_servers(port: int = 32227, timeout_s: float = 2.0) -> list[str]:
    """HOST:PORT of every Alpaca server answering discovery on the IPv4 networks."""
    with _PORT_LOCK:
        saved, discovery.port = discovery.port, port
        try:
            return discovery.search_ipv4(numquery=1, timeout=timeout_s)
        finally:
            discovery.port = saved


def discover_devices(port: int = 32227, timeout_s: float = 2.0) -> list[FoundServer]:
    servers = []
    for address in discover_servers(port, timeout_s):
        server = FoundServer(address)
        try:
            server.devices = configured_devices(address, timeout_s)
        except (requests.RequestException, ValueError) as exc:
            server.error = f"{type(exc).__name__}: {exc}"[:200]
        servers.append(server)
    return servers
