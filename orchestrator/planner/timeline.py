"""The search's view of the night: the placed entries with cumulative values, to price where
a sequence could go (`Timeline.spot`: one numpy pass over its allowed starts) or which of many
could use the time where the night changed (`Timeline.meets`); and the search's work counters.
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


# What the search did, for the benchmarks and the tests of its bounds (never read by the
# search): "spot" window pricings; "relocate" / "drop" / "chain" tries; "relocate work" /
# "drop work" their spot-equivalents and "relocate calls" / "drop calls". Cleared by the caller.
WORK: Counter[str] = Counter()


def max_overhead_s(placer) -> float:
    """An upper bound on the overhead between any two entries (for windows that need no check)."""
    oh = placer.overheads
    slew = oh.slew_s + (180.0 / oh.slew_rate_deg_s if oh.slew_rate_deg_s > 0 else math.inf)
    has_filters = any(s.filters for s in placer.specs)
    return slew + (oh.filter_change_s if has_filters else 0.0)


class Timeline:
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
        for lo_s, hi_s in merged_spans(spans):
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


def merged_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of overlapping (lo, hi) spans, sorted."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
