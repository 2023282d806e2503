"""`FastPriorityScheduler`: our planner behind astroplan's own `Scheduler` interface.

Takes astroplan `ObservingBlock`s with their constraint objects and fills an astroplan
`Schedule` with the blocks and `TransitionBlock`s, as `PriorityScheduler` does, so code written
for astroplan can switch scheduler in one line. astroplan priority: lower number = first.
"""

from __future__ import annotations

import math
from datetime import timedelta

from orchestrator.planner.night import TWILIGHT_SUN_ALTITUDE_DEG, Site, night_grid
from orchestrator.planner.scheduler import plan_night
from orchestrator.planner.spec import Overheads, SequenceSpec


def _scheduler_base():
    from astroplan.scheduling import Scheduler

    return Scheduler


def _twilight_for(sun_altitude_deg: float) -> str:
    """The named twilight at least as dark as astroplan's max_solar_altitude."""
    for kind, limit in sorted(TWILIGHT_SUN_ALTITUDE_DEG.items(), key=lambda kv: -kv[1]):
        if sun_altitude_deg >= limit - 1e-9:
            return kind
    raise ValueError(f"AtNightConstraint below -18 deg is not supported ({sun_altitude_deg})")


def block_spec(block, ident: str, rank_top: float, global_constraints) -> SequenceSpec:
    """Read an ObservingBlock's constraints into a spec; refuse the ones we do not model."""
    import astropy.units as u
    from astroplan import (
        AirmassConstraint,
        AltitudeConstraint,
        AtNightConstraint,
        MoonSeparationConstraint,
        TimeConstraint,
    )

    fields: dict = {"min_altitude_deg": 0.0, "twilight": "civil"}
    for constraint in list(block.constraints or []) + list(global_constraints or []):
        # AirmassConstraint is a subclass of AltitudeConstraint: test it first
        if isinstance(constraint, AirmassConstraint) and constraint.max is not None:
            fields["max_airmass"] = min(fields.get("max_airmass", math.inf), constraint.max)
        elif isinstance(constraint, AirmassConstraint):
            raise ValueError(f"block {ident}: AirmassConstraint without max is not supported")
        elif isinstance(constraint, AltitudeConstraint) and constraint.max.to_value(u.deg) >= 90:
            low = constraint.min.to_value(u.deg)
            fields["min_altitude_deg"] = max(fields["min_altitude_deg"], low)
        elif isinstance(constraint, AtNightConstraint):
            kind = _twilight_for(constraint.max_solar_altitude.to_value(u.deg))
            if TWILIGHT_SUN_ALTITUDE_DEG[kind] < TWILIGHT_SUN_ALTITUDE_DEG[fields["twilight"]]:
                fields["twilight"] = kind
        elif isinstance(constraint, MoonSeparationConstraint) and constraint.max is None:
            fields["min_moon_separation_deg"] = constraint.min.to_value(u.deg)
        elif isinstance(constraint, TimeConstraint):
            fields["window_start"] = constraint.min.to_datetime(timezone=_utc())
            fields["window_end"] = constraint.max.to_datetime(timezone=_utc())
        else:
            raise ValueError(f"block {ident}: {type(constraint).__name__} is not supported")
    coord = block.target.coord.icrs
    filters = block.configuration.get("filter")
    return SequenceSpec(
        id=ident,
        ra_deg=float(coord.ra.deg),
        dec_deg=float(coord.dec.deg),
        duration_s=float(block.duration.to_value(u.s)),
        priority=rank_top - float(block.priority) + 1,
        filters=(filters,) if filters else (),
        **fields,
    )


def _utc():
    from datetime import UTC

    return UTC


class FastPriorityScheduler(_scheduler_base()):
    """Drop-in for astroplan's PriorityScheduler, planned by `plan_night` on a cached grid."""

    def _make_schedule(self, blocks):
        import astropy.units as u
        from astroplan.scheduling import TransitionBlock

        location = self.observer.location
        site = Site(float(location.lat.deg), float(location.lon.deg), float(location.height.value))
        start = self.schedule.start_time.to_datetime(timezone=_utc())
        end = self.schedule.end_time.to_datetime(timezone=_utc())
        solar = start + timedelta(hours=site.longitude_deg / 15.0)
        night = solar.date() if solar.hour >= 12 else solar.date() - timedelta(days=1)
        top = max((float(b.priority) for b in blocks), default=0.0)
        specs = []
        for i, block in enumerate(blocks):
            spec = block_spec(block, f"{i:06d}", top, self.constraints)
            window_end = min(spec.window_end or end, end)
            specs.append(spec.__class__(**{**spec.__dict__, "window_end": window_end}))
        rate = getattr(self.transitioner, "slew_rate", None)
        overheads = Overheads(
            slew_s=0.0,
            slew_rate_deg_s=rate.to_value(u.deg / u.s) if rate is not None else math.inf,
            filter_change_s=0.0,
        )
        result = plan_night(night_grid(site, night), specs, overheads, now=start)
        previous = None
        for entry in result.entries:
            block = blocks[int(entry.id)]
            if previous is not None and rate is not None:
                slew_s = block.target.coord.separation(previous[0].target.coord).to_value(
                    u.deg
                ) / rate.to_value(u.deg / u.s)
                if slew_s >= 1:
                    slew = TransitionBlock({"slew_time": slew_s * u.s}, _time(previous[1]))
                    self.schedule.insert_slot(slew.start_time, slew)
            self.schedule.insert_slot(_time(entry.start), block)
            previous = (block, entry.end)
        self.unscheduled = [(blocks[int(u_.id)], u_.reason) for u_ in result.unscheduled]
        return self.schedule


def _time(moment):
    from astropy.time import Time

    return Time(moment)
