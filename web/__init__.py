"""The Flask web app: pages for observers, operators and PIs, and the JSON API under `/api`.

An app factory with one blueprint per area (dashboard, accounts, requests, schedule, logs,
admin, environment, majordome, alerts, simulation, API, OpenAPI, image previews). It reads
through orchestrator services and sends commands as database rows; it never talks to devices.
Every asset is served by the app itself (no CDN: sites are offline).
"""

from __future__ import annotations

import gzip
import secrets
from datetime import timedelta

from flask import Flask, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.accounts import site_secret
from orchestrator.runtime import Runtime
from orchestrator.users import Permission

COMPRESSED_TYPES = frozenset({"application/json", "text/html", "application/xml"})
MAX_BODY_BYTES = 1_000_000  # uploads and JSON bodies; larger is refused with 413


def create_app(runtime: Runtime) -> Flask:
    from web import errors
    from web.accounts import blueprint as accounts
    from web.admin import blueprint as admin
    from web.alerts import blueprint as alerts
    from web.api_requests import blueprint as api_requests
    from web.auth import csrf, login_manager
    from web.catalog import blueprint as catalog
    from web.dashboard import blueprint as dashboard
    from web.environment import environment_blueprint
    from web.history import api_blueprint as history_api
    from web.history import blueprint as history
    from web.logs import blueprint as logs
    from web.majordome import blueprint as majordome
    from web.openapi import blueprint as openapi
    from web.previews import blueprint as previews
    from web.requests_pages import blueprint as requests_pages
    from web.schedule import blueprint as schedule
    from web.simulation import blueprint as simulation
    from web.syntheses import blueprint as syntheses

    app = Flask(__name__)
    app.extensions["pyros_runtime"] = runtime
    try:
        with runtime.sessions() as session:
            secret = site_secret(session, "web_session")
    except SQLAlchemyError:  # no database yet: the status page still says so; log-ins wait
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=7),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.json.compact = True  # the C encoder: 293 KB of history took 20 ms pretty-printed
    app.json.sort_keys = False
    login_manager.init_app(app)
    csrf.init_app(app)
    errors.install(app)
    areas = (dashboard, accounts, requests_pages, schedule, logs, admin, api_requests, openapi)
    areas += (previews, majordome, alerts, simulation, history, history_api, catalog, syntheses)
    for blueprint in areas:
        app.register_blueprint(blueprint)
    app.register_blueprint(environment_blueprint(runtime))
    # The API authenticates each call itself (session + CSRF header, token or basic auth).
    csrf.exempt(api_requests)
    csrf.exempt("web.schedule.api_replan")
    for view in ("web.majordome.api_command", "web.alerts.api_replay"):
        csrf.exempt(view)
    csrf.exempt(dashboard)  # read-only GET routes

    @app.context_processor
    def _who():
        return {"me": current_user, "P": Permission}

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return compress(response)

    return app


def compress(response):
    """gzip a JSON or HTML answer over 1 KB when the client asks (the 24 h history: 293 KB)."""
    response.vary.add("Accept-Encoding")
    if (
        response.direct_passthrough
        or response.status_code < 200
        or "Content-Encoding" in response.headers
        or response.mimetype not in COMPRESSED_TYPES
        or "gzip" not in request.headers.get("Accept-Encoding", "")
    ):
        return response
    data = response.get_data()
    if len(data) < 1024:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    return response


def serve(runtime: Runtime) -> None:
    """Serve the app with waitress (a production WSGI server) until interrupted."""
    import waitress

    web = runtime.config.web
    waitress.serve(create_app(runtime), host=web.host, port=web.port, threads=8, _quiet=True)
