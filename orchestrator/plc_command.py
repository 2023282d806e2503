"""One command to the PLC besides STATUS: the site lights, and in simulation mode the weather.

The request is the seed's command list on one JSON line (`{"command": [{"name": ...}]}`); the
answer is one JSON line. A refused or failed exchange raises `PlcCommandError` with the reason.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from orchestrator.errors import PyrosError

MAX_ANSWER_BYTES = 1_000_000


class PlcCommandError(PyrosError):
    """The PLC did not carry out the command: unreachable, silent, or it answered ERROR."""


def send_command(host: str, port: int, command: dict[str, Any], timeout_s: float = 2.0) -> Any:
    """Send `command` (one element of the command list) and return the decoded answer."""
    line = json.dumps({"command": [command]}).encode() + b"\n"
    deadline = time.monotonic() + timeout_s
    buffer = b""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(line)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer within {timeout_s:g} s")
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("connection closed by the PLC")
                buffer += chunk
                if len(buffer) > MAX_ANSWER_BYTES:
                    raise ConnectionError(f"answer longer than {MAX_ANSWER_BYTES} bytes")
    except OSError as exc:
        raise PlcCommandError(f"PLC {host}:{port}: {exc.__class__.__name__}: {exc}") from None
    try:
        answer = json.loads(buffer.split(b"\n", 1)[0])
    except json.JSONDecodeError:
        raise PlcCommandError(f"PLC {host}:{port}: the answer is not JSON") from None
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        if answer[0].get("name") == "ERROR":
            raise PlcCommandError(f"PLC {host}:{port}: {answer[0].get('message', 'error')}")
    return answer


def set_lights(host: str, port: int, on: bool, timeout_s: float = 2.0) -> str:
    """Switch the site lights; returns the state the PLC reports."""
    answer = send_command(host, port, {"name": "LIGHTS", "value": "on" if on else "off"}, timeout_s)
    state = answer[0].get("value") if isinstance(answer, list) and answer else None
    if state not in ("on", "off"):
        raise PlcCommandError(f"PLC {host}:{port}: unexpected answer to LIGHTS: {answer!r:.200}")
    return state
