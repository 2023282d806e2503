"""The lost update between a re-plan and the majordome (SQLite and PostgreSQL).

A re-plan reads the sequences, plans (seconds on a big pool), then writes statuses back. If
meanwhile another re-plan planned a sequence and the majordome started it, the first re-plan
used to write back what it had planned from its stale read ("planned" over "executing"), and
the sequence's end then failed: "status cannot go from planned to executed".
"""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.model import Schedule, Sequence, SequenceStatus
from orchestrator.observer import progress
from orchestrator.planner import service
from tests.orchestrator.test_planner_service import NOW, add_sequences, seq

S = SequenceStatus


def test_a_replan_never_writes_back_over_a_sequence_started_meanwhile(runtime, monkeypatch):
    ids = add_sequences(runtime, seq("a", 5, "03:00", "12:00", 20))
    sid = ids["a"]
    real_plan_night = service.plan_night
    calls = []

    def plan_night_then_race(*args, **kwargs):
        result = real_plan_night(*args, **kwargs)
        calls.append(len(calls))
        if len(calls) == 1:  # the first re-plan read "a" as to-be-planned; now, before it writes:
            service.replan(runtime, "other event")  # another re-plan plans "a" ...
            progress.start(runtime, sid, NOW)  # ... and the majordome starts it
        return result

    monkeypatch.setattr(service, "plan_night", plan_night_then_race)
    service.replan(runtime, "new request")
    with runtime.sessions() as session:
        assert session.get(Sequence, sid).status == S.EXECUTING  # not written back to planned
        newest = session.scalar(select(Schedule).order_by(Schedule.id.desc()).limit(1))
        assert newest.trigger == "new request"  # the first re-plan was done again, then stored
    assert len(calls) >= 3  # the racing re-plan, and the first one once more after its conflict
    progress.finish(runtime, sid, NOW)  # raised IllegalTransition (planned -> executed) before
    with runtime.sessions() as session:
        assert session.get(Sequence, sid).status == S.EXECUTED


def test_a_replan_never_schedules_a_planned_sequence_started_meanwhile(runtime, monkeypatch):
    """Already planned, so the re-plan writes no status for it: only the check after the
    schedule's INSERT sees that the majordome started it since the read (the alert's re-plan
    stored it as a later entry, or named it "pre-empted by" itself)."""
    ids = add_sequences(
        runtime, seq("a", 5, "03:00", "12:00", 20), seq("b", 3, "03:00", "12:00", 20)
    )
    service.replan(runtime, "first plan")
    real_plan_night = service.plan_night
    calls = []

    def plan_night_then_start(*args, **kwargs):
        result = real_plan_night(*args, **kwargs)
        calls.append(len(calls))
        if len(calls) == 1:
            progress.start(runtime, ids["a"], NOW)  # the majordome starts "a" before the write
        return result

    monkeypatch.setattr(service, "plan_night", plan_night_then_start)
    service.replan(runtime, "alert")
    with runtime.sessions() as session:
        newest = session.scalar(select(Schedule).order_by(Schedule.id.desc()).limit(1))
        assert newest.trigger == "alert"
        assert session.get(Sequence, ids["a"]).status == S.EXECUTING
        entries = {e.sequence_id: e.start for e in newest.entries}
    # planned again after the conflict: "a" is the executing sequence, kept where it runs
    assert len(calls) == 2
    assert entries[ids["a"]].replace(tzinfo=None) == NOW.replace(tzinfo=None)
