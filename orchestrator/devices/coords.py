"""Coordinate helpers shared by the mount guard, the adapters and the FITS writer.

Mounts speak either J2000/ICRS (ASCOM EquatorialSystem 2) or apparent "JNow" coordinates
(ASCOM EquatorialSystem 1, INDI EQUATORIAL_EOD_COORD); astropy's TETE frame is JNow.
"""

from __future__ import annotations

from datetime import datetime

import astropy.units as u
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
