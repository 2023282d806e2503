"""A hostile or broken PLC over TCP: answers each request line with whatever a test chooses.

Used by the hardening, fuzz and fault tests; the well-behaved PLC is `simulators.plc_simulator`.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable


class HostilePlc:
    """Answers every request line with `answer()` (bytes, sent as is; b"" sends nothing)."""

    def __init__(self, answer: Callable[[], bytes]):
        self.answer = answer
        self.requests = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                buffer = b""
                while True:
                    try:
                        chunk = self.request.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                    while b"\n" in buffer:
                        _, buffer = buffer.split(b"\n", 1)
                        outer.requests += 1
                        reply = outer.answer()
                        try:
                            if reply:
                                self.request.sendall(reply)
                        except OSError:
                            return

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HostilePlc:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostilePlc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
