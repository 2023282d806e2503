"""Placement: urgent sequences first at their earliest time, then by priority, with shifting,
then a local search (dispatch sweeps, ejection chains, relocations: `improve`, `dispatch`),
CP-SAT on small nights (`exact`) and a left compaction (`compact`).

Like astroplan's PriorityScheduler it takes sequences in priority order, but it may move entries
already placed left or right inside their own windows to make room (seed §5.2's "move left",
"move right"), places a sequence where it blocks the least demand of the sequences still to
come, and honours preferred times. Same inputs, same schedule: every tie is broken by id.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import numpy as np

from orchestrator.planner.compact import compact_left
from orchestrator.planner.improve import Item as _Item
from orchestrator.planner.night import NightGrid, from_unix, to_unix, unit_vectors
from orchestrator.planner.search import over_quota, protected_rows, search, trim_to_quota
from orchestrator.planner.spec import (
    Executing,
    Overheads,
    PlanEntry,
    PlanResult,
    SequenceSpec,
    Unscheduled,
    score_of,
)
from orchestrator.planner.visibility import Visibility, evaluate

log = logging.getLogger(__name__)
EPS_S = 1e-6
SEARCH_ROUNDS = 6
# CP-SAT after the local search (`exact`), in the solver's deterministic seconds (one worker):
# enough to prove most 100-sequence nights optimal; 0 keeps the local search's night
SOLVER_BUDGET_S = 0.25
TIME_CRITICAL_SLACK = 0.2
FAR_S = 1e9  # beyond any night, finite so that ceil/floor work


class _Placer:
    """The timeline of one planning run: items sorted by start, and how far each may move."""

    def __init__(
        self,
        grid: NightGrid,
        specs: list[SequenceSpec],
        vis: Visibility,
        overheads: Overheads,
    ) -> None:
        self.grid, self.specs, self.vis, self.overheads = grid, specs, vis, overheads
        self.step = grid.step_s
        n = grid.n
        cols = np.arange(n)
        # next_ok[j, i]: first allowed start >= i (n if none); prev_ok: last <= i (-1 if none)
        nxt = np.where(vis.can_start, cols, n)
        self.next_ok = np.concatenate(
            [np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1], np.full((len(specs), 1), n)],
            axis=1,
        )
        self.prev_ok = np.maximum.accumulate(np.where(vis.can_start, cols, -1), axis=1)
        self.xyz = unit_vectors(
            np.radians([s.ra_deg for s in specs]), np.radians([s.dec_deg for s in specs])
        ).reshape(len(specs), 3)
        self.items: list[_Item] = []
        self._chains: tuple[np.ndarray, np.ndarray] | None = None
        self._overhead: dict[tuple[int, int], float] = {}
        self._to: dict[int, np.ndarray] = {}  # s -> overhead from each row to s (nan: not yet)

    # -- overheads and allowed starts ---------------------------------------------------------
    def overhead_s(self, a: int, b: int) -> float:
        # the search asks for the same pairs again and again (chains, inserts): remember them
        found = self._overhead.get((a, b))
        if found is None:
            found = self._overhead[a, b] = self._compute_overhead_s(a, b)
        return found

    def _compute_overhead_s(self, a: int, b: int) -> float:
        sep_deg = math.degrees(math.acos(max(-1.0, min(1.0, float(self.xyz[a] @ self.xyz[b])))))
        total = 0.0
        if sep_deg > 1e-4:
            total += self.overheads.slew_s + sep_deg / self.overheads.slew_rate_deg_s
        fa, fb = self.specs[a].filters, self.specs[b].filters
        if fa and fb and fa[-1] != fb[0]:
            total += self.overheads.filter_change_s
        return total

    def overheads_to(self, s: int, rows: list[int]) -> np.ndarray:
        """Overhead between sequence s and each row (symmetric but for filters)."""
        every = self._to.get(s)  # the search asks again and again for the same entries
        if every is None:
            every = self._to[s] = np.full(len(self.specs), np.nan)
        found = every[rows]
        for q in np.flatnonzero(np.isnan(found)).tolist():
            every[rows[q]] = found[q] = self.overhead_s(rows[q], s)
        return found

    def next_start(self, item: _Item, t_s: float) -> float | None:
        if item.pinned:
            return item.start_s if t_s <= item.start_s + EPS_S else None
        i = max(0, math.ceil(t_s / self.step - EPS_S))
        if i >= self.grid.n:
            return None
        found = self.next_ok[item.j, i]
        return None if found >= self.grid.n else found * self.step

    def prev_start(self, item: _Item, t_s: float) -> float | None:
        if item.pinned:
            return item.start_s if t_s >= item.start_s - EPS_S else None
        i = min(self.grid.n - 1, math.floor(t_s / self.step + EPS_S))
        if i < 0:
            return None
        found = self.prev_ok[item.j, i]
        return None if found < 0 else found * self.step

    # -- how far the placed items can move ----------------------------------------------------
    def chains(self) -> tuple[np.ndarray, np.ndarray]:
        """Earliest starts with everything pushed left, latest with everything pushed right."""
        if self._chains is None:
            # `next_start` / `prev_start` inlined: this runs for every try of the search
            items, step, n = self.items, self.step, self.grid.n
            next_ok, prev_ok, overhead_s = self.next_ok, self.prev_ok, self.overhead_s
            earliest = np.zeros(len(items))
            latest = np.zeros(len(items))
            bound = -FAR_S
            for q, it in enumerate(items):
                found = None
                if it.pinned:
                    found = it.start_s if bound <= it.start_s + EPS_S else None
                else:
                    i = max(0, math.ceil(bound / step - EPS_S))
                    k = next_ok[it.j, i] if i < n else n
                    found = k * step if k < n else None
                earliest[q] = it.start_s if found is None else found
                if q + 1 < len(items):
                    bound = earliest[q] + it.duration_s + overhead_s(it.j, items[q + 1].j)
            bound = FAR_S
            for q in range(len(items) - 1, -1, -1):
                it = items[q]
                found = None
                if it.pinned:
                    found = it.start_s if bound >= it.start_s - EPS_S else None
                else:
                    i = min(n - 1, math.floor(bound / step + EPS_S))
                    k = prev_ok[it.j, i] if i >= 0 else -1
                    found = k * step if k >= 0 else None
                latest[q] = it.start_s if found is None else found
                if q > 0:
                    bound = latest[q] - overhead_s(items[q - 1].j, it.j)
                    bound -= items[q - 1].duration_s
            self._chains = (earliest, latest)
        return self._chains

    def candidates(
        self, s: int, preferred_s: float | None, previous_s: float | None = None
    ) -> np.ndarray:
        """Rows (gap, start_s, needs_shift) where sequence s could go, shifting others."""
        items, step, n = self.items, self.step, self.grid.n
        dur = self.specs[s].duration_s
        earliest, latest = self.chains()
        rows = [it.j for it in items]
        oh = self.overheads_to(s, rows) if rows else np.zeros(0)
        starts = np.array([it.start_s for it in items])
        durs = np.array([it.duration_s for it in items])
        inf = np.array([math.inf])
        # gap g lies between items g-1 and g
        lo = np.concatenate([-inf, earliest + durs + oh])
        hi = np.concatenate([latest - oh - dur, inf])
        cur_lo = np.concatenate([-inf, starts + durs + oh])
        cur_hi = np.concatenate([starts - oh - dur, inf])
        i_lo = np.clip(np.ceil(lo / step - EPS_S), 0, n).astype(int)
        i_hi = np.clip(np.floor(hi / step + EPS_S), -1, n - 1).astype(int)
        c_lo = np.clip(np.ceil(cur_lo / step - EPS_S), 0, n).astype(int)
        c_hi = np.clip(np.floor(cur_hi / step + EPS_S), -1, n - 1).astype(int)
        nxt, prv = self.next_ok[s], self.prev_ok[s]
        picks = [nxt[i_lo], prv[np.maximum(i_hi, 0)], nxt[c_lo], prv[np.maximum(c_hi, 0)]]
        if preferred_s is not None:
            target = math.floor((preferred_s - dur / 2) / step + 0.5)
            p = np.clip(target, i_lo, np.maximum(i_hi, i_lo))
            p = np.minimum(p, n - 1)
            picks += [nxt[p], prv[p]]
        if previous_s is not None:  # the start it had in the last schedule, where still free
            p = np.clip(math.floor(previous_s / step + 0.5), i_lo, np.maximum(i_hi, i_lo))
            p = np.minimum(p, n - 1)
            picks += [nxt[p]]
        gaps = np.arange(len(items) + 1)
        out = []
        for pick in picks:
            valid = (pick >= i_lo) & (pick <= i_hi) & (pick < n) & (pick >= 0)
            if valid.any():
                g = gaps[valid]
                start = pick[valid] * step
                shift = (start < cur_lo[valid] - EPS_S) | (start > cur_hi[valid] + EPS_S)
                out.append(np.stack([g, start, shift], -1))
        return np.concatenate(out) if out else np.zeros((0, 3))

    def insert(self, s: int, gap: int, start_s: float) -> None:
        """Put s at start_s in gap, pushing neighbours left/right just as much as needed."""
        items = self.items
        items.insert(gap, _Item(s, start_s, self.specs[s].duration_s))
        for q in range(gap - 1, -1, -1):
            bound = items[q + 1].start_s - self.overhead_s(items[q].j, items[q + 1].j)
            bound -= items[q].duration_s
            if items[q].start_s <= bound + EPS_S:
                break
            moved = self.prev_start(items[q], bound)
            assert moved is not None, "shift left beyond what the chain allowed"
            items[q].start_s = moved
        for q in range(gap + 1, len(items)):
            prev = items[q - 1]
            bound = prev.start_s + prev.duration_s + self.overhead_s(prev.j, items[q].j)
            if items[q].start_s >= bound - EPS_S:
                break
            moved = self.next_start(items[q], bound)
            assert moved is not None, "shift right beyond what the chain allowed"
            items[q].start_s = moved
        self._chains = None


def _demand(vis: Visibility, specs: list[SequenceSpec], step_s: float) -> np.ndarray:
    """Each sequence's expected use of each grid slot: value spread over where it could be."""
    m, n = vis.can_start.shape
    cumulative = np.zeros((m, n + 1), np.int32)
    np.cumsum(vis.can_start, axis=1, out=cumulative[:, 1:])
    cols = np.arange(n)
    lower = np.maximum(0, cols[None, :] - vis.samples[:, None])
    covered = (cumulative[:, 1:] - np.take_along_axis(cumulative, lower, axis=1)) > 0
    value = np.array([s.priority * s.duration_s for s in specs])
    spread = np.maximum(covered.sum(axis=1), 1) * step_s
    return covered * (value / spread)[:, None]


