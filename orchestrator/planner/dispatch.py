"""A time sweep: from dusk on, start next the sequence with the best rate of priority x time,
favouring those whose chances run out soonest; the entries already placed (urgent, executing)
stay and the sweep fills around them. Cheap (one numpy pass per entry), so several weightings
are tried and the best night is kept (see `scheduler.plan_night`).
"""

from __future__ import annotations

import math

import numpy as np

# (scarcity weight, length exponent) of each sweep, most useful first; how many are tried
# depends on the number of sequences (`sweeps_for`), so the work stays bounded
SWEEPS = ((0.0, 1.0), (0.25, 1.0), (1.0, 1.0), (0.5, 1.0), (2.0, 1.0))
SWEEP_WORK = 3000  # sweeps x sequences


def sweeps_for(count: int) -> tuple[tuple[float, float], ...]:
    return SWEEPS[: max(2, min(len(SWEEPS), SWEEP_WORK // max(count, 1)))]


def _overheads_from(placer, a: int, rows: np.ndarray) -> np.ndarray:
    """Overhead from sequence a to each row, vectorised like `_Placer.overhead_s`."""
    oh = placer.overheads
    cos = np.clip(placer.xyz[rows] @ placer.xyz[a], -1.0, 1.0)
    sep_deg = np.degrees(np.arccos(cos))
    total = np.where(sep_deg > 1e-4, oh.slew_s + sep_deg / oh.slew_rate_deg_s, 0.0)
    last = placer.specs[a].filters[-1] if placer.specs[a].filters else None
    if last is not None:
        change = np.array(
            [bool(placer.specs[r].filters) and placer.specs[r].filters[0] != last for r in rows]
        )
        total = total + np.where(change, oh.filter_change_s, 0.0)
    return total


def sweep(
    placer, rows: list[int], value: np.ndarray, weight: float, alpha: float = 1.0
) -> list[tuple[int, float]]:
    """(row, start_s) of a dispatch schedule of `rows` around the items already in `placer`."""
    step, n = placer.step, placer.grid.n
    rows_arr = np.array(sorted(rows), dtype=int)
    if not rows_arr.size:
        return []
    can = placer.vis.can_start[rows_arr]
    after = np.cumsum(can[:, ::-1], axis=1)[:, ::-1]  # allowed starts from i on
    nxt = placer.next_ok[rows_arr]
    dur = np.array([placer.specs[j].duration_s for j in rows_arr])
    samples = np.maximum(np.ceil(dur / step), 1.0)
    ranks = np.argsort(np.argsort([placer.specs[j].id for j in rows_arr]))  # ties: by id
    fixed = sorted(placer.items, key=lambda it: it.start_s)
    used = np.zeros(rows_arr.size, bool)
    out: list[tuple[int, float]] = []
    free_from, prev = 0.0, None
    hole = 0  # index of the next fixed item
    while True:
        limit = fixed[hole].start_s if hole < len(fixed) else math.inf
        if prev is None:
            oh = np.zeros(rows_arr.size)
        else:
            oh = _overheads_from(placer, prev, rows_arr)
        i0 = np.clip(np.ceil((free_from + oh) / step - 1e-6), 0, n).astype(int)
        start_i = nxt[np.arange(rows_arr.size), i0]
        ok = ~used & (start_i < n)
        start_s = start_i * step
        if hole < len(fixed):
            back = _overheads_from(placer, fixed[hole].j, rows_arr)  # symmetric but filters
            ok &= start_s + dur + back <= limit + 1e-6
        if not ok.any():
            if hole >= len(fixed):
                break
            item = fixed[hole]
            free_from, prev, hole = item.start_s + item.duration_s, item.j, hole + 1
            continue
        wait = start_s - free_from
        rate = value[rows_arr] / dur * dur**alpha / (dur + np.maximum(wait, 0.0))
        left = after[np.arange(rows_arr.size), np.minimum(start_i, n - 1)] / samples
        key = np.where(ok, rate * (1.0 + weight / np.maximum(left, 1.0)), -np.inf)
        best = int(np.lexsort((ranks, -key))[0])
        used[best] = True
        out.append((int(rows_arr[best]), float(start_s[best])))
        free_from, prev = float(start_s[best] + dur[best]), int(rows_arr[best])
    return out
