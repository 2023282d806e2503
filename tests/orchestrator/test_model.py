"""Domain model on SQLite and PostgreSQL: round-trip, and the sequence life cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.errors import IllegalTransition
from orchestrator.model import (
    SEQUENCE_TRANSITIONS,
    Album,
    Alert,
    Channel,
    Country,
    Plan,
    Request,
    Role,
    Schedule,
    ScheduleEntry,
    ScientificProgram,
    Sequence,
    SequenceStatus,
    User,
    UserLevel,
    WeatherWatch,
)

S = SequenceStatus
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _request(session) -> Request:
    level = UserLevel(name="pi", role=Role.PI, priority=1, quota_h=50)
    user = User(username="toto", user_level=level, country=Country(name="Mexico"), created=T0)
    program = ScientificProgram(name="GRB", quota_h=100, members=[user], pi=user)
    request = Request(name="req 1", user=user, program=program, submitted=T0, source="xml")
    sequence = Sequence(
        name="seq 1",
        target_name="M31",
        ra_deg=10.6847,
        dec_deg=41.2690,
        window_start=T0,
        window_end=T0 + timedelta(hours=6),
        priority=4,
        duration_s=1200,
        preferred_time=T0 + timedelta(hours=1),
        max_airmass=2.0,
    )
    vis = Album(channel=Channel.VIS, plans=[Plan(filter_name="r", exposure_s=60, count=5)])
    nir = Album(
        channel=Channel.NIR, plans=[Plan(filter_name="J", exposure_s=30, count=10, binning=2)]
    )
    sequence.albums = [vis, nir]
    request.sequences.append(sequence)
    session.add(request)
    return request


def test_request_round_trip(runtime):
    with runtime.sessions.begin() as session:
        request = _request(session)
        session.flush()
        request_id = request.id
    with runtime.sessions() as session:
        request = session.get(Request, request_id)
        assert request.user.role is Role.PI
        assert request.program.members[0].username == "toto"
        (sequence,) = request.sequences
        assert sequence.status is S.TO_BE_PLANNED
        assert sequence.window_start == T0  # timezone-aware UTC back from both databases
        assert sequence.window_start.tzinfo is not None
        assert sequence.min_altitude_deg == 30.0
        assert [a.channel for a in sequence.albums] == [Channel.VIS, Channel.NIR]
        assert sequence.albums[1].plans[0].binning == 2
        assert sequence.albums[0].plans[0].exposure_s == 60


def test_schedule_alert_and_watch_round_trip(runtime):
    with runtime.sessions.begin() as session:
        request = _request(session)
        session.flush()
        schedule = Schedule(
            created=T0,
            night=T0.date(),
            night_start=T0,
            night_end=T0 + timedelta(hours=9),
            trigger="new request",
            score=3.5,
        )
        schedule.entries.append(
            ScheduleEntry(sequence=request.sequences[0], start=T0, end=T0 + timedelta(minutes=20))
        )
        session.add(schedule)
        session.add(
            Alert(
                ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1",
                mission="Swift",
                notice_type="BAT_GRB_Pos",
                received=T0,
                ra_deg=1.0,
                dec_deg=2.0,
                payload="<xml/>",
            )
        )
        session.add(
            WeatherWatch(
                measured=T0,
                is_safe=False,
                unsafe_reasons="rain",
                rain_rate_mm_h=3.2,
                synthesis={"rain": {"decision": "unsafe"}},
            )
        )
    with runtime.sessions() as session:
        schedule = session.scalar(select(Schedule))
        assert schedule.entries[0].sequence.name == "seq 1"
        assert session.scalar(select(Alert)).mission == "Swift"
        assert session.scalar(select(WeatherWatch)).synthesis["rain"]["decision"] == "unsafe"


def test_the_normal_life_of_a_sequence(runtime):
    with runtime.sessions.begin() as session:
        sequence = _request(session).sequences[0]
        sequence.plan(T0)
        sequence.start(T0)
        sequence.finish(T0 + timedelta(minutes=20))
    with runtime.sessions() as session:
        stored = session.scalar(select(Sequence))
        assert stored.status is S.EXECUTED
        assert stored.status_changed == T0 + timedelta(minutes=20)


ILLEGAL = [(frm, to) for frm in S for to in S if to not in SEQUENCE_TRANSITIONS[frm] and to != frm]


@pytest.mark.parametrize(("frm", "to"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_transitions_are_refused_and_leave_the_row_unchanged(runtime, frm, to):
    with runtime.sessions.begin() as session:
        sequence = _request(session).sequences[0]
        sequence.status, sequence.status_reason, sequence.status_changed = frm, "before", T0
    with runtime.sessions() as session:
        sequence = session.scalar(select(Sequence))
        with pytest.raises(IllegalTransition, match=f"from {frm.value} to {to.value}"):
            sequence.move_to(to, T0 + timedelta(hours=1), "after")
        assert (sequence.status, sequence.status_reason) == (frm, "before")
        session.commit()
    with runtime.sessions() as session:
        stored = session.scalar(select(Sequence))
        assert (stored.status, stored.status_reason, stored.status_changed) == (frm, "before", T0)


def test_every_status_is_in_the_transition_table():
    assert set(SEQUENCE_TRANSITIONS) == set(S)
    assert SEQUENCE_TRANSITIONS[S.EXECUTED] == frozenset()
    assert S.EXECUTING in SEQUENCE_TRANSITIONS[S.PLANNED]
    assert S.EXECUTED not in SEQUENCE_TRANSITIONS[S.TO_BE_PLANNED]


def test_naive_datetimes_are_refused(runtime):
    with pytest.raises(Exception, match="timezone-aware"), runtime.sessions.begin() as session:
        session.add(Country(name="x"))
        session.add(
            Alert(
                ivorn="i", mission="m", notice_type="n", payload="", received=datetime(2026, 1, 1)
            )
        )
    with runtime.sessions() as session:
        assert session.scalar(select(Country).where(Country.name == "x")) is None
