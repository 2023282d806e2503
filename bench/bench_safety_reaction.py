"""Benchmark: rain at the PLC simulator -> dome close command received by the Alpaca dome
simulator, through the gateway (its own process, PLC poll period 1 s) and the majordome's
safety watcher (IsSafe read every majordome.safety_poll_s). Random phase against the poll.

Each trial: dry, dome open and the majordome observing; wait a random 0-1 s; rain; a client
polls the simulator's ShutterStatus every 2 ms until it leaves OPEN. Target: p95 <= 1.1 s.
Run: .venv/bin/python bench/bench_safety_reaction.py [trials]
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _gateway_support import free_port, get_json, start_gateway, stop, wait_http  # noqa: E402

from orchestrator.clock import RealClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.devices.registry import build_devices  # noqa: E402
from orchestrator.majordome.core import Majordome  # noqa: E402
from orchestrator.majordome.monitor import SafetyWatcher  # noqa: E402
from orchestrator.majordome.states import State  # noqa: E402
from orchestrator.observer import Observer  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402
from simulators.plc_simulator import PlcSimulator  # noqa: E402

POLL_PERIOD_S = 1.0
OPEN, CLOSED = 0, 1


def shutter(port: int) -> int:
    return get_json(port, "/api/v1/dome/0/shutterstatus?ClientID=77")["Value"]


def wait(condition, timeout_s: float = 30.0, interval_s: float = 0.002) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(interval_s)
    raise RuntimeError("timed out")


def main(trials: int = 20) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-reaction-"))
    plc = PlcSimulator(clock=RealClock()).start()
    (folder / "gw").mkdir()
    # the gateway's process, with its database (pyros init) shared with the majordome here
    gateway, gateway_port = start_gateway(folder / "gw", plc.port, POLL_PERIOD_S)
    alpaca_port = free_port()
    text = default_config_text().replace("127.0.0.1:11111", f"127.0.0.1:{alpaca_port}")
    text = text.replace("port = 11112", f"port = {gateway_port}")
    text = text.replace("sqlite:///var/pyros.db", f"sqlite:///{folder / 'gw' / 'var' / 'pyros.db'}")
    config = parse_config(text, folder)
    sim = subprocess.Popen(
        simulator_argv(prepare(folder, config.site), "127.0.0.1", alpaca_port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latencies = []
    try:
        wait_http(alpaca_port, "/api/v1/dome/0/name")
        runtime = Runtime(config, RealClock())
        devices = build_devices(config, runtime.clock, roles=["dome"])
        majordome = Majordome(runtime, devices, Observer(runtime, devices))
        majordome.is_safe = lambda: (True, "")  # the bench runs in daytime: only the weather
        watcher = SafetyWatcher(majordome).start()
        dome = devices.get("dome")
        for trial in range(trials):
            plc.set_value("WXT520", "RainRate", 0.0)
            wait(lambda: majordome.verdict.is_safe, 30, 0.01)
            dome.open_shutter(timeout_s=60)
            majordome.store.move(State.OBSERVING, "bench", force=True)
            time.sleep(random.uniform(0.0, POLL_PERIOD_S))
            rained = time.monotonic()
            plc.set_value("WXT520", "RainRate", 4.0)
            seen = wait(lambda: shutter(alpaca_port) != OPEN, 10)
            latencies.append(seen - rained)
            wait(lambda: shutter(alpaca_port) == CLOSED, 60, 0.05)
            wait(lambda: majordome.store.state is State.CLOSED_WEATHER, 60, 0.01)
            print(f"trial {trial + 1}: {latencies[-1] * 1000:.0f} ms", flush=True)
        watcher.stop()
        devices.close()
    finally:
        stop(gateway)
        sim.terminate()
        sim.wait(10)
        plc.stop()
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(
        f"rain at the PLC -> dome close received by alpaca-simulators, {len(latencies)} trials, "
        f"gateway PLC poll {POLL_PERIOD_S:g} s, majordome safety poll "
        f"{config.majordome.safety_poll_s:g} s: median {statistics.median(latencies) * 1000:.0f}"
        f" ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
        f"(target p95 <= {(POLL_PERIOD_S + 0.1) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
