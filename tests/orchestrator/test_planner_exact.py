"""CP-SAT after the local search (`orchestrator/planner/exact.py`), its fallback, the stable
re-plan solve, and the left compaction pass (`orchestrator/planner/compact.py`)."""

from __future__ import annotations

import math
import warnings
from datetime import timedelta

import pytest

from orchestrator.planner import exact
from orchestrator.planner.bound import prove
from orchestrator.planner.check import violations
from orchestrator.planner.compact import compact_left
from orchestrator.planner.improve import Item
from orchestrator.planner.night import night_grid, observer_for
from orchestrator.planner.scheduler import _Placer
from orchestrator.planner.spec import Overheads
from orchestrator.planner.visibility import evaluate
from tests.orchestrator.test_planner import NIGHT, SITE, at, plan, seq
from tests.orchestrator.test_planner_search import GAP, random_night

# a 60-sequence night where the local search stops 2 % below the optimum (64.38)
HARD = (60, 4)


@pytest.fixture(scope="module")
def hard_night():
    specs = random_night(*HARD)
    local = plan(specs, GAP, solver_budget_s=0)
    solved = plan(specs, GAP)
    return specs, local, solved


def test_the_solver_reaches_the_proven_optimum_the_local_search_missed(hard_night):
    specs, local, solved = hard_night
    bound = prove(night_grid(SITE, NIGHT), specs, 60.0, time_limit_s=20.0, workers=1)
    assert bound.status == "OPTIMAL"
    assert local.score < 0.99 * bound.best_bound  # the case the solver is for
    assert solved.score == pytest.approx(bound.best_bound, abs=1e-6)
    by_id = {s.id: s for s in specs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert violations(solved.entries, by_id, observer_for(SITE), "nautical") == []


def test_the_solver_is_deterministic(hard_night):
    specs, _, solved = hard_night
    assert plan(list(reversed(specs)), GAP).entries == solved.entries


def test_a_failing_solver_keeps_the_local_search_night_with_a_warning(
    hard_night, monkeypatch, caplog
):
    specs, local, _ = hard_night

    def broken(self, budget_s, may_be_infeasible=False):
        raise RuntimeError("solver blew up")

    monkeypatch.setattr(exact._Model, "solve", broken)
    with caplog.at_level("WARNING"):
        result = plan(specs, GAP)
    assert result.entries == local.entries
    assert "planner solver failed" in caplog.text


def test_with_real_overheads_the_solver_night_is_retimed_and_never_worse():
    overheads = Overheads(slew_s=30, slew_rate_deg_s=2, filter_change_s=0)
    specs = random_night(50, 6)
    local = plan(specs, overheads, solver_budget_s=0)
    solved = plan(specs, overheads)
    assert solved.score >= local.score - 1e-9
    for a, b in zip(solved.entries, solved.entries[1:], strict=False):
        assert (b.start - a.end).total_seconds() >= 30 - 1e-6


def test_a_stable_replan_moves_fewer_entries_within_one_percent():
    specs = random_night(60, 4)
    first = plan(specs, GAP)
    now = at("05:00")
    pending = [e for e in first.entries if e.start >= now]
    previous = {e.id: e.start for e in pending}
    pool = [s for s in specs if s.id not in {e.id for e in first.entries if e.start < now}]
    later = now + timedelta(minutes=30)  # weather lost 30 min
    stable = plan(pool, GAP, now=later, previous=previous)
    fresh = plan(pool, GAP, now=later)
    assert stable.score >= 0.99 * fresh.score - 1e-9

    def moved(result) -> int:
        kept = {(e.id, e.start) for e in result.entries}
        return sum(1 for item in previous.items() if item not in kept)

    assert moved(stable) < moved(fresh)


def _placer(specs, overheads=GAP):
    grid = night_grid(SITE, NIGHT)
    vis = evaluate(grid, specs, -math.inf, "nautical", 0.0)
    return _Placer(grid, specs, vis, overheads), grid


def test_compaction_moves_a_late_entry_to_its_earliest_start():
    specs = [seq("a", 5, "04:00", "08:00", 60), seq("b", 5, "04:00", "08:00", 30)]
    placer, grid = _placer(specs)
    offset_s = at("04:00").timestamp() - grid.start_unix
    # a at 05:00, b at 07:00: the telescope would idle 04:00-05:00 and 06:00-07:00
    placer.items = [Item(0, offset_s + 3600, 3600), Item(1, offset_s + 3 * 3600, 1800)]
    assert compact_left(placer) == 2
    assert placer.items[0].start_s == pytest.approx(offset_s)
    # b follows a at once (the same target: no slew)
    assert placer.items[1].start_s == pytest.approx(offset_s + 3600)
    assert compact_left(placer) == 0  # nothing left to gain


def test_compaction_keeps_preferred_times_kept_entries_and_windows():
    specs = [
        seq("pref", 5, "04:00", "08:00", 30, preferred_time=at("06:00")),
        seq("kept", 5, "04:00", "08:00", 30),
        seq("late", 5, "07:00", "08:00", 30),
    ]
    placer, grid = _placer(specs)
    offset_s = at("04:00").timestamp() - grid.start_unix
    placer.items = [
        Item(0, offset_s + 105 * 60, 1800),
        Item(1, offset_s + 150 * 60, 1800),
        Item(2, offset_s + 200 * 60, 1800),
    ]
    compact_left(placer, keep={1})
    starts = [it.start_s for it in placer.items]
    assert starts[0] == pytest.approx(offset_s + 105 * 60)  # centred on its preferred time
    assert starts[1] == pytest.approx(offset_s + 150 * 60)  # where the observer saw it
    assert starts[2] == pytest.approx(offset_s + 180 * 60)  # its window opens at 07:00


def test_every_plan_is_compacted_and_keeps_its_score(monkeypatch):
    import orchestrator.planner.scheduler as scheduler

    specs = random_night(30, 3)
    result = plan(specs, GAP)
    by_id = {s.id: s for s in specs}
    placer, grid = _placer(sorted(specs, key=lambda s: s.id))
    rows = {s.id: j for j, s in enumerate(placer.specs)}
    placer.items = [
        Item(rows[e.id], e.start.timestamp() - grid.start_unix, by_id[e.id].duration_s)
        for e in result.entries
    ]
    assert compact_left(placer) == 0  # no entry could start earlier
    monkeypatch.setattr(scheduler, "compact_left", lambda placer, keep=None: 0)
    loose = plan(specs, GAP)
    assert {e.id for e in loose.entries} == {e.id for e in result.entries}
    assert result.score == pytest.approx(loose.score)
    earlier = [
        a.id for a, b in zip(loose.entries, result.entries, strict=True) if b.start < a.start
    ]
    assert earlier  # the search had left some late in their windows
