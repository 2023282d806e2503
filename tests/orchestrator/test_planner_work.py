"""The local search's work bounds: on 200 sequences whose windows are the whole night (every
move has the whole pool as neighbours), each relocation and drop call stays within its budget
of spot evaluations, counted by `improve.WORK`, never timed; the schedule stays deterministic."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from orchestrator.planner import improve, search
from orchestrator.planner.night import from_unix, night_grid
from orchestrator.planner.spec import Overheads, SequenceSpec
from tests.orchestrator.test_planner import NIGHT, SITE, plan

GAP = Overheads(slew_s=60.0, slew_rate_deg_s=math.inf, filter_change_s=0.0)


def whole_night(count: int, seed: int) -> list[SequenceSpec]:
    """Targets transiting at 45-85° at a random time of the night, windows dusk to dawn."""
    rng = random.Random(seed)
    grid = night_grid(SITE, NIGHT)
    dusk, dawn = grid.twilights["nautical"]
    first, last = (int((t - grid.start_unix) / grid.step_s) for t in (dusk + 3600, dawn - 3600))
    specs = []
    for i in range(count):
        lst_deg = math.degrees(grid.lst_rad[rng.randrange(first, last)]) % 360
        dec = SITE.latitude_deg + (90 - rng.uniform(45, 85)) * rng.choice((1, -1))
        specs.append(
            SequenceSpec(
                id=f"w{i:03d}",
                ra_deg=lst_deg,
                dec_deg=dec,
                duration_s=rng.randrange(5, 31) * 60.0,
                priority=float(rng.randrange(1, 11)),
                window_start=from_unix(dusk),
                window_end=from_unix(dawn),
                min_altitude_deg=30.0,
            )
        )
    return specs


@pytest.fixture(scope="module")
def pool() -> list[SequenceSpec]:
    return whole_night(200, 7)


def per_call(monkeypatch, name: str) -> list[Counter]:
    """The change of `improve.WORK` over each call of the search's `name` move."""
    calls: list[Counter] = []
    move = getattr(search, name)

    def counted(*args, **kwargs):
        before = Counter(improve.WORK)
        moves = move(*args, **kwargs)
        delta = Counter(improve.WORK)
        delta.subtract(before)
        calls.append(delta)
        return moves

    monkeypatch.setattr(search, name, counted)
    return calls


def test_every_window_spans_the_night(pool):
    grid = night_grid(SITE, NIGHT)
    dusk, dawn = grid.twilights["nautical"]
    assert all(s.window_start == from_unix(dusk) and s.window_end == from_unix(dawn) for s in pool)
    result = plan(pool, GAP)
    assert 20 <= len(result.entries) < len(pool)  # a full night, most of the pool left over


def test_relocate_and_drop_stay_within_their_work_budget(pool, monkeypatch):
    relocations = per_call(monkeypatch, "relocate")
    drops = per_call(monkeypatch, "drop")
    improvements = per_call(monkeypatch, "improve")
    plan(pool, GAP)
    assert len(relocations) >= 6 and drops  # the greedy night and every sweep's
    for delta in relocations:
        assert delta["relocate calls"] == 1
        # without the budget, 1,400-2,500 per call here (before `meets`, ~4,000 spots)
        assert 0 < delta["relocate work"] <= improve.RELOCATE_WORK
        assert delta["spot"] <= delta["relocate work"]  # spots are part of that work
    for delta in drops:
        assert delta["drop work"] <= improve.DROP_WORK
    for delta in improvements:
        assert delta["chain"] <= improve.budget(len(pool), 400)


def test_a_smaller_budget_bounds_the_work_and_still_plans(pool, monkeypatch):
    relocations = per_call(monkeypatch, "relocate")
    monkeypatch.setattr(improve, "RELOCATE_WORK", 60)
    monkeypatch.setattr(improve, "DROP_WORK", 60)
    greedy = plan(pool, GAP, search_rounds=0)
    bounded = plan(pool, GAP)
    assert relocations and all(d["relocate work"] <= 60 for d in relocations)
    assert any(d["relocate work"] > 0 for d in relocations)
    assert bounded.score >= greedy.score - 1e-9
    assert plan(list(reversed(pool)), GAP).entries == bounded.entries  # deterministic


def test_the_schedule_is_deterministic_under_the_budget(pool):
    first = plan(pool, GAP)
    improve.WORK.clear()
    again = plan(list(reversed(pool)), GAP)
    assert again.entries == first.entries
    assert improve.WORK["relocate work"] > 0  # the bounded move ran
