"""Tonight's times for the majordome and `pyros night`: sunset, twilights, flats windows, Moon.

Computed once per night with astroplan on the injected clock's date (never per tick), so the
majordome's tick only compares instants.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from orchestrator.planner.night import (
    TWILIGHT_SUN_ALTITUDE_DEG,
    Site,
    from_unix,
    local_noon_utc,
    night_of,
    observer_for,
)


@dataclass(frozen=True)
class NightTimes:
    """One night's instants (UTC); a window is None when the Sun never reaches its altitude."""

    night: date
    twilight: str
    sunset: datetime | None
    dusk: datetime | None  # sun below the twilight's altitude: observing may start
    dawn: datetime | None
    sunrise: datetime | None
    dusk_flats: tuple[datetime, datetime] | None  # sun from flats_high down to flats_low
    dawn_flats: tuple[datetime, datetime] | None  # sun from flats_low up to flats_high
    moon_illumination: float  # 0..1 at the middle of the night

    def is_night(self, now: datetime) -> bool:
        return bool(self.dusk and self.dawn and self.dusk <= now < self.dawn)

    def in_dusk_flats(self, now: datetime) -> bool:
        return bool(self.dusk_flats and self.dusk_flats[0] <= now < self.dusk_flats[1])

    def in_dawn_flats(self, now: datetime) -> bool:
        return bool(self.dawn_flats and self.dawn_flats[0] <= now < self.dawn_flats[1])

    def sun_low_enough(self, now: datetime) -> bool:
        """Between the start of the dusk flats and the end of the dawn flats (or the night)."""
        start = self.dusk_flats[0] if self.dusk_flats else self.dusk
        end = self.dawn_flats[1] if self.dawn_flats else self.dawn
        return bool(start and end and start <= now < end)

    def after_dawn(self, now: datetime) -> bool:
        return bool(self.dawn and now >= self.dawn)


def _when(t) -> datetime | None:
    return None if t.masked else from_unix(float(t.unix))


@lru_cache(maxsize=16)
def night_times(
    site: Site, night: date, twilight: str, flats_high_deg: float, flats_low_deg: float
) -> NightTimes:
    import astropy.units as u
    from astroplan import moon_illumination
    from astropy.time import Time
    from astropy.utils.exceptions import AstropyWarning

    observer = observer_for(site)
    noon = Time(local_noon_utc(site, night))
    twilight_deg = TWILIGHT_SUN_ALTITUDE_DEG[twilight]
    with warnings.catch_warnings():  # "target always up/down" shows as masked times
        warnings.simplefilter("ignore", AstropyWarning)

        def setting(alt_deg: float):
            return observer.sun_set_time(noon, which="next", horizon=alt_deg * u.deg)

        def rising(after, alt_deg: float):
            return observer.sun_rise_time(after, which="next", horizon=alt_deg * u.deg)

        sunset = setting(-0.833)
        dusk = setting(twilight_deg)
        start = dusk if not dusk.masked else noon
        dawn = rising(start, twilight_deg)
        sunrise = rising(start, -0.833)
        high_set, low_set = setting(flats_high_deg), setting(flats_low_deg)
        low_rise, high_rise = rising(start, flats_low_deg), rising(start, flats_high_deg)
    mid = noon + 12 * u.hour
    dusk_flats = (
        (_when(high_set), _when(low_set)) if not (high_set.masked or low_set.masked) else None
    )
    dawn_flats = (
        (_when(low_rise), _when(high_rise)) if not (low_rise.masked or high_rise.masked) else None
    )
    illumination = float(moon_illumination(mid))
    return NightTimes(
        night=night,
        twilight=twilight,
        sunset=_when(sunset),
        dusk=_when(dusk),
        dawn=_when(dawn),
        sunrise=_when(sunrise),
        dusk_flats=dusk_flats,
        dawn_flats=dawn_flats,
        moon_illumination=0.0 if math.isnan(illumination) else illumination,
    )


def times_for(config, night: date) -> NightTimes:
    c = config.calibrations
    return night_times(
        Site.from_config(config.site),
        night,
        config.site.twilight,
        c.sun_alt_max_deg,
        c.sun_alt_min_deg,
    )


def current_night(config, now: datetime) -> NightTimes:
    """The night in progress (or the coming one in the afternoon); the next after sunrise."""
    times = times_for(config, night_of(now, config.site.timezone))
    if times.sunrise is not None and now >= times.sunrise + timedelta(hours=1):
        times = times_for(config, times.night + timedelta(days=1))
    return times