def _order(specs: list[SequenceSpec]) -> list[int]:
    """Urgent first, then higher priority, time-critical, the program that used less of its
    share, then id: the whole of the determinism."""
    return sorted(
        range(len(specs)),
        key=lambda j: (
            not specs[j].urgent,
            -specs[j].priority,
            not time_critical(specs[j]),  # it has one place only: before an equal that has many
            specs[j].share_used,
            specs[j].id,
        ),
    )


def time_critical(spec: SequenceSpec) -> bool:
    """A window shorter than the duration plus 20 % (a transit, an occultation)."""
    if spec.window_start is None or spec.window_end is None or spec.urgent:
        return False
    window_s = (spec.window_end - spec.window_start).total_seconds()
    return window_s < spec.duration_s * (1.0 + TIME_CRITICAL_SLACK)


def _choose(
    cands: np.ndarray,
    spec: SequenceSpec,
    cost: np.ndarray,
    pref_s: float | None,
    step: float,
    previous_s: float | None = None,
) -> int:
    start, shift, gap = cands[:, 1], cands[:, 2], cands[:, 0]
    if spec.urgent:
        keys = (gap, shift, start)
    elif pref_s is not None:
        miss = np.abs(start + spec.duration_s / 2 - pref_s)
        keys = (gap, start, shift, miss)
    else:
        contention = cost[np.rint(start / step).astype(int)]
        keys = (gap, start, np.round(contention, 9), shift)
    if previous_s is not None:  # keep the place the observer saw, if it is still a candidate
        keys = (*keys, np.abs(start - previous_s) > EPS_S)
    return int(np.lexsort(keys)[0])


