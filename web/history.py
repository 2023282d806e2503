"""Users' history (admins): who did what, newest first, from the tables that already say it.

Log-ins and log-outs on the web, admin changes and simulation actions are written here into
`log_entry` (source `web.users`, the message starting with the user name); failed log-ins come
from `login_failure`, submissions from `request`, operator commands from `command`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import Command, LogEntry, Request, User
from orchestrator.model.accounts import LoginFailure
from orchestrator.users import Forbidden, Permission
from web.auth import api_user, permission_required, runtime

blueprint = Blueprint("history", __name__, url_prefix="/admin")
api_blueprint = Blueprint("history_api", __name__)  # /api is outside the page's /admin prefix
SOURCE = "web.users"
LIMIT = 300
WHAT = ("login", "submission", "command", "admin")


def record(username: str, message: str, level: str = "INFO") -> None:
    """One line of a user's history: '<username> <what they did>'."""
    rt = runtime()
    with rt.sessions.begin() as session:
        session.add(
            LogEntry(
                time=rt.clock.now(), level=level, source=SOURCE, message=f"{username} {message}"
            )
        )


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value  # UTC either way: sort only


def history_rows(username: str, what: str) -> list[dict[str, Any]]:
    """Events of one user (or everyone), merged from the four tables, newest first."""
    if what and what not in WHAT:
        raise InputError("what", f"must be one of {', '.join(WHAT)} (got {what[:20]!r})")
    rows: list[dict[str, Any]] = []
    with runtime().sessions() as session:
        if username and session.scalar(select(User.id).where(User.username == username)) is None:
            raise InputError("user", f"no user {username!r}")
        if what in ("", "login", "admin"):
            query = select(LogEntry).where(LogEntry.source == SOURCE)
            if username:
                query = query.where(LogEntry.message.startswith(f"{username} ", autoescape=True))
            for e in session.scalars(query.order_by(LogEntry.id.desc()).limit(LIMIT)):
                who, _, text = e.message.partition(" ")
                kind = "login" if text.startswith(("logged", "log-in")) else "admin"
                if what in ("", kind):
                    rows.append({"time": e.time, "user": who, "what": kind, "detail": text})
        if what in ("", "login"):
            query = select(LoginFailure)
            if username:
                query = query.where(LoginFailure.username == username)
            for f in session.scalars(query.order_by(LoginFailure.id.desc()).limit(LIMIT)):
                detail = f"failed log-in from {f.address}"
                rows.append({"time": f.when, "user": f.username, "what": "login", "detail": detail})
        if what in ("", "submission"):
            query = select(Request, User.username).join(User, Request.user_id == User.id)
            if username:
                query = query.where(User.username == username)
            for r, who in session.execute(query.order_by(Request.id.desc()).limit(LIMIT)):
                detail = f"submitted request {r.id} {r.name!r} ({r.source})"
                rows.append({"time": r.submitted, "user": who, "what": "submission",
                             "detail": detail, "request_id": r.id})  # fmt: skip
        if what in ("", "command"):
            query = select(Command)
            if username:
                query = query.where(Command.issued_by == f"web:{username}")
            for c in session.scalars(query.order_by(Command.id.desc()).limit(LIMIT)):
                who = c.issued_by.removeprefix("web:")
                detail = f"command {c.id} {c.kind} {c.arguments or ''}: {c.status} {c.result}"
                rows.append({"time": c.created, "user": who, "what": "command", "detail": detail})
    rows.sort(key=lambda r: _naive(r["time"]), reverse=True)
    return rows[:LIMIT]


@blueprint.get("/history")
@permission_required(Permission.MANAGE_USERS)
def page():
    username = request.args.get("user", "")[:64]
    what = request.args.get("what", "")[:20]
    try:
        rows, error = history_rows(username, what), None
    except InputError as exc:
        rows, error = [], str(exc)
    with runtime().sessions() as session:
        users = list(session.scalars(select(User.username).order_by(User.username)))
    return render_template(
        "history.html", rows=rows, users=users, user=username, what=what, kinds=WHAT,
        error=error, limit=LIMIT,
    ), (400 if error else 200)  # fmt: skip


@api_blueprint.get("/api/admin/history")
def api():
    """The same events as the page, as JSON (admins)."""
    user = api_user()
    if not user.can(Permission.MANAGE_USERS):
        raise Forbidden("user", f"'{user.username}' (role {user.role.value}) may not read it")
    rows = history_rows(request.args.get("user", "")[:64], request.args.get("what", "")[:20])
    for row in rows:
        row["time"] = row["time"].isoformat()
    return jsonify({"events": rows})
