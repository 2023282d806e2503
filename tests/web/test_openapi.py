# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""`/api/openapi.json` is a valid OpenAPI 3.1 document that describes every `/api` route (and
nothing else), and the answers of each route, success and errors, match their schemas."""

from __future__ import annotations

import base64
import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from orchestrator.requests.spec import spec_to_mapping
from orchestrator.requests.xml_io import parse_request
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    PASSWORD,
    example,
    site,
)
from tests.web.helpers import web_client
from web import create_app

METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


def _basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def client(site):
    return web_client(site)


def test_the_document_is_valid_openapi(client):
    doc = client.get("/api/openapi.json").json
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_api_route_is_described_and_nothing_else(site):
    app = create_app(site)
    doc = app.test_client().get("/api/openapi.json").json
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m.lower()) for m in rule.methods & METHODS}
    described = {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    assert served == described


def _check(doc: dict, path: str, method: str, response) -> None:
    """The response's JSON matches the schema documented for its status code."""
    documented = doc["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, method, response.status_code)
    content = documented[str(response.status_code)].get("content", {})
    if "application/json" in content:
        schema = {**content["application/json"]["schema"], "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(response.json)
    elif "application/xml" in content:
        assert response.mimetype == "application/xml"


def test_answers_match_their_schemas(client):
    doc = client.get("/api/openapi.json").json
    body = spec_to_mapping(parse_request(example(1)).spec)
    alice, oscar = _basic("alice"), _basic("oscar")
    calls = [
        ("/api/status", "get", "/api/status", {}, None),
        ("/api/status", "get", "/api/status", oscar, None),
        ("/api/environment", "get", "/api/environment?hours=2", {}, None),
        ("/api/environment", "get", "/api/environment?hours=x", {}, None),
        ("/api/schedule", "get", "/api/schedule", {}, None),
        ("/api/logs", "get", "/api/logs?level=warning", oscar, None),
        ("/api/logs", "get", "/api/logs?since=yesterday", oscar, None),
        ("/api/logs", "get", "/api/logs", alice, None),
        ("/api/schedule/replan", "post", "/api/schedule/replan", {}, None),
        ("/api/schedule/replan", "post", "/api/schedule/replan", alice, None),
        ("/api/schedule/replan", "post", "/api/schedule/replan", oscar, None),
        ("/api/schedule", "get", "/api/schedule", {}, None),
        ("/api/requests", "post", "/api/requests", alice, body),
        ("/api/requests", "post", "/api/requests", alice, {**body, "name": 3}),
        ("/api/requests", "post", "/api/requests", {}, body),
        ("/api/requests", "get", "/api/requests", alice, None),
        ("/api/requests", "get", "/api/requests?status=lost", alice, None),
        ("/api/requests/{request_id}", "get", "/api/requests/1", alice, None),
        ("/api/requests/{request_id}", "get", "/api/requests/1", _basic("paula"), None),
        ("/api/requests/{request_id}", "get", "/api/requests/77", alice, None),
        ("/api/requests/{request_id}.xml", "get", "/api/requests/1.xml", alice, None),
        ("/api/requests/{request_id}", "put", "/api/requests/1", alice, {**body, "name": "B"}),
        ("/api/requests/{request_id}", "put", "/api/requests/1", alice, {"name": []}),
        ("/api/requests/{request_id}", "delete", "/api/requests/1", _basic("paula"), None),
        ("/api/requests/{request_id}", "delete", "/api/requests/1", alice, None),
        ("/api/requests/{request_id}", "delete", "/api/requests/1", alice, None),
    ]
    seen = set()
    for path, method, url, headers, json_body in calls:
        kwargs = {"headers": headers} | ({"json": json_body} if json_body is not None else {})
        response = getattr(client, method)(url, **kwargs)
        _check(doc, path, method, response)
        seen.add((path, method, response.status_code))
    # the calls above did reach success and refusals: the check covered both kinds
    assert ("/api/requests", "post", 201) in seen and ("/api/requests", "post", 400) in seen
    assert ("/api/requests/{request_id}", "put", 200) in seen
    assert ("/api/requests/{request_id}", "delete", 200) in seen
    assert ("/api/requests/{request_id}", "delete", 400) in seen  # already cancelled
    assert ("/api/schedule/replan", "post", 403) in seen
