"""The status page (`/`) and `/api/status`: public, with internals for operators only.

Anyone may see the site's safety, schedule and device states; the database URL, device
addresses and error texts are shown only to a logged-in operator (issue 18).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template

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
    return status if _internals() else public_status(status)


@blueprint.get("/")
def index():
    return render_template("status.html", status=_status_for_caller())


class _StatusCache:
    """The serialized status, kept `STATUS_CACHE_S` (1 s): every open page polls every 5 s and
    a status costs several queries; within a second they all get the same answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[bool, tuple[float, bytes]] = {}

    def get(self, internals: bool, ttl_s: float) -> bytes:
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(internals)
            if kept is not None and now - kept[0] < ttl_s:
                return kept[1]
        status = system_status(runtime())
        body = json.dumps(jsonable(status if internals else public_status(status))).encode()
        with self._lock:
            self._kept[internals] = (now, body)
        return body


def _internals() -> bool:
    user = optional_api_user()
    return user is not None and user.can(Permission.OPERATE)


@blueprint.get("/api/status")
def api_status():
    cache = current_app.extensions.setdefault("pyros_status_cache", _StatusCache())
    body = cache.get(_internals(), current_app.config.get("STATUS_CACHE_S", 1.0))
    return Response(body, mimetype="application/json")
