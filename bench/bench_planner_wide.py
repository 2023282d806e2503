"""Planner benchmark, wide windows: 200 sequences whose windows are the whole night.

    .venv/bin/python bench/bench_planner_wide.py [--sizes 200] [--seeds 3] [--repeats 3]
        [--duration-s S] [--bound-time-limit 0]

The pool of the network bench (`bench_network_night.py`): random targets, each up (45-85° at
transit) at a random time of the night, windows of the whole night, durations 5-30 min,
priorities 1-10, min altitude 30° (`--duration-s 240`: every sequence 4 min, as in the network
bench, so that ~140 of the 200 fit and each move re-times ~140 entries). Every sequence's
visibility spans hours, so every move of the local search has the whole pool as neighbours:
the case where the search's work must be bounded by what it really does. Prints the planning
time of a re-plan in a running process (night grid and targets cached: the orchestrator
re-plans after every sequence end), its CPU time, the load average, the score, and the
search's work counters (`improve.WORK`); `--bound-time-limit S` adds CP-SAT's proven bound
(`bound.prove`) as the quality yardstick (take the times from a run without it: the solver
slows the next rows down).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_planner import GAP_S, NIGHT, OVERHEADS, SITE, TWILIGHT, _load, hint_of, score  # noqa: E402
from orchestrator.planner import improve  # noqa: E402
from orchestrator.planner.bound import prove  # noqa: E402
from orchestrator.planner.night import from_unix, night_grid  # noqa: E402
from orchestrator.planner.scheduler import plan_night  # noqa: E402
from orchestrator.planner.spec import SequenceSpec  # noqa: E402


def wide_sequences(count: int, seed: int, duration_s: float | None = None) -> list[SequenceSpec]:
    """Each target transits at a random time of the night (1 h from either end) at 45-85°
    altitude; every window is the whole night (dusk to dawn of the bench's twilight)."""
    rng = np.random.default_rng(seed)
    grid = night_grid(SITE, NIGHT)
    dusk, dawn = grid.twilights[TWILIGHT]
    times = grid.times_unix
    specs = []
    for i in range(count):
        when = rng.uniform(dusk + 3600, dawn - 3600)
        lst_deg = math.degrees(float(np.interp(when, times, np.unwrap(grid.lst_rad)))) % 360
        altitude = rng.uniform(45, 85)
        dec = SITE.latitude_deg + (90 - altitude) * (1 if rng.random() < 0.5 else -1)
        minutes = int(rng.integers(5, 31))  # drawn always: --duration-s keeps the same targets
        specs.append(
            SequenceSpec(
                id=f"w{seed}-{i:04d}",
                ra_deg=lst_deg,
                dec_deg=float(np.clip(dec, -89.0, 89.0)),
                duration_s=duration_s or minutes * 60.0,
                priority=float(rng.integers(1, 11)),
                window_start=from_unix(dusk),
                window_end=from_unix(dawn),
                min_altitude_deg=30.0,
            )
        )
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="warm re-plans timed per seed")
    parser.add_argument("--duration-s", type=float, default=None, help="all the same duration")
    parser.add_argument("--bound-time-limit", type=float, default=0.0, help="0: no CP-SAT")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    grid = night_grid(SITE, NIGHT)
    print(f"load average (1, 5, 15 min) at the start: {_load()}")
    print("warm = a re-plan in a running process (grid and targets cached), best and worst of")
    print(f"{args.repeats}; work = spot evaluations / relocate tries / improve chain tries")
    header = (
        f"{'size':>5} {'seed':>5} | {'first s':>7} {'warm s':>13} {'cpu s':>5} | {'score':>7} "
        f"{'planned':>7} | {'spots':>7} {'reloc':>5} {'chain':>5} | {'bound':>7} {'ours/bd':>7}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        for k in range(args.seeds):
            specs = wide_sequences(size, 7000 + 1000 * size + k, args.duration_s)
            t0 = time.perf_counter()
            first = plan_night(grid, specs, OVERHEADS, default_twilight=TWILIGHT)
            first_s = time.perf_counter() - t0
            walls, cpus = [], []
            for _ in range(args.repeats):
                improve.WORK.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                again = plan_night(grid, specs, OVERHEADS, default_twilight=TWILIGHT)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                assert again.entries == first.entries, "same input, same schedule"
            work = improve.WORK
            ours = score(first.entries, specs)
            row = (
                f"{size:>5} {k:>5} | {first_s:>7.3f} {min(walls):>6.3f}-{max(walls):<6.3f} "
                f"{min(cpus):>5.2f} | {ours:>7.2f} {len(first.entries):>7} | "
                f"{work['spot']:>7} {work['relocate']:>5} {work['chain']:>5} | "
            )
            if args.bound_time_limit > 0:
                found = prove(grid, specs, GAP_S, args.bound_time_limit, TWILIGHT,
                              hint=hint_of(first.entries))  # fmt: skip
                row += f"{found.best_bound:>7.2f} {ours / found.best_bound:>7.4f} {found.status}"
            print(row, flush=True)
    print(f"load average (1, 5, 15 min) at the end: {_load()}")


if __name__ == "__main__":
    main()
