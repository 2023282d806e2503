"""The orchestrator's planner job re-plans on the events of seed §5.2, and only on them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from orchestrator.model import Request, Schedule, Sequence, SequenceStatus, WeatherWatch
from orchestrator.planner.triggers import ReplanTriggers
from tests.orchestrator.test_planner_service import add_sequences, seq

S = SequenceStatus


def _schedules(runtime) -> list[Schedule]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Schedule).order_by(Schedule.id)))


def _submit(runtime, *sequences: dict) -> dict[str, int]:
    ids = add_sequences(runtime, *sequences)
    with runtime.sessions.begin() as session:  # submitted now, on the test's clock
        session.execute(update(Request).values(submitted=runtime.clock.now()))
    return ids


def _weather(runtime, is_safe: bool) -> None:
    with runtime.sessions.begin() as session:
        session.query(WeatherWatch).delete()
        session.add(
            WeatherWatch(
                measured=runtime.clock.now(),
                is_safe=is_safe,
                unsafe_reasons="" if is_safe else "rain",
            )
        )


def test_replans_on_new_request_and_ending_and_stays_quiet_otherwise(runtime, clock):
    triggers = ReplanTriggers(runtime)
    assert triggers.pending_trigger() == "first plan"
    triggers.run()
    assert [s.trigger for s in _schedules(runtime)] == ["first plan"]
    assert triggers.pending_trigger() is None

    clock.advance(60)
    ids = _submit(runtime, seq("a", 5, "04:00", "08:00", 20))
    assert triggers.pending_trigger() == "new request"
    clock.advance(1)
    triggers.run()
    assert _schedules(runtime)[-1].trigger == "new request"
    with runtime.sessions() as session:
        assert session.get(Sequence, ids["a"]).status is S.PLANNED
    assert triggers.pending_trigger() is None

    clock.advance(60)
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, ids["a"])
        sequence.start(clock.now())
        clock.advance(600)
        sequence.finish(clock.now())
    clock.advance(1)
    assert triggers.pending_trigger() == "sequence ended"
    triggers.run()
    assert triggers.pending_trigger() is None
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Schedule)) == 3


def test_weather_closing_replans_with_starts_after_the_reopen_delay(runtime, clock):
    triggers = ReplanTriggers(runtime)
    _weather(runtime, True)
    triggers.run()  # first plan, and the safe verdict is remembered
    clock.advance(60)
    ids = _submit(runtime, seq("b", 5, "04:00", "12:00", 20))
    clock.advance(1)
    _weather(runtime, True)  # the gateway keeps writing
    triggers.run()
    assert _schedules(runtime)[-1].trigger == "new request"
    _weather(runtime, False)
    assert triggers.pending_trigger() == "weather closed"
    triggers.run()
    schedule = _schedules(runtime)[-1]
    assert schedule.trigger == "weather closed"
    delay = timedelta(seconds=runtime.config.safety.reopen_delay_s)
    (entry,) = [e for e in _entries(runtime, schedule.id) if e.sequence_id == ids["b"]]
    assert entry.start >= clock.now() + delay
    _weather(runtime, True)
    assert triggers.pending_trigger() == "weather reopened"


def test_stale_weather_counts_as_closed(runtime, clock):
    triggers = ReplanTriggers(runtime)
    _weather(runtime, True)
    triggers.run()
    clock.advance(runtime.config.safety.stale_after_s + 1)  # the gateway stopped writing
    assert triggers.pending_trigger() == "weather closed"


def _entries(runtime, schedule_id: int):
    with runtime.sessions() as session:
        return list(session.get(Schedule, schedule_id).entries)


def test_a_sequence_recovered_after_a_kill_is_planned_again(runtime, clock):
    """A killed orchestrator leaves its sequence EXECUTING; the restarted one puts it back in
    the pool (recover_interrupted): that alone must make the next planner run re-plan it."""
    from orchestrator.observer import recover_interrupted

    triggers = ReplanTriggers(runtime)
    ids = _submit(runtime, seq("k", 5, "04:00", "12:00", 20))
    clock.advance(1)
    triggers.run()
    with runtime.sessions.begin() as session:
        session.get(Sequence, ids["k"]).start(clock.now())
    clock.advance(300)  # killed mid-sequence; the supervisor restarts the process
    assert recover_interrupted(runtime) == [ids["k"]]
    restarted = ReplanTriggers(runtime)  # the new process's planner job
    assert restarted.pending_trigger() == "sequence back in the pool"
    restarted.run()
    schedule = _schedules(runtime)[-1]
    assert schedule.trigger == "sequence back in the pool"
    assert [e.sequence_id for e in _entries(runtime, schedule.id)] == [ids["k"]]
    with runtime.sessions() as session:
        assert session.get(Sequence, ids["k"]).status is S.PLANNED
    clock.advance(1)
    assert restarted.pending_trigger() is None


def test_a_planned_slot_gone_by_unused_is_planned_again(runtime, clock):
    """A plan stored after its first slot began (a cold re-plan at ×300 takes 20 min of
    night) or a slot missed while closed: the sequence stays PLANNED, the majordome only
    starts a slot that spans now, and nothing else would place it again."""
    triggers = ReplanTriggers(runtime)
    ids = _submit(runtime, seq("m", 5, "04:00", "12:00", 20))
    clock.advance(1)
    triggers.run()
    (entry,) = _entries(runtime, _schedules(runtime)[-1].id)
    assert triggers.pending_trigger() is None
    end = entry.end.replace(tzinfo=None)
    clock.advance((end - clock.now().replace(tzinfo=None)).total_seconds() + 1)
    assert triggers.pending_trigger() == "planned slot missed"
    triggers.run()
    (again,) = _entries(runtime, _schedules(runtime)[-1].id)
    assert again.sequence_id == ids["m"] and again.start.replace(tzinfo=None) >= end
    assert triggers.pending_trigger() is None


def test_an_urgent_sequence_due_over_the_running_one_is_handed_to_the_majordome(runtime, clock):
    """The planner job calls the majordome's pre-emption for an urgent sequence it placed
    over the executing one, only when that entry starts now: one placed later (its window,
    sky or twilight) waits to be due."""
    calls = []
    triggers = ReplanTriggers(runtime, on_urgent=lambda sid, why: calls.append((sid, why)))
    ids = _submit(runtime, seq("running", 5, "04:00", "12:00", 30))
    clock.advance(1)
    triggers.run()
    with runtime.sessions.begin() as session:
        session.get(Sequence, ids["running"]).start(clock.now())
    clock.advance(60)
    later = _submit(runtime, seq("later", 9, "04:15", "12:00", 5, is_urgent=True))
    clock.advance(1)
    triggers.run()
    with runtime.sessions() as session:
        schedule = session.scalar(select(Schedule).order_by(Schedule.id.desc()))
    assert f"pre-empted by urgent sequence {later['later']}" in schedule.notes  # placed over it
    assert calls == []  # but at 04:15, not now
    clock.advance(1)
    now = _submit(runtime, seq("now", 9, "04:00", "12:00", 5, is_urgent=True))
    clock.advance(1)
    triggers.run()
    assert calls == [(now["now"], f"re-plan (new request): urgent sequence {now['now']} due")]
