"""Planner benchmark: ours against CP-SAT's proven bound and astroplan's PriorityScheduler.

    .venv/bin/python bench/bench_planner.py [--sizes 100 300 1000] [--seeds 5]
        [--bound-time-limit 60] [--bound-max 300] [--astroplan-max 100] [--replans 5]

One night at COLIBRI (2026-11-24, full Moon); random sequences (durations 5-30 min, priorities
1-10, altitude, airmass, night and Moon constraints, 30 % with a 2-6 h window). Every row has
fresh targets (its own seed), so "ours s" includes computing the new targets' tracks on the
cached night grid; "warm s" is the same plan again with the targets cached (a re-plan), "cpu s"
its CPU time (the machine may be shared: the load average is printed).
"greedy" is the greedy alone, "local" the local search without CP-SAT (solver budget 0), "ours"
the planner as it runs (CP-SAT after the local search on nights of <= 150 sequences).
Ours and CP-SAT see a fixed 60 s gap between entries (slew_s=60, no distance term), so CP-SAT's
model is exactly ours and its bound is a true upper bound; astroplan gets distance / 1 deg/s
(its Transitioner has no fixed term). Violations: astroplan's own constraint functions.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.planner.bound import prove  # noqa: E402
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
GAP_S = 60.0
OVERHEADS = Overheads(slew_s=GAP_S, slew_rate_deg_s=math.inf, filter_change_s=0.0)


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
                id=f"s{seed}-{i:04d}",
                ra_deg=float(rng.uniform(0, 360)),
                dec_deg=dec,
                duration_s=float(rng.integers(5, 31) * 60),
                priority=float(rng.integers(1, 11)),
                window_start=window_start,
                window_end=window_end,
                min_altitude_deg=30.0,
                max_airmass=[None, 1.5, 2.0, 2.5][int(rng.integers(0, 4))],
                min_moon_separation_deg=float(rng.uniform(15, 40)),
            )
        )
    return specs


def run_ours(specs: list[SequenceSpec], **kwargs) -> tuple[float, list[PlanEntry]]:
    seconds, _, entries = timed_ours(specs, **kwargs)
    return seconds, entries


def timed_ours(specs: list[SequenceSpec], **kwargs) -> tuple[float, float, list[PlanEntry]]:
    """(wall s, CPU s of this process, entries): the CPU time depends less on other jobs."""
    grid = night_grid(SITE, NIGHT)
    t0, c0 = time.perf_counter(), time.process_time()
    result = plan_night(grid, specs, OVERHEADS, default_twilight=TWILIGHT, **kwargs)
    return time.perf_counter() - t0, time.process_time() - c0, result.entries


def moved(before: list[PlanEntry], after: list[PlanEntry], now) -> int:
    """Entries of the earlier schedule, not started by `now`, that are gone or moved."""
    kept = {(e.id, e.start) for e in after}
    return sum(1 for e in before if e.start >= now and (e.id, e.start) not in kept)


def replan_moves(specs: list[SequenceSpec], seed: int) -> dict[str, tuple]:
    """(moved by a stable re-plan, moved by one from scratch, planned before, score ratio stable
    / scratch, seconds of the stable re-plan) for three small changes."""
    grid = night_grid(SITE, NIGHT)
    dusk, _ = grid.night_bounds(TWILIGHT)
    first = plan_night(grid, specs, OVERHEADS, default_twilight=TWILIGHT)
    by_id = {s.id: s for s in specs}
    out = {}
    now = from_unix(dusk + 3 * 3600)
    pending = [e for e in first.entries if e.start >= now]
    prev = {e.id: e.start for e in pending}
    extra = make_sequences(1, seed + 7)[0]
    extra = SequenceSpec(**{**extra.__dict__, "id": "added", "priority": 8.0})
    running = [e for e in first.entries if e.start < now]  # done or running: not re-planned
    done_early = pending[0] if pending else None
    cases = {
        "one request added": (specs + [extra], now, None),
        "one sequence done early": (
            [s for s in specs if not done_early or s.id != done_early.id],
            done_early.start if done_early else now,
            done_early,
        ),
        "weather lost 30 min": (specs, now + timedelta(minutes=30), None),
    }
    for name, (pool, start_from, skip) in cases.items():
        pool = [s for s in pool if s.id not in {e.id for e in running}]
        t0 = time.perf_counter()
        stable = plan_night(grid, pool, OVERHEADS, now=start_from, default_twilight=TWILIGHT,
                            previous=prev)  # fmt: skip
        stable_s = time.perf_counter() - t0
        fresh = plan_night(grid, pool, OVERHEADS, now=start_from, default_twilight=TWILIGHT)
        before = [e for e in pending if skip is None or e.id != skip.id]
        fresh_moved = moved(before, fresh.entries, now)
        ratio = stable.score / fresh.score if fresh.score else 1.0
        out[name] = (moved(before, stable.entries, now), fresh_moved, len(before), ratio, stable_s)
    del by_id
    return out


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


def _load() -> str:
    """The machine's load (other jobs share it): the context of every second printed."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _utc():
    from datetime import UTC

    return UTC


