"""Tonight's sky for the schedule page: the Sun's and the Moon's times and the altitude of
each scheduled target over the night, computed server-side with astropy/astroplan on the
planner's own night grid (so the curves are the altitudes the planner used).

A stored plan never changes, so its sky is computed once and kept per app (`SkyCache`).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

import numpy as np

from orchestrator.majordome.night import times_for
from orchestrator.planner.night import (
    Site,
    from_unix,
    local_noon_utc,
    night_grid,
    observer_for,
)

PLOT_STEP_S = 300.0  # one altitude point every 5 min: smooth at any page width, small JSON
KEPT_PLANS = 16


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moon_rise_set(site: Site, night: date) -> tuple[str | None, str | None]:
    """The Moon's next rise and set after local noon (either may fall outside the night)."""
    import astropy.units as u
    from astropy.time import Time
    from astropy.utils.exceptions import AstropyWarning

    observer = observer_for(site)
    noon = Time(local_noon_utc(site, night))
    with warnings.catch_warnings():  # "always up/down" shows as a masked time
        warnings.simplefilter("ignore", AstropyWarning)
        rise = observer.moon_rise_time(noon, which="next", horizon=0 * u.deg)
        set_ = observer.moon_set_time(noon, which="next", horizon=0 * u.deg)
    return tuple(  # type: ignore[return-value]
        None if t.masked else from_unix(float(t.unix)).isoformat() for t in (rise, set_)
    )


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 2) for v in values]


def night_sky(config, night: date, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Sun and Moon times, and altitude curves (deg, every PLOT_STEP_S from civil dusk to
    civil dawn) of `targets` (dicts with sequence_id, target, ra_deg, dec_deg)."""
    site = Site.from_config(config.site)
    grid = night_grid(site, night)
    every = max(1, int(round(PLOT_STEP_S / grid.step_s)))
    picked = np.arange(0, grid.n, every)
    times = grid.times_unix[picked]
    altitudes = grid.target_tracks(
        np.array([t["ra_deg"] for t in targets], float),
        np.array([t["dec_deg"] for t in targets], float),
    )[0]
    # The Moon from the grid's topocentric apparent vectors and the local sidereal time.
    moon = grid.moon_xyz[picked]
    moon_ra = np.arctan2(moon[:, 1], moon[:, 0])
    moon_dec = np.arcsin(np.clip(moon[:, 2], -1, 1))
    lat = math.radians(site.latitude_deg)
    moon_alt = np.degrees(
        np.arcsin(
            math.sin(lat) * np.sin(moon_dec)
            + math.cos(lat) * np.cos(moon_dec) * np.cos(grid.lst_rad[picked] - moon_ra)
        )
    )
    sun = times_for(config, night)
    moon_rise, moon_set = _moon_rise_set(site, night)
    return {
        "times_s": [int(t) for t in times],
        "sun": {
            "sunset": _iso(sun.sunset),
            "dusk": _iso(sun.dusk),
            "dawn": _iso(sun.dawn),
            "sunrise": _iso(sun.sunrise),
            "twilight": sun.twilight,
        },
        "moon": {
            "rise": moon_rise,
            "set": moon_set,
            "illumination": round(sun.moon_illumination, 3),
            "altitude_deg": _round(moon_alt),
        },
        "targets": [
            {
                "sequence_id": t["sequence_id"],
                "target": t["target"],
                "altitude_deg": _round(altitudes[i][picked]),
            }
            for i, t in enumerate(targets)
        ],
        "horizon_deg": config.site.horizon_deg,
    }


class SkyCache:
    """The sky of the last KEPT_PLANS plans, by (plan id, creation time): a plan is immutable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        self.computed = 0  # how many skies were computed (the tests read it)

    def get(self, key: tuple[int, str], compute) -> dict[str, Any]:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        sky = compute()  # outside the lock: a slow first page does not block the others
        with self._lock:
            self._kept[key] = sky
            self.computed += 1
            while len(self._kept) > KEPT_PLANS:
                self._kept.popitem(last=False)
        return sky
