"""Which night to keep: the greedy and each dispatch sweep, improved by local search; with a
previous schedule, the night that moves fewest of its entries within STABLE_LOSS of the best.
Also the quotas and the rows the search may not displace.
"""

from __future__ import annotations

import numpy as np

from orchestrator.planner.dispatch import sweep, sweeps_for
from orchestrator.planner.exact import exact_nights
from orchestrator.planner.improve import Item, drop, improve, relocate
from orchestrator.planner.spec import Executing, SequenceSpec

EPS_S = 1e-6
STABLE_LOSS = 0.01  # a re-plan may give up this share of the score to keep entries in place
SHARE_WEIGHT = 1e-3  # among equal priorities, a program with more of its share left wins


def protected_rows(urgent: list[int], executing: Executing | None, specs: list) -> set[int]:
    """Rows the search never displaces: urgent sequences and the one executing."""
    return set(urgent) | ({len(specs)} if executing else set())


def search(
    placer, base, rest, vis, all_specs, protected, rounds: int, prev_s: dict, budget_s: float = 0.0
) -> None:
    """Local search from the greedy and from each dispatch sweep; keep the best night; then
    CP-SAT from it for `budget_s` deterministic seconds (`exact`), kept if worth more.

    Ties keep the greedy (it honours preferred times and previous starts); with a previous
    schedule, the night that moves fewest of its entries within STABLE_LOSS of the best wins.
    Order and ties are fixed, so the result is deterministic.
    """
    fair = np.array([1.0 + SHARE_WEIGHT * (1.0 - min(s.share_used, 1.0)) for s in all_specs])
    value = np.array([s.priority * s.duration_s for s in all_specs]) * fair
    feasible = [j for j in rest if not vis.reasons[j]]
    feasible_set = set(feasible)

    def finish() -> tuple[float, list[Item]]:
        placed = {it.j for it in placer.items}
        improve(placer, [j for j in feasible if j not in placed], value, protected, rounds)
        placed = {it.j for it in placer.items}
        if relocate(placer, [j for j in feasible if j not in placed], value, protected):
            placed = {it.j for it in placer.items}
            improve(placer, [j for j in feasible if j not in placed], value, protected, rounds)
        return sum(value[it.j] for it in placer.items), list(placer.items)

    nights = [finish()]
    for weight, alpha in sweeps_for(len(feasible)):
        placer.items = [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in base]
        for j, start_s in sweep(placer, feasible, value, weight, alpha):
            placer.items.append(Item(j, start_s, all_specs[j].duration_s))
        placer.items.sort(key=lambda it: it.start_s)
        placer._chains = None
        nights.append(finish())
    if prev_s:
        nights.extend(keep_previous(placer, base, feasible_set, value, protected, prev_s))
        best_value = max(v for v, _ in nights)
        best_night = next(items for v, items in nights if v >= best_value * (1 - 1e-9))
        kept_night = _stablest(nights, best_value, all_specs, prev_s)
        nights.extend(exact_nights(placer, best_night, feasible, value, protected, budget_s,
                                   prev_s, kept_night, best_value, STABLE_LOSS))  # fmt: skip
        placer.items = _stablest(nights, max(v for v, _ in nights), all_specs, prev_s)
        placer._chains = None
        return
    best_value = max(v for v, _ in nights)
    placer.items = next(items for v, items in nights if v >= best_value * (1 - 1e-9))
    placer._chains = None
    # the costliest move, on the best night only (it would move kept entries)
    placed = {it.j for it in placer.items}
    if drop(placer, [j for j in feasible if j not in placed], value, protected):
        placed = {it.j for it in placer.items}
        improve(placer, [j for j in feasible if j not in placed], value, protected, rounds)
    here = (sum(value[it.j] for it in placer.items), list(placer.items))
    for night in exact_nights(placer, here[1], feasible, value, protected, budget_s):
        if night[0] > here[0] * (1 + 1e-9):
            here = night
    placer.items, placer._chains = list(here[1]), None


def moved_count(items: list[Item], all_specs, prev_s: dict) -> int:
    """Entries of the previous schedule not at their previous start in `items`."""
    kept = {
        all_specs[it.j].id
        for it in items
        if abs(prev_s.get(all_specs[it.j].id, -1e18) - it.start_s) < EPS_S
    }
    return sum(1 for k in prev_s if k not in kept)


