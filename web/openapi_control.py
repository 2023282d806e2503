"""The OpenAPI part of `/api/majordome` and `/api/alerts` (merged into `web/openapi.py`)."""

from __future__ import annotations

from typing import Any

from orchestrator.alerts.store import LATENCY_STEPS
from web.control import CAMERAS, IMAGE_TYPES, WEB_KINDS
from web.openapi_refs import json_response as _json
from web.openapi_refs import ref as _ref


def _errors(*codes: str) -> dict[str, Any]:
    reasons = {
        "400": "bad input: the field and the reason",
        "401": "no valid credentials",
        "403": "the role may not, or not in simulation mode",
        "404": "no such id",
        "413": "body larger than 1 MB",
        "429": "too many failed log-ins: wait a minute",
    }
    return {code: _json("Error", reasons[code]) for code in codes}


TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": "number"}
ANGLES = {
    "ra_deg": {"type": "number", "minimum": 0, "maximum": 360},
    "dec_deg": {"type": "number", "minimum": -90, "maximum": 90},
    "alt_deg": {"type": "number", "minimum": 0, "maximum": 90},
    "az_deg": {"type": "number", "minimum": 0, "maximum": 360},
}

SCHEMAS: dict[str, Any] = {
    "CommandRow": {
        "type": "object",
        "required": ["id", "kind", "arguments", "issued_by", "created", "status", "result"],
        "properties": {
            "id": {"type": "integer"},
            "telescope": {"type": "string", "description": "the telescope that takes it"},
            "kind": {"type": "string"},
            "arguments": {"type": "object"},
            "issued_by": {"type": "string", "description": "web:USER, cli, automation"},
            "created": TIME,
            "taken": MAYBE_TIME,
            "done": MAYBE_TIME,
            "status": {"enum": ["queued", "taken", "done", "failed", "refused"]},
            "result": {"type": "string"},
        },
    },
    "CommandIn": {
        "type": "object",
        "required": ["kind"],
        "description": "Device kinds are carried out in MANUAL mode only; slew, unpark and "
        "dome_open are refused while UNSAFE unless force (logged with the user).",
        "properties": {
            "kind": {"enum": list(WEB_KINDS)},
            "arguments": {
                "type": "object",
                "properties": {
                    **ANGLES,
                    "force": {"type": "boolean"},
                    "camera": {"enum": list(CAMERAS)},
                    "filter": {"type": ["string", "null"], "maxLength": 32},
                    "exposure_s": {"type": "number", "minimum": 0, "maximum": 3600},
                    "image_type": {"enum": list(IMAGE_TYPES)},
                    "on": {"type": "boolean", "description": "lights: on or off"},
                },
                "additionalProperties": False,
            },
        },
    },
    "MajordomeView": {
        "type": "object",
        "required": ["time", "majordome", "safety", "devices", "commands", "simulated"],
        "properties": {
            "time": TIME,
            "majordome": {"type": ["object", "null"]},
            "safety": {"type": ["object", "null"]},
            "devices": {"type": "array", "items": {"type": "object"}},
            "commands": {"type": "array", "items": _ref("CommandRow")},
            "simulated": {"type": "boolean"},
        },
    },
    "AlertView": {
        "type": "object",
        "required": [
            "id",
            "ivorn",
            "source",
            "received",
            "kind",
            "status",
            "latency_ms",
            "decisions",
        ],  # fmt: skip
        "properties": {
            "id": {"type": "integer"},
            "ivorn": {"type": "string"},
            "source": {"type": "string"},
            "received": TIME,
            "mission": {"type": "string"},
            "instrument": {"type": "string"},
            "notice_type": {"type": "string"},
            "role": {"type": "string"},
            "trigger_id": {"type": ["string", "null"]},
            "event_time": MAYBE_TIME,
            "ra_deg": {"type": ["number", "null"]},
            "dec_deg": {"type": ["number", "null"]},
            "error_radius_deg": {"type": ["number", "null"]},
            "kind": {"type": "string"},
            "status": {"type": "string"},
            "reason": {"type": "string"},
            "strategy": {"type": ["string", "null"]},
            "request_id": {"type": ["integer", "null"]},
            "supersedes_id": {"type": ["integer", "null"]},
            "latency_ms": {
                "type": "object",
                "description": "milliseconds after arrival, per step",
                "properties": {step: NUMBER for step in LATENCY_STEPS},
                "additionalProperties": False,
            },
            "decisions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["time", "action", "reason"],
                    "properties": {
                        "time": TIME,
                        "action": {"type": "string"},
                        "reason": {"type": "string"},
                        "request_id": {"type": ["integer", "null"]},
                    },
                },
            },
            "payload": {"type": "string", "description": "the raw notice as received"},
            "report": {"type": "array", "items": {"type": "string"}},
        },
    },
    "AlertList": {
        "type": "object",
        "required": ["page", "alerts"],
        "properties": {
            "page": {"type": "integer"},
            "alerts": {"type": "array", "items": _ref("AlertView")},
        },
    },
}

ID = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

PATHS: dict[str, Any] = {
    "/api/majordome": {
        "get": {
            "summary": "Majordome state and mode, safety, instruments, last commands (operators)",
            "responses": {
                "200": _json("MajordomeView", "the view"),
                **_errors("401", "403", "429"),
            },
        }
    },
    "/api/majordome/commands": {
        "post": {
            "summary": "Queue an operator command (operators); poll its row for the result",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("CommandIn")}},
            },
            "responses": {
                "202": _json("CommandRow", "queued; Location names its row"),
                **_errors("400", "401", "403", "413", "429"),
            },
        }
    },
    "/api/majordome/commands/{command_id}": {
        "parameters": [{"name": "command_id", **ID}],
        "get": {
            "summary": "A command's row: status and result once done (operators)",
            "responses": {
                "200": _json("CommandRow", "the row"),
                **_errors("401", "403", "404", "429"),
            },
        },
    },
    "/api/alerts": {
        "get": {
            "summary": "Stored alerts, newest first, 100 a page, with decisions and latency",
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"type": "string"}},
                {"name": "page", "in": "query", "schema": {"type": "integer"}},
            ],
            "responses": {"200": _json("AlertList", "the alerts"), **_errors("400", "401", "429")},
        }
    },
    "/api/alerts/{alert_id}": {
        "parameters": [{"name": "alert_id", **ID}],
        "get": {
            "summary": "An alert with its raw notice and its error-box report (or why none)",
            "responses": {
                "200": _json("AlertView", "the alert"),
                **_errors("401", "404", "429"),
            },
        },
    },
    "/api/alerts/replay": {
        "post": {
            "summary": "Simulation mode (operators): replay a shipped notice into the watched "
            "folder, made fresh; it then takes the real path",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["notice"],
                            "properties": {"notice": {"type": "string"}},
                        }
                    }
                },
            },
            "responses": {
                "202": {
                    "description": "written into the folder",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string"}},
                            }
                        }
                    },
                },
                **_errors("400", "401", "403", "413", "429"),
            },
        }
    },
}
