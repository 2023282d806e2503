"""The status page (`/`) and `/api/status`: public, with internals for operators only.

Anyone may see the site's safety, schedule and device states; the database URL, device
addresses and error texts are shown only to a logged-in operator (issue 18).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, render_template

from orchestrator.status import system_status
from orchestrator.users import Permission
from web.auth import optional_api_user, runtime

blueprint = Blueprint("dashboard", __name__)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def public_status(status: dict[str, Any]) -> dict[str, Any]:
    """The status without what helps an attacker more than an observer."""
    status = dict(status)
    database = dict(status.get("database", {}))
    database.pop("url", None)
    if database.get("error"):
        database["error"] = "database not ready"
    status["database"] = database
    status["devices"] = [
        {k: v for k, v in d.items() if k not in ("address", "last_error")}
        for d in status.get("devices", [])
    ]
    status["jobs"] = [
        {k: v for k, v in j.items() if k != "last_error"} for j in status.get("jobs", [])
    ]
    return status


def _status_for_caller() -> dict[str, Any]:
    status = system_status(runtime())
    user = optional_api_user()
    if user is None or not user.can(Permission.OPERATE):
        status = public_status(status)
    return status


@blueprint.get("/")
def index():
    return render_template("status.html", status=_status_for_caller())


@blueprint.get("/api/status")
def api_status():
    return jsonify(jsonable(_status_for_caller()))
