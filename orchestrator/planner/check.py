"""Re-check a schedule with astroplan's own constraint functions, apart from the planner.

Used by the benchmark (ours and PriorityScheduler's schedules alike) and by the tests
(tests/orchestrator/test_planner_search.py): for every entry, each constraint must hold at
instants spread over the entry.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from orchestrator.planner.spec import PlanEntry, SequenceSpec, astroplan_constraints

CHECK_STEP_S = 60.0


def check_times(entry: PlanEntry, step_s: float = CHECK_STEP_S):
    """Instants inside the entry: every step_s, and one second inside each end."""
    from astropy.time import Time

    start = entry.start + timedelta(seconds=1)
    end = entry.end - timedelta(seconds=1)
    moments = []
    t = start
    while t < end:
        moments.append(t)
        t += timedelta(seconds=step_s)
    moments.append(end)
    return Time(moments)


def violations(
    entries: list[PlanEntry],
    specs: dict[str, SequenceSpec],
    observer,
    default_twilight: str,
    horizon_deg: float = 0.0,
) -> list[str]:
    """One line per broken constraint or overlap; empty when the schedule is valid."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.utils.exceptions import AstropyWarning

    found = []
    ordered = sorted(entries, key=lambda e: e.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            found.append(f"{before.id} and {after.id} overlap")
    for entry in ordered:
        spec = specs[entry.id]
        target = SkyCoord(spec.ra_deg * u.deg, spec.dec_deg * u.deg)
        times = check_times(entry)
        for constraint in astroplan_constraints(spec, default_twilight, horizon_deg):
            with warnings.catch_warnings():
                # MoonSeparationConstraint warns that ICRS->GCRS separations depend on direction
                warnings.simplefilter("ignore", AstropyWarning)
                met = constraint(observer, target, times=times)
            if not bool(met.all()):
                found.append(f"{entry.id}: {type(constraint).__name__} broken")
    return found
