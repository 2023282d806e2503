"""The night: twilight times from astroplan's Observer, and one shared time grid per night.

`night_grid(site, night)` is computed once per site and night and cached; the scheduler and the
visibility module read everything from it (local sidereal time, twilights, the Moon).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

TWILIGHT_SUN_ALTITUDE_DEG = {"civil": -6.0, "nautical": -12.0, "astronomical": -18.0}
GRID_STEP_S = 60.0
# astroplan interpolates twilight instants; keep a little away from them so that
# AtNightConstraint holds at every instant of an entry.
TWILIGHT_MARGIN_S = 30.0
MOON_STEP_S = 900.0  # the Moon moves ~0.14 deg in 15 min: interpolate a coarse ephemeris


@dataclass(frozen=True)
class Site:
    latitude_deg: float
    longitude_deg: float  # east positive
    elevation_m: float

    @classmethod
    def from_config(cls, site_config) -> Site:
        return cls(site_config.latitude_deg, site_config.longitude_deg, site_config.elevation_m)


def configure_astropy_offline() -> None:
    """Never download IERS tables (the offline CLI path has no Runtime to do it)."""
    import astropy.utils.iers

    astropy.utils.iers.conf.auto_download = False
    astropy.utils.iers.conf.auto_max_age = None


@lru_cache(maxsize=8)
def observer_for(site: Site):
    """astroplan's Observer for the site (no refraction: pressure 0, as astroplan's default)."""
    import astropy.units as u
    from astroplan import Observer
    from astropy.coordinates import EarthLocation

    configure_astropy_offline()
    location = EarthLocation.from_geodetic(
        site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.elevation_m * u.m
    )
    return Observer(location=location, name="site")


def to_unix(moment: datetime) -> float:
    return moment.timestamp()


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def unit_vectors(ra_rad: np.ndarray, dec_rad: np.ndarray) -> np.ndarray:
    cos_dec = np.cos(dec_rad)
    return np.stack([cos_dec * np.cos(ra_rad), cos_dec * np.sin(ra_rad), np.sin(dec_rad)], -1)


@dataclass
class NightGrid:
    """One night at one site, on a grid of `step_s` from civil dusk to civil dawn."""

    site: Site
    night: date
    step_s: float
    start_unix: float  # grid point 0
    lst_rad: np.ndarray  # apparent local sidereal time at each grid point
    twilights: dict[str, tuple[float, float]]  # kind -> (dusk, dawn), unix seconds
    moon_xyz: np.ndarray  # (n, 3) apparent (TETE) unit vectors of the topocentric Moon
    mid_unix: float  # epoch of the apparent place of the targets
    _targets: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )

    @property
    def n(self) -> int:
        return len(self.lst_rad)

    @property
    def times_unix(self) -> np.ndarray:
        return self.start_unix + self.step_s * np.arange(self.n)

    def night_bounds(self, twilight: str) -> tuple[float, float]:
        """(dusk, dawn) in unix seconds for the twilight kind, margins included."""
        dusk, dawn = self.twilights[twilight]
        return dusk + TWILIGHT_MARGIN_S, dawn - TWILIGHT_MARGIN_S

    def target_tracks(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Altitude (deg) and Moon separation (deg) of each target at each grid point.

        Cached per target: a re-plan of the same night only computes new targets. One astropy
        transform to the apparent place for all new targets, then numpy with the sidereal time.
        """
        ras, decs = np.asarray(ra_deg, float).tolist(), np.asarray(dec_deg, float).tolist()
        keys = list(zip(ras, decs, strict=True))
        missing = sorted({k for k in keys if k not in self._targets})
        if missing:
            self._compute(missing)
        if not keys:
            return np.zeros((0, self.n)), np.zeros((0, self.n))
        altitude = np.stack([self._targets[k][0] for k in keys])
        moon_sep = np.stack([self._targets[k][1] for k in keys])
        return altitude, moon_sep

    def _compute(self, keys: list[tuple[float, float]]) -> None:
        import astropy.units as u
        from astropy.coordinates import TETE, SkyCoord
        from astropy.time import Time

        ra, dec = np.array(keys).T
        apparent = SkyCoord(ra * u.deg, dec * u.deg).transform_to(
            TETE(obstime=Time(self.mid_unix, format="unix"))
        )
        ra_app = apparent.ra.rad
        dec_app = apparent.dec.rad
        lat = math.radians(self.site.latitude_deg)
        hour_angle = self.lst_rad[None, :] - ra_app[:, None]
        sin_alt = math.sin(lat) * np.sin(dec_app)[:, None] + math.cos(lat) * np.cos(dec_app)[
            :, None
        ] * np.cos(hour_angle)
        altitude = np.degrees(np.arcsin(np.clip(sin_alt, -1, 1)))
        targets_xyz = unit_vectors(ra_app, dec_app)
        moon_sep = np.degrees(np.arccos(np.clip(targets_xyz @ self.moon_xyz.T, -1, 1)))
        for i, key in enumerate(keys):
            self._targets[key] = (altitude[i], moon_sep[i])