def score(entries: list[PlanEntry], specs: list[SequenceSpec]) -> float:
    by_id = {s.id: s for s in specs}
    return sum(by_id[e.id].priority * (e.end - e.start).total_seconds() / 3600 for e in entries)


def hint_of(entries: list[PlanEntry]) -> dict[str, int]:
    grid = night_grid(SITE, NIGHT)
    return {
        e.id: int(round((e.start.timestamp() - grid.start_unix) / grid.step_s)) for e in entries
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seeds", type=int, default=5)
    # CP-SAT proves 100 in a second, 300 in seconds to minutes; 1,000 rarely within minutes
    parser.add_argument("--bound-time-limit", type=float, default=60.0)
    parser.add_argument("--bound-max", type=int, default=300)
    # astroplan takes ~40 s for 100 sequences and ~10 min for 1,000 on this machine
    parser.add_argument("--astroplan-max", type=int, default=100)
    parser.add_argument("--replans", type=int, default=5, help="seeds of the re-plan test (300)")
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
    print(f"load average (1, 5, 15 min) at the start: {_load()}")
    observer = observer_for(SITE)
    header = (
        f"{'size':>5} {'seed':>5} | {'ours s':>6} {'warm s':>6} {'cpu s':>5} {'greedy':>7} "
        f"{'local':>7} "
        f"{'ours':>7} {'viol':>4} | {'bound':>7} {'status':>8} {'cp s':>5} {'ours/bd':>7} | "
        f"{'astro s':>7} {'astro':>7} {'viol':>4}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        ratios = []
        for k in range(args.seeds):
            seed = 1000 * size + k  # fresh targets for every row
            specs = make_sequences(size, seed)
            by_id = {s.id: s for s in specs}
            ours_s, _, ours = timed_ours(specs)
            warm_s, warm_cpu_s, again = timed_ours(specs)
            assert again == ours, "same input, same schedule"
            _, greedy = run_ours(specs, search_rounds=0)
            _, local = run_ours(specs, solver_budget_s=0)
            ours_v = len(violations(ours, by_id, observer, TWILIGHT))
            ours_score = score(ours, specs)
            row = (
                f"{size:>5} {k:>5} | {ours_s:>6.3f} {warm_s:>6.3f} {warm_cpu_s:>5.2f} "
                f"{score(greedy, specs):>7.2f} "
                f"{score(local, specs):>7.2f} {ours_score:>7.2f} {ours_v:>4} | "
            )
            if size <= args.bound_max:
                found = prove(night_grid(SITE, NIGHT), specs, GAP_S, args.bound_time_limit,
                              TWILIGHT, hint=hint_of(ours))  # fmt: skip
                ratio = ours_score / found.best_bound
                ratios.append(ratio)
                row += (
                    f"{found.best_bound:>7.2f} {found.status:>8} {found.wall_s:>5.1f} "
                    f"{ratio:>7.4f} | "
                )
            else:
                row += f"{'not run':>7} {'':>8} {'':>5} {'':>7} | "
            if size <= args.astroplan_max:
                ap_s, ap = run_astroplan(specs)
                ap_v = len(violations(ap, by_id, observer, TWILIGHT))
                row += f"{ap_s:>7.1f} {score(ap, specs):>7.2f} {ap_v:>4}"
            else:
                row += f"{'not run':>7}"
            print(row, flush=True)
        if ratios:
            print(f"{size:>5}   min ours / bound {min(ratios):.4f}, mean {np.mean(ratios):.4f}")
        print(f"      load average (1, 5, 15 min): {_load()}")
    if args.replans:
        print("\nre-plans at 300 sequences, 3 h into the night: entries of the last schedule moved")
        print("(stable re-plan / re-plan from scratch / entries planned; score stable / scratch;")
        print(" seconds of the stable re-plan)")
        summary: dict[str, list] = {}
        for k in range(args.replans):
            specs = make_sequences(300, 300_000 + k)
            for name, row in replan_moves(specs, k).items():
                m_stable, m_fresh, total, ratio, stable_s = row
                summary.setdefault(name, []).append(row)
                print(
                    f"  seed {k} {name:<24} {m_stable:>3} / {m_fresh:>3} / {total:>3}  "
                    f"{ratio:.4f}  {stable_s:.2f} s",
                    flush=True,
                )
        print("summary per change: entries moved by the stable re-plan (mean, max) of planned;")
        print("score stable / scratch (min); stable re-plan seconds (max)")
        for name, rows in summary.items():
            moved_n = [r[0] for r in rows]
            print(
                f"  {name:<24} mean {np.mean(moved_n):.1f}, max {max(moved_n)} of "
                f"{np.mean([r[2] for r in rows]):.0f}; from scratch mean "
                f"{np.mean([r[1] for r in rows]):.1f}; ratio min {min(r[3] for r in rows):.4f}; "
                f"{max(r[4] for r in rows):.2f} s"
            )
        print(f"load average (1, 5, 15 min) at the end: {_load()}")


if __name__ == "__main__":
    main()
