"""The fault proxy in front of the device simulator: relays, and misbehaves on demand for one
device (an Alpaca device type and number) only, for the time asked."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from simulators.alpaca_scaled import scaled_asyncio
from simulators.fault_proxy import DRIVER_ERROR, FaultProxy
from tests.helpers import wait_for


class _Upstream(BaseHTTPRequestHandler):
    """A stand-in Alpaca server: every GET answers Value = the path (the proxy's peer is any
    HTTP server; the whole chain with alpaca-simulators runs in test_simulate_night.py)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        body = json.dumps({"ErrorNumber": 0, "ErrorMessage": "", "Value": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy = FaultProxy(("127.0.0.1", upstream.server_address[1])).start()
    yield proxy
    proxy.stop()
    upstream.shutdown()


def get(proxy: FaultProxy, path: str, timeout_s: float = 5.0) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def test_relays_and_each_fault_touches_one_device_for_its_time(proxy):
    assert get(proxy, "/api/v1/camera/0/name")["Value"] == "/api/v1/camera/0/name"
    proxy.inject("camera", 0, "error", 0.5)
    answer = get(proxy, "/api/v1/camera/0/imageready?ClientTransactionID=7")
    assert answer["ErrorNumber"] == DRIVER_ERROR and answer["ClientTransactionID"] == 7
    assert get(proxy, "/api/v1/camera/1/name")["ErrorNumber"] == 0  # the other camera is fine
    wait_for(lambda: get(proxy, "/api/v1/camera/0/name")["ErrorNumber"] == 0, 5, what="healed")

    proxy.inject("dome", 0, "disconnect", 0.5)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(proxy, "/api/v1/dome/0/shutterstatus")

    proxy.inject("telescope", 0, "timeout", 2)
    with pytest.raises(TimeoutError):  # held: no answer within the client's deadline
        get(proxy, "/api/v1/telescope/0/slewing", timeout_s=0.5)
    assert [f[2] for f in proxy.injected] == ["error", "disconnect", "timeout"]


def test_the_scaled_simulator_waits_one_nth_of_the_time():
    """What alpaca_scaled gives alpaca-simulators' camera: sleep(30) at ×1000 is 30 ms."""
    shim = scaled_asyncio(1000.0)

    async def expose():
        await asyncio.wait_for(shim.sleep(30.0), timeout=5.0)  # would time out unscaled
        return shim.to_thread is asyncio.to_thread  # everything else is asyncio's own

    assert asyncio.run(expose()) is True
