# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""Accounts on the real app and database: register → approval → log in; CSRF on every form;
throttled log-ins (issue 18: no brute force, no user enumeration); API tokens; admin roles."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from werkzeug import security

from orchestrator import users
from orchestrator.model import ApiToken, User
from orchestrator.requests.spec import spec_to_mapping
from orchestrator.requests.xml_io import parse_request
from orchestrator.users import LOGIN_MAX_FAILURES, LOGIN_WINDOW_S
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    ADMIN_PASSWORD,
    PASSWORD,
    example,
    row_counts,
    site,
)
from tests.web.helpers import CSRF_RE, csrf_of, log_in, web_client


def _basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def _user(site, name: str) -> User:
    with site.sessions() as session:
        return session.scalar(select(User).where(User.username == name))


def test_register_waits_for_approval_then_logs_in(site):
    client = web_client(site)
    data = {
        "username": "newbie",
        "email": "n@example.org",
        "password": "long-enough-1",
        "password2": "long-enough-1",
        "csrf_token": csrf_of(client, "/register"),
    }
    response = client.post("/register", data=data)
    assert response.status_code == 201
    assert "waits for an admin" in response.get_data(as_text=True)
    assert _user(site, "newbie").approved is False
    refused = log_in(client, "newbie", "long-enough-1")
    assert refused.status_code == 401 and "not approved" in refused.get_data(as_text=True)

    admin = web_client(site, "admin", ADMIN_PASSWORD)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "waiting for approval" in page
    uid = _user(site, "newbie").id
    token = csrf_of(admin, "/admin/users")
    assert (
        admin.post(
            f"/admin/users/{uid}", data={"action": "approve", "csrf_token": token}
        ).status_code
        == 302
    )
    assert _user(site, "newbie").approved is True
    assert log_in(client, "newbie", "long-enough-1").status_code == 302
    assert 'id="me"' in client.get("/").get_data(as_text=True)

    # a logged-out session is anonymous again
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert client.get("/requests").status_code == 302


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "has space"}, "username: 1-64 letters"),
        ({"password": "short", "password2": "short"}, "password: must have at least 8"),
        ({"password2": "different-1"}, "password2: the two passwords differ"),
        ({"username": "alice"}, "username: &#39;alice&#39; already exists"),
    ],
    ids=["bad-name", "short-password", "mismatch", "taken"],
)
def test_register_refuses_bad_input_naming_the_field(site, change, field):
    client = web_client(site)
    before = row_counts(site)
    data = {
        "username": "bob",
        "email": "",
        "password": "long-enough-1",
        "password2": "long-enough-1",
    }
    response = client.post(
        "/register", data={**data, **change, "csrf_token": csrf_of(client, "/register")}
    )
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)
    assert row_counts(site) == before


def test_forms_without_csrf_token_are_refused(site):
    client = web_client(site, "alice", PASSWORD)
    response = client.post("/profile", data={"action": "token", "name": "x"})
    assert response.status_code == 400 and "csrf_token" in response.get_data(as_text=True)
    anonymous = web_client(site)
    response = anonymous.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    with site.sessions() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_session_cookie_is_httponly_and_samesite(site):
    client = web_client(site)
    response = log_in(client, "alice", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_is_throttled_per_user_then_even_the_right_password_waits(site, clock):
    client = web_client(site)
    for _ in range(LOGIN_MAX_FAILURES):
        assert log_in(client, "alice", "wrong-password").status_code == 401
    throttled = log_in(client, "alice", PASSWORD)
    assert throttled.status_code == 429
    assert "too many failed log-ins" in throttled.get_data(as_text=True)
    # the API's basic auth shares the throttle
    assert (
        web_client(site).get("/api/requests", headers=_basic("alice", PASSWORD)).status_code == 429
    )
    clock.advance(LOGIN_WINDOW_S + 1)
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_unknown_and_known_users_cost_the_same_hashing(site, monkeypatch):
    """Issue 18: an unknown name returned before hashing (1.5 ms vs 86 ms): enumeration."""
    calls: list[str] = []
    real = security.check_password_hash

    def counting(stored: str, password: str) -> bool:
        calls.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    with site.sessions() as session:
        assert users.authenticate(session, "nobody-at-all", "whatever-1") is None
        assert users.authenticate(session, "alice", "whatever-1") is None
    assert len(calls) == 2 and calls[0] == calls[1]  # one hash each, same method and cost


def test_api_tokens_are_created_hashed_used_and_revoked(site):
    client = web_client(site, "alice", PASSWORD)
    page = client.post(
        "/profile",
        data={"action": "token", "name": "laptop", "csrf_token": csrf_of(client, "/profile")},
    ).get_data(as_text=True)
    token = page.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("pyros_")
    with site.sessions() as session:
        row = session.scalar(select(ApiToken))
        assert token not in (row.token_sha256, row.name)  # stored hashed
    bearer = {"Authorization": f"Bearer {token}"}
    anonymous = web_client(site)
    body = spec_to_mapping(parse_request(example(1)).spec)
    created = anonymous.post("/api/requests", json=body, headers=bearer)
    assert created.status_code == 201 and created.json["user"] == "alice"

    client.post(
        "/profile",
        data={
            "action": "revoke",
            "token_id": str(row.id),
            "csrf_token": csrf_of(client, "/profile"),
        },
    )
    refused = anonymous.get("/api/requests", headers=bearer)
    assert refused.status_code == 401 and refused.json["field"] == "user"


def test_api_writes_with_a_session_need_the_csrf_header(site):
    client = web_client(site, "alice", PASSWORD)
    before = row_counts(site)
    body = spec_to_mapping(parse_request(example(1)).spec)
    refused = client.post("/api/requests", json=body)
    assert refused.status_code == 400 and refused.json["field"] == "csrf_token"
    assert row_counts(site) == before
    token = csrf_of(client, "/profile")
    assert (
        client.post("/api/requests", json=body, headers={"X-CSRFToken": token}).status_code == 201
    )


def test_admin_pages_need_the_admin_role(site):
    alice = web_client(site, "alice", PASSWORD)
    assert alice.get("/admin/users").status_code == 403
    uid = _user(site, "paula").id
    token = csrf_of(alice, "/profile")
    response = alice.post(f"/admin/users/{uid}", data={"action": "deactivate", "csrf_token": token})
    assert response.status_code == 403
    assert _user(site, "paula").is_active is True
    admin = web_client(site, "admin", ADMIN_PASSWORD)
    token = csrf_of(admin, "/admin/users")
    admin.post(
        f"/admin/users/{uid}",
        data={
            "action": "save",
            "role": "operator",
            "country": "",
            "quota_h": "12.5",
            "csrf_token": token,
        },
    )
    paula = _user(site, "paula")
    with site.sessions() as session:
        assert session.get(User, uid).role == "operator" and paula.quota_h == 12.5


def test_a_password_change_logs_out_other_sessions(site):
    first = web_client(site, "alice", PASSWORD)
    second = web_client(site, "alice", PASSWORD)
    data = {
        "password": PASSWORD,
        "new_password": "new-night-2027",
        "new_password2": "new-night-2027",
    }
    response = first.post("/password", data={**data, "csrf_token": csrf_of(first, "/password")})
    assert response.status_code == 302
    assert first.get("/requests").status_code == 200
    assert second.get("/requests").status_code == 302  # back to the log-in page
    assert CSRF_RE.search(second.get("/login").get_data(as_text=True))
