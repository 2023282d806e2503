"""Test helpers for the web app: a logged-in Flask test client that sends CSRF tokens as a
browser does (read from the page's form), never with CSRF turned off."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from web import create_app

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    found = CSRF_RE.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def log_in(client: FlaskClient, username: str, password: str):
    token = csrf_of(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def web_client(runtime, username: str | None = None, password: str | None = None) -> FlaskClient:
    app = create_app(runtime)
    app.testing = True
    client = app.test_client()
    if username is not None:
        response = log_in(client, username, password)
        assert response.status_code == 302, response.get_data(as_text=True)
    return client
