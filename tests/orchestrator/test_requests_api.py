# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""The JSON API of requests on the real Flask app and database: 201, and 400/401/403 with the
builder's messages, and nothing stored when refused."""

from __future__ import annotations

import base64

import pytest

from orchestrator.requests.spec import spec_to_mapping
from orchestrator.requests.xml_io import parse_request
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    PASSWORD,
    example,
    row_counts,
    site,
    variant,
)
from web import create_app


@pytest.fixture
def client(site):
    app = create_app(site)
    app.testing = True
    return app.test_client()


def _auth(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _body(number: int = 1) -> dict:
    return spec_to_mapping(parse_request(example(number)).spec)


def test_submit_json_then_read_it_back(client, site):
    response = client.post("/api/requests", json=_body(10), headers=_auth("alice"))
    assert response.status_code == 201, response.json
    created = response.json
    assert created["user"] == "alice" and created["program"] == "ROUTINE"
    assert len(created["sequence_ids"]) == 3 and created["duration_h"] == pytest.approx(0.5)
    assert response.headers["Location"] == f"/api/requests/{created['id']}"

    read = client.get(response.headers["Location"], headers=_auth("alice"))
    assert read.status_code == 200
    assert read.json["request"] == _body(10)
    assert read.json["source"] == "api"
    assert [s["status"] for s in read.json["sequences"]] == ["to_be_planned"] * 3

    xml = client.get(f"/api/requests/{created['id']}.xml", headers=_auth("alice"))
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert parse_request(xml.data).spec == parse_request(example(10)).spec


def test_submit_an_xml_body(client):
    response = client.post(
        "/api/requests", data=example(3), headers=_auth("paula"), content_type="application/xml"
    )
    assert response.status_code == 201, response.json
    bad = client.post(
        "/api/requests",
        data=variant(3, 'dec_deg="36.4613"', 'dec_deg="-95"'),
        headers=_auth("paula"),
        content_type="application/xml",
    )
    assert bad.status_code == 400
    assert (
        bad.json["error"] == "body line 5: sequences[0].dec_deg: must be >= -90 and <= 90 (got -95)"
    )


def _dec_100(body: dict) -> dict:
    body["sequences"][0]["dec_deg"] = 100
    return body


def _negative_exposure(body: dict) -> dict:
    body["sequences"][0]["albums"][0]["plans"][0]["exposure_s"] = -1
    return body


def _unknown_filter(body: dict) -> dict:
    body["sequences"][0]["albums"][1]["plans"][1]["filter_name"] = "Ks"
    return body


def _past_window(body: dict) -> dict:
    body["sequences"][0]["window_start"] = "2026-01-01T00:00:00Z"
    body["sequences"][0]["window_end"] = "2026-02-01T00:00:00Z"
    return body


def _wrong_type(body: dict) -> dict:
    body["sequences"][0]["ra_deg"] = "five"
    return body


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_dec_100, "sequences[0].dec_deg: must be >= -90 and <= 90 (got 100)"),
        (_negative_exposure, "sequences[0].albums[0].plans[0].exposure_s: must be > 0"),
        (
            _unknown_filter,
            "sequences[0].albums[1].plans[1].filter_name: unknown NIR filter 'Ks' "
            "(available: J, H)",
        ),
        (_past_window, "sequences[0].window_end: 2026-02-01T00:00:00Z is in the past"),
        (_wrong_type, "sequences[0].ra_deg: Input should be a valid number"),
    ],
    ids=["dec-100", "negative-exposure", "unknown-filter", "past-window", "wrong-type"],
)
def test_bad_input_is_400_with_the_field_and_reason(client, site, damage, message):
    before = row_counts(site)
    response = client.post("/api/requests", json=damage(_body(1)), headers=_auth("alice"))
    assert response.status_code == 400
    assert response.json["error"].startswith(message), response.json
    assert row_counts(site) == before


def test_a_body_that_is_not_json_is_400(client):
    response = client.post(
        "/api/requests", data=b"{not json", headers=_auth("alice"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["error"].startswith("request: not valid JSON: ")
    assert response.json["field"] == "request"


@pytest.mark.parametrize(
    "headers",
    [{}, _auth("alice", "wrong-password"), _auth("mallory"), {"Authorization": "Bearer abc"}],
    ids=["none", "wrong-password", "unknown-user", "not-basic"],
)
def test_without_valid_credentials_it_is_401(client, site, headers):
    before = row_counts(site)
    response = client.post("/api/requests", json=_body(1), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "authentication required" in response.json["error"]
    assert client.get("/api/requests/1", headers=headers).status_code == 401
    assert row_counts(site) == before


def test_role_program_and_quota_refusals_are_403(client, site):
    before = row_counts(site)
    urgent = _body(1)
    urgent["sequences"][0]["is_urgent"] = True
    response = client.post("/api/requests", json=urgent, headers=_auth("alice"))
    assert response.status_code == 403
    assert response.json["error"] == (
        "user: 'alice' (role observer) may not submit urgent or alert requests"
    )

    grb = _body(1)
    grb["program"] = "GRB"
    response = client.post("/api/requests", json=grb, headers=_auth("alice"))
    assert response.status_code == 403
    assert response.json["error"] == "program: 'alice' is not a member of program 'GRB'"

    huge = _body(1)
    huge["sequences"] = huge["sequences"] * 61  # 61 x 600 s > the observer's 10 h
    response = client.post("/api/requests", json=huge, headers=_auth("alice"))
    assert response.status_code == 403
    assert response.json["error"].startswith("quota: user 'alice' has 10.00 h left of 10.00 h")
    assert row_counts(site) == before


def test_requests_are_private_to_their_owner_and_the_staff(client):
    created = client.post("/api/requests", json=_body(2), headers=_auth("paula")).json
    url = f"/api/requests/{created['id']}"
    refused = client.get(url, headers=_auth("alice"))
    assert refused.status_code == 403
    assert refused.json["error"].startswith("request: 'alice' may not read request")
    assert client.get(url, headers=_auth("oscar")).status_code == 200
    assert client.get("/api/requests/999", headers=_auth("oscar")).status_code == 404
