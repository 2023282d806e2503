"""The dashboard (`/`) and `/api/status`: public, with internals for operators only.

Anyone may see the site's safety, the majordome, the executing sequence with its progress
rows (album and plan statuses, frames done), the next entries, the last images (their PNG
previews, web/previews.py, for the users who may see them), jobs and devices; the database
URL, device addresses and error texts are shown only to a logged-in operator (issue 18).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from orchestrator.model import Album
from orchestrator.status import system_status
from orchestrator.users import Permission
from web.auth import optional_api_user, runtime

blueprint = Blueprint("dashboard", __name__)
NEXT_ENTRIES = 5
REFRESH_S = 2  # the page's poll: a change of safety shows within ~4 s (poll + store + cache)


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
    status["images"] = [  # where the files lie is the operators' business
        {k: v for k, v in i.items() if k != "path"} for i in status.get("images", [])
    ]
    return status


def _progress_rows(sequence_id: int) -> list[dict[str, Any]]:
    """The observer's rows of the executing sequence: each plan, its album, frames done."""
    with runtime().sessions() as session:
        albums = session.scalars(
            select(Album)
            .where(Album.sequence_id == sequence_id)
            .options(selectinload(Album.plans))
            .order_by(Album.id)
        ).all()
        return [
            {
                "channel": str(album.channel),
                "album_status": album.status,
                "filter": plan.filter_name,
                "exposure_s": plan.exposure_s,
                "binning": plan.binning,
                "count": plan.count,
                "frames_done": plan.frames_done,
                "status": plan.status,
            }
            for album in albums
            for plan in album.plans
        ]


def with_dashboard(status: dict[str, Any]) -> dict[str, Any]:
    """The status plus what the dashboard adds: progress rows and the next entries."""
    schedule, majordome = status.get("schedule"), status.get("majordome")
    now = status["time"]
    status["next_entries"] = (
        [
            e
            for e in schedule["entries"]
            if e["end"] > now and e["status"] in ("planned", "executing")
        ][:NEXT_ENTRIES]
        if schedule
        else []
    )
    sequence = majordome.get("sequence") if majordome else None
    status["progress_rows"] = _progress_rows(sequence["id"]) if sequence else []
    return status


def _status_for_caller() -> dict[str, Any]:
    status = with_dashboard(system_status(runtime()))
    return status if _internals() else public_status(status)


@blueprint.get("/")
def index():
    status = _status_for_caller()
    return render_template(
        "status.html",
        status=status,
        images=jsonable(status.get("images", [])),
        refresh_s=REFRESH_S,
    )


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
        status = with_dashboard(system_status(runtime()))
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
