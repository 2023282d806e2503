"""Local search after the greedy: put an unplaced sequence where the entries it displaces are
worth less than it (value = priority x duration), or, one level deeper, where the entries it
displaces find room elsewhere for a net gain (an ejection chain); repeat until nothing gains.

Deterministic: sequences in (value, id) order, ties between starts broken by the earliest time;
a move is kept only if the night's value strictly grows, so it cannot score below its start.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

EPS = 1e-9


@dataclass
class Item:
    j: int  # row of the sequence
    start_s: float  # seconds from grid point 0
    duration_s: float
    pinned: bool = False  # the executing sequence or an urgent one: it never moves


# Deeper moves are bounded by a work budget: each try scans the unplaced sequences, and more
# sequences mean more tries needed, so tries x sequences^2 is bounded. 1,000 sequences stay
# under a second while 100-300 get the full search; the budget is a count, not a clock, so the
# schedule does not depend on the machine.
SEARCH_WORK = 40_000_000

# Relocations and drops are also bounded by what a try really costs, counted in spot
# evaluations (`_Timeline.spot`, one numpy pass over a sequence's allowed starts, ~20 us): a
# relocation try prices every unplaced neighbour of the time it frees, and when every window
# spans the night that is the whole pool. A `candidates` pass (Python, over the placed entries)
# counts one spot per SPOT_ENTRIES entries. Per call; a count, never a clock.
SPOT_ENTRIES = 5
RELOCATE_WORK = 1500
DROP_WORK = 5000  # per call; drop runs once, on the best night

NEAR_DROP = 15

# What the search did, for the benchmarks and the tests of its bounds (never read by the
# search): "spot" window pricings; "relocate" / "drop" / "chain" tries; "relocate work" /
# "drop work" their spot-equivalents and "relocate calls" / "drop calls". Cleared by the caller.
WORK: Counter[str] = Counter()


def budget(count: int, most: int) -> int:
    return max(10, min(most, SEARCH_WORK // max(count, 1) ** 2))


def max_overhead_s(placer) -> float:
    """An upper bound on the overhead between any two entries (for windows that need no check)."""
    oh = placer.overheads
    slew = oh.slew_s + (180.0 / oh.slew_rate_deg_s if oh.slew_rate_deg_s > 0 else math.inf)
    has_filters = any(s.filters for s in placer.specs)
    return slew + (oh.filter_change_s if has_filters else 0.0)


class _Timeline:
    """The placer's items with cumulative values, to price any window in one numpy pass."""

    def __init__(self, placer, value: np.ndarray, protected: set[int]) -> None:
        self.placer, self.value, self.protected = placer, value, protected
        self.pad_s = max_overhead_s(placer)
        self.end_s = placer.grid.n * placer.step
        self._allowed: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.dirty = True
        self.spots = 0  # spot evaluations so far: the unit of the work budgets
        self._dur: np.ndarray | None = None  # every sequence's duration, for `meets`

    def _refresh(self) -> None:
        items = self.placer.items
        self.starts = np.array([it.start_s for it in items])
        self.ends = self.starts + np.array([it.duration_s for it in items])
        values = [self.value[it.j] for it in items]
        self.worth = np.concatenate([[0.0], np.cumsum(values)])
        lock = [it.pinned or it.j in self.protected for it in items]
        self.locked = np.concatenate([[0], np.cumsum(lock)])
        free = [v for v, held in zip(values, lock, strict=True) if not held]
        self.cheapest = min(free, default=math.inf)
        if items:
            gaps = self.starts[1:] - self.ends[:-1]
            edges = [self.starts[0] + self.pad_s, self.end_s - self.ends[-1] + self.pad_s]
            self.widest = max(float(gaps.max(initial=0.0)), *edges)
        else:
            self.widest = math.inf
        self.placed = {it.j for it in items}
        self._top: float | None = None
        self._priced: tuple | None = None  # (u, lo, hi, lost, free) of the last spot
        self.dirty = False

    def top(self) -> float:
        """The most valuable entry's value (from the cumulative sums, as the pricing sees it)."""
        if self.dirty:
            self._refresh()
        if self._top is None:
            self._top = float(np.diff(self.worth).max(initial=0.0))
        return self._top

    def state(self) -> tuple:
        """What `restore` needs to undo moves without pricing the night again."""
        if self.dirty:
            self._refresh()
        return (list(self.placer.items), self.starts, self.ends, self.worth, self.locked,
                self.cheapest, self.widest, self.placed, self._top)  # fmt: skip

    def restore(self, state: tuple) -> None:
        items, self.starts, self.ends, self.worth, self.locked = state[:5]
        self.cheapest, self.widest, self.placed, self._top = state[5:]
        self.placer.items, self.placer._chains, self.dirty = items, None, False
        self._priced = None

    def spot(self, u: int, below: float) -> tuple[float, int, int, float] | None:
        """The cheapest (lost value, first, end, start_s) to put u, displacing < `below`."""
        placer = self.placer
        WORK["spot"] += 1
        self.spots += 1
        if self.dirty:
            self._refresh()
        dur = placer.specs[u].duration_s
        if below <= self.cheapest and dur + 2 * self.pad_s > self.widest + EPS:
            return None  # no free room wide enough and nothing cheap enough to displace
        found = self._allowed.get(u)
        if found is None:  # u's allowed starts, and the windows' edges with the overheads
            t = np.flatnonzero(placer.vis.can_start[u]) * placer.step
            found = self._allowed[u] = (t, t - self.pad_s, t + dur + self.pad_s)
        t, before, after = found
        if not t.size:
            return None
        if self._priced is not None and self._priced[0] == u:  # the ejection chain's second ask
            _, lo, hi, lost, free = self._priced
        else:
            lo = np.searchsorted(self.ends, before, side="right")
            hi = np.searchsorted(self.starts, after, side="left")
            lost = self.worth[hi] - self.worth[lo]
            free = self.locked[hi] == self.locked[lo]
            self._priced = (u, lo, hi, lost, free)
        ok = free & (lost < below - EPS * max(below, 1.0))
        idx = np.flatnonzero(ok)
        if not idx.size:
            return None
        # the cheapest displacement; ties: fewest entries moved, then the earliest start (t
        # ascends, and argmin takes the first of equals)
        cheapest = idx[lost[idx] == lost[idx].min()]
        k = cheapest[np.argmin(hi[cheapest] - lo[cheapest])]
        return float(lost[k]), int(lo[k]), int(hi[k]), float(t[k])

    def meets(
        self, rows: list[int], spans: list[tuple[float, float]], most: int
    ) -> tuple[np.ndarray | None, int]:
        """Which rows have a start, its window meeting one of `spans` (lo_s, hi_s), where `spot`
        would put them (displacing less than their value): one numpy pass for all the rows,
        so that a relocation prices only those. Also the pass's cost in spot-equivalents (a
        spot passes over at most a night of grid points); (None, 0) if above `most`."""
        placer = self.placer
        step, n, pad = placer.step, placer.grid.n, self.pad_s
        rows_a = np.array(rows, dtype=int)
        if self._dur is None:
            self._dur = np.array([spec.duration_s for spec in placer.specs])
        dur = self._dur[rows_a]
        cols, lows, highs = [], [], []
        for lo_s, hi_s in _merged(spans):
            i0 = max(0, math.ceil((lo_s - pad - dur.max()) / step))
            i1 = min(n - 1, math.floor((hi_s + pad) / step))
            if i1 >= i0:
                cols.append(np.arange(i0, i1 + 1))
                lows.append(np.full(i1 + 1 - i0, lo_s))
                highs.append(np.full(i1 + 1 - i0, hi_s))
        width = sum(len(c) for c in cols)
        cost = 1 + len(rows) * width // n
        if cost > most:
            return None, 0
        if self.dirty:
            self._refresh()
        if not width:
            return np.zeros(len(rows), bool), cost
        i = np.concatenate(cols)
        t = i * step
        # windows depend on the duration only: price each distinct duration once
        durs, of = np.unique(dur, return_inverse=True)
        end = t[None, :] + durs[:, None]
        inside = (end + pad >= np.concatenate(lows)) & (t <= np.concatenate(highs) + pad)
        lo = np.searchsorted(self.ends, t - pad, side="right")[None, :]
        hi = np.searchsorted(self.starts, end + pad, side="left")
        lost = (self.worth[hi] - self.worth[lo])[of]
        free = (inside & (self.locked[hi] == self.locked[lo]))[of]
        below = self.value[rows_a][:, None]
        ok = free & placer.vis.can_start[rows_a[:, None], i[None, :]]
        ok &= lost < below - EPS * np.maximum(below, 1.0)
        return ok.any(axis=1), cost

    def apply(self, u: int, q0: int, q1: int, start_s: float) -> list[int]:
        items = self.placer.items
        out = [it.j for it in items[q0:q1]]
        del items[q0:q1]
        items.insert(q0, Item(u, start_s, self.placer.specs[u].duration_s))
        self.placer._chains = None
        self.dirty = True
        return out


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of overlapping (lo, hi) spans, sorted."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def improve(
    placer,
    pool: list[int],
    value: np.ndarray,
    protected: set[int],
    max_rounds: int = 6,
    chain_tries: int | None = None,
    displace: bool = True,
) -> int:
    """Improve `placer.items` in place; `pool` are the rows not placed (they may be placed).

    `protected` rows (urgent, executing) are never displaced; with `displace` False, sequences
    only go into free time (a stable re-plan). Returns the moves made.
    """
    line = _Timeline(placer, value, protected)
    specs = placer.specs
    if chain_tries is None:
        chain_tries = budget(len(specs), 400)
    pool = sorted(set(pool), key=lambda j: (-value[j], specs[j].id))
    moves = 0
    # a try is a pure function of the night and u, and a failed one leaves the night as it was:
    # u failed at night `failed[u]` (numbered by moves kept) fails again while no move is kept
    night, failed = 0, {}
    for _ in range(max_rounds):
        changed = False
        displaced: list[int] = []
        for u in pool:
            if line.dirty:
                line._refresh()
            if u in line.placed:
                continue
            if failed.get(u) == night:
                chain_tries -= 1 if chain_tries > 0 and displace else 0  # as the try would
                continue
            failed[u] = night
            found = line.spot(u, value[u] if displace else 0.5 * EPS)
            if found is not None:
                displaced.extend(line.apply(u, *found[1:]))
                moves, changed, night = moves + 1, True, night + 1
                continue
            if chain_tries <= 0 or not displace:
                continue
            chain_tries -= 1
            WORK["chain"] += 1
            # one level deeper: displace entries each worth less than u, re-place them elsewhere
            found = line.spot(u, math.inf if line.top() < value[u] else value[u] * 4)
            if found is None or any(
                value[it.j] >= value[u] for it in placer.items[found[1] : found[2]]
            ):
                continue  # nothing to displace, or an entry worth as much as u
            saved = line.state()
            out = line.apply(u, *found[1:])
            gain = value[u] - found[0]
            second: list[int] = []
            for d in sorted(out, key=lambda j: (-value[j], specs[j].id)):
                again = line.spot(d, value[d])
                if again is not None:
                    second.extend(line.apply(d, *again[1:]))
                    gain += value[d] - again[0]
            if gain > EPS * max(value[u], 1.0):
                placed = {it.j for it in placer.items}
                displaced.extend(j for j in out + second if j not in placed)
                moves, changed, night = moves + 1, True, night + 1
            else:
                line.restore(saved)
        placed = {it.j for it in placer.items}
        pool = sorted(
            {j for j in pool if j not in placed} | set(displaced),
            key=lambda j: (-value[j], specs[j].id),
        )
        if not changed:
            break
    return moves


