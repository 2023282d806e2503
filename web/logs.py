"""The log page and `/api/logs` (operators): the `log_entry` table filtered by source, lowest
level and a time range, newest first, 200 a page.

Partial: users' history (who did what, for admins) is not shown yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import LogEntry
from orchestrator.users import Permission
from web.auth import api_user, permission_required, runtime

blueprint = Blueprint("logs", __name__)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PAGE_SIZE = 200


def _time(args, name: str) -> datetime | None:
    raw = args.get(name, "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw[:40].replace("Z", "+00:00"))
    except ValueError:
        raise InputError(name, f"must be an ISO 8601 time (got {raw[:40]!r})") from None
    if value.utcoffset() is None:
        raise InputError(name, "an ISO 8601 time needs a zone (e.g. 2026-11-25T20:00:00Z)")
    return value


def log_rows(args) -> tuple[list[dict[str, Any]], int]:
    """The filtered rows of one page; each filter is checked and named when wrong."""
    query = select(LogEntry)
    source = args.get("source", "")[:64]
    if source:
        query = query.where(LogEntry.source == source)
    level = args.get("level", "").upper()
    if level:
        if level not in LEVELS:
            raise InputError("level", f"unknown level {level[:20]!r} (one of {', '.join(LEVELS)})")
        query = query.where(LogEntry.level.in_(LEVELS[LEVELS.index(level) :]))
    since, until = _time(args, "since"), _time(args, "until")
    if since is not None:
        query = query.where(LogEntry.time >= since)
    if until is not None:
        query = query.where(LogEntry.time < until)
    raw_page = args.get("page", "1")
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= 100_000:
        raise InputError("page", f"must be a page number 1-100000 (got {raw_page[:20]!r})")
    page = int(raw_page)
    query = query.order_by(LogEntry.time.desc(), LogEntry.id.desc())
    query = query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    with runtime().sessions() as session:
        rows = [
            {
                "id": e.id,
                "time": e.time.isoformat(),
                "level": e.level,
                "source": e.source,
                "message": e.message,
            }
            for e in session.scalars(query)
        ]
    return rows, page


@blueprint.get("/logs")
@permission_required(Permission.OPERATE)
def page():
    try:
        rows, page_number = log_rows(request.args)
        error = None
    except InputError as exc:
        rows, page_number, error = [], 1, str(exc)
    return render_template(
        "logs.html", rows=rows, page=page_number, args=request.args, levels=LEVELS,
        page_size=PAGE_SIZE, error=error,
    ), (400 if error else 200)  # fmt: skip


@blueprint.get("/api/logs")
def api_logs():
    if not api_user().can(Permission.OPERATE):
        abort(403)
    rows, page_number = log_rows(request.args)
    return jsonify({"page": page_number, "logs": rows})
