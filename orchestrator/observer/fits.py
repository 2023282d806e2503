"""FITS files of the cameras: full headers, a naming convention, atomic writes, the Image row.

Called by the observer, the calibrations and `pyros devices check` after an exposure. File
naming, under config folders.images:

    NIGHT/CHANNEL/YYYYMMDDTHHMMSSmmm_CHANNEL_TYPE[_OBJECT][_FILTER]_EXPs.fits

NIGHT is the site's local date at the start of the night (local time minus 12 h), CHANNEL VIS
or NIR, TYPE light/dark/flat/bias, the time DATE-OBS in UTC to the millisecond. A file is
written to a temporary name in the same folder, then renamed (os.replace): a reader never sees
half a file. The Image row is stored once the file is in place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from sqlalchemy import select

from orchestrator.config import SiteConfig
from orchestrator.devices.coords import altaz
from orchestrator.errors import PyrosError
from orchestrator.model import Image, WeatherWatch, WeatherWatchHistory
from orchestrator.runtime import Runtime

IMAGE_TYPES = ("light", "dark", "flat", "bias")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9.+-]+")


@dataclass(frozen=True)
class Exposure:
    """What is known about one exposure when its image is saved."""

    channel: str  # VIS or NIR
    image_type: str  # light, dark, flat, bias
    date_obs: datetime  # UTC, shutter open
    exposure_s: float
    instrument: str = ""
    telescope: str = ""
    filter_name: str | None = None
    object_name: str | None = None
    target: SkyCoord | None = None  # what was asked for
    mount_position: SkyCoord | None = None  # where the mount pointed
    ccd_temp_c: float | None = None
    bin_x: int = 1
    bin_y: int = 1
    gain: float | None = None
    request_id: int | None = None
    sequence_id: int | None = None
    plan_id: int | None = None

    def __post_init__(self) -> None:
        if self.image_type not in IMAGE_TYPES:
            raise ValueError(f"image_type must be one of {IMAGE_TYPES}, not {self.image_type!r}")
        if self.date_obs.tzinfo is None:
            raise ValueError("date_obs must be timezone-aware (UTC)")


def night_of(when: datetime, site: SiteConfig) -> str:
    """The local date at the start of the night `when` belongs to (YYYYMMDD)."""
    local = when.astimezone(ZoneInfo(site.timezone)) - timedelta(hours=12)
    return f"{local:%Y%m%d}"


def image_path(images_dir: Path, exposure: Exposure, site: SiteConfig) -> Path:
    """The path of an exposure's file, by the convention in this module's docstring."""
    when = exposure.date_obs.astimezone(UTC)
    parts = [f"{when:%Y%m%dT%H%M%S}{when.microsecond // 1000:03d}", exposure.channel]
    parts.append(exposure.image_type)
    for optional in (exposure.object_name, exposure.filter_name):
        if optional:
            parts.append(_UNSAFE_NAME.sub("-", optional).strip("-")[:40])
    parts.append(f"{exposure.exposure_s:g}s")
    return images_dir / night_of(when, site) / exposure.channel / ("_".join(parts) + ".fits")


def _coord_cards(header: fits.Header, prefix: str, coord: SkyCoord | None, what: str) -> None:
    if coord is None:
        return
    icrs = coord.icrs
    header[f"{prefix}RA"] = (round(icrs.ra.deg, 6), f"[deg] {what} right ascension (ICRS)")
    header[f"{prefix}DEC"] = (round(icrs.dec.deg, 6), f"[deg] {what} declination (ICRS)")


def fits_header(
    exposure: Exposure, site: SiteConfig, weather: WeatherWatch | None = None
) -> fits.Header:
    """Every card the project promises (see the README's FITS section)."""
    h = fits.Header()
    when = exposure.date_obs.astimezone(UTC)
    h["DATE-OBS"] = (when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3], "UTC, shutter open")
    h["EXPTIME"] = (float(exposure.exposure_s), "[s] exposure time")
    h["IMAGETYP"] = (exposure.image_type.upper(), "light, dark, flat or bias")
    h["FILTER"] = (exposure.filter_name or "NONE", "filter in the beam")
    h["OBJECT"] = ((exposure.object_name or "")[:68], "target name")
    h["CHANNEL"] = (exposure.channel, "VIS or NIR camera")
    _coord_cards(h, "", exposure.target, "target")
    _coord_cards(h, "TEL", exposure.mount_position, "mount")
    pointing = exposure.mount_position or exposure.target
    if pointing is not None:
        horizontal = altaz(pointing, site, when)
        alt_deg = float(horizontal.alt.deg)
        h["ALT"] = (round(alt_deg, 4), "[deg] altitude of the pointing at DATE-OBS")
        h["AZ"] = (round(float(horizontal.az.deg), 4), "[deg] azimuth, north through east")
        if alt_deg > 1.0:
            airmass = float(horizontal.secz)
            h["AIRMASS"] = (round(airmass, 4), "sec(z) at DATE-OBS")
    # Long strings would need CONTINUE cards that some readers mishandle: keep one card.
    h["TELESCOP"] = (exposure.telescope[:68] or site.name, "telescope (mount)")
    h["INSTRUME"] = (exposure.instrument[:68], "camera")
    h["OBSERVAT"] = (site.name, "observatory")
    h["SITELAT"] = (site.latitude_deg, "[deg] site latitude, north positive")
    h["SITELONG"] = (site.longitude_deg, "[deg] site longitude, east positive")
    h["SITEELEV"] = (site.elevation_m, "[m] site elevation")
    if exposure.ccd_temp_c is not None:
        h["CCD-TEMP"] = (round(exposure.ccd_temp_c, 2), "[C] sensor temperature")
    h["XBINNING"] = (exposure.bin_x, "binning along x")
    h["YBINNING"] = (exposure.bin_y, "binning along y")
    if exposure.gain is not None:
        h["GAIN"] = (exposure.gain, "camera gain setting")
    for key, value, comment in (
        ("REQID", exposure.request_id, "PyROS request id"),
        ("SEQID", exposure.sequence_id, "PyROS sequence id"),
        ("PLANID", exposure.plan_id, "PyROS plan id"),
    ):
        if value is not None:
            h[key] = (value, comment)
    if weather is not None:
        _weather_cards(h, weather)
    _fit_comments(h)
    return h


