"""The majordome page and `/api/majordome` on the real app and database: every command goes
through `commands.queue` and the orchestrator's real runner; refusals (no session, no CSRF
token, a role that may not, a bad field) answer 401/403/400 and queue nothing; the safety
interlock refuses a move while unsafe and logs a forced one with the user's name; the site
lights and the fake rain reach our PLC simulator over TCP."""

from __future__ import annotations

import base64
import logging

import pytest
from sqlalchemy import func, select

from orchestrator.model import Command
from simulators.plc_simulator import PlcSimulator
from tests.helpers import wait_for
from tests.orchestrator.request_helpers import PASSWORD
from tests.web.control_site import command_runner, control_site
from tests.web.helpers import csrf_of, web_client


@pytest.fixture(scope="module")
def plc():
    simulator = PlcSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, plc):
    runtime = control_site(tmp_path_factory.mktemp("majordome"), plc)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def runner(site):
    with command_runner(site) as running:
        yield running


def _basic(username: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    }


def _commands(site) -> int:
    with site.sessions() as session:
        return session.scalar(select(func.count()).select_from(Command))


def _row(site, command_id: int) -> Command:
    with site.sessions() as session:
        return session.get(Command, command_id)


def _done(site, command_id: int) -> Command:
    return wait_for(lambda: (r := _row(site, command_id)).done and r, 10, what="the answer")


def _rain_mm_h(plc: PlcSimulator) -> float:
    device = plc._device("WXT520")
    return next(v["value"] for v in device["values"] if v["name"] == "RainRate")


def test_refusals_queue_nothing(site):
    before = _commands(site)
    anonymous = web_client(site)
    assert anonymous.get("/majordome").status_code == 302  # to the log-in page
    assert anonymous.post("/api/majordome/commands", json={"kind": "pause"}).status_code == 401
    alice = web_client(site, "alice", PASSWORD)
    assert alice.get("/majordome").status_code == 403
    token = csrf_of(alice, "/requests/new")
    form = {"kind": "pause", "csrf_token": token}
    assert alice.post("/majordome/commands", data=form).status_code == 403
    api = alice.post("/api/majordome/commands", json={"kind": "pause"}, headers=_basic("alice"))
    assert api.status_code == 403 and api.json["error"].startswith("forbidden")
    oscar = web_client(site, "oscar", PASSWORD)
    assert oscar.post("/majordome/commands", data={"kind": "pause"}).status_code == 400  # no CSRF
    token = csrf_of(oscar, "/majordome")
    # the session cookie alone on the API: a write needs the X-CSRFToken header
    no_header = oscar.post("/api/majordome/commands", json={"kind": "pause"})
    assert no_header.status_code == 400 and no_header.json["field"] == "csrf_token"
    for body, field in (
        ({"kind": "explode"}, "kind"),
        ({"kind": "slew", "arguments": {"ra_deg": 400, "dec_deg": 0}}, "ra_deg"),
        ({"kind": "slew", "arguments": {"ra_deg": "10", "dec_deg": 0}}, "ra_deg"),
        ({"kind": "slew", "arguments": {"alt_deg": 95, "az_deg": 0}}, "alt_deg"),
        ({"kind": "slew", "arguments": {"ra_deg": 1, "dec_deg": 0, "force": "yes"}}, "force"),
        ({"kind": "expose", "arguments": {"camera": "uv", "exposure_s": 1}}, "camera"),
        ({"kind": "expose", "arguments": {"camera": "vis", "exposure_s": -1}}, "exposure_s"),
        ({"kind": "lights", "arguments": {"on": "yes"}}, "on"),
        ({"kind": "pause", "arguments": {"speed": 2}}, "arguments.speed"),
        ([1, 2], "request"),
    ):
        answer = oscar.post("/api/majordome/commands", json=body, headers={"X-CSRFToken": token})
        assert answer.status_code == 400 and answer.json["field"] == field, (body, answer.json)
    page = oscar.post(
        "/majordome/commands",
        data={"kind": "slew", "ra_deg": "abc", "dec_deg": "1", "csrf_token": token},
    )
    assert page.status_code == 400 and "ra_deg: must be a number" in page.get_data(as_text=True)
    assert _commands(site) == before


