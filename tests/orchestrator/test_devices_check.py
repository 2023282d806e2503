"""`pyros devices check` end to end against the real Alpaca simulator: the table, the exit
code, the FITS files with their headers, the Image rows and the device status."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from astropy.io import fits

from tests.device_peers import config_text, device_toml, reset_alpaca
from tests.helpers import free_port, pyros


def _site(tmp_path: Path, devices_toml: str) -> Path:
    (tmp_path / "pyros.toml").write_text(config_text(devices_toml))
    assert pyros("init", cwd=tmp_path).returncode == 0
    return tmp_path


def test_check_passes_writes_fits_and_image_rows(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    folder = _site(tmp_path, device_toml(alpaca=alpaca_simulator.address))
    result = pyros("devices", "check", "--force", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    for role, step in [
        ("mount", "slew"),
        ("dome", "open shutter"),
        ("dome", "close shutter"),
        ("filterwheel_vis", "move filter"),
        ("focuser", "move"),
        ("camera_vis", "1 s exposure"),
        ("camera_nir", "1 s exposure"),
        ("mount", "park"),
    ]:
        assert re.search(rf"^{role}\s+{step}\s+PASS\s+\d+\.\d\ds", table, re.M), table
    assert "0 failed" in table

    with sqlite3.connect(folder / "var" / "pyros.db") as con:
        rows = con.execute(
            "SELECT path, channel, image_type, exposure_s, filter_name, object_name FROM image"
        ).fetchall()
        states = dict(con.execute("SELECT role, state FROM device_status").fetchall())
    assert sorted(r[1] for r in rows) == ["NIR", "VIS"]
    assert set(states.values()) == {"ok"} and "camera_nir" in states
    for path, channel, image_type, exposure_s, filter_name, object_name in rows:
        file = Path(path)
        assert file.is_file() and file.is_relative_to(folder / "var" / "images")
        assert re.fullmatch(
            rf"\d{{8}}T\d{{9}}_{channel}_light_devices-check_\w+_1s\.fits", file.name
        )
        assert file.parent.name == channel
        with fits.open(file) as hdul:
            header, data = hdul[0].header, hdul[0].data
        assert header["EXPTIME"] == exposure_s == 1.0
        assert header["IMAGETYP"] == "LIGHT" and image_type == "light"
        assert header["FILTER"] == filter_name
        assert header["OBJECT"] == object_name == "devices check"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", header["DATE-OBS"])
        assert abs(header["TELRA"] - header["RA"]) < 0.05
        assert abs(header["TELDEC"] - header["DEC"]) < 0.05
        assert header["ALT"] > 80 and 1.0 <= header["AIRMASS"] < 1.02
        for key in ("AZ", "TELESCOP", "INSTRUME", "CCD-TEMP", "GAIN"):
            assert key in header
        assert header["OBSERVAT"] == "COLIBRI (simulated)"
        assert (header["SITELAT"], header["SITELONG"]) == (31.0442, -115.4637)
        assert header["XBINNING"] == header["YBINNING"] == 1
        expected = (1024, 1024) if channel == "VIS" else (512, 640)
        assert data.shape == expected
        # Offline light frame: the synthetic catalogue puts stars in the field.
        assert data.max() > data.mean() + 1000
    assert not list((folder / "var" / "images").rglob("*.tmp"))


def test_check_fails_with_exit_1_naming_the_unreachable_role(tmp_path, alpaca_simulator):
    reset_alpaca(alpaca_simulator)
    toml = device_toml(alpaca=alpaca_simulator.address, roles={"focuser"})
    toml += f'\n[devices.dome]\nadapter = "alpaca"\naddress = "127.0.0.1:{free_port()}"\n'
    folder = _site(tmp_path, toml)
    result = pyros("devices", "check", "--force", cwd=folder, timeout=60)
    assert result.returncode == 1
    assert re.search(
        r"^dome\s+connect\s+FAIL .*device dome: connect: .*refused", result.stdout, re.M
    )
    assert re.search(r"^focuser\s+move\s+PASS", result.stdout, re.M)
    assert "1 failed" in result.stdout


def _put_indi_mount_near_the_check_target(config_path: Path) -> None:
    """Sync the mount (INDI ON_COORD_SET=SYNC) and set its park position where the check
    points, 2 deg from the zenith: the simulator slews at ~3 deg/s from its pole position and
    parks on the horizon, which would add a minute of slewing to the test."""
    from datetime import UTC, datetime

    from orchestrator.clock import RealClock
    from orchestrator.config import load_config
    from orchestrator.devices.coords import from_altaz, to_jnow
    from orchestrator.devices.registry import build_devices

    config = load_config(config_path)
    props = build_devices(config, RealClock(), roles=["mount"]).get("mount").device.props
    props.set_numbers(
        "TELESCOPE_PARK_POSITION", {"PARK_HA": 0.0, "PARK_DEC": config.site.latitude_deg - 2}
    )
    props.wait_idle("number", "TELESCOPE_PARK_POSITION", 10, "set park position")
    if "UNPARK" not in props.switches_on("TELESCOPE_PARK"):
        props.set_switch("TELESCOPE_PARK", "UNPARK")
    props.set_switch("ON_COORD_SET", "SYNC")
    ra_deg, dec_deg = to_jnow(
        from_altaz(88.0, 180.0, config.site, datetime.now(UTC)), datetime.now(UTC)
    )
    props.set_numbers("EQUATORIAL_EOD_COORD", {"RA": ra_deg / 15.0, "DEC": dec_deg})
    props.wait_idle(
        "number",
        "EQUATORIAL_EOD_COORD",
        10,
        "sync",
        lambda: abs(props.numbers("EQUATORIAL_EOD_COORD")["DEC"] - dec_deg) < 0.01,
    )
    props.set_switch("ON_COORD_SET", "TRACK")


def test_check_passes_against_indi(tmp_path, indi_server):
    folder = _site(tmp_path, device_toml(indi=indi_server.address))
    _put_indi_mount_near_the_check_target(folder / "pyros.toml")
    result = pyros("devices", "check", "--force", cwd=folder, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    for role, step in [
        ("mount", "slew"),
        ("dome", "follow the mount"),
        ("dome", "close shutter"),
        ("filterwheel_vis", "move filter"),
        ("focuser", "move"),
        ("camera_vis", "1 s exposure"),
        ("mount", "park"),
    ]:
        assert re.search(rf"^{role}\s+{step}\s+PASS", result.stdout, re.M), result.stdout
    with sqlite3.connect(folder / "var" / "pyros.db") as con:
        (path, filter_name), *others = con.execute("SELECT path, filter_name FROM image").fetchall()
    assert not others
    header = fits.getheader(path)
    assert header["FILTER"] == filter_name and header["CHANNEL"] == "VIS"
    assert fits.getdata(path).shape == (1024, 1280)
    assert header["INSTRUME"].startswith("INDI 'CCD Simulator'")


def test_check_refuses_before_moving_anything_without_a_database(tmp_path, alpaca_simulator):
    (tmp_path / "pyros.toml").write_text(config_text(device_toml(alpaca=alpaca_simulator.address)))
    result = pyros("devices", "check", cwd=tmp_path)
    assert result.returncode == 1
    assert "database not ready" in result.stderr and "pyros init" in result.stderr
