"""Which entry of the newest schedule the majordome starts (SQLite and PostgreSQL): a routine
entry while its slot spans now; an urgent one (an alert's) from its start while its window is
open, before any routine one. Found in the simulated night: after a restart at ×300 the
alert's 93 s slot passed before the first tick, and a routine sequence went first."""

from __future__ import annotations

from datetime import date

from orchestrator.devices.registry import Devices
from orchestrator.majordome.core import Majordome
from orchestrator.model import Schedule, ScheduleEntry, Sequence, SequenceStatus
from tests.orchestrator.test_planner_service import add_sequences, at, seq


def _schedule(runtime, slots: dict[int, tuple[str, str]]) -> None:
    with runtime.sessions.begin() as session:
        schedule = Schedule(
            created=at("03:00"),
            night=date(2026, 11, 24),
            night_start=at("01:00"),
            night_end=at("12:00"),
            trigger="test",
        )
        for sequence_id, (start, end) in slots.items():
            session.get(Sequence, sequence_id).status = SequenceStatus.PLANNED
            schedule.entries.append(
                ScheduleEntry(sequence_id=sequence_id, start=at(start), end=at(end))
            )
        session.add(schedule)


def test_a_missed_urgent_slot_stays_due_first_and_a_missed_routine_one_does_not(runtime, clock):
    ids = add_sequences(
        runtime,
        seq("routine", 5, "03:00", "12:00", 30),
        seq("alert", 10, "03:00", "04:30", 2, is_urgent=True),
        seq("missed", 5, "03:00", "12:00", 10),
    )
    _schedule(
        runtime,
        {ids["missed"]: ("03:40", "03:50"), ids["alert"]: ("03:52", "03:54"),
         ids["routine"]: ("03:55", "04:25")},
    )  # fmt: skip
    majordome = Majordome(runtime, Devices(), observer=None)
    assert majordome.next_due() == ids["alert"]  # 04:00: its slot passed, its window is open
    with runtime.sessions.begin() as session:
        session.get(Sequence, ids["alert"]).status = SequenceStatus.EXECUTED
    assert majordome.next_due() == ids["routine"]  # "missed" is not due any more
    clock.advance(35 * 60)  # 04:35: the routine slot has passed too
    assert majordome.next_due() is None


def test_an_urgent_sequence_whose_window_closed_is_not_due(runtime, clock):
    ids = add_sequences(runtime, seq("alert", 10, "03:00", "03:58", 2, is_urgent=True))
    _schedule(runtime, {ids["alert"]: ("03:52", "03:54")})
    assert Majordome(runtime, Devices(), observer=None).next_due() is None
