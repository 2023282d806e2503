"""JSON API for observation requests: submit and read back, through the one request builder.

HTTP basic auth against the users table. Bad input answers 400 with the same one-line message
as the CLI, missing or wrong credentials 401, a role, program or quota refusal 403.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import Request, SequenceStatus, User
from orchestrator.request_builder import RequestBuilder, spec_of_request
from orchestrator.request_spec import spec_from_mapping, spec_to_mapping
from orchestrator.request_xml import request_to_xml, submit_xml
from orchestrator.runtime import Runtime
from orchestrator.users import Forbidden, Permission, authenticate, has_permission

blueprint = Blueprint("api_requests", __name__, url_prefix="/api/requests")
MAX_BODY_BYTES = 1_000_000
XML_TYPES = ("application/xml", "text/xml")


class Unauthorized(Exception):
    """No credentials, or credentials that match no active user."""


def _runtime() -> Runtime:
    return current_app.extensions["pyros_runtime"]


@blueprint.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    return jsonify({"error": str(exc)}), 403


@blueprint.errorhandler(Unauthorized)
def _unauthorized(_exc: Unauthorized):
    response = jsonify(
        {"error": "authentication required: HTTP basic auth with a PyROS user name and password"}
    )
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Basic realm="PyROS", charset="UTF-8"'
    return response


def _current_username() -> str:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        raise Unauthorized()
    with _runtime().sessions() as session:
        user = authenticate(session, auth.username, auth.password)
        if user is None:
            raise Unauthorized()
        return user.username


@blueprint.post("")
def submit_request():
    """Body: a request as JSON (see `RequestSpec`) or as XML (Content-Type application/xml)."""
    username = _current_username()
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise InputError("request", f"body larger than {MAX_BODY_BYTES} bytes")
    runtime = _runtime()
    builder = RequestBuilder(runtime.config, runtime.clock)
    if request.mimetype in XML_TYPES:
        done = submit_xml(builder, runtime.sessions, request.get_data(), "body", username, "api")
    else:
        data = request.get_json(silent=True)
        if data is None:
            raise InputError("request", "body must be JSON (Content-Type: application/json)")
        done = builder.submit(runtime.sessions, spec_from_mapping(data), username, "api")
    body = {
        "id": done.request_id,
        "sequence_ids": list(done.sequence_ids),
        "duration_h": round(done.duration_h, 6),
        "user": done.username,
        "program": done.program,
    }
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(".get_request", request_id=done.request_id)
    return response


def _readable_request(session, request_id: int, username: str) -> Request | None:
    stored = session.get(Request, request_id)
    if stored is None:
        return None
    user = session.scalars(select(User).where(User.username == username)).one()
    if stored.user_id != user.id and not has_permission(user, Permission.VIEW_ALL_REQUESTS):
        raise Forbidden(
            "request", f"{username!r} may not read request {request_id} of another user"
        )
    return stored


@blueprint.get("/<int:request_id>")
def get_request(request_id: int):
    """The stored request in the submission format, plus who, when and each sequence's status."""
    username = _current_username()
    with _runtime().sessions() as session:
        stored = _readable_request(session, request_id, username)
        if stored is None:
            return jsonify({"error": f"request_id: no request {request_id}"}), 404
        return jsonify(
            {
                "id": stored.id,
                "user": stored.user.username,
                "submitted": stored.submitted.isoformat(),
                "source": stored.source,
                "request": spec_to_mapping(spec_of_request(stored)),
                "sequences": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "status": SequenceStatus(s.status).value,
                        "reason": s.status_reason,
                    }
                    for s in stored.sequences
                ],
            }
        )


@blueprint.get("/<int:request_id>.xml")
def get_request_xml(request_id: int):
    """The stored request as an XML request file (what `pyros export` prints)."""
    username = _current_username()
    with _runtime().sessions() as session:
        stored = _readable_request(session, request_id, username)
        if stored is None:
            return jsonify({"error": f"request_id: no request {request_id}"}), 404
        return Response(request_to_xml(spec_of_request(stored)), mimetype="application/xml")
