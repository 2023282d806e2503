"""Unsafe → exposure aborted: time from `Observer.abort()` to the camera's AbortExposure.

Against the real alpaca-simulators (started here on a free port, SQLite in a temporary
folder): each trial executes a sequence of 20-minute exposures on both cameras (VIS and NIR in
parallel), waits until both cameras expose, calls `abort("weather", ...)`, and records when
each AbortExposure call returned and when `execute()` returned. The simulator is reloaded
between trials (its AbortExposure does not stop the exposure). Target: ≤ 1 s.
Run: .venv/bin/python bench/bench_observer_abort.py [trials]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.observer import Observer  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402
from tests.helpers import free_port, stop_process, wait_for  # noqa: E402
from tests.orchestrator.observer_helpers import (  # noqa: E402
    alpaca_toml,
    make_observatory,
    sky_request,
)

EXPOSURE_S = 1200.0


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return answer.read()


def trial(folder: Path, address: str, index: int) -> tuple[float, float, float]:
    """(ms to the first AbortExposure, ms to the last, ms until execute() returned)."""
    _get(f"http://{address}/reload")
    obs = make_observatory(folder / f"trial{index}", alpaca_toml(address))
    try:
        sequence_id = sky_request(obs.runtime, exposure_s=EXPOSURE_S, count=1)
        observer = Observer(obs.runtime, obs.devices)
        done = threading.Event()
        ended: list[float] = []

        def run() -> None:
            observer.execute(sequence_id)
            ended.append(time.monotonic())
            done.set()

        threading.Thread(target=run, daemon=True).start()
        cameras = [obs.devices.get(r).device.client for r in ("camera_vis", "camera_nir")]
        wait_for(lambda: all(c.CameraState == 2 for c in cameras), 60, 0.01, what="exposing")
        started = time.monotonic()
        observer.abort("weather", "bench: unsafe")
        wait_for(lambda: len(observer.aborts_sent) == 2 and done.is_set(), 30, 0.005)
        sent = sorted(t for _, t in observer.aborts_sent)
        return tuple((t - started) * 1000 for t in (sent[0], sent[1], ended[0]))
    finally:
        obs.devices.close()
        obs.runtime.engine.dispose()


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    folder = Path(tempfile.mkdtemp(prefix="bench-observer-abort-"))
    from orchestrator.config import default_config_text, parse_config

    site = parse_config(default_config_text(), folder).site
    port = free_port()
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        simulator_argv(prepare(folder, site), "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _get(f"http://{address}/api/v1/camera/0/name"), 30, 0.1)
        results = [trial(folder, address, k) for k in range(trials)]
    finally:
        stop_process(process)
    print(
        f"observer abort during a {EXPOSURE_S:g} s exposure on VIS and NIR, alpaca-simulators "
        f"on loopback, SQLite, {trials} trials"
    )
    for label, column in (
        ("abort() -> first AbortExposure returned", 0),
        ("abort() -> both AbortExposure returned", 1),
        ("abort() -> execute() returned failed/weather", 2),
    ):
        values = [r[column] for r in results]
        print(
            f"  {label:<46} median {statistics.median(values):7.1f} ms, max {max(values):7.1f} ms"
        )


if __name__ == "__main__":
    main()
