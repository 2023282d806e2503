# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""Issue 18 on the JSON API: ids out of range are 404, bodies too deep or too large are 400/413,
types are strict, `/api/status` hides internals from the public; Hypothesis fuzzes the request
API: never a 5xx, and every refusal names the field."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.requests.spec import spec_to_mapping
from orchestrator.requests.xml_io import parse_request
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    PASSWORD,
    example,
    row_counts,
    site,
)
from tests.web.helpers import web_client


def _basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def client(site):
    return web_client(site)


def _body() -> dict:
    return spec_to_mapping(parse_request(example(1)).spec)


@pytest.mark.parametrize(
    "request_id",
    ["99999999999999999999999", "9223372036854775808", "0", "99999999999999999999.xml"],
)
def test_ids_out_of_range_are_404(client, request_id):
    response = client.get(f"/api/requests/{request_id}", headers=_basic("oscar"))
    assert response.status_code == 404
    assert response.json == {"error": "not found"}


def test_a_body_nested_100000_deep_is_400(client, site):
    before = row_counts(site)
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post(
        "/api/requests", data=body, headers=_basic("alice"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["field"] == "request" and "nested deeper" in response.json["error"]
    assert row_counts(site) == before


def test_a_body_over_one_megabyte_is_413(client, site):
    body = json.dumps({"name": "x" * 1_100_000}).encode()
    response = client.post(
        "/api/requests", data=body, headers=_basic("alice"), content_type="application/json"
    )
    assert response.status_code == 413 and "larger than 1 MB" in response.json["error"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("ra_deg",), "83.82", "sequences[0].ra_deg: Input should be a valid number"),
        (("ra_deg",), True, "sequences[0].ra_deg: Input should be a valid number"),
        (("window_start",), 1700000000, "sequences[0].window_start: Input should be a valid"),
        (("window_start",), "2026-12-01T00:00:00", "sequences[0].window_start: an ISO 8601"),
        (("duration_s",), "600", "sequences[0].duration_s: Input should be a valid number"),
        (("is_urgent",), "yes", "sequences[0].is_urgent: Input should be a valid boolean"),
        (("albums", 0, "plans", 0, "count"), 2.5, "sequences[0].albums[0].plans[0].count"),
    ],
    ids=["ra-string", "ra-bool", "window-unix-time", "window-no-zone", "duration-string",
         "urgent-string", "count-float"],
)  # fmt: skip
def test_types_are_strict(client, site, path, value, message):
    """Issue 18: "83.82", true (stored as 1.0) and a Unix time were each accepted and stored."""
    before = row_counts(site)
    body = _body()
    target = body["sequences"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    response = client.post("/api/requests", json=body, headers=_basic("alice"))
    assert response.status_code == 400, response.json
    assert response.json["error"].startswith(message), response.json
    assert response.json["field"] == message.split(":")[0]
    assert row_counts(site) == before


def test_nan_is_not_a_number(client, site):
    before = row_counts(site)
    text = json.dumps(_body()).replace('"ra_deg": 83.8221', '"ra_deg": NaN')
    assert "NaN" in text
    response = client.post(
        "/api/requests", data=text, headers=_basic("alice"), content_type="application/json"
    )
    assert response.status_code == 400 and "NaN is not a JSON number" in response.json["error"]
    assert row_counts(site) == before


def test_public_status_hides_the_database_url_and_device_addresses(client, site):
    public = client.get("/api/status").json
    assert "url" not in public["database"]
    assert public["devices"] and all("address" not in d for d in public["devices"])
    assert "safety" in public and "schedule" in public  # the public part stays
    text = client.get("/").get_data(as_text=True)
    assert site.config.database.url.split("///")[-1] not in text
    address = site.config.devices.configured()["mount"].address
    assert address not in text
    observer = client.get("/api/status", headers=_basic("alice")).json
    assert "url" not in observer["database"]
    operator = client.get("/api/status", headers=_basic("oscar")).json
    assert "url" in operator["database"]
    assert operator["devices"][0]["address"] == address


# -- fuzzing ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def damaged_bodies(draw):
    body = copy.deepcopy(_body())
    paths = [p for p in _paths(body) if p]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths))
        target = body
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change replaced a parent
    if draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return body


def test_fuzzed_json_requests_never_crash_and_refusals_name_the_field(site):
    client = web_client(site)
    headers = _basic("paula")  # a PI: may submit urgent ones, so fewer role refusals

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(damaged_bodies())
    def check(body):
        response = client.post("/api/requests", json=body, headers=headers)
        assert response.status_code in (201, 400, 403), (response.status_code, response.json, body)
        if response.status_code != 201:
            error = response.json["error"]
            field = response.json.get("field")
            assert field and error.startswith(f"{field}: "), (response.json, body)

    check()


def test_a_crash_shows_an_incident_id_and_no_trace(site, caplog):
    from web import create_app

    app = create_app(site)

    def boom():
        raise ZeroDivisionError("secret detail")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/boom", view_func=boom)
    client = app.test_client()
    page = client.get("/boom")
    api = client.get("/api/boom")
    assert page.status_code == 500 and api.status_code == 500
    text = page.get_data(as_text=True)
    assert "incident" in text and "secret detail" not in text and "Traceback" not in text
    incident = api.json["error"].split("incident ")[1].split(",")[0]
    assert "secret detail" not in api.json["error"]
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
