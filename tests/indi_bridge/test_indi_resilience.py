"""INDI specifics against a real indiserver: refusals at start naming the role, a server that
goes away and comes back (reconnected on next use), and the CCD image from its BLOB."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from orchestrator.clock import RealClock
from orchestrator.config import parse_config
from orchestrator.devices.errors import DeviceError, DeviceOffline, DeviceTimeout
from orchestrator.devices.registry import build_devices
from tests.device_peers import config_text, device_toml
from tests.helpers import free_port, wait_for


def _devices(tmp_path, address: str, roles, timeout_s: float = 10.0, name: str | None = None):
    toml = device_toml(indi=address, roles=roles).replace(
        "timeout_s = 10", f"timeout_s = {timeout_s}"
    )
    if name is not None:
        toml = toml.replace('"Focuser Simulator"', f'"{name}"')
    return build_devices(parse_config(config_text(toml), tmp_path), RealClock())


def test_unreachable_indiserver_is_refused_naming_the_role(tmp_path):
    with pytest.raises(DeviceError, match=r"^device focuser: connect: indiserver .* unreachable"):
        _devices(tmp_path, f"127.0.0.1:{free_port()}", {"focuser"}, timeout_s=2)


def test_unknown_device_name_times_out_naming_the_role(tmp_path, indi_server):
    with pytest.raises(DeviceTimeout, match=r"^device focuser: .*no answer within 1"):
        _devices(tmp_path, indi_server.address, {"focuser"}, timeout_s=1, name="No Such Focuser")


def test_ccd_image_arrives_as_fits_blob_of_the_sensor_size(tmp_path, indi_server):
    camera = _devices(tmp_path, indi_server.address, {"camera_vis"}).get("camera_vis")
    camera.set_binning(1, 1)
    frames = []
    for _ in range(2):
        camera.start_exposure(1.0, True)
        camera.wait_exposure(timeout_s=20)
        frames.append(camera.image())
    assert frames[1].shape == (1024, 1280)  # CCD_INFO: 1280 x 1024 pixels
    assert not np.array_equal(frames[0], frames[1])  # a new frame (new noise), not the last one


def _start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["indiserver", "-p", str(port), "-u", f"/tmp/indiserver-{port}", "indi_simulator_focus"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process


def test_server_lost_then_back_is_reconnected_on_next_use(tmp_path):
    port = free_port()
    process = _start_server(port)
    try:
        address = f"127.0.0.1:{port}"
        focuser = wait_for(
            lambda: _devices(tmp_path, address, {"focuser"}, timeout_s=5).get("focuser"),
            20,
            0.2,
            what="focuser on a fresh indiserver",
        )
        first = focuser.position()
        process.terminate()
        process.wait(10)
        with pytest.raises(DeviceOffline, match=r"^device focuser: read: lost indiserver"):
            wait_for_error(focuser.position)
        assert focuser.stale
        process = _start_server(port)
        assert wait_for(lambda: focuser.position() == first, 20, 0.2, what="reconnection")
        assert not focuser.stale
    finally:
        process.terminate()
        process.wait(10)


def wait_for_error(read) -> None:
    """The client notices a closed socket within moments: call until it raises."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        read()
        time.sleep(0.05)
