"""Admin pages on the real app and database: the users' history (log-ins, failed log-ins,
submissions, commands, admin changes) and programs and countries edited with each bad field
named and nothing written; refusals (role, CSRF) change nothing."""

from __future__ import annotations

import base64

import jsonschema
import pytest
from sqlalchemy import select

from orchestrator.accounts import create_token
from orchestrator.majordome.commands import queue
from orchestrator.model import Country, ScientificProgram, User
from simulators.plc_simulator import PlcSimulator
from tests.orchestrator.request_helpers import ADMIN_PASSWORD, PASSWORD
from tests.web.control_site import control_site
from tests.web.helpers import csrf_of, log_in, web_client


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(request, tmp_path_factory):
    url = None  # SQLite; the history merges four tables' times: checked on PostgreSQL too
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database("pyros_web_history")
    with PlcSimulator() as plc:
        runtime = control_site(tmp_path_factory.mktemp("admin"), plc, url)
        yield runtime
        runtime.engine.dispose()


@pytest.fixture(scope="module")
def admin(site):
    return web_client(site, "admin", ADMIN_PASSWORD)


def _programs(site) -> dict[str, tuple[float, int]]:
    with site.sessions() as session:
        return {p.name: (p.quota_h, p.priority) for p in session.scalars(select(ScientificProgram))}


def _countries(site) -> dict[str, float]:
    with site.sessions() as session:
        return {c.name: c.quota_h for c in session.scalars(select(Country))}


