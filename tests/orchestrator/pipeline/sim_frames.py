"""Frames from the real alpaca-simulators camera, written by the project's FITS writer."""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from orchestrator.config import parse_config
from orchestrator.devices.registry import build_devices
from orchestrator.observer.fits import Exposure, save_image
from tests.device_peers import config_text, device_toml

BIN = 4  # 1024² binned 4x4: 256² frames that still cover the 47' field


def sim_config_toml(alpaca_address: str) -> str:
    return config_text(device_toml(alpaca_address, roles={"mount", "camera_vis"}))


def connect(runtime):
    return build_devices(runtime.config, runtime.clock, roles=("mount", "camera_vis"))


def zenith_target(runtime) -> SkyCoord:
    """A field high in the simulated sky, inside the simulator catalogue's band."""
    from astropy.coordinates import AltAz, EarthLocation


    site = runtime.config.site
    where = EarthLocation(lat=site.latitude_deg * u.deg, lon=site.longitude_deg * u.deg,
                          height=site.elevation_m * u.m)  # fmt: skip
    # The catalogue is a band of +-3 deg around the site's latitude: stay near the zenith.
    zenith = SkyCoord(alt=89 * u.deg, az=180 * u.deg, frame=AltAz(obstime=runtime.clock.now(),
                                                                    location=where))  # fmt: skip
    return zenith.icrs


def expose(runtime, devices, image_type: str, exposure_s: float, target=None, n: int = 1,
           filter_name: str | None = None, tick_s: float = 1.0) -> list:  # fmt: skip
    """`n` frames of the simulator's camera saved with their Image rows; returns the rows."""
    camera = devices.get("camera_vis")
    camera.set_binning(BIN, BIN)
    rows = []
    for _ in range(n):
        runtime.clock.advance(tick_s)
        camera.start_exposure(exposure_s, image_type == "light")
        camera.wait_exposure(timeout_s=exposure_s + 60)
        data = camera.image()
        mount = devices.get("mount")
        exposure = Exposure(
            channel="VIS", image_type=image_type, date_obs=runtime.clock.now(),
            exposure_s=exposure_s, filter_name=filter_name,
            object_name="field" if image_type == "light" else None,
            target=target, mount_position=mount.position() if target is not None else None,
            bin_x=BIN, bin_y=BIN,
        )  # fmt: skip
        rows.append(save_image(runtime, np.asarray(data), exposure))
    return rows


def synthetic_flats(runtime, n: int, filter_name: str, shape=(256, 256), level=20000.0) -> list:
    """The simulator renders no twilight sky: flats are a smooth vignetting pattern + noise."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    r2 = ((xx - shape[1] / 2) ** 2 + (yy - shape[0] / 2) ** 2) / (shape[0] / 2) ** 2
    rows = []
    for _ in range(n):
        runtime.clock.advance(1.0)
        data = level * (1 - 0.1 * r2) + rng.normal(0, 30, shape)
        exposure = Exposure(
            channel="VIS", image_type="flat", date_obs=runtime.clock.now(), exposure_s=1.0,
            filter_name=filter_name, bin_x=BIN, bin_y=BIN,
        )  # fmt: skip
        rows.append(save_image(runtime, data.astype(np.uint16), exposure))
    return rows


def make_runtime_for(tmp_path, clock, url, alpaca_address):
    from orchestrator.runtime import Runtime

    config = parse_config(sim_config_toml(alpaca_address), tmp_path)
    config = config.model_copy(update={"database": config.database.model_copy(update={"url": url})})
    return Runtime(config, clock)
