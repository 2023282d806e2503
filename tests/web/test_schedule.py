# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""The schedule page and API on the real planner: public read, re-plan for operators only,
past plans for admins only, each entry placed inside the night."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from orchestrator.model import Schedule
from orchestrator.requests.builder import RequestBuilder
from orchestrator.requests.xml_io import submit_xml
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    ADMIN_PASSWORD,
    EXAMPLES,
    PASSWORD,
    site,
)
from tests.web.helpers import csrf_of, web_client


def _basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _schedules(site) -> int:
    with site.sessions() as session:
        return session.scalar(select(func.count()).select_from(Schedule))


def test_replan_is_for_operators_and_the_plan_is_public(site):
    builder = RequestBuilder(site.config, site.clock)
    for path in EXAMPLES:
        submit_xml(builder, site.sessions, path.read_bytes(), path.name, "admin")
    anonymous = web_client(site)
    assert anonymous.get("/api/schedule").json["schedule"] is None
    assert "no schedule yet" in anonymous.get("/schedule").get_data(as_text=True)

    alice = web_client(site, "alice", PASSWORD)
    assert (
        alice.post("/schedule/replan", data={"csrf_token": csrf_of(alice, "/schedule")}).status_code
        == 403
    )
    assert anonymous.post("/api/schedule/replan").status_code == 401
    assert anonymous.post("/api/schedule/replan", headers=_basic("alice")).status_code == 403
    assert _schedules(site) == 0

    oscar = web_client(site, "oscar", PASSWORD)
    assert oscar.post("/schedule/replan").status_code == 400  # no CSRF token
    response = oscar.post("/schedule/replan", data={"csrf_token": csrf_of(oscar, "/schedule")})
    assert response.status_code == 302 and _schedules(site) == 1
    made = anonymous.post("/api/schedule/replan", headers=_basic("oscar"))
    assert made.status_code == 200 and _schedules(site) == 2

    view = anonymous.get("/api/schedule").json
    plan = view["schedule"]
    assert plan["id"] == made.json["schedule_id"] and plan["entries"]
    assert all(plan["dusk"] <= e["start"] < e["end"] <= plan["dawn"] for e in plan["entries"])
    assert all(0 <= e["left_pct"] <= 100 for e in plan["entries"])
    page = anonymous.get("/schedule").get_data(as_text=True)
    assert all(e["target"] in page for e in plan["entries"])
    placed = {e["sequence_id"] for e in plan["entries"]}
    assert not placed & {u["sequence_id"] for u in view["unscheduled"]}
    assert all(u["reason"] for u in view["unscheduled"])

    # past plans: the admin's only
    assert anonymous.get("/schedule?id=1").status_code == 403
    assert anonymous.get("/api/schedule?id=1", headers=_basic("oscar")).status_code == 403
    admin = web_client(site, "admin", ADMIN_PASSWORD)
    assert "Past plans" in admin.get("/schedule").get_data(as_text=True)
    assert admin.get("/api/schedule?id=1").json["schedule"]["id"] == 1
    assert admin.get("/api/schedule?id=99999999999999999999").status_code == 400
    assert admin.get("/api/schedule?id=999").status_code == 404
