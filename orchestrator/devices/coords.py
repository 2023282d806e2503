"""Coordinate helpers shared by the mount guard, the adapters and the FITS writer.

Mounts speak either J2000/ICRS (ASCOM EquatorialSystem 2) or apparent "JNow" coordinates
(ASCOM EquatorialSystem 1, INDI EQUATORIAL_EOD_COORD); astropy's TETE frame is JNow.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import astropy.units as u
import erfa
from astropy.coordinates import TETE, AltAz, EarthLocation, SkyCoord
from astropy.time import Time

from orchestrator.config import SiteConfig


def location(site: SiteConfig) -> EarthLocation:
    return EarthLocation(
        lat=site.latitude_deg * u.deg, lon=site.longitude_deg * u.deg, height=site.elevation_m * u.m
    )


def altaz(target: SkyCoord, site: SiteConfig, when: datetime) -> SkyCoord:
    """Horizontal coordinates of `target` at the site (no refraction)."""
    frame = AltAz(obstime=Time(when), location=location(site))
    return target.transform_to(frame)


def horizontal_deg(
    ra_deg: float, dec_deg: float, site: SiteConfig, when: datetime
) -> tuple[float, float]:
    """(altitude, azimuth) in degrees of an ICRS position at the site, no refraction.

    The transformation astropy's `AltAz` does (ERFA's atco13: precession, nutation, aberration,
    light deflection, diurnal terms) called directly: ~1 ms instead of ~13 ms, which matters
    on an alert's way to the mount. UT1-UTC and polar motion are taken as 0 (< 0.005 deg).
    """
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    utc1, utc2 = erfa.dtf2d(
        "UTC",
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second + when.microsecond / 1e6,
    )
    azimuth, zenith, *_ = erfa.atco13(
        math.radians(ra_deg),
        math.radians(dec_deg),
        0.0,
        0.0,
        0.0,
        0.0,
        utc1,
        utc2,
        0.0,
        math.radians(site.longitude_deg),
        math.radians(site.latitude_deg),
        site.elevation_m,
        0.0,
        0.0,
        0.0,  # pressure 0: no refraction, as `altaz`
        0.0,
        0.0,
        1.0,
    )
    return 90.0 - math.degrees(float(zenith)), math.degrees(float(azimuth)) % 360.0


def icrs_deg(target: SkyCoord) -> tuple[float, float]:
    """(RA, Dec) in degrees of `target` in ICRS, without a transformation when it is ICRS."""
    if target.frame.name != "icrs":
        target = target.icrs
    return float(target.ra.deg), float(target.dec.deg)


def from_altaz(alt_deg: float, az_deg: float, site: SiteConfig, when: datetime) -> SkyCoord:
    """The ICRS position at (alt, az) at the site and instant."""
    frame = AltAz(obstime=Time(when), location=location(site))
    return SkyCoord(alt=alt_deg * u.deg, az=az_deg * u.deg, frame=frame).icrs


def to_jnow(target: SkyCoord, when: datetime) -> tuple[float, float]:
    """(RA deg, Dec deg) of `target` in apparent equinox-of-date coordinates."""
    apparent = target.transform_to(TETE(obstime=Time(when)))
    return apparent.ra.deg, apparent.dec.deg


def from_jnow(ra_deg: float, dec_deg: float, when: datetime) -> SkyCoord:
    """ICRS position of apparent (equinox-of-date) coordinates."""
    frame = TETE(obstime=Time(when))
    return SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg, frame=frame).icrs
