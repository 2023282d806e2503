"""Shared by the gateway benchmarks: run `pyros gateway` as its own process on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.config import default_config_text

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _without_sections(text: str, names: tuple[str, ...]) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if line.strip().startswith("["):
            skipping = line.strip().split("]")[0].strip("[") in names
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def start_gateway(
    folder: Path, plc_port: int, poll_period_s: float = 1.0
) -> tuple[subprocess.Popen, int]:
    """Write a config in `folder`, `pyros init`, start `pyros gateway`; return (process, port)."""
    port = free_port()
    text = _without_sections(default_config_text(), ("plc", "safety", "gateway", "simulators"))
    text += f"""
[plc]
address = "127.0.0.1:{plc_port}"
poll_period_s = {poll_period_s}
timeout_s = 0.5
[safety]
reopen_delay_s = 0.0
[simulators]
reopen_delay_s = 0.0
[gateway]
port = {port}
discovery_port = 0
"""
    (folder / "pyros.toml").write_text(text)
    cli = [sys.executable, "-m", "orchestrator.cli"]
    subprocess.run([*cli, "init"], cwd=folder, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cli, "gateway"], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_http(port)
    return proc, port


def wait_http(port: int, path: str = "/api/v1/safetymonitor/0/name", timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            get_json(port, path)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no Alpaca server on port {port} after {timeout_s} s")


def get_json(port: int, path: str, method: str = "GET", body: str | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
