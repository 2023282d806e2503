"""Image pipeline figures on 2048² frames of the real alpaca-simulators camera.

Starts alpaca-simulators (camera #0 set to 2048², 6.75 µm pixels: the same 47' field at
1.39"/px) and `pyros orchestrator` on the same SQLite database, takes one bias, one dark per
exposure time and three light frames, replicates them into a night (10 bias, 10 darks per
exposure time, 10 flats per filter; the simulator renders no twilight flats, so those are
synthetic), then measures:
  - masters of the night (ccdproc sigma-clipped combine): total seconds;
  - throughput of ordinary frames (calibration, sep, WCS, zero point, quality): frames/s;
  - alert frames: FITS written -> error-box report stored (claim, reduce, report), p50/p95.
Run: .venv/bin/python bench/bench_pipeline.py [--frames 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.config import default_config_text, load_config  # noqa: E402
from orchestrator.devices.registry import build_devices  # noqa: E402
from orchestrator.model import Image  # noqa: E402
from orchestrator.observer.fits import Exposure, night_of, save_image  # noqa: E402
from orchestrator.pipeline.masters import build_masters  # noqa: E402
from orchestrator.pipeline.service import PipelineService  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402

SIZE = 2048
PIXEL_UM = 6.75
SCALE = 206.265 * PIXEL_UM / 1000.0  # arcsec/px at 1 m focal length
DARKS_S = (1.0, 2.0)
FILTERS = ("g", "r")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path, port: int) -> Path:
    text = default_config_text().replace("127.0.0.1:11111", f"127.0.0.1:{port}")
    text = text.replace('solver = "auto"', 'solver = "builtin"')
    text = text.replace("VIS = 2.785", f"VIS = {SCALE:.4f}")
    text = text.replace("[simulators]\nenabled = true ", "[simulators]\nenabled = false")
    path = folder / "pyros.toml"
    path.write_text(text)
    return path


def _pyros(config: Path, *args: str, **kwargs):
    argv = [sys.executable, "-m", "orchestrator.cli", "--config", str(config), *args]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)


def _simulator(folder: Path, runtime: Runtime, port: int) -> subprocess.Popen:
    # In the data folder: its catalogue is the pipeline's default reference.
    yaml_path = prepare(runtime.config.folders.data, runtime.config.site)
    settings = yaml.safe_load(yaml_path.read_text())
    camera = settings["devices"]["camera"][0]
    for key in ("cameraxsize", "cameraysize", "numx", "numy"):
        camera[key] = SIZE
    camera["pixelsizex"] = camera["pixelsizey"] = PIXEL_UM
    yaml_path.write_text(yaml.safe_dump(settings, sort_keys=False))
    process = subprocess.Popen(
        simulator_argv(yaml_path, "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/camera/0/name", timeout=1)
            return process
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _take(runtime: Runtime, port: int) -> dict[str, list[Path]]:
    from tests.orchestrator.pipeline.sim_frames import zenith_target

    devices = build_devices(runtime.config, runtime.clock, roles=("mount", "camera_vis"))
    taken: dict[str, list[Path]] = {"bias": [], "dark": [], "light": []}
    try:
        mount, camera = devices.get("mount"), devices.get("camera_vis")
        if mount.is_parked():
            mount.unpark(30)
        mount.set_tracking(True)
        target = zenith_target(runtime)
        mount.slew(target, 60)
        plan = [("bias", 0.0)] + [("dark", s) for s in DARKS_S] + [("light", 1.0)] * 3
        for kind, seconds in plan:
            camera.start_exposure(seconds, kind == "light")
            camera.wait_exposure(seconds + 120)
            data = np.asarray(camera.image())
            row = save_image(runtime, data, Exposure(
                channel="VIS", image_type=kind, date_obs=runtime.clock.now(), exposure_s=seconds,
                filter_name="r" if kind == "light" else None, target=target,
                mount_position=mount.position() if kind == "light" else None,
            ))  # fmt: skip
            taken[kind].append(Path(row.path))
    finally:
        devices.close()
    return taken


def _replicate(runtime: Runtime, source: Path, kind: str, count: int, **fields) -> list[int]:
    """Copies of a frame as new images of the night (the pipeline's work is the same)."""
    ids = []
    with runtime.sessions.begin() as session:
        for i in range(count):
            path = source.with_name(f"{source.stem}_copy{time.monotonic_ns()}_{i}.fits")
            shutil.copyfile(source, path)
            row = Image(path=str(path), image_type=kind, channel="VIS",
                        date_obs=runtime.clock.now(), exposure_s=fields.get("exposure_s", 1.0),
                        filter_name=fields.get("filter_name"),
                        sequence_id=fields.get("sequence_id"))  # fmt: skip
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def _flats(runtime: Runtime, folder: Path) -> None:
    from astropy.io import fits

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    vignetting = 1 - 0.1 * (((xx - SIZE / 2) ** 2 + (yy - SIZE / 2) ** 2) / (SIZE / 2) ** 2)
    for name in FILTERS:
        data = (20000 * vignetting + rng.normal(0, 100, (SIZE, SIZE))).astype(np.uint16)
        header = fits.Header({"IMAGETYP": "FLAT", "FILTER": name, "EXPTIME": 1.0,
                              "CHANNEL": "VIS", "XBINNING": 1, "YBINNING": 1})  # fmt: skip
        path = folder / f"flat_{name}.fits"
        fits.PrimaryHDU(data, header).writeto(path)
        _replicate(runtime, path, "flat", 10, filter_name=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="alert and ordinary frames each")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    port = _free_port()
    config = _config(folder, port)
    env = {**os.environ, "PYROS_ADMIN_PASSWORD": "bench-password-1"}
    init = [sys.executable, "-m", "orchestrator.cli", "--config", str(config), "init"]
    subprocess.run(init, check=True, capture_output=True, env=env)
    runtime = Runtime(load_config(config))
    simulator = _simulator(folder, runtime, port)
    orchestrator = _pyros(config, "orchestrator")
    try:
        try:
            started = time.perf_counter()
            taken = _take(runtime, port)
            print(
                f"simulator: 6 exposures of {SIZE}x{SIZE} in {time.perf_counter() - started:.1f} s"
            )
        finally:
            simulator.terminate()
            simulator.wait(20)
        service = PipelineService(runtime)
        service.start()
        while service.step():  # the frames just taken: calibration rows, three lights
            pass
        _replicate(runtime, taken["bias"][0], "bias", 10, exposure_s=0.0)
        for path, seconds in zip(taken["dark"], DARKS_S, strict=True):
            _replicate(runtime, path, "dark", 10, exposure_s=seconds)
        _flats(runtime, folder)
        night = night_of(runtime.clock.now(), runtime.config.site)
        started = time.perf_counter()
        built, notes = build_masters(runtime, night)
        masters_s = time.perf_counter() - started
        kinds = ", ".join(
            sorted(
                m.kind + ("" if m.kind == "bias" else f"/{m.filter_name or f'{m.exposure_s:g}s'}")
                for m in built
            )
        )
        print(f"masters: {len(built)} ({kinds}) from {10 * (1 + len(DARKS_S) + len(FILTERS))} "
              f"frames of {SIZE}x{SIZE} in {masters_s:.1f} s")  # fmt: skip
        while service.step():  # the calibration copies: marked done
            pass
        service.nights_needing_masters.clear()
        # Ordinary frames: throughput.
        for i in range(args.frames):
            _replicate(runtime, taken["light"][i % 3], "light", 1, filter_name="r")
        started = time.perf_counter()
        count = 0
        while service.step():
            count += 1
        elapsed = time.perf_counter() - started
        print(f"ordinary frames: {count} in {elapsed:.1f} s = {count / elapsed:.2f} frames/s")
        # Alert frames: FITS written -> report stored.
        from astropy.io import fits

        from tests.orchestrator.pipeline.alerts import make_alert

        header = fits.getheader(taken["light"][0])
        alert_id, sequence_id = make_alert(runtime, header["TELRA"], header["TELDEC"], 0.1)
        latencies = []
        for i in range(args.frames):
            _replicate(runtime, taken["light"][i % 3], "light", 1, filter_name="r",
                       sequence_id=sequence_id)  # fmt: skip
            started = time.perf_counter()
            assert service.step()
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        print(f"alert frame -> error-box report stored: p50 {statistics.median(latencies):.2f} s, "
              f"p95 {p95:.2f} s, max {latencies[-1]:.2f} s over {len(latencies)} frames "
              f"(+ up to pipeline.poll_period_s when idle)")  # fmt: skip
        with runtime.sessions() as session:
            q = (
                session.query(Image)
                .filter(Image.image_type == "light")
                .order_by(Image.id.desc())
                .first()
            )
            print(
                f"last frame: {q.n_stars} stars, FWHM {q.fwhm_arcsec}\", ZP {q.zero_point_mag}, "
                f"limit {q.limiting_mag}, WCS {q.wcs_solver}, note {q.pipeline_note!r}"
            )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} cores, load average {load}; `pyros orchestrator` running")
    finally:
        orchestrator.send_signal(signal.SIGTERM)
        orchestrator.wait(30)


if __name__ == "__main__":
    main()
