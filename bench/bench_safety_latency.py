"""Benchmark: latency from a rain change, and from a lost PLC, to IsSafe false at a client.

The gateway runs as its own process (`pyros gateway`, poll period 1 s); the PLC simulator
runs here; a client polls GET issafe every 2 ms. Rain target: <= poll period + 100 ms.
PLC lost (the simulator stops; `plc.unsafe_after_failed_polls` = 2): <= 2 polls + 100 ms.
Run: .venv/bin/python bench/bench_safety_latency.py [trials]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gateway_support import get_json, start_gateway, stop  # noqa: E402

from simulators.plc_simulator import PlcSimulator  # noqa: E402

POLL_PERIOD_S = 1.0
CLIENT_ID = 4242


def is_safe(port: int) -> bool:
    return get_json(port, f"/api/v1/safetymonitor/0/issafe?ClientID={CLIENT_ID}")["Value"]


def wait_until(port: int, wanted: bool, timeout_s: float = 10.0) -> float:
    """Poll IsSafe every 2 ms until it equals `wanted`; return the monotonic time seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_safe(port) == wanted:
            return time.monotonic()
        time.sleep(0.002)
    raise RuntimeError(f"IsSafe did not become {wanted} within {timeout_s} s")


def main(trials: int = 10) -> None:
    random.seed(1)
    with tempfile.TemporaryDirectory() as folder:
        sim = PlcSimulator().start()
        plc_port = sim.port
        proc, port = start_gateway(Path(folder), plc_port, POLL_PERIOD_S)
        try:
            get_json(
                port,
                "/api/v1/safetymonitor/0/connected",
                "PUT",
                f"Connected=true&ClientID={CLIENT_ID}",
            )
            rain_ms, lost_ms = [], []
            for _ in range(trials):
                sim.set_value("WXT520", "RainRate", 0.0)
                wait_until(port, True)
                time.sleep(random.uniform(0, POLL_PERIOD_S))  # a random phase against the poll
                changed = time.monotonic()
                sim.set_value("WXT520", "RainRate", 8.0)
                rain_ms.append((wait_until(port, False) - changed) * 1000)
            sim.set_value("WXT520", "RainRate", 0.0)
            for _ in range(trials):
                wait_until(port, True)
                time.sleep(random.uniform(0, POLL_PERIOD_S))
                lost = time.monotonic()
                sim.stop()  # the PLC is switched off
                lost_ms.append((wait_until(port, False) - lost) * 1000)
                sim = PlcSimulator(port=plc_port).start()  # and comes back for the next trial
        finally:
            sim.stop()
            stop(proc)
    print(f"safety latency over {trials} trials (poll period {POLL_PERIOD_S} s, loopback):")
    for what, values, target_ms in (
        ("rain -> IsSafe false", rain_ms, POLL_PERIOD_S * 1000 + 100),
        ("PLC lost -> IsSafe false", lost_ms, 2 * POLL_PERIOD_S * 1000 + 100),
    ):
        verdict = "MET" if max(values) <= target_ms else "NOT MET"
        print(
            f"  {what}: mean {statistics.mean(values):.0f} ms, median "
            f"{statistics.median(values):.0f} ms, max {max(values):.0f} ms;"
            f" target <= {target_ms:.0f} ms: {verdict}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
