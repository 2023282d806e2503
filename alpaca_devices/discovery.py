"""Alpaca discovery: find servers by UDP broadcast, then list their devices.

ASCOM Alpaca API §4: a broadcast "alpacadiscovery1" to UDP port 32227 (configurable) is
answered with {"AlpacaPort": N}; the Management API's /management/v1/configureddevices lists
a server's devices (fetched here with a timeout, which alpyca's management module lacks).
alpyca's `search_ipv4` broadcasts on every adapter to a module-global port; ours takes the port
and, on a multi-homed observatory computer, the networks to search (e.g. 127.0.0.0/8).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import ifaddr
import requests

DISCOVERY_MESSAGE = b"alpacadiscovery1"


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


def broadcast_addresses(networks: Sequence[str] = ()) -> list[str]:
    """The broadcast address of each network given, else of every IPv4 adapter (APIPA skipped,
    as alpyca does). A bad network raises ValueError naming it."""
    if networks:
        nets = [ipaddress.IPv4Network(n, strict=False) for n in networks]
    else:
        nets = [
            ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
            for adapter in ifaddr.get_adapters()
            for ip in adapter.ips
            if ip.is_IPv4 and not ipaddress.IPv4Address(ip.ip).is_link_local
        ]
    return sorted({str(net.broadcast_address) for net in nets})


def discover_servers(
    port: int = 32227, timeout_s: float = 2.0, networks: Sequence[str] = ()
) -> list[str]:
    """HOST:PORT of every Alpaca server answering discovery on the given IPv4 networks."""
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind(("0.0.0.0", 0))
        for address in broadcast_addresses(networks):
            sock.sendto(DISCOVERY_MESSAGE, (address, port))
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (host, _) = sock.recvfrom(1024)
            except TimeoutError:
                break
            try:
                found.add(f"{host}:{int(json.loads(data)['AlpacaPort'])}")
            except (ValueError, KeyError, TypeError):
                continue  # not an Alpaca answer: ignored, as the standard asks
    return sorted(found)


def discover_devices(
    port: int = 32227, timeout_s: float = 2.0, networks: Sequence[str] = ()
) -> list[FoundServer]:
    servers = []
    for address in discover_servers(port, timeout_s, networks):
        server = FoundServer(address)
        try:
            server.devices = configured_devices(address, timeout_s)
        except (requests.RequestException, ValueError) as exc:
            server.error = f"{type(exc).__name__}: {exc}"[:200]
        servers.append(server)
    return servers
