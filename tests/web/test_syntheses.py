"""Past weather syntheses (admins): the stored decision changes, newest first, page and API;
other roles and anonymous callers are refused, and a bad filter names its field."""

from __future__ import annotations

import base64
import json

import jsonschema
import pytest

from plc_gateway.parser import parse_status
from plc_gateway.store import WatchStore
from plc_gateway.synthesis import Synthesizer
from tests.conftest import TEST_DATA
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    ADMIN_PASSWORD,
    PASSWORD,
    site,
)
from tests.web.helpers import web_client

DRY = json.loads((TEST_DATA / "plc" / "status_dry.json").read_text())


def reading(rain_mm_h: float):
    doc = json.loads(json.dumps(DRY))
    for item in doc[0]["device"][0]["values"]:
        if item["name"] == "RainRate":
            item["value"] = rain_mm_h
    return parse_status(json.dumps(doc))


@pytest.fixture
def weather(site, clock):  # noqa: F811 - the fixture above
    """Two hours of history every 10 min: dry, 30 min of rain, dry again past the delay."""
    synth = Synthesizer(site.config.safety)
    store = WatchStore(site.sessions, history_period_s=600)
    clock.advance(-2 * 3600)
    for step in range(12):
        rain = 6.0 if 3 <= step < 6 else 0.0
        store.store(synth.update(reading(rain), clock.now()), 2)
        clock.advance(600)
    return site


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_the_admin_sees_each_decision_change_newest_first(weather):
    client = web_client(weather, "admin", ADMIN_PASSWORD)
    data = client.get("/api/environment/syntheses").get_json()
    decisions = [s["is_safe"] for s in data["syntheses"]]
    # far fewer than the 12 rows: the synthesis is kept where the decision changed
    assert 2 <= len(decisions) < 12 and decisions[0] is True and False in decisions
    assert [s["measured"] for s in data["syntheses"]] == sorted(
        (s["measured"] for s in data["syntheses"]), reverse=True
    )
    # the rain's start, then its end held unsafe by the reopen delay: each a decision change
    reasons = [" ".join(s["reasons"]) for s in data["syntheses"] if not s["is_safe"]]
    assert any("rain" in r for r in reasons) and any("reopen delay" in r for r in reasons)
    assert all("rain_rate" in s["elements"] for s in data["syntheses"])
    doc = client.get("/api/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/SynthesisList", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(data)
    page = client.get("/admin/syntheses").get_data(as_text=True)
    assert page.count("UNSAFE") >= 1 and "moderate rain" in page
    since = data["syntheses"][0]["measured"]
    newer = client.get("/api/environment/syntheses", query_string={"since": since}).get_json()
    assert [s["measured"] for s in newer["syntheses"]] == [since]


def test_other_roles_and_anonymous_callers_are_refused_and_bad_filters_named(weather):
    anonymous = web_client(weather)
    assert anonymous.get("/api/environment/syntheses").status_code == 401
    assert anonymous.get("/admin/syntheses").status_code == 302  # to the log-in page
    operator = web_client(weather, "oscar", PASSWORD)
    assert operator.get("/admin/syntheses").status_code == 403
    refused = operator.get("/api/environment/syntheses", headers=_basic("oscar", PASSWORD))
    assert refused.status_code == 403
    admin = web_client(weather, "admin", ADMIN_PASSWORD)
    bad = admin.get("/api/environment/syntheses?since=yesterday")
    assert bad.status_code == 400 and bad.get_json()["field"] == "since"
    bad = admin.get("/api/environment/syntheses?page=0")
    assert bad.status_code == 400 and bad.get_json()["field"] == "page"
    page = admin.get("/admin/syntheses?until=soon").get_data(as_text=True)
    assert 'id="error"' in page and "until" in page
