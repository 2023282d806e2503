"""Planner benchmark: ours against astroplan's PriorityScheduler on the same sequences.

    .venv/bin/python bench/bench_planner.py [--sizes 10 100 1000] [--astroplan-max 100]

One night at COLIBRI (2026-11-24, full Moon), sequences with altitude, airmass, night and Moon
constraints (some with a time window); both schedulers get the same blocks, the same 60 s grid
and the same slew model (distance / 1 deg/s). Prints time, score (sum of priority x scheduled
hours) and violations found by astroplan's own constraint functions, for both.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.planner.check import violations  # noqa: E402
from orchestrator.planner.night import Site, from_unix, night_grid, observer_for  # noqa: E402
from orchestrator.planner.scheduler import plan_night  # noqa: E402
from orchestrator.planner.spec import (  # noqa: E402
    Overheads,
    PlanEntry,
    SequenceSpec,
    astroplan_constraints,
)

SITE = Site(31.0442, -115.4637, 2790.0)
NIGHT = date(2026, 11, 24)
TWILIGHT = "nautical"
SLEW_RATE_DEG_S = 1.0
OVERHEADS = Overheads(slew_s=0.0, slew_rate_deg_s=SLEW_RATE_DEG_S, filter_change_s=0.0)


def make_sequences(count: int, seed: int = 42) -> list[SequenceSpec]:
    """Random but reproducible: whole-minute durations so astroplan does not round them."""
    rng = np.random.default_rng(seed)
    grid = night_grid(SITE, NIGHT)
    dusk, dawn = grid.twilights[TWILIGHT]
    specs = []
    for i in range(count):
        dec = float(np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-30)), 0.95))))
        window_start = window_end = None
        if rng.random() < 0.3:
            start = rng.uniform(dusk, dawn - 2 * 3600)
            window_start = from_unix(float(start))
            window_end = window_start + timedelta(hours=float(rng.uniform(2, 6)))
        specs.append(
            SequenceSpec(
                id=f"seq{i:04d}",
                ra_deg=float(rng.uniform(0, 360)),
                dec_deg=dec,
                duration_s=float(rng.integers(5, 61) * 60),
                priority=float(rng.integers(1, 11)),
                window_start=window_start,
                window_end=window_end,
                min_altitude_deg=30.0,
                max_airmass=[None, 1.5, 2.0, 2.5][int(rng.integers(0, 4))],
                min_moon_separation_deg=float(rng.uniform(15, 40)),
            )
        )
    return specs


def run_ours(specs: list[SequenceSpec]) -> tuple[float, list[PlanEntry]]:
    grid = night_grid(SITE, NIGHT)
    t0 = time.perf_counter()
    result = plan_night(grid, specs, OVERHEADS, default_twilight=TWILIGHT)
    return time.perf_counter() - t0, result.entries


def run_astroplan(specs: list[SequenceSpec]) -> tuple[float, list[PlanEntry]]:
    import astropy.units as u
    from astroplan import FixedTarget, ObservingBlock
    from astroplan.scheduling import PriorityScheduler, Schedule, Transitioner
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    grid = night_grid(SITE, NIGHT)
    observer = observer_for(SITE)
    top = max(s.priority for s in specs)
    t0 = time.perf_counter()
    blocks = [
        ObservingBlock(
            FixedTarget(SkyCoord(s.ra_deg * u.deg, s.dec_deg * u.deg), name=s.id),
            s.duration_s * u.s,
            top - s.priority + 1,  # astroplan: lower number = scheduled first
            constraints=astroplan_constraints(s, TWILIGHT),
        )
        for s in specs
    ]
    dusk, dawn = grid.night_bounds(TWILIGHT)
    schedule = Schedule(Time(dusk, format="unix"), Time(dawn, format="unix"))
    scheduler = PriorityScheduler(
        constraints=[],
        observer=observer,
        transitioner=Transitioner(slew_rate=SLEW_RATE_DEG_S * u.deg / u.s),
        time_resolution=60 * u.s,
    )
    scheduler(blocks, schedule)
    elapsed = time.perf_counter() - t0
    entries = [
        PlanEntry(b.target.name, b.start_time.to_datetime(timezone=_utc()), None)
        for b in schedule.scheduled_blocks
        if isinstance(b, ObservingBlock)
    ]
    by_id = {s.id: s for s in specs}
    entries = [
        PlanEntry(e.id, e.start, e.start + timedelta(seconds=by_id[e.id].duration_s))
        for e in entries
    ]
    return elapsed, entries


def _utc():
    from datetime import UTC

    return UTC


def score(entries: list[PlanEntry], specs: list[SequenceSpec]) -> float:
    by_id = {s.id: s for s in specs}
    return sum(by_id[e.id].priority * (e.end - e.start).total_seconds() / 3600 for e in entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    # astroplan takes ~40 s for 100 sequences and ~10 min for 1,000 on this machine
    parser.add_argument("--astroplan-max", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # astroplan's target-always-up and ERFA dubious-year noise
    t0 = time.perf_counter()
    night_grid(SITE, NIGHT)
    grid_s = time.perf_counter() - t0
    print(f"night grid, first in this process (with astropy's start-up): {grid_s:.2f} s")
    t0 = time.perf_counter()
    night_grid(SITE, NIGHT + timedelta(days=1))
    grid_s = time.perf_counter() - t0
    print(f"night grid of another night (twilights, sidereal time, Moon): {grid_s:.2f} s")
    print("(the grid is made once per night and cached; 'ours s' below is the planning itself)")
    observer = observer_for(SITE)
    header = (
        f"{'size':>5} | {'ours s':>7} | {'ours score':>10} | {'ours viol':>9} | "
        f"{'astroplan s':>11} | {'astroplan score':>15} | {'astroplan viol':>14}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        specs = make_sequences(size)
        by_id = {s.id: s for s in specs}
        ours_s, ours = run_ours(specs)
        ours_v = len(violations(ours, by_id, observer, TWILIGHT))
        row = f"{size:>5} | {ours_s:>7.3f} | {score(ours, specs):>10.2f} | {ours_v:>9} | "
        if size <= args.astroplan_max:
            ap_s, ap = run_astroplan(specs)
            ap_v = len(violations(ap, by_id, observer, TWILIGHT))
            row += f"{ap_s:>11.1f} | {score(ap, specs):>15.2f} | {ap_v:>14}"
        else:
            row += f"{'not run':>11} | {'':>15} | {'':>14}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
