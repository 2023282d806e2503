"""Local search after the greedy: put an unplaced sequence where the entries it displaces are
worth less than it (value = priority x duration), or, one level deeper, where the entries it
displaces find room elsewhere for a net gain (an ejection chain); repeat until nothing gains.

Deterministic: sequences in (value, id) order, ties between starts broken by the earliest time;
a move is kept only if the night's value strictly grows, so it cannot score below its start.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-9
CHAIN_TRIES = 400  # deeper moves per plan: bounds the time at 1,000 sequences


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

    def spot(self, u: int, below: float) -> tuple[float, int, int, float] | None:
        """The cheapest (lost value, first, end, start_s) to put u, displacing < `below`."""
        placer = self.placer
        allowed = np.flatnonzero(placer.vis.can_start[u])
        if not allowed.size:
            return None
        items = placer.items
        starts = np.array([it.start_s for it in items])
        ends = starts + np.array([it.duration_s for it in items])
        worth = np.concatenate([[0.0], np.cumsum([self.value[it.j] for it in items])])
        locked = np.concatenate(
            [[0], np.cumsum([it.pinned or it.j in self.protected for it in items])]
        )
        t = allowed * placer.step
        dur = placer.specs[u].duration_s
        lo = np.searchsorted(ends, t - self.pad_s, side="right")
        hi = np.searchsorted(starts, t + dur + self.pad_s, side="left")
        lost = worth[hi] - worth[lo]
        ok = (locked[hi] == locked[lo]) & (lost < below - EPS * max(below, 1.0))
        if not ok.any():
            return None
        # the cheapest displacement; ties: fewest entries moved, then the earliest start
        k = np.lexsort((t, hi - lo, np.where(ok, lost, np.inf)))[0]
        return float(lost[k]), int(lo[k]), int(hi[k]), float(t[k])

    def apply(self, u: int, q0: int, q1: int, start_s: float) -> list[int]:
        from orchestrator.planner.scheduler import _Item  # one timeline type for both passes

        items = self.placer.items
        out = [it.j for it in items[q0:q1]]
        del items[q0:q1]
        items.insert(q0, _Item(u, start_s, self.placer.specs[u].duration_s))
        self.placer._chains = None
        return out


def improve(
    placer,
    pool: list[int],
    value: np.ndarray,
    protected: set[int],
    max_rounds: int = 6,
    chain_tries: int = CHAIN_TRIES,
    displace: bool = True,
) -> int:
    """Improve `placer.items` in place; `pool` are the rows not placed (they may be placed).

    `protected` rows (urgent, executing) are never displaced; with `displace` False, sequences
    only go into free time (a stable re-plan). Returns the moves made.
    """
    line = _Timeline(placer, value, protected)
    specs = placer.specs
    pool = sorted(set(pool), key=lambda j: (-value[j], specs[j].id))
    moves = 0
    for _ in range(max_rounds):
        changed = False
        displaced: list[int] = []
        for u in pool:
            if any(it.j == u for it in placer.items):
                continue
            found = line.spot(u, value[u] if displace else 0.5 * EPS)
            if found is not None:
                displaced.extend(line.apply(u, *found[1:]))
                moves, changed = moves + 1, True
                continue
            if chain_tries <= 0 or not displace:
                continue
            chain_tries -= 1
            # one level deeper: displace entries each worth less than u, re-place them elsewhere
            top = max((value[it.j] for it in placer.items), default=0.0)
            found = line.spot(u, math.inf if top < value[u] else value[u] * 4)
            if found is None:
                continue
            saved = list(placer.items)
            out = line.apply(u, *found[1:])
            if any(value[j] >= value[u] for j in out):
                placer.items, placer._chains = saved, None
                continue
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
                moves, changed = moves + 1, True
            else:
                placer.items, placer._chains = saved, None
        placed = {it.j for it in placer.items}
        pool = sorted(
            {j for j in pool if j not in placed} | set(displaced),
            key=lambda j: (-value[j], specs[j].id),
        )
        if not changed:
            break
    return moves
