"""One error format: `/api` answers `{"error": "field: reason", "field": ...}` as JSON, pages
show a short page. A crash shows an incident id, never a stack trace; the trace goes to the log.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from orchestrator.errors import InputError, PyrosError
from orchestrator.users import Forbidden, Throttled
from web.auth import Unauthorized, login_manager

log = logging.getLogger("pyros.web")


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str, field: str | None = None):
    if wants_json():
        body = {"error": message}
        if field is not None:
            body["field"] = field
        response = jsonify(body)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="PyROS", charset="UTF-8"'
        return response
    return render_template("error.html", status=status, message=message), status


def install(app: Flask) -> None:
    @app.errorhandler(PyrosError)
    def _pyros(exc: PyrosError):
        status = 429 if isinstance(exc, Throttled) else 403 if isinstance(exc, Forbidden) else 400
        field = exc.field if isinstance(exc, InputError) else None
        return error_response(status, str(exc), field)

    @app.errorhandler(Unauthorized)
    def _unauthorized(_exc: Unauthorized):
        if not wants_json():
            return login_manager.unauthorized()
        return error_response(
            401,
            "authentication required: log in, a bearer API token, or HTTP basic auth",
            "user",
        )

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, f"csrf_token: {exc.description}", "csrf_token")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code == 401 and not wants_json():
            return login_manager.unauthorized()
        messages = {
            403: "forbidden: your role may not do this",
            404: "not found",
            413: "request: body or upload larger than 1 MB",
        }
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or ""))

    @app.errorhandler(Exception)
    def _crash(exc: Exception):
        incident = secrets.token_hex(4)
        who = current_user.username if current_user and current_user.is_authenticated else "-"
        log.error(
            "incident %s: %s %s by %s", incident, request.method, request.path, who, exc_info=exc
        )
        return error_response(500, f"internal error (incident {incident}, logged on the server)")
