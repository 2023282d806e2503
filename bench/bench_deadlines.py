"""How long the device guard takes to give up, and how closely the simulated clock sleeps:
the figures the tests no longer assert (they check the outcome, not the duration).

Prints the median and worst of TRIALS tries each: refused Alpaca address, a listening but mute
address (deadline 0.5 s), a call to a device gone silent (alpaca-simulators behind a proxy that
stops answering, deadline 1 s), an unreachable indiserver (deadline 2 s), and SimulatedClock
at 1000x sleeping 100 clock-seconds (0.1 s real). A failed start also disconnects what it
built, under the same deadline: the mute address costs about two deadlines in all.
Run: .venv/bin/python bench/bench_deadlines.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestrator.clock import RealClock, SimulatedClock  # noqa: E402
from orchestrator.config import parse_config  # noqa: E402
from orchestrator.devices.errors import DeviceError  # noqa: E402
from orchestrator.devices.registry import build_devices  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402
from tests.device_peers import PausableProxy, config_text, device_toml  # noqa: E402

TRIALS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _time_error(call: Callable[[], object]) -> float:
    """Seconds until `call` raises DeviceError (it must)."""
    started = time.perf_counter()
    try:
        call()
    except DeviceError:
        return time.perf_counter() - started
    raise RuntimeError("the call did not give up")


def _report(what: str, seconds: list[float]) -> None:
    print(f"  {what:<58} median {statistics.median(seconds):6.3f} s  max {max(seconds):6.3f} s")


def _build(folder: Path, toml: str):
    return build_devices(parse_config(config_text(toml), folder), RealClock())


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-deadlines-"))
    results: dict[str, list[float]] = {}

    refused = f'[devices.dome]\nadapter = "alpaca"\naddress = "127.0.0.1:{_free_port()}"\n'
    results["Alpaca address refused: connect gives up"] = [
        _time_error(lambda: _build(folder, refused)) for _ in range(TRIALS)
    ]

    with socket.create_server(("127.0.0.1", 0)) as mute:
        toml = (
            f'[devices.mount]\nadapter = "alpaca"\n'
            f'address = "127.0.0.1:{mute.getsockname()[1]}"\ntimeout_s = 0.5\n'
        )
        results["Alpaca address mute, deadline 0.5 s: connect gives up"] = [
            _time_error(lambda: _build(folder, toml)) for _ in range(TRIALS)
        ]

    indi = device_toml(indi=f"127.0.0.1:{_free_port()}", roles={"focuser"})
    indi = indi.replace("timeout_s = 10", "timeout_s = 2")
    results["indiserver unreachable, deadline 2 s: connect gives up"] = [
        _time_error(lambda: _build(folder, indi)) for _ in range(TRIALS)
    ]

    results["focuser gone silent, deadline 1 s: position() gives up"] = _silent_device(folder)

    clock_s = []
    for _ in range(TRIALS):
        clock = SimulatedClock(datetime(2026, 11, 25, 3, tzinfo=UTC), speed=1000)
        before = clock.now()
        clock.sleep(100)
        clock_s.append((clock.now() - before).total_seconds())

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Deadlines on loopback, {TRIALS} trials each, load average {load}:")
    for what, seconds in results.items():
        _report(what, seconds)
    print(
        f"  SimulatedClock x1000, sleep(100): {statistics.median(clock_s):.1f} clock-s median, "
        f"{max(clock_s):.1f} max (100 asked)"
    )


def _silent_device(folder: Path) -> list[float]:
    port = _free_port()
    text = config_text(device_toml(alpaca=f"127.0.0.1:{port}", roles={"focuser"}))
    site = parse_config(text, folder).site
    process = subprocess.Popen(
        simulator_argv(prepare(folder, site), "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/focuser/0/name", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        proxy = PausableProxy(("127.0.0.1", port))
        toml = device_toml(alpaca=proxy.address, roles={"focuser"})
        toml = toml.replace('address = "', 'timeout_s = 1.0\naddress = "')
        focuser = _build(folder, toml).get("focuser")
        seconds = []
        for _ in range(TRIALS):
            focuser.position()  # answered (reconnects after the last trial's timeout)
            proxy.pause()
            seconds.append(_time_error(focuser.position))
            proxy.resume()
        return seconds
    finally:
        if proxy is not None:
            proxy.close()
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
