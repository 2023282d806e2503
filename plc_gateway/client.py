"""TCP client of the PLC: sends the seed's STATUS request and reads one answer line.

Every socket operation has a timeout; any failure (refused, reset, hung, garbage) closes the
connection and raises `PlcError`, and the next call reconnects, so the gateway survives the
PLC starting late, stopping, restarting or hanging (seed §5.1.4). Called by the poll job.
One request, one line: bytes beyond the answer line, or unasked for between two polls, mean
the stream is out of step or garbled, and that poll fails (issue 18).
"""

from __future__ import annotations

import json
import socket
import time

from plc_gateway.parser import PlcAnswerError, PlcStatus, parse_status

STATUS_REQUEST = json.dumps({"command": [{"name": "STATUS"}]}).encode() + b"\n"
MAX_ANSWER_BYTES = 1_000_000


class PlcError(Exception):
    """The PLC could not be read; the message names the address, the action and the cause."""


class PlcClient:
    def __init__(self, host: str, port: int, timeout_s: float = 2.0):
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def read_status(self) -> PlcStatus:
        """One STATUS exchange; raises PlcError with the reason on any failure."""
        try:
            text = self._exchange()
        except OSError as exc:
            self.close()
            raise PlcError(f"PLC {self.address}: {exc.__class__.__name__}: {exc}") from None
        try:
            return parse_status(text)
        except PlcAnswerError as exc:
            # A garbled answer may leave the stream out of step: start afresh next time.
            self.close()
            raise PlcError(f"PLC {self.address}: malformed answer: {exc}") from None

    def _exchange(self) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        self._check_unasked()
        self._sock.settimeout(self.timeout_s)
        self._sock.sendall(STATUS_REQUEST)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer within {self.timeout_s} s")
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the PLC")
            self._buffer += chunk
            if len(self._buffer) > MAX_ANSWER_BYTES:
                raise ConnectionError(f"answer longer than {MAX_ANSWER_BYTES} bytes")
        line, self._buffer = self._buffer.split(b"\n", 1)
        if self._buffer.strip():
            raise ConnectionError(f"{len(self._buffer)} unexpected bytes after the answer line")
        return line

    def _check_unasked(self) -> None:
        """Fail if the PLC sent anything since the last answer (garbage lines, a stray answer)."""
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = self._sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                if not chunk:
                    raise ConnectionResetError("connection closed by the PLC")
                self._buffer += chunk
                if len(self._buffer) > MAX_ANSWER_BYTES:
                    break
        finally:
            self._sock.setblocking(True)
        if self._buffer.strip():
            raise ConnectionError(f"{len(self._buffer)} unexpected bytes since the last answer")
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer = b""
