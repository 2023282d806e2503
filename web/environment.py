"""The environment page (seed §5.1.4): the weather and site synthesis, and history plots.

Reads WeatherWatch/SiteWatch and their history from the database (stored by the gateway).
The history (web.environment_history) is plain SQL of the plotted columns, with gaps as null
points and the unsafe periods; the page fetches it once, then only newer points (`since`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import SiteWatch, WeatherWatch
from orchestrator.runtime import Runtime
from web.environment_history import history as history_points

MAX_HOURS = 24 * 366


def environment_data(
    runtime: Runtime, hours: float = 24.0, since: datetime | None = None, history: bool = True
) -> dict[str, Any]:
    """Current synthesis (stale = unsafe) and the history of the last `hours` (after `since`)."""
    now = runtime.clock.now()
    stale_after_s = runtime.config.safety.stale_after_s
    with runtime.sessions() as session:
        weather = session.scalar(select(WeatherWatch))
        site = session.scalar(select(SiteWatch))
        plotted = (
            history_points(session, now, hours, since, runtime.config.gateway.history_period_s)
            if history
            else {"history": [], "unsafe_periods": [], "bucket_s": None}
        )
        current = None
        if weather is not None:
            age_s = (now - weather.measured).total_seconds()
            reasons = [r for r in weather.unsafe_reasons.split("; ") if r]
            if age_s > stale_after_s:
                reasons.append(f"weather synthesis is stale ({age_s:.0f} s old)")
            current = {
                "measured": weather.measured.isoformat(),
                "age_s": round(age_s, 1),
                "is_safe": weather.is_safe and age_s <= stale_after_s,
                "reasons": reasons,
                "elements": (weather.synthesis or {}).get("elements", {}),
            }
    return {
        "time": now.isoformat(),
        "site_name": runtime.config.site.name,
        "hours": hours,
        "weather": current,
        "site": (
            {"measured": site.measured.isoformat(), "is_safe": site.is_safe, **site.synthesis}
            if site
            else None
        ),
        **plotted,
    }


def _hours() -> float:
    raw = request.args.get("hours", "24")
    try:
        hours = float(raw)
    except ValueError:
        raise InputError("hours", f"must be a number (got {raw[:20]!r})") from None
    if not 0 < hours <= MAX_HOURS:
        raise InputError("hours", f"must be in (0, {MAX_HOURS}] (got {raw[:20]})")
    return hours


def _since() -> datetime | None:
    raw = request.args.get("since", "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw[:40].replace("Z", "+00:00"))
    except ValueError:
        raise InputError("since", f"must be an ISO 8601 time (got {raw[:40]!r})") from None
    if value.utcoffset() is None:
        raise InputError("since", "an ISO 8601 time needs a zone (e.g. 2026-11-25T20:00:00Z)")
    return value


def environment_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("environment", __name__)

    @bp.get("/environment")
    def page():
        # the history is fetched by the page itself: not embedded twice in the HTML
        return render_template("environment.html", data=environment_data(runtime, history=False))

    @bp.get("/api/environment")
    def api():
        # compact and unsorted (jsonify sorts every row's keys): a third less time for a day
        body = json.dumps(environment_data(runtime, _hours(), _since()), separators=(",", ":"))
        return Response(body, mimetype="application/json")

    return bp
