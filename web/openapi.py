"""The OpenAPI 3.1 document of `/api`, served at `/api/openapi.json`.

The request body's schema is generated from `RequestSpec` (the one definition of the format);
the tests check that every `/api` route is described and that answers match their schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, jsonify
from pydantic import TypeAdapter

from orchestrator.requests.spec import RequestSpec
from web import openapi_control
from web.history import WHAT as HISTORY_KINDS
from web.openapi_refs import json_response as _json
from web.openapi_refs import ref as _ref

blueprint = Blueprint("openapi", __name__)
REF = "#/components/schemas/{model}"


ERRORS = {
    "400": _json("Error", "bad input: the field and the reason"),
    "401": _json("Error", "no valid credentials"),
    "403": _json("Error", "the role, program or quota does not allow it"),
    "404": _json("Error", "no such id"),
    "413": _json("Error", "body larger than 1 MB"),
    "429": _json("Error", "too many failed log-ins: wait a minute"),
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: ERRORS[code] for code in codes}


TIME_QUERY = {"type": "string", "format": "date-time"}
PAGE_QUERY = {"type": "integer", "minimum": 1}
REQUEST_ID = {
    "name": "request_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _ref("RequestSpec")},
        "application/xml": {"schema": {"type": "string", "description": "see request.xsd"}},
    },
}


def _schemas() -> dict[str, Any]:
    generated = TypeAdapter(RequestSpec).json_schema(ref_template=REF)
    schemas = generated.pop("$defs", {})
    schemas["RequestSpec"] = generated
    anything = {"type": "object"}
    schemas |= {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "'field: reason'"},
                "field": {"type": "string"},
            },
        },
        "SequenceState": {
            "type": "object",
            "required": ["id", "name", "status", "reason"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string"},
                "reason": {"type": "string"},
            },
        },
        "RequestSummary": {
            "type": "object",
            "required": ["id", "name", "user", "program", "submitted", "source", "sequences"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "user": {"type": "string"},
                "program": {"type": ["string", "null"]},
                "submitted": {"type": "string", "format": "date-time"},
                "source": {"type": "string"},
                "is_alert": {"type": "boolean"},
                "sequences": {"type": "array", "items": _ref("SequenceState")},
                "request": _ref("RequestSpec"),
            },
        },
        "RequestList": {
            "type": "object",
            "required": ["page", "requests"],
            "properties": {
                "page": {"type": "integer"},
                "requests": {"type": "array", "items": _ref("RequestSummary")},
            },
        },
        "Submitted": {
            "type": "object",
            "required": ["id", "sequence_ids", "duration_h", "user", "program"],
            "properties": {
                "id": {"type": "integer"},
                "sequence_ids": {"type": "array", "items": {"type": "integer"}},
                "duration_h": {"type": "number"},
                "user": {"type": "string"},
                "program": {"type": ["string", "null"]},
            },
        },
        "Status": {
            "type": "object",
            "required": ["site", "time", "database"],
            "properties": {
                "site": {"type": "string"},
                "time": {"type": "string", "format": "date-time"},
                "database": anything,
                "safety": {
                    "type": "object",
                    "required": ["is_safe", "reasons"],
                    "properties": {
                        "is_safe": {"type": "boolean"},
                        "reasons": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "schedule": {"type": ["object", "null"]},
                "majordome": {"type": ["object", "null"]},
                "jobs": {"type": "array", "items": anything},
                "devices": {"type": "array", "items": anything},
                "sequences": anything,
            },
        },
        "Environment": {
            "type": "object",
            "required": ["time", "site_name", "hours", "weather", "site", "history"],
            "properties": {
                "time": {"type": "string", "format": "date-time"},
                "site_name": {"type": "string"},
                "hours": {"type": "number"},
                "weather": {"type": ["object", "null"]},
                "site": {"type": ["object", "null"]},
                "history": {"type": "array", "items": anything},
            },
        },
        "UserHistory": {
            "type": "object",
            "required": ["events"],
            "properties": {
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["time", "user", "what", "detail"],
                        "properties": {
                            "time": {"type": "string", "format": "date-time"},
                            "user": {"type": "string"},
                            "what": {"enum": list(HISTORY_KINDS)},
                            "detail": {"type": "string"},
                            "request_id": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "SynthesisList": {
            "type": "object",
            "required": ["page", "syntheses"],
            "properties": {
                "page": {"type": "integer"},
                "syntheses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["measured", "is_safe", "reasons", "elements"],
                        "properties": {
                            "measured": {"type": "string", "format": "date-time"},
                            "is_safe": {"type": "boolean"},
                            "reasons": {"type": "array", "items": {"type": "string"}},
                            "elements": {"type": "object"},
                        },
                    },
                },
            },
        },
        "ScheduleEntry": {
            "type": "object",
            "required": ["start", "end", "sequence_id", "request_id", "target", "status"],
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "sequence_id": {"type": "integer"},
                "request_id": {"type": "integer"},
                "sequence": {"type": "string"},
                "target": {"type": "string"},
                "status": {"type": "string"},
                "left_pct": {"type": "number"},
                "width_pct": {"type": "number"},
            },
        },
        "NightSky": {
            "type": "object",
            "description": "Sun and Moon times, altitude curves (deg) of the scheduled targets "
            "and of the Moon at times_s (unix seconds, civil dusk to civil dawn)",
            "required": ["times_s", "sun", "moon", "targets", "horizon_deg"],
            "properties": {
                "times_s": {"type": "array", "items": {"type": "integer"}},
                "sun": {"type": "object"},
                "moon": {
                    "type": "object",
                    "required": ["rise", "set", "illumination", "altitude_deg"],
                    "properties": {
                        "rise": {"type": ["string", "null"]},
                        "set": {"type": ["string", "null"]},
                        "illumination": {"type": "number", "minimum": 0, "maximum": 1},
                        "altitude_deg": {"type": "array", "items": {"type": "number"}},
                    },
                },
                "targets": {"type": "array", "items": anything},
                "horizon_deg": {"type": "number"},
            },
        },
        "ScheduleView": {
            "type": "object",
            "required": ["schedule", "unscheduled"],
            "properties": {
                "schedule": {
                    "oneOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": ["id", "night", "dusk", "dawn", "entries"],
                            "properties": {
                                "id": {"type": "integer"},
                                "night": {"type": "string", "format": "date"},
                                "dusk": {"type": "string", "format": "date-time"},
                                "dawn": {"type": "string", "format": "date-time"},
                                "entries": {"type": "array", "items": _ref("ScheduleEntry")},
                                "sky": {"oneOf": [{"type": "null"}, _ref("NightSky")]},
                            },
                        },
                    ]
                },
                "unscheduled": {"type": "array", "items": anything},
            },
        },
        "LogPage": {
            "type": "object",
            "required": ["page", "logs"],
            "properties": {
                "page": {"type": "integer"},
                "logs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "time", "level", "source", "message"],
                        "properties": {
                            "id": {"type": "integer"},
                            "time": {"type": "string", "format": "date-time"},
                            "level": {"type": "string"},
                            "source": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Replanned": {
            "type": "object",
            "required": ["schedule_id", "entries"],
            "properties": {"schedule_id": {"type": "integer"}, "entries": {"type": "integer"}},
        },
    }
    return schemas | openapi_control.SCHEMAS


@cache
def document() -> dict[str, Any]:
    ok = _json
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PyROS API",
            "version": "1",
            "description": "Errors are {error: 'field: reason', field}. Writes with the session "
            "cookie need the X-CSRFToken header; scripts use a bearer token or HTTP basic.",
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"basic": []}, {"token": []}, {"session": []}],
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
            "/api/status": {
                "get": {
                    "summary": "Safety, schedule, jobs, devices (internals for operators only)",
                    "security": [],
                    "responses": {"200": ok("Status", "the site's status")},
                }
            },
            "/api/environment": {
                "get": {
                    "summary": "Weather and site synthesis and the history of the last hours",
                    "security": [],
                    "parameters": [
                        {
                            "name": "hours",
                            "in": "query",
                            "description": "every stored row up to 24 h; ~1,500 buckets beyond",
                            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 8784},
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "description": "only the points after this time (incremental)",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                    ],
                    "responses": {"200": ok("Environment", "the environment"), **_errors("400")},
                }
            },
            "/api/admin/history": {
                "get": {
                    "summary": "Users' history: log-ins, submissions, commands, admin changes",
                    "parameters": [
                        {"name": "user", "in": "query", "schema": {"type": "string"}},
                        {"name": "what", "in": "query", "schema": {"enum": list(HISTORY_KINDS)}},
                    ],
                    "responses": {
                        "200": ok("UserHistory", "newest first, at most 300 events"),
                        **_errors("400", "401", "403"),
                    },
                }
            },
            "/api/environment/syntheses": {
                "get": {
                    "summary": "Past weather syntheses: each stored decision change (admins)",
                    "parameters": [
                        {"name": "since", "in": "query", "schema": TIME_QUERY},
                        {"name": "until", "in": "query", "schema": TIME_QUERY},
                        {"name": "page", "in": "query", "schema": PAGE_QUERY},
                    ],
                    "responses": {
                        "200": ok("SynthesisList", "newest first, 50 a page"),
                        **_errors("400", "401", "403"),
                    },
                }
            },
            "/api/schedule": {
                "get": {
                    "summary": "Tonight's plan (or a past one by id: admins) and what is left out",
                    "security": [],
                    "parameters": [{"name": "id", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {
                        "200": ok("ScheduleView", "the plan"),
                        **_errors("400", "401", "403", "404"),
                    },
                }
            },
            "/api/schedule/replan": {
                "post": {
                    "summary": "Re-plan now (operators)",
                    "responses": {
                        "200": ok("Replanned", "the new plan"),
                        **_errors("400", "401", "403", "429"),
                    },
                }
            },
            "/api/logs": {
                "get": {
                    "summary": "The log table, newest first, 200 a page (operators)",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": t}}
                        for n, t in (
                            ("source", "string"),
                            ("level", "string"),
                            ("since", "string"),
                            ("until", "string"),
                            ("page", "integer"),
                        )
                    ],
                    "responses": {
                        "200": ok("LogPage", "the entries"),
                        **_errors("400", "401", "403", "429"),
                    },
                }
            },
            "/api/requests": {
                "get": {
                    "summary": "Own requests (everyone's for operators), 100 a page",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": t}}
                        for n, t in (
                            ("status", "string"),
                            ("name", "string"),
                            ("user", "string"),
                            ("page", "integer"),
                        )
                    ],
                    "responses": {
                        "200": ok("RequestList", "the requests"),
                        **_errors("400", "401", "429"),
                    },
                },
                "post": {
                    "summary": "Submit a request (JSON or XML)",
                    "requestBody": REQUEST_BODY,
                    "responses": {
                        "201": ok("Submitted", "stored; Location names it"),
                        **_errors("400", "401", "403", "413", "429"),
                    },
                },
            },
            "/api/requests/{request_id}": {
                "parameters": [REQUEST_ID],
                "get": {
                    "summary": "A request in the submission format, with each sequence's status",
                    "responses": {
                        "200": ok("RequestSummary", "the request"),
                        **_errors("401", "403", "404", "429"),
                    },
                },
                "put": {
                    "summary": "Replace a request while none of its sequences has started",
                    "requestBody": REQUEST_BODY,
                    "responses": {
                        "200": ok("RequestSummary", "the changed request"),
                        **_errors("400", "401", "403", "404", "413", "429"),
                    },
                },
                "delete": {
                    "summary": "Cancel a request while none of its sequences has started",
                    "responses": {
                        "200": ok("RequestSummary", "the cancelled request"),
                        **_errors("400", "401", "403", "404", "429"),
                    },
                },
            },
            "/api/requests/{request_id}.xml": {
                "parameters": [REQUEST_ID],
                "get": {
                    "summary": "A request as an XML request file",
                    "responses": {
                        "200": {
                            "description": "the XML file",
                            "content": {"application/xml": {"schema": {"type": "string"}}},
                        },
                        **_errors("401", "403", "404", "429"),
                    },
                },
            },
        },
    }


def _with_control(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "paths": doc["paths"] | openapi_control.PATHS}


@blueprint.get("/api/openapi.json")
def openapi_json():
    return jsonify(_with_control(document()))
