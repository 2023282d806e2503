# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""Issue 18 item 8: staff bypass quotas, but their hours never eat a program's members' share.

The probe saw an operator push ROUTINE to 336 h requested against 100 h granted, after which
its members were refused. Staff hours are now counted apart (`staff_h`), pending and charged.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.model import Request, ScientificProgram, User
from orchestrator.requests.xml_io import submit_xml
from orchestrator.users import quota_state, staff_h, start_execution
from tests.orchestrator.request_helpers import builder, example, site  # noqa: F401


def _routine(session) -> ScientificProgram:
    return session.scalars(
        select(ScientificProgram).where(ScientificProgram.name == "ROUTINE")
    ).one()


def test_operator_hours_do_not_consume_the_members_share(site, builder):
    with site.sessions.begin() as session:
        _routine(session).quota_h = 0.2  # room for one 600 s request of a member
    operator_ids = [
        submit_xml(builder, site.sessions, example(1), "r01.xml", "oscar").request_id
        for _ in range(5)
    ]  # 5 x 0.167 h, far beyond 0.2 h: staff may
    with site.sessions() as session:
        routine = _routine(session)
        assert quota_state(session, routine).pending_h == 0.0
        assert staff_h(session, routine) == pytest.approx(5 * 600 / 3600)
    done = submit_xml(builder, site.sessions, example(1), "r01.xml", "alice")  # still accepted
    assert done.program == "ROUTINE"
    now = site.clock.now()
    with site.sessions.begin() as session:  # executing the operator's sequence charges no member
        sequence = session.get(Request, operator_ids[0]).sequences[0]
        sequence.plan(now)
        start_execution(sequence, now)
    with site.sessions() as session:
        routine = _routine(session)
        assert routine.used_h == 0.0
        oscar = session.scalars(select(User).where(User.username == "oscar")).one()
        assert oscar.used_h == pytest.approx(600 / 3600)  # the operator's own record keeps it
        assert quota_state(session, routine).pending_h == pytest.approx(600 / 3600)  # alice's
