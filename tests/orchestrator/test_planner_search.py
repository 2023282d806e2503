"""The local search, stable re-plans, time-critical sequences, quotas, and the CP-SAT bound;
schedules re-checked by astroplan's own constraints (`orchestrator/planner/check.py`)."""

from __future__ import annotations

import math
import random
import warnings
from datetime import timedelta

import pytest

from orchestrator.planner.bound import prove
from orchestrator.planner.check import violations
from orchestrator.planner.night import night_grid, observer_for
from orchestrator.planner.spec import Overheads, PlanEntry, SequenceSpec
from tests.orchestrator.test_planner import NIGHT, SITE, at, placed, plan, reasons, seq

GAP = Overheads(slew_s=60.0, slew_rate_deg_s=math.inf, filter_change_s=0.0)


def random_night(count: int, seed: int) -> list[SequenceSpec]:
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        start = at("02:00") + timedelta(minutes=rng.randrange(0, 600))
        windowed = rng.random() < 0.3
        specs.append(
            SequenceSpec(
                id=f"r{i:03d}",
                ra_deg=rng.uniform(0, 360),
                dec_deg=rng.uniform(-25, 70),
                duration_s=rng.randrange(5, 31) * 60.0,
                priority=float(rng.randrange(1, 11)),
                window_start=start if windowed else None,
                window_end=start + timedelta(hours=rng.uniform(2, 5)) if windowed else None,
                min_altitude_deg=30.0,
            )
        )
    return specs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_search_never_scores_below_the_greedy_and_stays_valid(seed):
    specs = random_night(60, seed)
    greedy = plan(specs, GAP, search_rounds=0)
    searched = plan(specs, GAP)
    assert searched.score >= greedy.score - 1e-9
    assert plan(list(reversed(specs)), GAP).entries == searched.entries  # deterministic
    by_id = {s.id: s for s in specs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = violations(searched.entries, by_id, observer_for(SITE), "nautical")
    assert found == []


def test_check_flags_an_entry_outside_its_constraints():
    spec = seq("late", 5, "02:00", "03:00", 30)
    bad = PlanEntry("late", at("13:30"), at("14:00"))  # after dawn, outside its window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = violations([bad], {"late": spec}, observer_for(SITE), "nautical")
    assert "late: AtNightConstraint broken" in found
    assert "late: TimeConstraint broken" in found


def test_cp_sat_bound_is_above_our_score_and_close_to_it():
    specs = random_night(25, 7)
    ours = plan(specs, GAP)
    bound = prove(night_grid(SITE, NIGHT), specs, 60.0, time_limit_s=20.0, workers=1)
    assert bound.status == "OPTIMAL"
    assert bound.best_bound >= ours.score - 1e-6
    assert ours.score >= 0.9 * bound.best_bound


def test_a_replan_keeps_the_entries_the_observer_saw():
    specs = random_night(60, 4)
    first = plan(specs, GAP)
    previous = {e.id: e.start for e in first.entries}
    extra = seq("new", 1, "02:00", "13:00", 10)  # low priority: must not reshuffle the night
    again = plan(specs + [extra], GAP, previous=previous)
    kept = {(e.id, e.start) for e in again.entries}
    moved = [e.id for e in first.entries if (e.id, e.start) not in kept]
    assert moved == []
    assert again.score >= 0.99 * plan(specs + [extra], GAP).score


def test_time_critical_sequence_is_placed_exactly_or_named():
    transit = seq("transit", 5, "04:00", "04:40", 35)  # window < duration + 20 %
    other = seq("other", 5, "03:30", "06:00", 60)
    result = plan([other, transit])
    start, end = placed(result)["transit"]
    assert at("04:00").strftime("%H:%M") <= start and end <= "04:40"
    bigger = seq("bigger", 9, "03:50", "04:50", 60)
    taken = plan([bigger, transit])
    assert reasons(taken)["transit"].startswith("outranked (time-critical)")
    assert "bigger" in reasons(taken)["transit"]


def test_a_country_without_hours_left_names_its_quota():
    spec = SequenceSpec(**{**seq("fr", 5, "02:00", "12:00", 60).__dict__, "country": "France"})
    result = plan([spec], country_left_h={"France": 0.5})
    assert (
        reasons(result)["fr"] == "country quota: France has 0.50 h left, the sequence needs 1.00 h"
    )
    assert placed(plan([spec], country_left_h={"France": 2.0}))["fr"]


def test_equal_priorities_favour_the_program_with_more_share_left():
    used = SequenceSpec(**{**seq("a-used", 5, "04:00", "05:00", 60).__dict__, "share_used": 0.9})
    fresh = SequenceSpec(**{**seq("b-fresh", 5, "04:00", "05:00", 60).__dict__, "share_used": 0.1})
    result = plan([used, fresh])
    assert list(placed(result)) == ["b-fresh"]
    assert reasons(result)["a-used"].startswith("outranked")


def test_a_failing_search_falls_back_to_the_greedy_plan_with_a_warning(monkeypatch, caplog):
    import orchestrator.planner.scheduler as scheduler

    specs = random_night(30, 5)
    greedy = plan(specs, GAP, search_rounds=0)

    def broken(*args, **kwargs):
        raise RuntimeError("search blew up")

    monkeypatch.setattr(scheduler, "search", broken)
    with caplog.at_level("WARNING"):
        result = plan(specs, GAP)
    assert result.entries == greedy.entries
    assert "keeping the greedy plan" in caplog.text


def test_a_countrys_entries_together_stay_within_its_hours_left():
    specs = [
        SequenceSpec(**{**seq(name, prio, "02:00", "12:00", 60).__dict__, "country": "Chile"})
        for name, prio in (("c1", 9), ("c2", 5), ("c3", 7))
    ]
    result = plan(specs, country_left_h={"Chile": 2.5})
    assert sorted(placed(result)) == ["c1", "c3"]
    assert reasons(result)["c2"].startswith("country quota: Chile has 2.50 h left")
