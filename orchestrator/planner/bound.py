"""The best score a night allows, proven by OR-Tools CP-SAT: the yardstick of the benchmark.

Same grid, same allowed starts as the planner (`visibility.evaluate`); every entry is followed by
a fixed gap of `gap_s`, so with gap_s <= the smallest real overhead the model is a relaxation
and its proven bound is an upper bound on any schedule the planner could make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestrator.planner.night import NightGrid
from orchestrator.planner.spec import SequenceSpec
from orchestrator.planner.visibility import evaluate

SCORE_SCALE = 1000  # CP-SAT wants integers: priority x seconds in thousandths


@dataclass(frozen=True)
class Bound:
    status: str  # OPTIMAL, FEASIBLE, ...
    best_bound: float  # Σ priority x hours that no schedule can exceed
    best_found: float  # Σ priority x hours of the best schedule CP-SAT found
    wall_s: float


def allowed_runs(allowed: np.ndarray) -> list[list[int]]:
    """[[a, b], ...] runs of consecutive allowed grid points, for Domain.FromIntervals."""
    idx = np.flatnonzero(allowed)
    if not idx.size:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [[int(a), int(b)] for a, b in zip(starts, ends, strict=True)]


def prove(
    grid: NightGrid,
    specs: list[SequenceSpec],
    gap_s: float,
    time_limit_s: float,
    default_twilight: str = "nautical",
    horizon_deg: float = 0.0,
    workers: int = 2,
    hint: dict[str, int] | None = None,
) -> Bound:
    """Maximise Σ priority x duration over optional entries that do not overlap (+ gap_s).

    `hint` maps sequence ids to grid indices of a known schedule (e.g. ours) to start from.
    """
    from ortools.sat.python import cp_model

    specs = sorted(specs, key=lambda s: s.id)
    vis = evaluate(grid, specs, -np.inf, default_twilight, horizon_deg)
    step = int(round(grid.step_s))
    model = cp_model.CpModel()
    intervals, terms = [], []
    for j, spec in enumerate(specs):
        runs = allowed_runs(vis.can_start[j])
        if not runs:
            continue
        x = model.NewIntVarFromDomain(cp_model.Domain.FromIntervals(runs), f"x{j}")
        present = model.NewBoolVar(f"p{j}")
        size = int(np.ceil(spec.duration_s + gap_s))
        intervals.append(model.NewOptionalFixedSizeIntervalVar(step * x, size, present, f"i{j}"))
        terms.append((int(round(spec.priority * spec.duration_s * SCORE_SCALE)), present))
        if hint is not None:
            model.AddHint(present, spec.id in hint)
            if spec.id in hint:
                model.AddHint(x, hint[spec.id])
    model.AddNoOverlap(intervals)
    model.Maximize(sum(c * p for c, p in terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    status = solver.Solve(model)
    to_score = 1.0 / (SCORE_SCALE * 3600.0)
    found = (
        solver.ObjectiveValue() * to_score if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0
    )
    return Bound(
        status=solver.StatusName(status),
        best_bound=solver.BestObjectiveBound() * to_score,
        best_found=found,
        wall_s=solver.WallTime(),
    )
