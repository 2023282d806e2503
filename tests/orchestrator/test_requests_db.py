# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""The request builder against a real database (SQLite and PostgreSQL): every example stored,
every bad file refused with no row added, XML → database → XML unchanged, roles and quotas."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import Channel, Request, ScientificProgram, User
from orchestrator.requests.builder import spec_of_request
from orchestrator.requests.xml_io import parse_request, request_to_xml, submit_xml
from orchestrator.users import (
    ROLE_PERMISSIONS,
    FailureCause,
    Forbidden,
    Permission,
    authenticate,
    fail_execution,
    quota_state,
    start_execution,
)
from tests.orchestrator.request_helpers import (  # noqa: F401 - site, builder are fixtures
    EXAMPLES,
    PASSWORD,
    builder,
    example,
    row_counts,
    site,
    variant,
)


def _set_quota(runtime, model, name_column, name, quota_h):
    with runtime.sessions.begin() as session:
        session.scalars(select(model).where(name_column == name)).one().quota_h = quota_h


def test_every_example_is_stored_with_its_sequences_albums_and_plans(site, builder):
    submitted = []
    for path in EXAMPLES:
        submitted.append(submit_xml(builder, site.sessions, path.read_bytes(), path.name, "alice"))
    counts = row_counts(site)
    assert counts["request"] == 10 and counts["sequence"] == 13
    with site.sessions() as session:
        request = session.get(Request, submitted[0].request_id)
        assert request.user.username == "alice" and request.program.name == "ROUTINE"
        assert request.source == "xml" and request.submitted == site.clock.now()
        sequence = request.sequences[0]
        assert (sequence.target_name, sequence.ra_deg, sequence.dec_deg) == (
            "M42",
            83.8221,
            -5.3911,
        )
        assert sequence.status == "to_be_planned"
        assert [a.channel for a in sequence.albums] == [Channel.VIS, Channel.NIR]
        assert [(p.filter_name, p.exposure_s, p.count) for p in sequence.albums[1].plans] == [
            ("J", 20.0, 5),
            ("H", 20.0, 5),
        ]
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        assert quota_state(session, alice).pending_h == pytest.approx(
            sum(s.duration_h for s in submitted)
        )


def test_xml_to_database_to_xml_is_unchanged(site, builder):
    for (
        path
    ) in EXAMPLES:  # one database for the ten files: the round-trip, not the set-up, is tested
        parsed = parse_request(path.read_bytes(), path.name)
        done = builder.submit(site.sessions, parsed.spec, "paula", "xml")
        with site.sessions() as session:
            stored = spec_of_request(session.get(Request, done.request_id))
        assert stored == parsed.spec, path.name
        assert request_to_xml(stored) == request_to_xml(parsed.spec), path.name


