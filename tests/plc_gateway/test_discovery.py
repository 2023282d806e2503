"""Alpaca UDP discovery: the gateway answers `alpacadiscovery1` with its HTTP port."""

from __future__ import annotations

import ipaddress
import json
import socket

import ifaddr

from plc_gateway.discovery import DiscoveryResponder
from plc_gateway.server import Gateway
from tests.helpers import free_port
from tests.plc_gateway.conftest import gateway_config


def _ask(port: int, message: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(message, ("127.0.0.1", port))
        try:
            return sock.recvfrom(1024)[0]
        except TimeoutError:
            return None


def test_gateway_answers_discovery_with_its_alpaca_port(tmp_path, clock, plc_sim):
    discovery_port = _free_udp_port()
    gw = Gateway(
        gateway_config(tmp_path), clock, None, ("127.0.0.1", plc_sim.port), 0, discovery_port
    ).start()
    try:
        raw = _ask(discovery_port, b"alpacadiscovery1")
        answer = json.loads(raw)
        # The Management API specifies an integer: strict ASCOM clients refuse "45123".
        assert type(answer["AlpacaPort"]) is int, raw
        assert answer == {"AlpacaPort": gw.port}
        assert isinstance(gw.port, int) and gw.port > 0
    finally:
        gw.stop()


def test_alpyca_discovery_finds_the_gateway(tmp_path, clock, plc_sim, monkeypatch):
    import alpaca.discovery

    discovery_port = _free_udp_port()
    # alpyca broadcasts to the fixed port 32227; tests never use fixed ports, so point it
    # at ours. It also broadcasts on every adapter of the machine: tests send traffic to
    # loopback only, so it is shown the loopback adapter alone. The rest is alpyca's own.
    monkeypatch.setattr(alpaca.discovery, "port", discovery_port)
    loopback_only = [a for a in ifaddr.get_adapters() if any(_is_loopback(ip) for ip in a.ips)]
    assert loopback_only
    monkeypatch.setattr(alpaca.discovery.ifaddr, "get_adapters", lambda: loopback_only)
    gw = Gateway(
        gateway_config(tmp_path), clock, None, ("127.0.0.1", plc_sim.port), 0, discovery_port
    ).start()
    try:
        found = alpaca.discovery.search_ipv4(numquery=1, timeout=0.5)
        assert f"127.0.0.1:{gw.port}" in found
    finally:
        gw.stop()


def test_other_datagrams_get_no_answer():
    responder = DiscoveryResponder("127.0.0.1", 0, 4321).start()
    try:
        assert _ask(responder.port, b"hello") is None
        assert json.loads(_ask(responder.port, b"alpacadiscovery1")) == {"AlpacaPort": 4321}
    finally:
        responder.stop()


def _is_loopback(ip) -> bool:
    return ip.is_IPv4 and ipaddress.IPv4Address(ip.ip).is_loopback


def _free_udp_port() -> int:
    for _ in range(20):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free UDP port")