def relocate(
    placer,
    pool: list[int],
    value: np.ndarray,
    protected: set[int],
    tries: int | None = None,
    work: int | None = None,
) -> int:
    """Move a placed entry elsewhere (shifting its new neighbours) when the time it frees takes
    unplaced sequences worth more than what they displace; kept only for a strict gain.

    At most `tries` entries moved and `work` spot-equivalents spent (see RELOCATE_WORK)."""
    line = _Timeline(placer, value, protected)
    specs, step = placer.specs, placer.step
    if tries is None:
        tries = budget(len(specs), 200)
    if work is None:
        work = RELOCATE_WORK
    WORK["relocate calls"] += 1
    near_max = budget(len(specs), 1000)  # unplaced sequences tried in the time freed
    can = placer.vis.can_start
    rows = np.arange(can.shape[0])
    first = np.where(can.any(axis=1), can.argmax(axis=1), placer.grid.n) * step
    last = (can.shape[1] - 1 - can[:, ::-1].argmax(axis=1)) * step
    dur = np.array([s.duration_s for s in specs])
    # the unplaced sequences of value, most valuable first (ties: id), as a mask over the rows
    ranked = np.array(sorted(rows.tolist(), key=lambda j: (-value[j], specs[j].id)), dtype=int)
    unplaced = np.zeros(len(rows), bool)
    unplaced[list(pool)] = True
    unplaced &= value[: len(rows)] > 0
    moves = 0
    for x in sorted((it.j for it in placer.items), key=lambda j: (value[j], specs[j].id)):
        if tries <= 0:
            break
        if x in protected:
            continue
        here = next((q for q, it in enumerate(placer.items) if it.j == x), None)
        if here is None or placer.items[here].pinned:
            continue
        tries -= 1
        old = placer.items[here]
        lo_s, hi_s = old.start_s - line.pad_s, old.start_s + old.duration_s + line.pad_s
        close = unplaced & (first <= hi_s) & (last + dur >= lo_s)
        if not close.any():
            continue
        # the try's cost: where x may go (a pass over the entries), then pricing the
        # neighbours in the time x frees (`meets`), then a spot for each that may fill it
        cost = 1 + len(placer.items) // SPOT_ENTRIES
        if work < cost + 2:
            break
        near = ranked[close[ranked]][:near_max].tolist()
        WORK["relocate"] += 1
        work -= cost
        WORK["relocate work"] += cost
        saved = [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in placer.items]
        del placer.items[here]
        placer._chains = None
        cands = placer.candidates(x, None)
        # away from where it was: the farthest candidate start, ties by the earliest
        far = cands[np.abs(cands[:, 1] - old.start_s) >= old.duration_s] if len(cands) else cands
        if not len(far):
            placer.items, placer._chains = saved, None
            continue
        k = int(np.lexsort((far[:, 1], -np.abs(far[:, 1] - old.start_s)))[0])
        placer.insert(x, int(far[k, 0]), float(far[k, 1]))
        line.dirty = True
        # where the night changed: the time x freed, where it went with the entries it pushed,
        # then where each filler goes (with what it displaces); only there can a sequence the
        # search could not place before now find room
        was = {it.j: it.start_s for it in saved}
        pushed = [it for it in placer.items if was.get(it.j) != it.start_s]
        spans = [(lo_s, hi_s), _span(pushed, line.pad_s)]
        gain, out = 0.0, []
        fills: dict[int, bool] = {}
        for q, u in enumerate(near):
            if line.dirty:  # x moved or a filler went in: price the rest where it changed
                meets, priced = line.meets(near[q:], spans, work)
                if meets is None:
                    break
                fills = dict(zip(near[q:], meets.tolist(), strict=True))
                work -= priced
                WORK["relocate work"] += priced
            if u in line.placed or not fills[u]:
                continue
            if work < 1:
                break
            work -= 1
            WORK["relocate work"] += 1
            found = line.spot(u, value[u])
            if found is not None:
                gone = placer.items[found[1] : found[2]]
                filler = Item(u, found[3], specs[u].duration_s)
                spans.append(_span([*gone, filler], line.pad_s))
                out.extend(line.apply(u, *found[1:]))
                gain += value[u] - found[0]
        if gain > EPS * max(value[x], 1.0):
            line.dirty = True
            line._refresh()
            unplaced[list(line.placed)] = False
            unplaced[[j for j in out if j not in line.placed and value[j] > 0]] = True
            moves += 1
        else:
            placer.items, placer._chains, line.dirty = saved, None, True
    return moves


