"""`pyros devices discover` on loopback, against our own gateway as the Alpaca peer.

The gateway answers discovery (Alpaca API §4) and serves the Management API, so the command
lists its SafetyMonitor and ObservingConditions. Searches are limited to 127.0.0.0/8: tests
send no traffic beyond this machine.
"""

from __future__ import annotations

from plc_gateway.server import Gateway
from tests.helpers import free_port, pyros
from tests.plc_gateway.conftest import gateway_config
from tests.plc_gateway.test_discovery import _free_udp_port

LOOPBACK = ("--network", "127.0.0.0/8")


def test_discover_lists_the_gateway_and_its_devices(tmp_path, clock):
    discovery_port = _free_udp_port()
    # No PLC listens on this port: the gateway serves (unsafe) all the same.
    gateway = Gateway(
        gateway_config(tmp_path), clock, None, ("127.0.0.1", free_port()), 0, discovery_port
    ).start()
    try:
        result = pyros(
            "devices",
            "discover",
            "--port",
            str(discovery_port),
            "--timeout",
            "1",
            *LOOPBACK,
            cwd=tmp_path,
        )
    finally:
        gateway.stop()
    assert result.returncode == 0, result.stderr
    assert f"127.0.0.1:{gateway.port}" in result.stdout
    assert "safetymonitor" in result.stdout.lower()
    assert "observingconditions" in result.stdout.lower()


def test_discover_says_when_nobody_answers(tmp_path):
    port = _free_udp_port()
    result = pyros(
        "devices", "discover", "--port", str(port), "--timeout", "0.5", *LOOPBACK, cwd=tmp_path
    )
    assert result.returncode == 0
    assert f"no Alpaca server answered on UDP port {port}" in result.stdout


def test_a_bad_network_is_refused_in_one_line(tmp_path):
    result = pyros("devices", "discover", "--network", "300.1.0.0/8", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("pyros: --network:")
    assert len(result.stderr.strip().splitlines()) == 1
