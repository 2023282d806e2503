"""The device ports, one suite run against both adapters: Alpaca (alpaca-simulators) and INDI
(indiserver with its simulator drivers). Moves are kept short: the INDI mount slews at ~3°/s."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from orchestrator.clock import RealClock
from orchestrator.config import parse_config
from orchestrator.devices.coords import altaz, from_altaz
from orchestrator.devices.errors import DeviceError, TargetBelowHorizon
from orchestrator.devices.ports import ShutterState
from orchestrator.devices.registry import build_devices
from orchestrator.runtime import configure_astropy_offline
from tests.device_peers import config_text, device_toml, reset_alpaca
from tests.helpers import wait_for

ADAPTERS = ["alpaca", "indi"]


@pytest.fixture(params=ADAPTERS)
def devices(request, tmp_path: Path):
    configure_astropy_offline()
    if request.param == "alpaca":
        peer = request.getfixturevalue("alpaca_simulator")
        reset_alpaca(peer)
        toml = device_toml(alpaca=peer.address)
    else:
        peer = request.getfixturevalue("indi_server")
        toml = device_toml(indi=peer.address)
    config = parse_config(config_text(toml), tmp_path)
    built = build_devices(config, RealClock())
    yield built
    built.close()


def _near_mount(mount, offset_deg: float, az_offset_deg: float = 0.0):
    """A target `offset_deg` in altitude (and `az_offset_deg` in azimuth) from the mount."""
    now = datetime.now(UTC)
    here = altaz(mount.position(), mount.site, now)
    alt_deg = here.alt.deg - offset_deg
    if alt_deg < mount.site.horizon_deg + 5:
        alt_deg = here.alt.deg + offset_deg
    return from_altaz(min(alt_deg, 85.0), here.az.deg + az_offset_deg, mount.site, now)


def _ready(mount):
    """Unparked and above 25 deg (the simulators start parked, possibly low)."""
    if mount.is_parked():
        mount.unpark(timeout_s=30)
    here = altaz(mount.position(), mount.site, datetime.now(UTC))
    if here.alt.deg < 25.0:
        mount.slew(from_altaz(45.0, here.az.deg, mount.site, datetime.now(UTC)), timeout_s=60)
    return mount


def test_mount_slews_and_tracks(devices):
    mount = _ready(devices.get("mount"))
    assert not mount.is_parked()
    target = _near_mount(mount, offset_deg=2.0)
    mount.start_slew(target)
    mount.wait_slew(timeout_s=30)
    assert not mount.is_slewing()
    assert mount.position().separation(target).deg < 0.05
    assert mount.is_tracking()
    mount.set_tracking(False)
    assert not mount.is_tracking()


def test_mount_refuses_targets_below_the_horizon(devices):
    mount = _ready(devices.get("mount"))
    before = mount.position()
    low = from_altaz(5.0, 90.0, mount.site, datetime.now(UTC))  # horizon_deg is 10
    with pytest.raises(TargetBelowHorizon, match=r"device mount: slew: .*below the horizon"):
        mount.slew(low, timeout_s=30)
    assert not mount.is_slewing()
    assert mount.position().separation(before).deg < 0.5


def test_mount_abort_stops_a_slew(devices):
    mount = _ready(devices.get("mount"))
    target = _near_mount(mount, offset_deg=0.0, az_offset_deg=40.0)
    mount.start_slew(target)
    mount.abort()
    mount.wait_slew(timeout_s=10)
    assert not mount.is_slewing()
    assert mount.position().separation(target).deg > 1.0


def test_dome_opens_closes_and_turns(devices):
    dome = devices.get("dome")
    dome.open_shutter(timeout_s=30)
    assert dome.shutter_state() is ShutterState.OPEN
    dome.close_shutter(timeout_s=30)
    assert dome.shutter_state() is ShutterState.CLOSED
    goal = (dome.azimuth_deg() + 20.0) % 360.0
    dome.slew_to_azimuth(goal, timeout_s=60)
    assert abs((dome.azimuth_deg() - goal + 180) % 360 - 180) < 1.0


def test_filter_wheel_moves_by_name(devices):
    wheel = devices.get("filterwheel_vis")
    names = wheel.filter_names()
    assert len(names) >= 2
    other = next(n for n in names if n != wheel.current_filter())
    wheel.move_to(other, timeout_s=20)
    assert wheel.current_filter() == other
    with pytest.raises(DeviceError, match=r"filterwheel_vis: move: unknown filter 'nope'"):
        wheel.move_to("nope", timeout_s=5)


def test_focuser_moves_to_a_position(devices):
    focuser = devices.get("focuser")
    goal = focuser.position() + 50
    focuser.move_to(goal, timeout_s=20)
    assert focuser.position() == goal


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
def test_camera_exposes_and_returns_the_image(devices, light):
    camera = devices.get("camera_vis")
    camera.set_binning(1, 1)
    camera.start_exposure(0.5, light)
    camera.wait_exposure(timeout_s=30)
    image = camera.image()
    assert image.ndim == 2 and image.size > 10_000
    assert image.dtype.kind in "iuf"
    assert np.ptp(image) > 0  # noise at least: a real frame, not zeros


def test_camera_binning_cooler_and_gain(devices):
    camera = devices.get("camera_vis")
    full = None
    camera.set_binning(1, 1)
    camera.start_exposure(0.1, False)
    camera.wait_exposure(timeout_s=30)
    full = camera.image().shape
    camera.set_binning(2, 2)
    assert camera.binning() == (2, 2)
    camera.start_exposure(0.1, False)
    camera.wait_exposure(timeout_s=30)
    binned = camera.image().shape
    assert binned == (full[0] // 2, full[1] // 2)
    camera.set_binning(1, 1)
    start_c = camera.ccd_temperature_c()
    assert start_c is not None and start_c > -9.0
    camera.set_cooler(True, -10.0)
    # alpaca-simulators reaches the set point at once, INDI's simulator ramps towards it.
    wait_for(
        lambda: camera.ccd_temperature_c() <= start_c - 0.4,
        30,
        0.2,
        what="the sensor cooling towards -10 C",
    )
    camera.set_cooler(False)
    # alpaca-simulators 1.3.2 reads back a gain index plus one: compare readings, not values.
    before = camera.gain()
    camera.set_gain(2 if before != 2 else 1)
    assert before is not None and camera.gain() not in (None, before)


def test_mount_parks_and_then_refuses_to_slew(devices):
    """Last of the file: the INDI mount parks low, and later slews from there are long."""
    mount = _ready(devices.get("mount"))
    target = _near_mount(mount, offset_deg=2.0)
    mount.park(timeout_s=60)
    assert mount.is_parked()
    with pytest.raises(DeviceError, match=r"^device mount: .*parked: unpark it first"):
        mount.start_slew(target)
    mount.unpark(timeout_s=30)
    assert not mount.is_parked()
