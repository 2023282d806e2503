"""Re-planning from the database (SQLite and PostgreSQL): statuses, reasons, stored schedules.

The manual clock stands at 2026-11-25 04:00 UTC, inside the night of 2026-11-24 at COLIBRI.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from orchestrator.model import (
    Album,
    Channel,
    Plan,
    Request,
    Role,
    Schedule,
    Sequence,
    SequenceStatus,
    User,
    UserLevel,
)
from orchestrator.planner.service import replan

S = SequenceStatus
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
POLE = dict(ra_deg=37.95, dec_deg=89.26, min_altitude_deg=20.0)  # Polaris: up all night


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, 25, hours, minutes, tzinfo=UTC)


def add_sequences(runtime, *fields_list: dict) -> dict[str, int]:
    """Store sequences under one request; returns name -> id."""
    with runtime.sessions.begin() as session:
        user = session.scalar(select(User))
        if user is None:
            level = UserLevel(name="pi", role=Role.PI, priority=1, quota_h=50)
            user = User(username="toto", user_level=level, created=NOW)
        request = Request(name="req", user=user, submitted=NOW, source="api")
        for fields in fields_list:
            fields = dict(fields)
            filters = fields.pop("filters", ("r",))
            album = Album(
                channel=Channel.VIS, plans=[Plan(filter_name=f, exposure_s=60) for f in filters]
            )
            request.sequences.append(Sequence(target_name=fields["name"], albums=[album], **fields))
        session.add(request)
        session.flush()
        return {s.name: s.id for s in request.sequences}


def seq(name: str, priority: float, start: str, end: str, minutes: float, **extra) -> dict:
    return dict(
        name=name,
        priority=priority,
        window_start=at(start),
        window_end=at(end),
        duration_s=minutes * 60,
        **(POLE | extra),
    )


def statuses(runtime) -> dict[str, tuple[S, str]]:
    with runtime.sessions() as session:
        return {s.name: (s.status, s.status_reason) for s in session.scalars(select(Sequence))}


def latest_entries(runtime) -> list[tuple[str, str, str]]:
    with runtime.sessions() as session:
        schedule = session.scalar(select(Schedule).order_by(Schedule.id.desc()))
        return [
            (e.sequence.name, e.start.strftime("%H:%M"), e.end.strftime("%H:%M"))
            for e in schedule.entries
        ]


def test_replan_stores_a_schedule_and_moves_statuses_with_reasons(runtime):
    add_sequences(
        runtime,
        seq("a", 5, "04:00", "05:00", 60),
        seq("b", 1, "04:00", "05:00", 60),
        seq("south", 3, "02:00", "12:00", 20, ra_deg=83.63, dec_deg=-80.0, min_altitude_deg=30),
    )
    outcome = replan(runtime, trigger="new request")
    assert [(e.id, e.start) for e in outcome.result.entries][0][1] == at("04:00")
    assert latest_entries(runtime) == [("a", "04:00", "05:00")]
    found = statuses(runtime)
    assert found["a"] == (S.PLANNED, "")
    assert found["b"][0] is S.TO_BE_PLANNED and found["b"][1].startswith("outranked")
    assert found["south"][0] is S.UNPLANNABLE and found["south"][1].startswith("never up")
    with runtime.sessions() as session:
        schedule = session.get(Schedule, outcome.schedule_id)
        assert schedule.trigger == "new request"
        assert schedule.night.isoformat() == "2026-11-24"
        assert schedule.night_start < NOW < schedule.night_end
        assert schedule.score == 5.0
        assert schedule.created == NOW


def test_consecutive_replans_follow_new_requests(runtime, clock):
    add_sequences(runtime, seq("a", 3, "04:00", "06:30", 60), seq("b", 2, "04:00", "07:30", 60))
    replan(runtime)
    assert {name for name, *_ in latest_entries(runtime)} == {"a", "b"}
    # a more important request arrives; a and b move inside their windows to make room
    clock.advance(60)
    add_sequences(runtime, seq("c", 9, "04:00", "05:30", 60))
    replan(runtime, trigger="new request")
    entries = latest_entries(runtime)
    assert sorted(name for name, *_ in entries) == ["a", "b", "c"]
    assert all(start >= "04:01" for _, start, _ in entries)
    assert statuses(runtime)["c"][0] is S.PLANNED
    # then one that outranks a planned sequence: it drops back to the pool with the reason
    add_sequences(runtime, seq("d", 10, "05:00", "07:00", 120))
    replan(runtime, trigger="new request")
    found = statuses(runtime)
    assert found["d"][0] is S.PLANNED
    dropped = [n for n in ("a", "b") if found[n][0] is S.TO_BE_PLANNED]
    assert dropped and all(found[n][1].startswith("outranked") for n in dropped)
    with runtime.sessions() as session:
        assert len(session.scalars(select(Schedule)).all()) == 3


def test_an_unplannable_sequence_comes_back_when_it_can_fit(runtime):
    ids = add_sequences(runtime, seq("day", 3, "03:00", "03:10", 30))
    replan(runtime)
    assert statuses(runtime)["day"][0] is S.UNPLANNABLE
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, ids["day"])
        sequence.window_start, sequence.window_end = at("06:00"), at("07:00")
    replan(runtime)
    assert statuses(runtime)["day"][0] is S.PLANNED
    assert latest_entries(runtime) == [("day", "06:00", "06:30")]


def _start_running(runtime, name_to_id, name, started):
    with runtime.sessions.begin() as session:
        sequence = session.get(Sequence, name_to_id[name])
        sequence.plan(started)
        sequence.start(started)


def test_the_executing_sequence_stays_and_others_follow(runtime):
    ids = add_sequences(
        runtime, seq("run", 1, "03:00", "06:00", 30), seq("x", 9, "04:00", "05:00", 40)
    )
    _start_running(runtime, ids, "run", at("03:50"))
    replan(runtime)
    assert latest_entries(runtime) == [("run", "03:50", "04:20"), ("x", "04:20", "05:00")]
    assert statuses(runtime)["run"][0] is S.EXECUTING


def test_an_alert_pre_empts_the_executing_sequence(runtime):
    ids = add_sequences(runtime, seq("run", 1, "03:00", "06:00", 30))
    _start_running(runtime, ids, "run", at("03:50"))
    add_sequences(runtime, seq("grb", 1, "04:00", "05:00", 20, is_urgent=True))
    outcome = replan(runtime, trigger="alert")
    assert latest_entries(runtime) == [("grb", "04:00", "04:20")]
    assert f"sequence {ids['run']} pre-empted by urgent sequence" in _notes(runtime, outcome)
    # the majordome aborts it; the planner never changes an executing sequence's status
    assert statuses(runtime)["run"][0] is S.EXECUTING


def _notes(runtime, outcome) -> str:
    with runtime.sessions() as session:
        return session.get(Schedule, outcome.schedule_id).notes


def test_replan_after_dawn_plans_the_next_night(runtime, clock):
    clock.advance(timedelta(hours=11).total_seconds())  # 15:00 UTC, 07:00 local
    fields = seq("tomorrow", 2, "02:00", "12:00", 30)
    fields["window_start"] += timedelta(days=1)
    fields["window_end"] += timedelta(days=1)
    add_sequences(runtime, fields)
    outcome = replan(runtime)
    assert outcome.result.night.isoformat() == "2026-11-25"
    assert [e.id for e in outcome.result.entries] and statuses(runtime)["tomorrow"][0] is S.PLANNED


def test_weather_closed_delays_every_new_start(runtime):
    add_sequences(runtime, seq("a", 3, "04:00", "08:00", 30, preferred_time=at("04:15")))
    replan(runtime, trigger="weather closed", not_before=at("05:00"))
    assert latest_entries(runtime) == [("a", "05:00", "05:30")]


def test_a_sequence_running_late_keeps_the_telescope(runtime, clock):
    ids = add_sequences(
        runtime, seq("run", 1, "03:00", "06:00", 30), seq("x", 9, "04:00", "06:00", 40)
    )
    _start_running(runtime, ids, "run", at("03:20"))  # expected to end at 03:50; now 04:00
    clock.advance(5 * 60)
    replan(runtime, trigger="sequence late")
    assert latest_entries(runtime) == [("run", "03:20", "04:05"), ("x", "04:05", "04:45")]


def test_pyros_replan_stores_a_schedule(tmp_path):
    from tests.helpers import pyros

    env = {**os.environ, "PYROS_ADMIN_PASSWORD": "secret-for-tests"}
    assert pyros("init", cwd=tmp_path, env=env).returncode == 0
    run = pyros("replan", "--trigger", "operator", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("schedule 1 for night ")
    assert "0 entries, 0 unscheduled" in run.stdout


def test_status_shows_the_newest_schedule(runtime):
    from orchestrator.status import format_status, system_status

    assert system_status(runtime)["schedule"] is None
    add_sequences(runtime, seq("a", 5, "04:00", "05:00", 60), seq("b", 4, "05:00", "06:00", 30))
    replan(runtime, trigger="first")
    replan(runtime, trigger="operator")  # the newest one is shown, not the first
    schedule = system_status(runtime)["schedule"]
    assert schedule["trigger"] == "operator" and schedule["night"] == "2026-11-24"
    assert [(e["sequence"], e["status"]) for e in schedule["entries"]] == [
        ("a", "planned"),
        ("b", "planned"),
    ]
    text = format_status(system_status(runtime))
    assert "Schedule  night 2026-11-24 (times UTC), made 04:00:00 (operator), 2 entries" in text
    assert "2026-11-25 04:00 - 2026-11-25 05:00  a" in text  # times carry their date


def test_status_says_why_a_sequence_is_not_tonight(runtime):
    from orchestrator.status import format_status, system_status

    later = dict(seq("spring", 5, "04:00", "05:00", 30))
    later["window_start"] = datetime(2027, 4, 1, 3, 0, tzinfo=UTC)
    later["window_end"] = datetime(2027, 4, 2, 3, 0, tzinfo=UTC)
    add_sequences(runtime, seq("a", 5, "04:00", "05:00", 30), later)
    replan(runtime, trigger="first")
    status = system_status(runtime)
    assert status["sequences"]["to_be_planned"] == 1  # still counted, not vanished
    assert [(n["sequence"], n["reason"]) for n in status["not_tonight"]] == [
        ("spring", "window opens 2027-04-01 03:00 UTC")
    ]
    assert "not tonight: spring" in format_status(status)