def _stablest(nights, best_value: float, all_specs, prev_s: dict) -> list[Item]:
    """The night moving fewest previous entries within STABLE_LOSS of the best; ties: value."""
    near = [(moved_count(items, all_specs, prev_s), -v, q) for q, (v, items) in enumerate(nights)
            if v >= best_value * (1 - STABLE_LOSS)]  # fmt: skip
    return list(nights[min(near)[2]][1])


def keep_previous(placer, base, feasible, value, protected, prev_s) -> list[tuple[float, list]]:
    """The last schedule's entries where they were (if still allowed), free time filled."""
    specs, step = placer.specs, placer.step
    placer.items = [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in base]
    rows = {s.id: j for j, s in enumerate(specs)}
    for ident, start_s in sorted(prev_s.items(), key=lambda kv: kv[1]):
        j = rows.get(ident)
        i = int(round(start_s / step))
        if j is None or j not in feasible or not 0 <= i < placer.grid.n:
            continue
        if not placer.vis.can_start[j, i] or abs(i * step - start_s) > EPS_S:
            continue
        item = Item(j, start_s, specs[j].duration_s)
        clash = any(
            not (
                it.start_s + it.duration_s + placer.overhead_s(it.j, j) <= start_s + EPS_S
                or start_s + item.duration_s + placer.overhead_s(j, it.j) <= it.start_s + EPS_S
            )
            for it in placer.items
        )
        if not clash:
            placer.items.append(item)
    placer.items.sort(key=lambda it: it.start_s)
    placer._chains = None
    placed = {it.j for it in placer.items}
    rest = [j for j in sorted(feasible) if j not in placed]
    improve(placer, rest, value, protected, displace=False)
    kept = (sum(value[it.j] for it in placer.items), list(placer.items))
    # and the same with displacing moves: each moves a few entries for a gain
    placed = {it.j for it in placer.items}
    improve(placer, [j for j in sorted(feasible) if j not in placed], value, protected)
    displaced = (sum(value[it.j] for it in placer.items), list(placer.items))
    # and with relocations too (each moves one entry and shifts its new neighbours)
    placer.items = [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in placer.items]
    placer._chains = None
    placed = {it.j for it in placer.items}
    if relocate(placer, [j for j in sorted(feasible) if j not in placed], value, protected):
        placed = {it.j for it in placer.items}
        improve(placer, [j for j in sorted(feasible) if j not in placed], value, protected)
    return [kept, displaced, (sum(value[it.j] for it in placer.items), list(placer.items))]


def over_quota(specs: list[SequenceSpec], left_h: dict[str, float], vis) -> None:
    """A sequence whose country has fewer hours left than it needs cannot be planned."""
    for j, spec in enumerate(specs):
        if spec.country is None or spec.country not in left_h or vis.reasons[j]:
            continue
        need_h = spec.duration_s / 3600.0
        if left_h[spec.country] < need_h:
            vis.can_start[j] = False
            vis.reasons[j] = (
                f"country quota: {spec.country} has {max(left_h[spec.country], 0):.2f} h left, "
                f"the sequence needs {need_h:.2f} h"
            )


def trim_to_quota(placer, specs: list[SequenceSpec], left_h: dict[str, float], reasons) -> None:
    """Tonight's entries of one country together stay within its hours left: the least
    valuable (priority x duration, then id) go first, urgent ones never."""
    for country, left in sorted(left_h.items()):
        mine = [
            it for it in placer.items
            if it.j < len(specs) and specs[it.j].country == country and not it.pinned
        ]  # fmt: skip
        total_h = sum(it.duration_s for it in mine) / 3600.0
        removable = [it for it in mine if not specs[it.j].urgent]
        removable.sort(key=lambda it: (specs[it.j].priority * it.duration_s, specs[it.j].id))
        for it in removable:
            if total_h <= left + 1e-9:
                break
            placer.items.remove(it)
            total_h -= it.duration_s / 3600.0
            reasons[it.j] = (
                f"country quota: {country} has {max(left, 0):.2f} h left, "
                "taken by its higher-priority sequences tonight"
            )
    placer._chains = None
