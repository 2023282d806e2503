# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""Restart recovery: a sequence left EXECUTING by a killed orchestrator goes back to the pool
(cause interrupted, quota refunded) and keeps its frames; progress rows move with execution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from orchestrator.errors import IllegalTransition
from orchestrator.model import Image, Sequence, SequenceStatus, User
from orchestrator.observer import progress, recover_interrupted
from orchestrator.requests.xml_io import parse_request
from tests.orchestrator.request_helpers import (  # noqa: F401 - site, builder are fixtures
    builder,
    example,
    site,
)


def _submit_planned(site, builder) -> int:
    done = builder.submit(site.sessions, parse_request(example(1)).spec, "paula", "xml")
    (sequence_id,) = done.sequence_ids
    with site.sessions.begin() as session:
        session.get(Sequence, sequence_id).plan(site.clock.now())
    return sequence_id


def _used_h(runtime) -> float:
    with runtime.sessions() as session:
        return session.scalar(select(User.used_h).where(User.username == "paula"))


def test_recover_interrupted_refunds_and_keeps_frames(site, builder):
    sequence_id = _submit_planned(site, builder)
    before_h = _used_h(site)
    work = progress.start(site, sequence_id, site.clock.now())
    assert [a.channel for a in work.albums] == ["VIS", "NIR"]
    assert _used_h(site) == pytest.approx(before_h + 600 / 3600)
    first_plan = work.albums[0].plans[0]
    progress.set_plan(site, first_plan.id, progress.RUNNING, 1)
    progress.set_progress(site, sequence_id, "VIS g frame 2/3")
    with site.sessions.begin() as session:
        session.add(
            Image(
                path="/data/frame.fits",
                image_type="light",
                channel="VIS",
                date_obs=datetime(2026, 11, 25, 3, 59, tzinfo=UTC),
                night="20261124",
                exposure_s=30.0,
                sequence_id=sequence_id,
                plan_id=first_plan.id,
            )
        )
    with pytest.raises(IllegalTransition):  # no sequence runs twice at once
        progress.start(site, sequence_id, site.clock.now())

    assert recover_interrupted(site) == [sequence_id]
    assert recover_interrupted(site) == []  # once only

    with site.sessions() as session:
        sequence = session.get(Sequence, sequence_id)
        assert sequence.status == SequenceStatus.TO_BE_PLANNED
        assert sequence.status_reason.startswith("interrupted: ")
        assert sequence.progress == ""
        plan = sequence.albums[0].plans[0]
        assert (plan.status, plan.frames_done) == ("failed", 1)
        kept = session.scalars(select(Image.path).where(Image.sequence_id == sequence_id)).all()
    assert kept == ["/data/frame.fits"]
    assert _used_h(site) == pytest.approx(before_h)


def test_only_a_planned_sequence_starts(site, builder):
    done = builder.submit(site.sessions, parse_request(example(1)).spec, "paula", "xml")
    before_h = _used_h(site)
    with pytest.raises(IllegalTransition, match="to_be_planned to executing"):
        progress.start(site, done.sequence_ids[0], site.clock.now())
    assert _used_h(site) == before_h


def test_replan_trigger_says_when_a_sequence_ended_off_schedule(site, builder):
    from datetime import timedelta

    from orchestrator.model import Schedule, ScheduleEntry
    from orchestrator.observer import ExecutionResult, replan_trigger, schedule_offset_s

    sequence_id = _submit_planned(site, builder)
    now = site.clock.now()
    executed = ExecutionResult(sequence_id, "executed", None, "", 10)
    assert schedule_offset_s(site, sequence_id, now) is None
    assert replan_trigger(site, executed, now) is None  # never scheduled: nothing to shift
    with site.sessions.begin() as session:
        for minutes, end in ((-60, now - timedelta(hours=1)), (0, now + timedelta(minutes=10))):
            schedule = Schedule(
                created=now + timedelta(minutes=minutes),
                night=now.date(),
                night_start=now - timedelta(hours=2),
                night_end=now + timedelta(hours=6),
            )
            schedule.entries.append(
                ScheduleEntry(sequence_id=sequence_id, start=end - timedelta(minutes=10), end=end)
            )
            session.add(schedule)
    # the latest schedule counts: it ends 10 min from now
    assert schedule_offset_s(site, sequence_id, now) == pytest.approx(-600)
    assert replan_trigger(site, executed, now) == "sequence ended early"
    assert replan_trigger(site, executed, now + timedelta(minutes=9)) is None
    assert replan_trigger(site, executed, now + timedelta(minutes=13)) == "sequence ended late"
    failed = ExecutionResult(sequence_id, "failed", "weather", "rain", 0)
    assert replan_trigger(site, failed, now + timedelta(minutes=10)) == "sequence failed: weather"