BAD_FILES = {
    "not-xml": (b"<request name='x'><sequence>", "alice", InputError, "line 1: not well-formed"),
    "not-the-schema": (
        variant(1, '<plan filter="g"', '<plan colour="blue" filter="g"'),
        "alice",
        InputError,
        "line 9: does not match the request schema: Element 'plan', attribute 'colour'",
    ),
    "dec-100": (
        variant(1, 'dec_deg="-5.3911"', 'dec_deg="100"'),
        "alice",
        InputError,
        "line 5: sequences[0].dec_deg: must be >= -90 and <= 90 (got 100)",
    ),
    "negative-exposure": (
        variant(1, 'exposure_s="20"', 'exposure_s="-20"'),
        "alice",
        InputError,
        "line 14: sequences[0].albums[1].plans[0].exposure_s: must be > 0",
    ),
    "unknown-filter": (
        variant(1, 'filter="r"', 'filter="V"'),
        "alice",
        InputError,
        "line 10: sequences[0].albums[0].plans[1].filter_name: unknown VIS filter 'V'",
    ),
    "window-in-the-past": (
        variant(
            10,
            'start="2027-06-01T00:00:00Z" end="2027-11-30T00:00:00Z"',
            'start="2026-06-01T00:00:00Z" end="2026-11-24T00:00:00Z"',
        ),
        "alice",
        InputError,
        "line 26: sequences[2].window_end: 2026-11-24T00:00:00Z is in the past",
    ),
    "unknown-program": (
        variant(1, 'program="ROUTINE"', 'program="EXOPLANETS"'),
        "alice",
        InputError,
        "line 3: program: unknown scientific program 'EXOPLANETS' (known: GRB, ROUTINE)",
    ),
    "unknown-user": (example(1), "mallory", InputError, "bad.xml: user: unknown user 'mallory'"),
    "not-a-member": (
        variant(1, 'program="ROUTINE"', 'program="GRB"'),
        "alice",
        Forbidden,
        "line 3: program: 'alice' is not a member of program 'GRB'",
    ),
    "observer-urgent": (
        variant(1, 'priority="5"', 'priority="5" urgent="true"'),
        "alice",
        Forbidden,
        "bad.xml: user: 'alice' (role observer) may not submit urgent or alert requests",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_files_are_refused_precisely_and_change_nothing(site, builder, case):
    data, username, error, words = BAD_FILES[case]
    before = row_counts(site)
    with pytest.raises(error) as caught:
        submit_xml(builder, site.sessions, data, "bad.xml", username)
    assert words in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("bad.xml")
    assert row_counts(site) == before


def test_a_bad_second_sequence_stores_nothing_of_the_first(site, builder):
    data = variant(2, "2027-12-31T00:00:00Z", "2027-08-14T00:00:00Z")  # only the second's end
    with pytest.raises(InputError, match=r"sequences\[1\]\.window_end: must be after"):
        submit_xml(builder, site.sessions, data, "bad.xml", "alice")
    assert row_counts(site) == {"request": 0, "sequence": 0, "album": 0, "plan": 0}


def test_user_quota_counts_pending_requests(site, builder):
    _set_quota(site, User, User.username, "alice", 0.4)  # request 01 needs 600 s = 0.167 h
    for _ in range(2):
        submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")
    before = row_counts(site)
    with pytest.raises(Forbidden) as caught:
        submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")
    assert str(caught.value) == (
        "r01.xml: quota: user 'alice' has 0.07 h left of 0.40 h (0.00 h used, "
        "0.33 h already requested); the request needs 0.17 h"
    )
    assert row_counts(site) == before


def test_program_quota_applies_to_every_member(site, builder):
    _set_quota(site, ScientificProgram, ScientificProgram.name, "ROUTINE", 0.2)
    submit_xml(builder, site.sessions, example(1), "r01.xml", "paula")
    with pytest.raises(Forbidden, match="quota: program 'ROUTINE' has 0.03 h left of 0.20 h"):
        submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")
    # staff time is not counted against quotas
    done = submit_xml(builder, site.sessions, example(1), "r01.xml", "oscar")
    assert done.program == "ROUTINE"


def test_charge_on_execution_and_refund_when_it_is_not_the_users_fault(site, builder):
    done = submit_xml(builder, site.sessions, example(2), "r02.xml", "alice")
    now = site.clock.now()
    with site.sessions.begin() as session:
        first, second = session.get(Request, done.request_id).sequences
        for sequence in (first, second):
            sequence.plan(now)
            start_execution(sequence, now)
        assert fail_execution(first, now, FailureCause.WEATHER, "rain") is True
        assert fail_execution(second, now, FailureCause.REQUEST, "target below horizon") is False
        assert first.status_reason == "weather: rain"
    with site.sessions() as session:
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        program = alice.programs[0]
        assert alice.used_h == pytest.approx(600 / 3600)  # only the user's own failure is kept
        assert program.used_h == pytest.approx(600 / 3600)
        assert quota_state(session, alice).pending_h == 0.0


def test_roles_are_ordered_and_passwords_are_hashed(site):
    order = ["observer", "pi", "operator", "admin"]
    perms = [ROLE_PERMISSIONS[role] for role in sorted(ROLE_PERMISSIONS, key=order.index)]
    assert all(a < b for a, b in zip(perms, perms[1:], strict=False))
    assert Permission.MANAGE_USERS in perms[-1] and Permission.NO_QUOTA not in perms[1]
    with site.sessions() as session:
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        assert PASSWORD not in alice.password_hash and alice.password_hash.startswith(
            ("scrypt:", "pbkdf2:")
        )
        assert authenticate(session, "alice", PASSWORD).username == "alice"
        assert authenticate(session, "alice", "wrong") is None
        assert authenticate(session, "nobody", PASSWORD) is None


def test_a_deactivated_user_cannot_submit(site, builder):
    with site.sessions.begin() as session:
        session.scalars(select(User).where(User.username == "alice")).one().is_active = False
    with pytest.raises(Forbidden, match="'alice' is deactivated"):
        submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")


def test_simultaneous_submissions_cannot_both_take_the_last_hours(site, builder):
    _set_quota(site, User, User.username, "alice", 0.25)  # room for one 600 s request, not two
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait(timeout=30)
        try:
            submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")
            outcomes.append("stored")
        except Forbidden:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "refused", "refused", "stored"]
    assert row_counts(site)["request"] == 1