def _span(items: list[Item], pad_s: float) -> tuple[float, float]:
    """From the first start to the last end of `items`, widened by `pad_s` each side."""
    return (
        min(it.start_s for it in items) - pad_s,
        max(it.start_s + it.duration_s for it in items) + pad_s,
    )


def drop(
    placer,
    pool: list[int],
    value: np.ndarray,
    protected: set[int],
    tries: int | None = None,
    work: int | None = None,
) -> int:
    """Take a cheap entry out and fill its time, shifting the neighbours, with unplaced
    sequences worth more in total; kept only for a strict gain.

    At most `tries` entries taken out and `work` spot-equivalents spent (see DROP_WORK)."""
    specs, step = placer.specs, placer.step
    if tries is None:  # each try re-times the night for each filler: a tenth of the budget
        tries = max(5, min(100, SEARCH_WORK // 10 // max(len(specs), 1) ** 2))
    if work is None:
        work = DROP_WORK
    WORK["drop calls"] += 1
    near_max = NEAR_DROP
    can = placer.vis.can_start
    rows = np.arange(can.shape[0])
    first = np.where(can.any(axis=1), can.argmax(axis=1), placer.grid.n) * step
    last = (can.shape[1] - 1 - can[:, ::-1].argmax(axis=1)) * step
    dur = np.array([s.duration_s for s in specs])
    pool_set = set(pool)
    pad_s = max_overhead_s(placer)
    moves = 0
    for x in sorted((it.j for it in placer.items), key=lambda j: (value[j], specs[j].id)):
        if tries <= 0:
            break
        here = next((q for q, it in enumerate(placer.items) if it.j == x), None)
        if here is None or x in protected or placer.items[here].pinned:
            continue
        tries -= 1
        old = placer.items[here]
        lo_s, hi_s = old.start_s - pad_s, old.start_s + old.duration_s + pad_s
        near = [
            int(j) for j in rows[(first <= hi_s) & (last + dur >= lo_s)]
            if int(j) in pool_set and dur[j] <= old.duration_s + 2 * pad_s + 3600
        ]  # fmt: skip
        # each filler costs a `candidates` pass over the placed entries
        cost = 1 + len(placer.items) // SPOT_ENTRIES
        if work < cost:
            break
        near = sorted(near, key=lambda j: (-value[j], specs[j].id))[: min(near_max, work // cost)]
        if not near or value[near[0]] <= 0:
            continue
        WORK["drop"] += 1
        work -= cost * len(near)
        WORK["drop work"] += cost * len(near)
        saved = [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in placer.items]
        del placer.items[here]
        placer._chains = None
        gain = -value[x]
        added = []
        for u in near:
            cands = placer.candidates(u, None)
            if not len(cands):
                continue
            k = int(np.lexsort((cands[:, 1], np.abs(cands[:, 1] - old.start_s)))[0])
            placer.insert(u, int(cands[k, 0]), float(cands[k, 1]))
            gain += value[u]
            added.append(u)
        if gain > EPS * max(value[x], 1.0):
            pool_set = (pool_set - set(added)) | {x}
            moves += 1
        else:
            placer.items, placer._chains = saved, None
    return moves