def plan_night(
    grid: NightGrid,
    specs: list[SequenceSpec],
    overheads: Overheads,
    now: datetime | None = None,
    executing: Executing | None = None,
    default_twilight: str = "nautical",
    horizon_deg: float = 0.0,
    search_rounds: int = SEARCH_ROUNDS,
    previous: dict[str, datetime] | None = None,
    country_left_h: dict[str, float] | None = None,
    solver_budget_s: float = SOLVER_BUDGET_S,
) -> PlanResult:
    """Plan one night. `now` (default: the night's start) bounds every new start.

    `search_rounds` of local search follow the greedy (0: the greedy alone). `previous` (id ->
    start of the last schedule) makes a re-plan keep entries in place unless that costs more
    than STABLE_LOSS of the score. `country_left_h` caps the hours planned per country.
    `solver_budget_s` (deterministic seconds) lets CP-SAT improve the searched night (0: not).
    """
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError("sequence ids must be unique")
    # one canonical order, so that even float sums do not depend on the input's order
    specs = sorted(specs, key=lambda s: s.id)
    all_specs = specs + ([executing.spec] if executing else [])
    now_unix = to_unix(now) if now else -math.inf
    vis = evaluate(grid, all_specs, now_unix, default_twilight, horizon_deg)
    over_quota(specs, country_left_h or {}, vis)
    placer = _Placer(grid, all_specs, vis, overheads)
    demand = _demand(vis, all_specs, grid.step_s)
    profile = demand[: len(specs)].sum(axis=0)
    reasons: dict[int, str] = {}
    order = _order(specs)
    urgent = [j for j in order if specs[j].urgent]
    critical = [j for j in order if time_critical(specs[j])]
    rest = [j for j in order if not specs[j].urgent]
    prev_s = {k: to_unix(v) - grid.start_unix for k, v in (previous or {}).items() if v is not None}

    def place(j: int) -> None:
        nonlocal profile
        profile = profile - demand[j]
        if vis.reasons[j]:
            reasons[j] = vis.reasons[j]
            return
        spec = specs[j]
        pref_s = to_unix(spec.preferred_time) - grid.start_unix if spec.preferred_time else None
        was_s = prev_s.get(spec.id)
        cands = placer.candidates(j, pref_s, was_s)
        if not len(cands):
            reasons[j] = _outranked(placer, j)
            if time_critical(spec):
                reasons[j] = reasons[j].replace("outranked:", "outranked (time-critical):", 1)
            return
        window = np.concatenate([[0.0], np.cumsum(profile)])
        ends = np.minimum(np.arange(grid.n) + vis.samples[j] + 1, grid.n)
        cost = window[ends] - window[: grid.n]
        best = cands[_choose(cands, spec, cost, pref_s, grid.step_s, was_s)]
        placer.insert(j, int(best[0]), float(best[1]))

    for j in urgent:
        place(j)
    for it in placer.items:  # urgent means as soon as possible: no later insert may push one
        it.pinned = True
    placer._chains = None
    pre_empted_by = None
    if executing is not None:
        pre_empted_by = _pin_executing(placer, executing, len(specs), grid, reasons)
    base = [_Item(it.j, it.start_s, it.duration_s, it.pinned) for it in placer.items]
    for j in rest:
        place(j)
    if search_rounds > 0:
        protected = protected_rows(urgent + critical, executing, specs)
        greedy = [_Item(it.j, it.start_s, it.duration_s, it.pinned) for it in placer.items]
        try:
            search(placer, base, rest, vis, all_specs, protected, search_rounds, prev_s,
                   solver_budget_s)  # fmt: skip
        except Exception:  # a night is never left without a schedule: keep the greedy one
            log.warning("planner search failed; keeping the greedy plan", exc_info=True)
            placer.items, placer._chains = greedy, None
        placed = {it.j for it in placer.items}
        for j in rest:
            if j in placed:
                reasons.pop(j, None)
            elif j not in reasons:
                reasons[j] = _outranked(placer, j)
    if country_left_h:
        trim_to_quota(placer, specs, country_left_h, reasons)
    kept = {
        it.j for it in placer.items
        if abs(prev_s.get(all_specs[it.j].id, -FAR_S) - it.start_s) < EPS_S
    }  # fmt: skip
    compact_left(placer, kept)

    entries = [
        PlanEntry(
            all_specs[it.j].id,
            from_unix(grid.start_unix + it.start_s),
            from_unix(grid.start_unix + it.start_s) + timedelta(seconds=it.duration_s),
        )
        for it in placer.items
    ]
    unscheduled = sorted(
        (Unscheduled(all_specs[j].id, reason) for j, reason in reasons.items()), key=lambda u: u.id
    )
    dusk, dawn = grid.twilights[default_twilight]
    if math.isnan(dusk):  # no such night at this latitude and season: report the civil one
        dusk, dawn = grid.twilights["civil"]
    by_id = {s.id: s for s in all_specs}
    return PlanResult(
        night=grid.night,
        night_start=from_unix(dusk),
        night_end=from_unix(dawn),
        entries=entries,
        unscheduled=unscheduled,
        score=score_of(entries, by_id),
        pre_empted_by=pre_empted_by,
    )