def _fit_comments(h: fits.Header) -> None:
    """Shorten comments so that every card fits its 80 characters.

    A long value (a 68-character OBJECT) leaves little room: astropy would truncate the comment
    itself at write time with a "Card is too long" warning on every frame. We keep the value
    whole and the comment as long as fits, on purpose.
    """
    for card in h.cards:
        if not card.comment:
            continue
        room = 80 - len(fits.Card(card.keyword, card.value).image.rstrip()) - len(" / ")
        if len(card.comment) > room:
            h.comments[card.keyword] = card.comment[: max(room, 0)]


def _weather_cards(h: fits.Header, w: WeatherWatch) -> None:
    h["WXTIME"] = (w.measured.astimezone(UTC).isoformat(timespec="seconds"), "weather synthesis")
    h["WXSAFE"] = (bool(w.is_safe), "weather synthesis said safe")
    for key, value, comment in (
        ("AMBTEMP", w.temperature_c, "[C] ambient temperature"),
        ("HUMIDITY", w.humidity_pct, "[%] relative humidity"),
        ("DEWPOINT", w.dew_point_c, "[C] dew point"),
        ("PRESSURE", w.pressure_hpa, "[hPa] air pressure"),
        ("WINDSPD", w.wind_speed_m_s, "[m/s] wind speed"),
        ("WINDDIR", w.wind_direction_deg, "[deg] wind direction"),
        ("RAINRATE", w.rain_rate_mm_h, "[mm/h] rain rate"),
        ("SKYAMB", w.sky_minus_ambient_c, "[C] sky minus ambient temperature"),
    ):
        if value is not None:
            h[key] = (round(float(value), 3), comment)


def write_fits(path: Path, data: np.ndarray, header: fits.Header) -> Path:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fits.PrimaryHDU(data=data, header=header).writeto(temporary, overwrite=True)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


class ImagesFolderError(PyrosError):
    """A frame could not be written to the images folder (disk full, quota, read-only)."""

    def __init__(self, folder: Path, path: Path, error: OSError):
        self.folder = folder
        super().__init__(f"images folder {folder}: cannot write {path.name}: {_why(error)}")


def _why(error: OSError) -> str:
    """One short clause; astropy reports a full disk with its own OSError (no errno)."""
    if error.errno is not None:
        return os.strerror(error.errno).lower()
    detail = str(error).split(". ")[0].rstrip(".")[:120]
    if "space" in detail.lower():
        return f"no space left on device ({detail})"
    return detail


def weather_at(runtime: Runtime, when: datetime) -> WeatherWatch | WeatherWatchHistory | None:
    """The latest weather synthesis at `when`, if fresh (within safety.stale_after_s)."""
    oldest = when - timedelta(seconds=runtime.config.safety.stale_after_s)
    with runtime.sessions() as session:
        for table in (WeatherWatchHistory, WeatherWatch):
            row = session.scalar(
                select(table)
                .where(table.measured <= when, table.measured >= oldest)
                .order_by(table.measured.desc())
                .limit(1)
            )
            if row is not None:
                session.expunge(row)
                return row
    return None


def save_image(runtime: Runtime, data: np.ndarray, exposure: Exposure) -> Image:
    """Write the FITS file with its full header and store the Image row; returns the row."""
    site = runtime.config.site
    header = fits_header(exposure, site, weather_at(runtime, exposure.date_obs))
    path = image_path(runtime.config.folders.images, exposure, site)
    counter = 1
    while path.exists():  # two exposures in the same millisecond (never in practice)
        path = path.with_name(f"{path.stem.split('~')[0]}~{counter}.fits")
        counter += 1
    try:
        write_fits(path, data, header)
    except OSError as exc:  # full, over quota, read-only: nothing of this frame stays
        raise ImagesFolderError(runtime.config.folders.images, path, exc) from exc
    with runtime.sessions.begin() as session:
        row = Image(
            path=str(path),
            image_type=exposure.image_type,
            channel=exposure.channel,
            date_obs=exposure.date_obs,
            night=night_of(exposure.date_obs, site),
            exposure_s=exposure.exposure_s,
            filter_name=exposure.filter_name,
            object_name=exposure.object_name,
            sequence_id=exposure.sequence_id,
            plan_id=exposure.plan_id,
            telescope=runtime.config.telescope.name,
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row
