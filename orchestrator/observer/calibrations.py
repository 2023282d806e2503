"""Calibration frames: dusk and dawn sky flats, bias and darks, stored as Image rows.

Flats are taken while the Sun is between `[calibrations] sun_alt_max_deg` and
`sun_alt_min_deg`, for the filters tonight's schedule uses, each exposure scaled from the
previous frame's median (above the bias level, measured first) toward `flat_target_adu`
within the exposure limits; only frames whose
median lies in [flat_min_adu, flat_max_adu] are kept. Bias and darks (for the exposure times
used tonight) have their shutter closed. Every frame's Image row carries IMAGETYP (image_type)
and the night (Image.night), so the pipeline can build masters per night.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from astropy.coordinates import get_body
from astropy.time import Time
from sqlalchemy import select

from orchestrator.devices.coords import altaz, from_altaz, location
from orchestrator.devices.ports import CAN_DOME_AZIMUTH
from orchestrator.devices.registry import Devices
from orchestrator.model import Album, Image, Plan, Schedule, ScheduleEntry, Sequence
from orchestrator.observer.fits import Exposure, save_image
from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlatTrial:
    """One sky-flat frame taken: its exposure, its median, whether it was kept."""

    filter_name: str
    exposure_s: float
    median_adu: float
    offset_adu: float  # the camera's bias level, measured first
    kept: bool


def sun_altitude_deg(runtime: Runtime, when: datetime | None = None) -> float:
    when = when or runtime.clock.now()
    site = runtime.config.site
    sun = get_body("sun", Time(when), location(site))
    return float(altaz(sun, site, when).alt.deg)


def in_flat_window(runtime: Runtime, when: datetime | None = None) -> bool:
    """Is the Sun between the two configured altitudes (dusk or dawn)?"""
    cfg = runtime.config.calibrations
    return cfg.sun_alt_min_deg <= sun_altitude_deg(runtime, when) <= cfg.sun_alt_max_deg


def _channel_devices(devices: Devices, channel: str) -> tuple[Any, Any]:
    camera = devices.get(f"camera_{channel.lower()}")
    wheel_role = f"filterwheel_{channel.lower()}"
    return camera, devices.get(wheel_role) if wheel_role in devices else None


def _expose(
    runtime: Runtime, camera: Any, exposure_s: float, light: bool
) -> tuple[datetime, np.ndarray]:
    date_obs = runtime.clock.now()
    camera.start_exposure(exposure_s, light)
    camera.wait_exposure(timeout_s=exposure_s + runtime.config.observer.readout_margin_s)
    return date_obs, camera.image()


def _save(
    runtime: Runtime,
    camera: Any,
    channel: str,
    image_type: str,
    date_obs: datetime,
    exposure_s: float,
    data: np.ndarray,
    filter_name: str | None = None,
) -> int:
    bin_x, bin_y = camera.binning()
    exposure = Exposure(
        channel=channel.upper(),
        image_type=image_type,
        date_obs=date_obs,
        exposure_s=exposure_s,
        instrument=camera.describe(),
        filter_name=filter_name,
        object_name=f"{image_type} calibration",
        ccd_temp_c=camera.ccd_temperature_c(),
        bin_x=bin_x,
        bin_y=bin_y,
        gain=camera.gain(),
    )
    return save_image(runtime, data, exposure).id


def take_bias(runtime: Runtime, devices: Devices, channel: str, count: int) -> list[int]:
    """`count` bias frames (shutter closed, [calibrations] bias_exposure_s); Image ids."""
    camera, _ = _channel_devices(devices, channel)
    exposure_s = runtime.config.calibrations.bias_exposure_s
    ids = []
    for _ in range(count):
        date_obs, data = _expose(runtime, camera, exposure_s, light=False)
        ids.append(_save(runtime, camera, channel, "bias", date_obs, exposure_s, data))
    return ids


def take_darks(
    runtime: Runtime, devices: Devices, channel: str, exposures_s: list[float], count: int
) -> list[int]:
    """`count` darks for each exposure time (shutter closed); Image ids."""
    camera, _ = _channel_devices(devices, channel)
    ids = []
    for exposure_s in exposures_s:
        for _ in range(count):
            date_obs, data = _expose(runtime, camera, exposure_s, light=False)
            ids.append(_save(runtime, camera, channel, "dark", date_obs, exposure_s, data))
    return ids


def _point_for_flats(runtime: Runtime, devices: Devices) -> None:
    """Point opposite the Sun at flat_altitude_deg (the evenest part of the twilight sky)."""
    if "mount" not in devices:
        return
    site, cfg = runtime.config.site, runtime.config.calibrations
    now = runtime.clock.now()
    sun = get_body("sun", Time(now), location(site))
    az_deg = (float(altaz(sun, site, now).az.deg) + 180.0) % 360.0
    target = from_altaz(cfg.flat_altitude_deg, az_deg, site, now)
    mount = devices.get("mount")
    timeout_s = runtime.config.observer.slew_timeout_s
    if mount.is_parked():
        mount.unpark(timeout_s=timeout_s)
    mount.slew(target, timeout_s=timeout_s)
    dome = devices.get("dome") if "dome" in devices else None
    if dome is not None and CAN_DOME_AZIMUTH in dome.capabilities():
        dome.slew_to_azimuth(az_deg, timeout_s=runtime.config.observer.dome_timeout_s)


def next_flat_exposure_s(
    runtime: Runtime, exposure_s: float, median_adu: float, offset_adu: float
) -> float:
    """Scale the sky signal (median above the bias level) toward the target level, clamped;
    the sky changes little between two frames."""
    cfg = runtime.config.calibrations
    signal_adu = max(median_adu - offset_adu, 1.0)
    wanted_s = exposure_s * max(cfg.flat_target_adu - offset_adu, 1.0) / signal_adu
    return min(max(wanted_s, cfg.flat_min_exposure_s), cfg.flat_max_exposure_s)


def take_flats(
    runtime: Runtime,
    devices: Devices,
    channel: str,
    filters: list[str],
    stop: Callable[[], bool],
    trials: list[FlatTrial] | None = None,
) -> list[int]:
    """Sky flats per filter while the Sun is in the flat window and `stop()` is false.

    Returns the kept flats' Image ids; `trials`, if given, receives every frame taken.
    """
    cfg = runtime.config.calibrations
    camera, wheel = _channel_devices(devices, channel)
    ids: list[int] = []
    if stop() or not in_flat_window(runtime):
        return ids
    # the bias level, so that the scaling sees the sky's signal, not the camera's offset
    _, bias = _expose(runtime, camera, cfg.bias_exposure_s, light=False)
    offset_adu = float(np.median(bias))
    _point_for_flats(runtime, devices)
    exposure_s = cfg.flat_first_exposure_s
    for filter_name in filters:
        if wheel is not None:
            wheel.move_to(filter_name, timeout_s=runtime.config.observer.filter_timeout_s)
        kept = 0
        for _ in range(cfg.flat_max_tries):
            if kept >= cfg.flat_count or stop() or not in_flat_window(runtime):
                break
            date_obs, data = _expose(runtime, camera, exposure_s, light=True)
            median_adu = float(np.median(data))
            good = cfg.flat_min_adu <= median_adu <= cfg.flat_max_adu
            if good:
                ids.append(
                    _save(runtime, camera, channel, "flat", date_obs, exposure_s, data, filter_name)
                )
                kept += 1
            if trials is not None:
                trials.append(FlatTrial(filter_name, exposure_s, median_adu, offset_adu, good))
            following_s = next_flat_exposure_s(runtime, exposure_s, median_adu, offset_adu)
            if not good and following_s == exposure_s:
                # pinned at a limit and still out of range: the sky is too bright or too dark
                log.info("flats %s %s: sky out of reach at %g s", channel, filter_name, exposure_s)
                break
            exposure_s = following_s
    return ids


def exposures_used_tonight(runtime: Runtime, night: str) -> list[float]:
    """The distinct exposure times of tonight's light and flat frames (for the darks)."""
    with runtime.sessions() as session:
        values = session.scalars(
            select(Image.exposure_s)
            .where(Image.night == night, Image.image_type.in_(("light", "flat")))
            .distinct()
        ).all()
    return sorted({round(float(v), 3) for v in values})


def filters_scheduled(runtime: Runtime) -> dict[str, list[str]]:
    """The filters each channel's plans use in the latest schedule: {"VIS": ["g", "r"], ...}."""
    with runtime.sessions() as session:
        schedule_id = session.scalar(select(Schedule.id).order_by(Schedule.created.desc()).limit(1))
        if schedule_id is None:
            return {}
        rows = session.execute(
            select(Album.channel, Plan.filter_name)
            .join(Plan, Plan.album_id == Album.id)
            .join(Sequence, Album.sequence_id == Sequence.id)
            .join(ScheduleEntry, ScheduleEntry.sequence_id == Sequence.id)
            .where(ScheduleEntry.schedule_id == schedule_id)
            .order_by(ScheduleEntry.start, Plan.id)
        ).all()
    found: dict[str, list[str]] = {}
    for channel, filter_name in rows:
        names = found.setdefault(str(channel.value if hasattr(channel, "value") else channel), [])
        if filter_name not in names:
            names.append(filter_name)
    return found
