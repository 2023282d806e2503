"""Building devices from config refuses bad set-ups at start; the guard never lets a call hang,
names the role, reconnects on next use and stores the device status."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator import db
from orchestrator.clock import RealClock
from orchestrator.config import parse_config
from orchestrator.devices.errors import DeviceError, DeviceTimeout
from orchestrator.devices.registry import build_devices
from orchestrator.devices.status import DeviceStatusStore
from orchestrator.errors import ConfigError
from orchestrator.model import DeviceStatus
from orchestrator.runtime import Runtime
from tests.device_peers import (
    SHUTTERLESS_CAMERA,
    PausableProxy,
    config_text,
    device_toml,
    reset_alpaca,
)
from tests.helpers import free_port


def _config(tmp_path: Path, devices_toml: str):
    return parse_config(config_text(devices_toml), tmp_path)


def test_unknown_role_and_adapter_are_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"devices\.telescope: unknown key"):
        _config(tmp_path, '[devices.telescope]\nadapter = "alpaca"\naddress = "h:1"\n')
    with pytest.raises(ConfigError, match=r"devices\.mount\.adapter"):
        _config(tmp_path, '[devices.mount]\nadapter = "ascom"\naddress = "h:1"\n')
    with pytest.raises(ConfigError, match=r"devices\.mount: device_name is required"):
        _config(tmp_path, '[devices.mount]\nadapter = "indi"\naddress = "h:1"\n')


def test_unreachable_address_is_refused_at_start_naming_the_role(tmp_path):
    closed_port = free_port()  # nothing listens there
    config = _config(
        tmp_path, f'[devices.dome]\nadapter = "alpaca"\naddress = "127.0.0.1:{closed_port}"\n'
    )
    with pytest.raises(DeviceError, match=r"^device dome: connect: .*refused"):
        build_devices(config, RealClock())  # how long it takes: bench/bench_deadlines.py


def test_device_number_absent_on_the_server_is_refused(tmp_path, alpaca_simulator):
    toml = (
        f'[devices.camera_nir]\nadapter = "alpaca"\naddress = "{alpaca_simulator.address}"\n'
        "device_number = 7\n"
    )
    with pytest.raises(DeviceError, match=r"^device camera_nir: connect: .*not found"):
        build_devices(_config(tmp_path, toml), RealClock())


def test_camera_that_cannot_take_darks_is_refused(tmp_path, alpaca_simulator):
    toml = (
        f'[devices.camera_vis]\nadapter = "alpaca"\naddress = "{alpaca_simulator.address}"\n'
        f"device_number = {SHUTTERLESS_CAMERA}\n"
    )
    with pytest.raises(DeviceError, match=r"^device camera_vis: check capabilities: .*dark"):
        build_devices(_config(tmp_path, toml), RealClock())


def test_filter_names_beyond_the_wheel_slots_are_refused(tmp_path, alpaca_simulator):
    toml = (
        f'[devices.filterwheel_nir]\nadapter = "alpaca"\naddress = "{alpaca_simulator.address}"\n'
        'device_number = 1\nfilters = ["Y", "J", "H", "K"]\n'  # the wheel has 3 slots
    )
    with pytest.raises(DeviceError, match=r"^device filterwheel_nir: check capabilities"):
        build_devices(_config(tmp_path, toml), RealClock())


def test_silent_device_times_out_naming_it_then_reconnects(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    proxy = PausableProxy((alpaca_simulator.host, alpaca_simulator.port))
    toml = device_toml(alpaca=proxy.address, roles={"focuser"}).replace(
        'address = "', 'timeout_s = 1.0\naddress = "'
    )
    config = _config(tmp_path, toml)
    runtime = Runtime(config, RealClock())
    db.upgrade(runtime.engine)
    try:
        focuser = build_devices(config, RealClock(), DeviceStatusStore(runtime)).get("focuser")
        assert focuser.position() == 10000
        proxy.pause()
        # The guard's 1 s deadline gave up, not alpyca's 5 s (which names no deadline).
        with pytest.raises(DeviceTimeout, match=r"^device focuser: position: no answer within 1 s"):
            focuser.position()
        assert focuser.stale
        with runtime.sessions() as session:
            row = session.scalar(select(DeviceStatus).where(DeviceStatus.role == "focuser"))
            assert (row.state, row.connected) == ("offline", False)
            assert "no answer" in row.last_error
        proxy.resume()
        assert focuser.position() == 10000  # reconnected on next use
        assert not focuser.stale
        with runtime.sessions() as session:
            row = session.scalar(select(DeviceStatus).where(DeviceStatus.role == "focuser"))
            assert (row.state, row.connected) == ("ok", True)
    finally:
        proxy.close()
        runtime.engine.dispose()


def test_a_listening_but_mute_address_cannot_hang_start(tmp_path):
    mute = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        toml = (
            f'[devices.mount]\nadapter = "alpaca"\n'
            f'address = "127.0.0.1:{mute.getsockname()[1]}"\ntimeout_s = 0.5\n'
        )
        with pytest.raises(DeviceTimeout, match=r"^device mount: connect: no answer within 0.5 s"):
            build_devices(_config(tmp_path, toml), RealClock())  # figures: bench_deadlines.py
    finally:
        mute.close()


def test_the_orchestrator_never_imports_alpyca_or_pyindi():
    """Dependencies point inward: adapters are loaded by name, only when a role needs them."""
    import subprocess
    import sys

    code = (
        "import sys, orchestrator.cli, orchestrator.cli.devices, orchestrator.devices.registry,"
        " orchestrator.devices.selftest, orchestrator.observer.fits, orchestrator.supervisor\n"
        "bad = [m for m in ('alpaca', 'PyIndi', 'alpaca_devices', 'indi_bridge')"
        " if m in sys.modules]\n"
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
