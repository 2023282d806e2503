"""What the planner takes and gives: sequence specs, overheads, entries, reasons, score.

Plain numbers with units in the names (degrees, seconds, UTC datetimes); `astroplan_constraints`
turns a spec into astroplan's own constraint objects (for checks and for the benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from orchestrator.planner.night import TWILIGHT_SUN_ALTITUDE_DEG


@dataclass(frozen=True)
class SequenceSpec:
    id: str
    ra_deg: float
    dec_deg: float
    duration_s: float
    priority: float  # higher = more important
    window_start: datetime | None = None
    window_end: datetime | None = None
    preferred_time: datetime | None = None  # the planner centres the entry on it if it can
    min_altitude_deg: float = 30.0
    max_airmass: float | None = None
    min_moon_separation_deg: float | None = None
    twilight: str | None = None  # civil / nautical / astronomical; none = the site's default
    urgent: bool = False
    filters: tuple[str, ...] = ()  # filters in the order used (first at start, last at end)
    share_used: float = 0.0  # the program's used / allocated hours: less is favoured on ties
    country: str | None = None  # whose quota the hours count against

    def min_altitude_for(self, horizon_deg: float) -> float:
        """The binding altitude limit: own minimum, airmass limit, the mount's horizon."""
        limit = max(self.min_altitude_deg, horizon_deg)
        if self.max_airmass is not None:
            # astroplan's airmass is sec(z): airmass <= X  <=>  altitude >= 90 - acos(1/X)
            limit = max(limit, 90.0 - math.degrees(math.acos(1.0 / self.max_airmass)))
        return limit


@dataclass(frozen=True)
class Executing:
    """The sequence running now: it keeps its place unless an urgent one pre-empts it."""

    spec: SequenceSpec
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Overheads:
    """Time between two entries: slew (fixed part + distance / rate) and filter change."""

    slew_s: float = 60.0
    slew_rate_deg_s: float = 3.0
    filter_change_s: float = 3.0

    @classmethod
    def from_config(cls, overheads_config) -> Overheads:
        return cls(
            slew_s=overheads_config.slew_s,
            slew_rate_deg_s=overheads_config.slew_rate_deg_s,
            filter_change_s=overheads_config.filter_change_s,
        )


@dataclass(frozen=True)
class PlanEntry:
    id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Unscheduled:
    id: str
    reason: str


@dataclass
class PlanResult:
    night: date
    night_start: datetime  # the site's default twilight
    night_end: datetime
    entries: list[PlanEntry] = field(default_factory=list)
    unscheduled: list[Unscheduled] = field(default_factory=list)
    score: float = 0.0  # sum of priority x scheduled hours
    # the urgent sequence placed over the executing one: the majordome should pre-empt for it
    pre_empted_by: str | None = None


def score_of(entries: list[PlanEntry], specs: dict[str, SequenceSpec]) -> float:
    return sum(specs[e.id].priority * (e.end - e.start).total_seconds() / 3600.0 for e in entries)


def astroplan_constraints(spec: SequenceSpec, default_twilight: str, horizon_deg: float = 0.0):
    """The spec's constraints as astroplan objects, to check a schedule independently."""
    import astropy.units as u
    from astroplan import (
        AirmassConstraint,
        AltitudeConstraint,
        AtNightConstraint,
        MoonSeparationConstraint,
        TimeConstraint,
    )
    from astropy.time import Time

    twilight = spec.twilight or default_twilight
    constraints = [
        AltitudeConstraint(min=max(spec.min_altitude_deg, horizon_deg) * u.deg),
        AtNightConstraint(max_solar_altitude=TWILIGHT_SUN_ALTITUDE_DEG[twilight] * u.deg),
    ]
    if spec.max_airmass is not None:
        constraints.append(AirmassConstraint(max=spec.max_airmass))
    if spec.min_moon_separation_deg is not None:
        constraints.append(MoonSeparationConstraint(min=spec.min_moon_separation_deg * u.deg))
    if spec.window_start is not None or spec.window_end is not None:
        constraints.append(
            TimeConstraint(
                Time(spec.window_start) if spec.window_start else None,
                Time(spec.window_end) if spec.window_end else None,
            )
        )
    return constraints
