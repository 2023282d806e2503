"""CP-SAT after the local search, for nights small enough: the search's night is the solver's
hint, the solver runs one worker with a fixed seed under a *deterministic* time budget (so the
same input gives the same schedule on any machine), its night is re-timed with the real
overheads and refilled by the local search, and it is kept only if it is worth more.

The model: one optional interval per sequence on its allowed grid starts, the entries that may
not move (urgent, executing, time-critical) fixed where the search put them, a gap after each
entry equal to the mean overhead of the search's night (exact when overheads are a constant).
With a previous schedule a second solve keeps as many of its entries in place as it can while
staying within `loss` of the best value found.

Partial: the stable solve is bounded by its budget, so it does not always prove that it keeps
the most entries (the benchmark's re-plans at 300 sequences show where more budget helps).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from orchestrator.planner.bound import allowed_runs
from orchestrator.planner.improve import Item, improve

log = logging.getLogger(__name__)
EPS_S = 1e-6
VALUE_SCALE = 10  # CP-SAT wants integers: value (priority x seconds x fair share) in tenths
SOLVER_SEED = 1
# nights with more movable sequences than this keep the local search's night: at 300 the
# solver's budget costs seconds of wall time, and the local search reaches 0.99 there alone
EXACT_MAX_SEQUENCES = 150
# the stable re-plan's solve (most entries kept within the loss allowed) needs more search than
# the value's: measured at 300 sequences, 0.25 deterministic s found 11 kept, 0.45 proved 23
STABLE_BUDGET_FACTOR = 2.0


def model_gap_s(placer, items: list[Item]) -> int:
    """The gap the model puts after each entry: the mean overhead of the hint night (whole s)."""
    pairs = [placer.overhead_s(a.j, b.j) for a, b in zip(items, items[1:], strict=False)]
    if not pairs:
        return int(math.floor(placer.overheads.slew_s))
    return int(math.floor(sum(pairs) / len(pairs) + EPS_S))


class _Model:
    """One CP-SAT model of the night; `fixed` items keep their place."""

    def __init__(self, placer, movable: list[int], fixed: list[Item], value, hint: list[Item]):
        from ortools.sat.python import cp_model

        self.cp = cp_model
        self.placer, self.movable = placer, movable
        self.model = model = cp_model.CpModel()
        step = int(round(placer.step))
        gap = model_gap_s(placer, hint)
        intervals = []
        for it in fixed:
            lo = int(math.floor(it.start_s + EPS_S))
            size = int(math.ceil(it.start_s + it.duration_s - EPS_S)) - lo + gap
            intervals.append(model.NewFixedSizeIntervalVar(lo, size, f"f{it.j}"))
        at = {it.j: it.start_s for it in hint}
        self.x, self.present, self.weight = {}, {}, {}
        for j in movable:
            runs = allowed_runs(placer.vis.can_start[j])
            if not runs:
                continue
            x = model.NewIntVarFromDomain(cp_model.Domain.FromIntervals(runs), f"x{j}")
            present = model.NewBoolVar(f"p{j}")
            size = int(math.ceil(placer.specs[j].duration_s - EPS_S)) + gap
            intervals.append(model.NewOptionalFixedSizeIntervalVar(step * x, size, present, ""))
            self.x[j], self.present[j] = x, present
            self.weight[j] = int(round(value[j] * VALUE_SCALE))
            model.AddHint(present, j in at)
            if j in at:
                model.AddHint(x, int(round(at[j] / placer.step)))
        model.AddNoOverlap(intervals)
        self.total = sum(self.weight[j] * self.present[j] for j in self.x)

    def solve(self, budget_s: float, may_be_infeasible: bool = False) -> dict[int, float] | None:
        """Row -> start_s of the solution, or None when the solver found none."""
        solver = self.cp.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = SOLVER_SEED
        solver.parameters.max_deterministic_time = budget_s
        status = solver.Solve(self.model)
        log.debug(
            "planner solver: %s, objective %.0f (bound %.0f), %.3f deterministic s",
            solver.StatusName(status),
            solver.ObjectiveValue(),
            solver.BestObjectiveBound(),
            solver.ResponseProto().deterministic_time,
        )
        if status == self.cp.INFEASIBLE and may_be_infeasible:
            return None  # no night keeps more entries within the loss allowed
        if status not in (self.cp.OPTIMAL, self.cp.FEASIBLE):
            log.warning(
                "planner solver: %s within %.2f deterministic s; keeping the local search's night",
                solver.StatusName(status),
                budget_s,
            )
            return None
        return {
            j: solver.Value(self.x[j]) * self.placer.step
            for j in self.x
            if solver.BooleanValue(self.present[j])
        }


def retime(placer, fixed: list[Item], starts: dict[int, float], protected) -> list[Item] | None:
    """The solver's night with the real overheads: each entry at its start or just after the one
    before; an entry that no longer fits goes (the refill may put it back). None if two fixed
    entries clash (then the solver's night is not used)."""
    specs = placer.specs
    items = sorted(
        [Item(it.j, it.start_s, it.duration_s, it.pinned) for it in fixed]
        + [Item(j, s, specs[j].duration_s) for j, s in starts.items()],
        key=lambda it: (it.start_s, specs[it.j].id),
    )
    held = {it.j for it in fixed}
    out: list[Item] = []

    def bound(it: Item) -> float:
        if not out:
            return -math.inf
        last = out[-1]
        return last.start_s + last.duration_s + placer.overhead_s(last.j, it.j)

    for it in items:
        if it.j in held:
            while out and bound(it) > it.start_s + EPS_S:
                if out[-1].j in held:
                    return None
                out.pop()
            out.append(it)
            continue
        start = placer.next_start(it, max(it.start_s, bound(it)))
        if start is not None:
            out.append(Item(it.j, start, it.duration_s))
    return out


def _finish(placer, items, feasible, value, protected) -> tuple[float, list[Item]]:
    placer.items, placer._chains = items, None
    placed = {it.j for it in placer.items}
    improve(placer, [j for j in feasible if j not in placed], value, protected)
    return float(sum(value[it.j] for it in placer.items)), list(placer.items)


def exact_nights(
    placer,
    hint: list[Item],
    feasible: list[int],
    value: np.ndarray,
    protected: set[int],
    budget_s: float,
    prev_s: dict[str, float] | None = None,
    keep_hint: list[Item] | None = None,
    floor_value: float = 0.0,
    loss: float = 0.01,
) -> list[tuple[float, list[Item]]]:
    """The solver's nights (value, items): the most valuable one and, with `prev_s`, the one
    keeping most previous entries in place within `loss` of the best value known
    (`floor_value` is that best before the solver). Empty when the night is too big, the
    budget is 0 or the solver fails (logged)."""
    if budget_s <= 0:
        return []
    fixed = [it for it in hint if it.pinned or it.j in protected]
    fixed_rows = {it.j for it in fixed}
    movable = [j for j in feasible if j not in fixed_rows]
    if not movable or len(movable) > EXACT_MAX_SEQUENCES:
        return []
    saved = list(placer.items)
    nights: list[tuple[float, list[Item]]] = []
    try:
        model = _Model(placer, movable, fixed, value, hint)
        model.model.Maximize(model.total)
        starts = model.solve(budget_s)
        if starts is not None:
            items = retime(placer, fixed, starts, protected)
            if items is not None:
                nights.append(_finish(placer, items, feasible, value, protected))
        if prev_s:
            best = max([floor_value] + [v for v, _ in nights])
            keep_from = keep_hint or hint
            nights.extend(
                _stable_night(
                    placer,
                    movable,
                    fixed,
                    value,
                    protected,
                    feasible,
                    keep_from,
                    prev_s,
                    best,
                    budget_s * STABLE_BUDGET_FACTOR,
                    loss,
                )
            )
    except Exception:  # a night is never left without a schedule: keep the search's
        log.warning("planner solver failed; keeping the local search's night", exc_info=True)
        nights = []
    placer.items, placer._chains = saved, None
    return nights


def _stable_night(
    placer, movable, fixed, value, protected, feasible, hint, prev_s, best, budget_s, loss
) -> list[tuple[float, list[Item]]]:
    """Keep as many previous entries at their start as possible, value >= (1 - loss) x best."""
    model = _Model(placer, movable, fixed, value, hint)
    m, step = model.model, placer.step
    rows = {placer.specs[j].id: j for j in model.x}
    keep = []
    for ident, start_s in sorted(prev_s.items()):
        j = rows.get(ident)
        if j is None:
            continue
        i = int(round(start_s / step))
        if abs(i * step - start_s) > EPS_S or not 0 <= i < placer.grid.n:
            continue
        if not placer.vis.can_start[j, i]:
            continue
        k = m.NewBoolVar(f"k{j}")
        m.Add(model.x[j] == i).OnlyEnforceIf(k)
        m.AddImplication(k, model.present[j])
        at = {it.j: it.start_s for it in hint}
        m.AddHint(k, bool(abs(at.get(j, -1.0) - start_s) < EPS_S))
        keep.append(k)
    if not keep:
        return []
    fixed_value = sum(value[it.j] for it in fixed)
    need = (1.0 - loss) * best - fixed_value
    m.Add(model.total >= int(math.ceil(need * VALUE_SCALE)))
    m.Maximize(sum(keep))  # the refill below takes what value is left in the free time
    starts = model.solve(budget_s, may_be_infeasible=True)
    if starts is None:
        return []
    items = retime(placer, fixed, starts, protected)
    if items is None:
        return []
    placer.items, placer._chains = items, None
    placed = {it.j for it in items}
    improve(placer, [j for j in feasible if j not in placed], value, protected, displace=False)
    return [(float(sum(value[it.j] for it in placer.items)), list(placer.items))]
