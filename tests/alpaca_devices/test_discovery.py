"""`pyros devices discover` with alpyca's UDP discovery, on loopback.

The alpaca-simulators package has no discovery responder nor Management API, so the peer here
is a minimal ASCOM discovery responder (Alpaca API §4) announcing the real simulator's HTTP
port; the integration test against our gateway's responder is wired by the lead.
"""

from __future__ import annotations

import json
import socket
import threading

from tests.helpers import free_port, pyros


def _responder(port: int, alpaca_port: int, stop: threading.Event) -> threading.Thread:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.1)

    def serve() -> None:
        with sock:
            while not stop.is_set():
                try:
                    data, peer = sock.recvfrom(1024)
                except TimeoutError:
                    continue
                if data.startswith(b"alpacadiscovery1"):
                    sock.sendto(json.dumps({"AlpacaPort": alpaca_port}).encode(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_discover_lists_a_server_found_on_loopback(tmp_path, alpaca_simulator):
    port = free_port()
    stop = threading.Event()
    thread = _responder(port, alpaca_simulator.port, stop)
    try:
        result = pyros("devices", "discover", "--port", str(port), "--timeout", "1", cwd=tmp_path)
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert f"127.0.0.1:{alpaca_simulator.port}" in result.stdout
    # The simulator has no Management API: said plainly, not a crash.
    assert "device list unavailable" in result.stdout


def test_discover_says_when_nobody_answers(tmp_path):
    port = free_port()
    result = pyros("devices", "discover", "--port", str(port), "--timeout", "0.5", cwd=tmp_path)
    assert result.returncode == 0
    assert f"no Alpaca server answered on UDP port {port}" in result.stdout