def test_the_history_says_who_did_what(site, admin):
    alice = web_client(site, "alice", PASSWORD)
    assert log_in(web_client(site), "alice", "wrong-password").status_code == 401
    token = csrf_of(alice, "/requests/new")
    assert 'id="fake-request"' in alice.get("/requests").get_data(as_text=True)
    fake = alice.post("/requests/fake", data={"csrf_token": token})
    assert fake.status_code == 302
    oscar = web_client(site, "oscar", PASSWORD)
    queue(site, "pause", issued_by="web:oscar")
    page = admin.get("/admin/history?user=alice").get_data(as_text=True)
    assert "logged in from" in page and "failed log-in from" in page
    assert "submitted request" in page and "web:oscar" not in page
    commands = admin.get("/admin/history?what=command").get_data(as_text=True)
    assert "command" in commands and "pause" in commands and "oscar" in commands
    assert admin.get("/admin/history?user=nobody").status_code == 400
    bad = admin.get("/admin/history?what=gossip")
    assert bad.status_code == 400 and "what: must be one of" in bad.get_data(as_text=True)
    assert oscar.get("/admin/history").status_code == 403  # operators are not admins
    assert web_client(site).get("/admin/history").status_code == 302
    # the same events through the API, for admins only, matching the OpenAPI document
    events = admin.get("/api/admin/history?user=alice").get_json()
    doc = admin.get("/api/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/UserHistory", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(events)
    kinds = {e["what"] for e in events["events"]}
    assert {"login", "submission"} <= kinds and {e["user"] for e in events["events"]} == {"alice"}
    bad = admin.get("/api/admin/history?what=gossip")
    assert bad.status_code == 400 and bad.get_json()["field"] == "what"
    assert oscar.get("/api/admin/history").status_code == 403
    assert web_client(site).get("/api/admin/history").status_code == 401


def test_programs_and_countries_are_edited_with_each_field_checked(site, admin):
    token = csrf_of(admin, "/admin/users")
    with site.sessions() as session:
        routine = session.scalar(
            select(ScientificProgram).where(ScientificProgram.name == "ROUTINE")
        )
        grb = session.scalar(select(ScientificProgram).where(ScientificProgram.name == "GRB"))
        mexico = session.scalar(select(Country).where(Country.name == "Mexico"))
        ids = (routine.id, grb.id, mexico.id)
    programs, countries = _programs(site), _countries(site)
    for url, form, field in (
        (f"/admin/programs/{ids[0]}", {"name": "ROUTINE", "quota_h": "lots"}, "quota_h"),
        (f"/admin/programs/{ids[0]}", {"name": "ROUTINE", "quota_h": "-3"}, "quota_h"),
        (f"/admin/programs/{ids[0]}", {"name": "ROUTINE", "quota_h": "nan"}, "quota_h"),
        (f"/admin/programs/{ids[0]}", {"name": "", "quota_h": "5"}, "name"),
        (f"/admin/programs/{ids[0]}", {"name": "<b>x</b>", "quota_h": "5"}, "name"),
        (f"/admin/programs/{ids[0]}", {"name": "GRB", "quota_h": "5"}, "name"),  # taken
        (f"/admin/programs/{ids[0]}", {"name": "R", "quota_h": "5", "priority": "9e9"}, "priority"),
        (f"/admin/programs/{ids[1]}", {"name": "BURSTS", "quota_h": "5"}, "name"),  # alerts'
        ("/admin/programs/999999", {"name": "X", "quota_h": "5"}, "program"),
        (f"/admin/countries/{ids[2]}", {"name": "Mexico", "quota_h": "1e9"}, "quota_h"),
        ("/admin/countries", {"name": "Mexico", "quota_h": "5"}, "name"),  # taken
    ):
        answer = admin.post(url, data={**form, "csrf_token": token})
        assert answer.status_code == 400, (url, form)
        assert f"error: {field}: " in answer.get_data(as_text=True), (url, form)
    assert (_programs(site), _countries(site)) == (programs, countries)
    alice = web_client(site, "alice", PASSWORD)
    alice_token = csrf_of(alice, "/requests/new")
    form = {"name": "ROUTINE", "quota_h": "1", "csrf_token": alice_token}
    assert alice.post(f"/admin/programs/{ids[0]}", data=form).status_code == 403
    assert (
        admin.post(f"/admin/programs/{ids[0]}", data={"name": "X", "quota_h": "1"}).status_code
        == 400
    )
    assert (_programs(site), _countries(site)) == (programs, countries)

    saved = admin.post(
        f"/admin/programs/{ids[0]}",
        data={"name": "ROUTINE-2027", "quota_h": "120.5", "priority": "3", "csrf_token": token},
    )
    assert saved.status_code == 302
    added = admin.post(
        "/admin/countries", data={"name": "Chile", "quota_h": "40", "csrf_token": token}
    )
    assert added.status_code == 302
    assert _programs(site)["ROUTINE-2027"] == (120.5, 3) and "ROUTINE" not in _programs(site)
    assert _countries(site)["Chile"] == 40.0
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'id="program-ROUTINE-2027"' in page and 'value="Chile"' in page
    history = admin.get("/admin/history?user=admin&what=admin").get_data(as_text=True)
    assert "program &#39;ROUTINE&#39; renamed &#39;ROUTINE-2027&#39;" in history


def test_api_log_ins_are_in_the_history_once_an_hour(site, admin):
    """A script calling every few seconds by token or basic auth: one history line per user,
    way and address, not one per call; a refused call writes none."""
    with site.sessions.begin() as session:
        oscar = session.scalar(select(User).where(User.username == "oscar"))
        _, secret = create_token(session, oscar, "script", site.clock.now())
    client = web_client(site)  # one app: one web process
    basic = {"Authorization": "Basic " + base64.b64encode(f"oscar:{PASSWORD}".encode()).decode()}
    bearer = {"Authorization": f"Bearer {secret}"}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"oscar:wrong-password").decode()}
    for headers in (basic, basic, bearer, bearer, bearer):
        assert client.get("/api/majordome", headers=headers).status_code == 200
    assert client.get("/api/majordome", headers=wrong).status_code == 401
    events = admin.get("/api/admin/history?user=oscar&what=login").get_json()["events"]
    details = [e["detail"] for e in events if "logged in by" in e["detail"]]
    assert sorted(details) == [
        "logged in by API token from 127.0.0.1",
        "logged in by HTTP basic from 127.0.0.1",
    ]