def local_noon_utc(site: Site, night: date) -> datetime:
    """Local mean solar noon of `night` (the local date at dusk), in UTC."""
    noon = datetime.combine(night, time(12, 0), UTC)
    return noon - timedelta(hours=site.longitude_deg / 15.0)


def night_of(moment: datetime, timezone: str) -> date:
    """The local date at dusk of the night that contains (or follows) `moment`."""
    local = moment.astimezone(ZoneInfo(timezone))
    return local.date() - timedelta(days=1) if local.hour < 12 else local.date()


def _twilights(site: Site, night: date) -> dict[str, tuple[float, float]]:
    from astropy.time import Time
    from astropy.utils.exceptions import AstropyWarning

    observer = observer_for(site)
    noon = Time(local_noon_utc(site, night))
    result = {}
    for kind in TWILIGHT_SUN_ALTITUDE_DEG:
        result[kind] = (math.nan, math.nan)  # polar day: no such night
        with warnings.catch_warnings():  # "target always up" is what masked times say
            warnings.simplefilter("ignore", AstropyWarning)
            dusk = getattr(observer, f"twilight_evening_{kind}")(noon, which="next")
            if dusk.masked:
                continue
            dawn = getattr(observer, f"twilight_morning_{kind}")(dusk, which="next")
        if not dawn.masked:
            result[kind] = (float(dusk.unix), float(dawn.unix))
    return result


def _moon_xyz(site: Site, times_unix: np.ndarray) -> np.ndarray:
    import astropy.units as u
    from astropy.coordinates import TETE, get_body
    from astropy.time import Time

    observer = observer_for(site)
    coarse = np.arange(times_unix[0], times_unix[-1] + MOON_STEP_S, MOON_STEP_S)
    t = Time(coarse, format="unix")
    moon = get_body("moon", t, location=observer.location).transform_to(
        TETE(obstime=t, location=observer.location)
    )
    xyz = unit_vectors(moon.ra.to_value(u.rad), moon.dec.to_value(u.rad))
    fine = np.stack([np.interp(times_unix, coarse, xyz[:, k]) for k in range(3)], -1)
    return fine / np.linalg.norm(fine, axis=1, keepdims=True)


def _build(site: Site, night: date, step_s: float) -> NightGrid:
    import astropy.units as u
    from astropy.time import Time

    twilights = _twilights(site, night)
    dusk, dawn = twilights["civil"]
    if math.isnan(dusk):
        raise ValueError(f"no night at latitude {site.latitude_deg} on {night}")
    start = math.floor(dusk / step_s) * step_s
    n = int(math.ceil((dawn - start) / step_s)) + 1
    times_unix = start + step_s * np.arange(n)
    lst = Time(times_unix, format="unix").sidereal_time(
        "apparent", longitude=site.longitude_deg * u.deg
    )
    return NightGrid(
        site=site,
        night=night,
        step_s=step_s,
        start_unix=start,
        lst_rad=lst.to_value(u.rad),
        twilights=twilights,
        moon_xyz=_moon_xyz(site, times_unix),
        mid_unix=float(times_unix[n // 2]),
    )


@lru_cache(maxsize=8)
def night_grid(site: Site, night: date, step_s: float = GRID_STEP_S) -> NightGrid:
    """The shared grid of one night, cached: re-plans of the same night reuse it."""
    configure_astropy_offline()
    return _build(site, night, step_s)
