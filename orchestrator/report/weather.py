"""The night's weather from the gateway's history: the series to plot, and when it was safe.

A history row holds from its time until the next row, but never longer than the gap the
gateway allows itself (two history periods, at least `safety.stale_after_s`): past that the
data is missing, and missing data is unsafe, as everywhere in PyROS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from orchestrator.model import WeatherWatchHistory
from orchestrator.report.intervals import Interval, subtract, total_s, union

SERIES = (
    "rain_rate_mm_h",
    "wind_speed_m_s",
    "humidity_pct",
    "temperature_c",
    "dew_point_c",
    "sky_minus_ambient_c",
)
NO_DATA = "no weather data"


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def hold_s(config) -> float:
    """How long one history row stands for the weather before the data counts as missing."""
    return max(2.0 * config.gateway.history_period_s, config.safety.stale_after_s)


def weather_facts(session, config, start: datetime, end: datetime) -> tuple[dict, list[Interval]]:
    """(facts, safe intervals) for the window [start, end]."""
    hold = timedelta(seconds=hold_s(config))
    before = session.scalar(
        select(WeatherWatchHistory)
        .where(WeatherWatchHistory.measured < start, WeatherWatchHistory.measured >= start - hold)
        .order_by(WeatherWatchHistory.measured.desc())
        .limit(1)
    )
    rows = list(
        session.scalars(
            select(WeatherWatchHistory)
            .where(WeatherWatchHistory.measured >= start, WeatherWatchHistory.measured <= end)
            .order_by(WeatherWatchHistory.measured, WeatherWatchHistory.id)
        )
    )
    if before is not None:
        rows.insert(0, before)
    safe: list[Interval] = []
    unsafe_reasons: list[tuple[Interval, str]] = []
    for i, row in enumerate(rows):
        until = row.measured + hold
        if i + 1 < len(rows):
            until = min(until, rows[i + 1].measured)
        piece = (max(row.measured, start), min(until, end))
        if piece[1] <= piece[0]:
            continue
        if row.is_safe:
            safe.append(piece)
        else:
            unsafe_reasons.append((piece, row.unsafe_reasons or "unsafe"))
    safe = union(safe)
    periods = []
    for p_start, p_end in subtract([(start, end)], safe):
        reasons = []
        for (r_start, r_end), why in unsafe_reasons:
            if r_start < p_end and r_end > p_start:
                reasons += [r for r in why.split("; ") if r and r not in reasons]
        covered = total_s(
            [(max(r_start, p_start), min(r_end, p_end)) for (r_start, r_end), _ in unsafe_reasons]
        )
        if covered < (p_end - p_start).total_seconds() - 1e-6:
            reasons.append(NO_DATA)
        periods.append(
            {
                "start": iso(p_start),
                "end": iso(p_end),
                "duration_s": (p_end - p_start).total_seconds(),
                "reasons": reasons,
            }
        )
    samples = [
        {
            "time": iso(row.measured),
            "is_safe": bool(row.is_safe),
            "unsafe_reasons": row.unsafe_reasons or "",
            **{name: getattr(row, name) for name in SERIES},
        }
        for row in rows
        if row.measured >= start
    ]
    facts = {
        "samples": samples,
        "hold_s": hold.total_seconds(),
        "safe_s": total_s(safe),
        "unsafe_s": total_s(subtract([(start, end)], safe)),
        "unsafe_periods": periods,
    }
    return facts, safe
