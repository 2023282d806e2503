"""Left compaction, the planner's last pass: each entry starts as early as its constraints, the
entry before it and its overhead allow, order kept, so the telescope does not idle before a
sequence the search happened to place late in its window. Nothing is removed: same score.

Entries that do not move: the executing one, those with a preferred time (centred on it), and
those a re-plan kept at their previous start (the schedule the observer saw).
"""

from __future__ import annotations

EPS_S = 1e-6


def compact_left(placer, keep: set[int] | None = None) -> int:
    """Shift `placer.items` left in place; rows in `keep` stay. Returns the entries moved."""
    keep = keep or set()
    items = placer.items
    moved = 0
    for q, it in enumerate(items):
        if it.pinned or it.j in keep or placer.specs[it.j].preferred_time is not None:
            continue
        bound = 0.0  # grid point 0; `now` and the night are in the allowed starts
        if q > 0:
            prev = items[q - 1]
            bound = prev.start_s + prev.duration_s + placer.overhead_s(prev.j, it.j)
        start = placer.next_start(it, bound)
        if start is not None and start < it.start_s - EPS_S:
            it.start_s = start
            moved += 1
    placer._chains = None
    return moved
