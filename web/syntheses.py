"""Past weather syntheses (admins): every stored decision change, newest first, with its elements.

The gateway keeps the full synthesis only where the safe/unsafe decision (or its reasons)
changed, so this list is the environment's decision history; the plotted figures between
those changes are on the environment page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import WeatherWatchHistory
from orchestrator.users import Forbidden, Permission
from web.auth import api_user, permission_required, runtime

blueprint = Blueprint("syntheses", __name__)
PAGE_SIZE = 50


def _time(name: str) -> datetime | None:
    raw = request.args.get(name, "")[:40]
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(name, f"must be an ISO 8601 time (got {raw!r})") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)  # UTC by default


def _page() -> int:
    raw = request.args.get("page", "1")[:10]
    if not raw.isdigit() or int(raw) < 1:
        raise InputError("page", f"must be a whole number ≥ 1 (got {raw!r})")
    return int(raw)


def syntheses(since: datetime | None, until: datetime | None, page: int) -> list[dict[str, Any]]:
    """One page of stored syntheses, newest first."""
    query = select(WeatherWatchHistory).where(WeatherWatchHistory.synthesis.is_not(None))
    if since is not None:
        query = query.where(WeatherWatchHistory.measured >= since)
    if until is not None:
        query = query.where(WeatherWatchHistory.measured < until)
    query = query.order_by(WeatherWatchHistory.measured.desc(), WeatherWatchHistory.id.desc())
    with runtime().sessions() as session:
        rows = session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        return [
            {
                "measured": row.measured.astimezone(UTC).isoformat(),
                "is_safe": row.is_safe,
                "reasons": (row.synthesis or {}).get("reasons", []),
                "elements": (row.synthesis or {}).get("elements", {}),
            }
            for row in rows
        ]


@blueprint.get("/admin/syntheses")
@permission_required(Permission.MANAGE_USERS)
def page():
    try:
        number = _page()
        rows, error = syntheses(_time("since"), _time("until"), number), None
    except InputError as exc:
        rows, number, error = [], 1, str(exc)
    return render_template(
        "syntheses.html", rows=rows, page=number, page_size=PAGE_SIZE, args=request.args,
        error=error,
    )  # fmt: skip


@blueprint.get("/api/environment/syntheses")
def api():
    user = api_user()
    if not user.can(Permission.MANAGE_USERS):
        raise Forbidden("user", f"'{user.username}' (role {user.role.value}) may not read them")
    number = _page()
    return jsonify(
        {"page": number, "syntheses": syntheses(_time("since"), _time("until"), number)}
    )