def test_manual_mode_then_the_interlock_and_a_forced_move_logged_with_the_user(
    site, runner, caplog
):
    oscar = web_client(site, "oscar", PASSWORD)
    token = csrf_of(oscar, "/majordome")
    sent = oscar.post("/majordome/commands", data={"kind": "manual", "csrf_token": token})
    assert sent.status_code == 302
    command_id = int(sent.headers["Location"].rsplit("=", 1)[1])
    row = _done(site, command_id)
    assert (row.kind, row.issued_by, row.status, row.result) == (
        "manual", "web:oscar", "done", "mode MANUAL"
    )  # fmt: skip
    shown = oscar.get(f"/majordome?command={command_id}").get_data(as_text=True)
    assert 'id="m-mode">MANUAL<' in shown and "mode MANUAL" in shown
    # the gateway does not answer: UNSAFE; the dome may not open unless forced
    header = {"X-CSRFToken": token}
    refused = oscar.post("/api/majordome/commands", json={"kind": "dome_open"}, headers=header)
    assert refused.status_code == 202 and refused.json["status"] == "queued"
    row = _done(site, refused.json["id"])
    assert row.status == "refused" and "UNSAFE" in row.result
    with caplog.at_level(logging.WARNING):
        forced = oscar.post(
            "/api/majordome/commands",
            json={"kind": "dome_open", "arguments": {"force": True}},
            headers=header,
        )
        row = _done(site, forced.json["id"])
    assert row.arguments == {"force": True}
    # past the interlock: this site has no dome, which is the next refusal
    assert row.status == "refused" and row.result == "no dome is configured"
    forced_log = "dome_open FORCED by web:oscar while UNSAFE"
    assert any(r.getMessage().startswith(forced_log) for r in caplog.records)
    polled = oscar.get(f"/api/majordome/commands/{forced.json['id']}")
    assert polled.json["result"] == row.result
    assert oscar.get("/api/majordome/commands/99999").status_code == 404
    overview = oscar.get("/api/majordome", headers=_basic("oscar")).json  # scripts: basic auth
    assert overview["majordome"]["mode"] == "MANUAL" and overview["safety"]["is_safe"] is False
    assert overview["commands"][0]["id"] == forced.json["id"]


def test_site_lights_through_the_plc(site, runner, plc):
    oscar = web_client(site, "oscar", PASSWORD)
    token = csrf_of(oscar, "/majordome")
    oscar.post("/majordome/commands", data={"kind": "manual", "csrf_token": token})
    sent = oscar.post(
        "/majordome/commands", data={"kind": "lights", "on": "on", "csrf_token": token}
    )
    row = _done(site, int(sent.headers["Location"].rsplit("=", 1)[1]))
    assert (row.status, row.result) == ("done", "site lights on"), row.result
    lights = plc._device("SITE_LIGHTS")["values"][0]["value"]
    assert lights == "on"


def test_fake_rain_reaches_the_plc_simulator_only_for_operators(site, plc):
    alice = web_client(site, "alice", PASSWORD)
    oscar = web_client(site, "oscar", PASSWORD)
    assert 'id="fake-rain"' not in alice.get("/environment").get_data(as_text=True)
    assert 'id="fake-rain"' in oscar.get("/environment").get_data(as_text=True)
    alice_token = csrf_of(alice, "/requests/new")
    assert alice.post("/simulation/rain", data={"csrf_token": alice_token}).status_code == 403
    assert oscar.post("/simulation/rain").status_code == 400  # no CSRF token
    assert _rain_mm_h(plc) == 0.0  # nothing changed
    token = csrf_of(oscar, "/environment")
    assert oscar.post("/simulation/rain", data={"csrf_token": token}).status_code == 302
    assert _rain_mm_h(plc) == 12.0
    assert oscar.post("/simulation/dry", data={"csrf_token": token}).status_code == 302
    assert _rain_mm_h(plc) == 0.0
