"""Local search after the greedy: put an unplaced sequence where the entries it displaces are
worth less than it (value = priority x duration), or, one level deeper, where the entries it
displaces find room elsewhere for a net gain (an ejection chain); repeat until nothing gains.

Deterministic: sequences in (value, id) order, ties between starts broken by the earliest time;
a move is kept only if the night's value strictly grows, so it cannot score below its start.
"""

from __future__ import annotations

import math

import numpy as np

from orchestrator.planner.timeline import EPS, WORK, Item, Timeline, max_overhead_s

# Deeper moves are bounded by a work budget: each try scans the unplaced sequences, and more
# sequences mean more tries needed, so tries x sequences^2 is bounded. 1,000 sequences stay
# under a second while 100-300 get the full search; the budget is a count, not a clock, so the
# schedule does not depend on the machine.
SEARCH_WORK = 40_000_000

# Relocations and drops are also bounded by what a try really costs, counted in spot
# evaluations (`Timeline.spot`, one numpy pass over a sequence's allowed starts, ~20 us): a
# relocation try prices every unplaced neighbour of the time it frees, and when every window
# spans the night that is the whole pool. A `candidates` pass (Python, over the placed entries)
# counts one spot per SPOT_ENTRIES entries. Per call; a count, never a clock.
SPOT_ENTRIES = 5
RELOCATE_WORK = 1500
DROP_WORK = 5000  # per call; drop runs once, on the best night

NEAR_DROP = 15


def budget(count: int, most: int) -> int:
    return max(10, min(most, SEARCH_WORK // max(count, 1) ** 2))


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
    line = Timeline(placer, value, protected)
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
    line = Timeline(placer, value, protected)
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
