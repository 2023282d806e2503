"""The Flask web app: status pages for observers and a JSON API.

It reads through orchestrator services and sends commands as database rows; it never talks to
devices. Every script and style is served by the app itself (no CDN: sites are often offline).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, jsonify, render_template

from orchestrator.errors import PyrosError
from orchestrator.runtime import Runtime
from orchestrator.status import system_status


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def create_app(runtime: Runtime) -> Flask:
    app = Flask(__name__)
    app.extensions["pyros_runtime"] = runtime

    @app.errorhandler(PyrosError)
    def _bad_input(exc: PyrosError):
        return jsonify({"error": str(exc)}), 400

    from web.api_requests import blueprint as api_requests
    from web.environment import environment_blueprint
    from web.request_form import blueprint as request_form

    app.register_blueprint(environment_blueprint(runtime))
    app.register_blueprint(api_requests)
    app.register_blueprint(request_form)

    @app.get("/")
    def index():
        return render_template("status.html", status=system_status(runtime))

    @app.get("/api/status")
    def api_status():
        return jsonify(_jsonable(system_status(runtime)))

    return app


def serve(runtime: Runtime) -> None:
    """Serve the app with waitress (a production WSGI server) until interrupted."""
    import waitress

    web = runtime.config.web
    waitress.serve(create_app(runtime), host=web.host, port=web.port, threads=8, _quiet=True)
