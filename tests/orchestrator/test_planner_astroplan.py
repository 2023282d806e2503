"""`FastPriorityScheduler`: our planner behind astroplan's Scheduler interface, same blocks.

Small on purpose: astroplan's PriorityScheduler takes seconds even for a dozen blocks.
"""

from __future__ import annotations

import random
import warnings

import astropy.units as u
import pytest
from astroplan import (
    AirmassConstraint,
    AltitudeConstraint,
    AtNightConstraint,
    FixedTarget,
    MoonSeparationConstraint,
    Observer,
    ObservingBlock,
)
from astroplan.scheduling import PriorityScheduler, Schedule, TransitionBlock, Transitioner
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from orchestrator.planner.astroplan_api import FastPriorityScheduler

OBSERVER = Observer(EarthLocation.from_geodetic(-115.4637, 31.0442, 2790))
DUSK, DAWN = Time("2026-11-25T01:37:00"), Time("2026-11-25T13:20:00")


def blocks(count: int, seed: int) -> list:
    rng = random.Random(seed)
    result = []
    for i in range(count):
        target = FixedTarget(
            SkyCoord(rng.uniform(0, 360), rng.uniform(-20, 70), unit="deg"), f"t{i}"
        )
        constraints = [
            AltitudeConstraint(min=30 * u.deg),
            AirmassConstraint(max=2.0),
            AtNightConstraint.twilight_nautical(),
            MoonSeparationConstraint(min=25 * u.deg),
        ]
        priority = rng.randrange(1, 6)  # astroplan: lower number first
        result.append(
            ObservingBlock(target, rng.randrange(20, 90) * u.min, priority, constraints=constraints)
        )
    return result


def run(scheduler_class, items):
    schedule = Schedule(DUSK, DAWN)
    scheduler = scheduler_class(
        constraints=[],
        observer=OBSERVER,
        transitioner=Transitioner(slew_rate=1 * u.deg / u.s),
        time_resolution=60 * u.s,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler(items, schedule)
    return schedule


def value(schedule) -> float:
    return sum(
        (6 - b.priority) * b.duration.to_value(u.h)
        for b in schedule.scheduled_blocks
        if isinstance(b, ObservingBlock)
    )


def test_fills_an_astroplan_schedule_with_blocks_and_transitions():
    items = blocks(16, seed=5)
    schedule = run(FastPriorityScheduler, items)
    observing = [b for b in schedule.scheduled_blocks if isinstance(b, ObservingBlock)]
    assert len(observing) >= 8
    assert any(isinstance(b, TransitionBlock) for b in schedule.scheduled_blocks)
    table = schedule.to_table()
    assert len(table) >= len(observing)
    for block in observing:  # astroplan's own functions agree, at instants inside each block
        times = block.start_time + (block.end_time - block.start_time) * [0.001, 0.5, 0.999]
        for constraint in block.constraints:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert constraint(OBSERVER, block.target, times=times).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_scores_at_least_as_well_as_priority_scheduler_on_the_same_blocks(seed):
    ours = value(run(FastPriorityScheduler, blocks(14, seed)))
    theirs = value(run(PriorityScheduler, blocks(14, seed)))
    assert ours >= theirs - 1e-9


def test_refuses_a_constraint_it_does_not_model():
    from astroplan import GalacticLatitudeConstraint

    item = blocks(1, seed=1)[0]
    item.constraints.append(GalacticLatitudeConstraint(min=10 * u.deg))
    with pytest.raises(ValueError, match="GalacticLatitudeConstraint is not supported"):
        run(FastPriorityScheduler, [item])