def _pin_executing(
    placer: _Placer, executing: Executing, j: int, grid: NightGrid, reasons: dict[int, str]
) -> str | None:
    """Keep the executing sequence where it runs; the id of an urgent one that overlaps it
    (it is then pre-empted and not placed), else None."""
    start_s = to_unix(executing.start) - grid.start_unix
    item = _Item(j, start_s, (executing.end - executing.start).total_seconds(), pinned=True)
    for other in placer.items:  # only urgent entries are placed at this point
        before = item.start_s + item.duration_s + placer.overhead_s(j, other.j) <= other.start_s
        after = other.start_s + other.duration_s + placer.overhead_s(other.j, j) <= item.start_s
        if not (before or after):
            urgent_id = placer.specs[other.j].id
            reasons[j] = f"pre-empted by urgent sequence {urgent_id}"
            return urgent_id
    placer.items.append(item)
    placer.items.sort(key=lambda it: it.start_s)
    placer._chains = None
    return None


def _outranked(placer: _Placer, j: int) -> str:
    """Name the sequences that hold the times this one could have taken."""
    allowed = np.flatnonzero(placer.vis.can_start[j])
    first = allowed[0] * placer.step
    last = allowed[-1] * placer.step + placer.specs[j].duration_s
    holders = [
        placer.specs[it.j]
        for it in placer.items
        if it.start_s < last and it.start_s + it.duration_s > first
    ]
    holders.sort(key=lambda s: (not s.urgent, -s.priority, s.id))
    names = ", ".join(s.id for s in holders[:3]) + (" ..." if len(holders) > 3 else "")
    return f"outranked: no room left beside {names}" if names else "outranked: no room left"
