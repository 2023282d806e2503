"""JSON API for observation requests: list, submit, read back, edit, cancel (seed §7.1 CRUD).

Authenticated by the session (+ X-CSRFToken on writes), a bearer API token or HTTP basic auth.
Bad input answers 400 naming the field, no credentials 401, a role/program/quota refusal 403,
an unknown or out-of-range id 404, a body over 1 MB 413.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for

from orchestrator.errors import InputError
from orchestrator.model import Request, SequenceStatus
from orchestrator.requests.builder import RequestBuilder, spec_of_request
from orchestrator.requests.changes import cancel_request, edit_request, find_request, may_read
from orchestrator.requests.spec import RequestSpec, spec_from_mapping, spec_to_mapping
from orchestrator.requests.xml_io import parse_request, request_to_xml, submit_xml
from orchestrator.users import Forbidden, Permission, has_permission
from web.auth import api_user, db_user, runtime
from web.json_body import parse_json
from web.requests_pages import list_query

blueprint = Blueprint("api_requests", __name__, url_prefix="/api/requests")
XML_TYPES = ("application/xml", "text/xml")


def _builder() -> RequestBuilder:
    rt = runtime()
    return RequestBuilder(rt.config, rt.clock)


def _body_spec() -> tuple[RequestSpec, Any]:
    """The body as a spec; returns the parsed XML (to locate builder errors) or None."""
    if request.mimetype in XML_TYPES:
        parsed = parse_request(request.get_data(), "body")
        return parsed.spec, parsed
    if request.mimetype != "application/json":
        raise InputError("request", "body must be JSON (Content-Type: application/json) or XML")
    return spec_from_mapping(parse_json(request.get_data())), None


def summary(stored: Request) -> dict[str, Any]:
    return {
        "id": stored.id,
        "name": stored.name,
        "user": stored.user.username,
        "program": stored.program.name if stored.program else None,
        "submitted": stored.submitted.isoformat(),
        "source": stored.source,
        "is_alert": stored.is_alert,
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


@blueprint.get("")
def list_requests():
    """Own requests (everyone's for operators); filters: status, name, user, page."""
    user = api_user()
    with runtime().sessions() as session:
        me = db_user(session, user)
        see_all = has_permission(me, Permission.VIEW_ALL_REQUESTS)
        query, page = list_query(None if see_all else me.id, request.args)
        rows = session.scalars(query).all()
        return jsonify({"page": page, "requests": [summary(r) for r in rows]})


@blueprint.post("")
def submit_request():
    """Body: a request as JSON (see `RequestSpec`) or as XML (Content-Type application/xml)."""
    user = api_user()
    rt = runtime()
    builder = _builder()
    if request.mimetype in XML_TYPES:
        done = submit_xml(builder, rt.sessions, request.get_data(), "body", user.username, "api")
    else:
        spec, _ = _body_spec()
        done = builder.submit(rt.sessions, spec, user.username, "api")
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


def _readable(session, request_id: int) -> Request:
    stored = find_request(session, request_id)
    if stored is None:
        abort(404)
    me = db_user(session, api_user())
    if not may_read(me, stored):
        raise Forbidden(
            "request", f"{me.username!r} may not read request {request_id} of another user"
        )
    return stored


@blueprint.get("/<int:request_id>")
def get_request(request_id: int):
    """The stored request in the submission format, plus who, when and each sequence's status."""
    api_user()
    with runtime().sessions() as session:
        stored = _readable(session, request_id)
        return jsonify(summary(stored) | {"request": spec_to_mapping(spec_of_request(stored))})


@blueprint.get("/<int:request_id>.xml")
def get_request_xml(request_id: int):
    """The stored request as an XML request file (what `pyros export` prints)."""
    api_user()
    with runtime().sessions() as session:
        stored = _readable(session, request_id)
        return Response(request_to_xml(spec_of_request(stored)), mimetype="application/xml")


@blueprint.put("/<int:request_id>")
def edit(request_id: int):
    """Replace the request (JSON or XML body) while none of its sequences has started."""
    user = api_user()
    with runtime().sessions() as session:
        stored = _readable(session, request_id)
        spec, parsed = _body_spec()
        try:
            edit_request(session, _builder(), stored, spec, db_user(session, user))
        except InputError as exc:
            raise (parsed.locate(exc) if parsed else exc) from None
        session.commit()
        return jsonify(summary(stored))


@blueprint.delete("/<int:request_id>")
def cancel(request_id: int):
    """Cancel every sequence of the request while none has started."""
    user = api_user()
    rt = runtime()
    with rt.sessions() as session:
        stored = _readable(session, request_id)
        cancel_request(stored, db_user(session, user), rt.clock.now())
        session.commit()
        return jsonify(summary(stored))
