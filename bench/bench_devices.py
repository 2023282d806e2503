"""Device layer figures against the real alpaca-simulators (started here on a free port).

Prints: the median latency of a guarded port call (deadline thread + alpyca HTTP) next to a
bare alpyca call, and the time of a 1 s exposure to a FITS file with its header.
Run: .venv/bin/python bench/bench_devices.py
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.clock import RealClock  # noqa: E402
from orchestrator.config import default_config_text, parse_config  # noqa: E402
from orchestrator.devices.registry import build_devices  # noqa: E402
from orchestrator.observer.fits import Exposure, fits_header, write_fits  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402

CALLS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _median_ms(call) -> float:
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-devices-"))
    port = _free_port()
    text = default_config_text().replace("127.0.0.1:11111", f"127.0.0.1:{port}")
    config = parse_config(text, folder)
    process = subprocess.Popen(
        simulator_argv(prepare(folder, config.site), "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/focuser/0/name", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        devices = build_devices(config, RealClock(), roles=["focuser", "camera_vis"])
        focuser = devices.get("focuser")
        print(f"guarded Focuser.position(): median {_median_ms(focuser.position):.2f} ms")
        bare = focuser.device.client
        print(f"bare alpyca Focuser.Position: median {_median_ms(lambda: bare.Position):.2f} ms")
        camera = devices.get("camera_vis")
        started = time.perf_counter()
        camera.start_exposure(1.0, False)
        camera.wait_exposure(timeout_s=30)
        ready = time.perf_counter()
        data = camera.image()
        fetched = time.perf_counter()
        exposure = Exposure("VIS", "dark", datetime.now(UTC), 1.0, instrument="bench")
        write_fits(folder / "bench.fits", data, fits_header(exposure, config.site))
        done = time.perf_counter()
        print(
            f"1 s dark {data.shape[1]}x{data.shape[0]}: ready after {ready - started:.2f} s, "
            f"ImageBytes download {1000 * (fetched - ready):.0f} ms, "
            f"FITS write {1000 * (done - fetched):.0f} ms"
        )
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
