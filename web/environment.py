"""The environment page (seed §5.1.4): the weather and site synthesis, and history plots.

Reads WeatherWatch/SiteWatch and their history from the database (stored by the gateway).
The history is read as plain columns (never the ORM rows with their synthesis JSON); beyond
a day it is averaged into at most ~1,500 buckets in SQL (rain and wind keep their maximum).
The page fetches the history once, then only the rows newer than its last one (`since`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import Integer, cast, func, literal_column, select

from orchestrator.errors import InputError
from orchestrator.model import SiteWatch, WeatherWatch
from orchestrator.model.watches import WeatherWatchHistory as H
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
PEAK_SERIES = ("rain_rate_mm_h", "wind_speed_m_s")  # a bucket keeps the worst, not the mean
MAX_HOURS = 24 * 366
RAW_HOURS = 24  # up to this, every stored row (poll resolution); beyond, buckets
TARGET_POINTS = 1500


def _epoch_s(dialect: str):
    if dialect == "sqlite":
        return cast(func.strftime("%s", H.measured), Integer)
    return func.extract("epoch", H.measured)


def _iso_text(column, dialect: str):
    """The time as ISO 8601 text made by the database: no Python datetime per row."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def _history(session, since: datetime, hours: float, inclusive: bool) -> list[dict[str, Any]]:
    """Plain rows of the plotted columns (Core, not ORM: ~10x faster, issue 14's bench)."""
    connection = session.connection()
    dialect = connection.dialect.name
    after = H.measured >= since if inclusive else H.measured > since
    names = ("t", "is_safe", *SERIES)
    if hours <= RAW_HOURS:
        query = (
            select(_iso_text(H.measured, dialect), cast(H.is_safe, Integer),
                   *[getattr(H, n) for n in SERIES])
            .where(after)
            .order_by(H.measured)
        )  # fmt: skip
    else:
        bucket_s = max(60, int(hours * 3600 / TARGET_POINTS))
        bucket = func.floor(_epoch_s(dialect) / bucket_s)
        aggregates = [
            func.max(getattr(H, n)) if n in PEAK_SERIES else func.avg(getattr(H, n)) for n in SERIES
        ]
        query = (
            select(_iso_text(func.min(H.measured), dialect), func.min(cast(H.is_safe, Integer)),
                   *aggregates)
            .where(after)
            .group_by(bucket)
            .order_by(literal_column("1"))
        )  # fmt: skip
    rows = connection.execute(query).all()
    history = [dict(zip(names, row, strict=True)) for row in rows]
    bucketed = hours > RAW_HOURS
    for point in history:
        point["is_safe"] = bool(point["is_safe"])
        if bucketed:  # averages: three decimals are plenty (and PostgreSQL returns Decimal)
            for name in SERIES:
                if point[name] is not None:
                    point[name] = round(float(point[name]), 3)
    return history


def environment_data(
    runtime: Runtime, hours: float = 24.0, since: datetime | None = None, history: bool = True
) -> dict[str, Any]:
    """Current synthesis (stale = unsafe) and the history of the last `hours` (after `since`)."""
    now = runtime.clock.now()
    stale_after_s = runtime.config.safety.stale_after_s
    start = now - timedelta(hours=hours)
    with runtime.sessions() as session:
        weather = session.scalar(select(WeatherWatch))
        site = session.scalar(select(SiteWatch))
        after_since = since is not None and since >= start
        first = since if after_since else start
        rows = _history(session, first, hours, not after_since) if history else []
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
        "history": rows,
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
        return jsonify(environment_data(runtime, _hours(), _since()))

    return bp
