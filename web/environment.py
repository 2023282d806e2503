"""The environment page (seed §5.1.4): the weather and site synthesis, and 24 h plots.

Reads WeatherWatch/SiteWatch and their history from the database (stored by the gateway);
the page refreshes itself from `/api/environment` and draws its plots as inline SVG.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import select

from orchestrator.errors import InputError
from orchestrator.model import SiteWatch, WeatherWatch
from orchestrator.model.watches import WeatherWatchHistory
from orchestrator.runtime import Runtime

SERIES = (
    "rain_rate_mm_h",
    "wind_speed_m_s",
    "humidity_pct",
    "temperature_c",
    "dew_point_c",
    "pressure_hpa",
    "sky_minus_ambient_c",
)
MAX_HOURS = 24 * 7


def environment_data(runtime: Runtime, hours: float = 24.0) -> dict[str, Any]:
    """Current synthesis (stale = unsafe) and the history of the last `hours`."""
    now = runtime.clock.now()
    stale_after_s = runtime.config.safety.stale_after_s
    with runtime.sessions() as session:
        weather = session.scalar(select(WeatherWatch))
        site = session.scalar(select(SiteWatch))
        since = now - timedelta(hours=hours)
        rows = session.scalars(
            select(WeatherWatchHistory)
            .where(WeatherWatchHistory.measured >= since)
            .order_by(WeatherWatchHistory.measured)
        ).all()
        history = [
            {"t": r.measured.isoformat(), "is_safe": r.is_safe}
            | {name: getattr(r, name) for name in SERIES}
            for r in rows
        ]
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
        "history": history,
    }


def _hours() -> float:
    raw = request.args.get("hours", "24")
    try:
        hours = float(raw)
    except ValueError:
        raise InputError("hours", f"must be a number (got {raw!r})") from None
    if not 0 < hours <= MAX_HOURS:
        raise InputError("hours", f"must be in (0, {MAX_HOURS}] (got {raw})")
    return hours


def environment_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("environment", __name__)

    @bp.get("/environment")
    def page():
        return render_template("environment.html", data=environment_data(runtime))

    @bp.get("/api/environment")
    def api():
        return jsonify(environment_data(runtime, _hours()))

    return bp
