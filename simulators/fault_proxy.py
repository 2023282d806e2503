"""An HTTP proxy in front of the Alpaca device simulator that injects device faults on demand.

`pyros simulate` points every Alpaca role at it; a scenario's `deviceFault` makes one device
(an Alpaca device type and number, e.g. camera #0) misbehave for a while, the way hardware does:
`timeout` (requests are held unanswered until the fault ends, then the connection is closed),
`error` (every call answers an ASCOM driver error, 0x500), `disconnect` (connections are cut
before any answer). The orchestrator meets the fault through its real device layer: alpyca, the
guard's deadline, the majordome's safety reaction and reconnection.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULTS = ("timeout", "error", "disconnect")
DRIVER_ERROR = 0x500  # ASCOM: first driver-specific error number
_DEVICE_PATH = re.compile(r"^/api/v1/([a-z]+)/(\d+)/")


class FaultProxy:
    """Threaded HTTP proxy to `upstream` (HOST, PORT); `start()` binds (port 0 = a free port)."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream
        self.host = host
        self.port = port
        self._faults: dict[tuple[str, int], tuple[str, float]] = {}  # → (fault, until monotonic)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.injected: list[tuple[str, int, str]] = []  # (device type, number, fault) applied

    # ---- faults -----------------------------------------------------------------------------
    def inject(self, device_type: str, number: int, fault: str, for_s: float) -> None:
        """Make device (type, number) misbehave for `for_s` real seconds."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            self._faults[(device_type, int(number))] = (fault, time.monotonic() + for_s)
            self.injected.append((device_type, int(number), fault))
        log.warning("fault proxy: %s #%s now %s for %.1f s", device_type, number, fault, for_s)

    def fault_of(self, device_type: str, number: int) -> str | None:
        with self._lock:
            fault = self._faults.get((device_type, number))
            if fault is None:
                return None
            if time.monotonic() >= fault[1]:
                del self._faults[(device_type, number)]
                log.warning("fault proxy: %s #%s healthy again", device_type, number)
                return None
            return fault[0]

    def _until(self, device_type: str, number: int) -> float:
        with self._lock:
            fault = self._faults.get((device_type, number))
            return fault[1] if fault else 0.0

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # bursts of device calls from several threads

        self._server = Server((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        log.info("fault proxy on %s:%s -> %s:%s", self.host, self.port, *self.upstream)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the simulator behind keeps its own request log

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._forward()

    def do_PUT(self) -> None:  # noqa: N802
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = _DEVICE_PATH.match(urlsplit(self.path).path)
        fault = None
        if match:
            device = (match.group(1), int(match.group(2)))
            fault = self.owner.fault_of(*device)
        if fault == "disconnect":
            self.close_connection = True
            return  # no answer at all: the client sees the connection closed
        if fault == "timeout":
            while time.monotonic() < self.owner._until(*device):
                time.sleep(0.05)
            self.close_connection = True
            return
        if fault == "error":
            self._answer_error(body)
            return
        self._relay(body)

    def _relay(self, body: bytes) -> None:
        conn = getattr(self, "_upstream", None)
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            if conn is None:
                conn = http.client.HTTPConnection(*self.owner.upstream, timeout=600)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                if attempt == 2:
                    self.close_connection = True
                    return  # the simulator is down: the client sees a closed connection
        self._upstream = conn
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _answer_error(self, body: bytes) -> None:
        query = parse_qs(urlsplit(self.path).query) or parse_qs(body.decode(errors="replace"))
        client_id = next((v[0] for k, v in query.items() if k.lower() == "clienttransactionid"), 0)
        payload = json.dumps(
            {
                "ClientTransactionID": int(client_id) if str(client_id).isdigit() else 0,
                "ServerTransactionID": 0,
                "ErrorNumber": DRIVER_ERROR,
                "ErrorMessage": "simulated device fault (scenario deviceFault)",
                "Value": None,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
