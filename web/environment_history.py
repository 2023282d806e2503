"""The environment history for plots: plain SQL of the plotted columns, gaps and unsafe periods.

Up to a day: every stored row (the poll resolution). Beyond: buckets of at least the stored
bucket size, ~1,500 per span, averaged in SQL from the recent rows and from the gateway's
downsampled table (`WeatherHistoryBucket`); rain and wind keep their maximum. A gap in the data
is a point whose values are all null (a plot breaks its line there), and the unsafe periods
are listed so a plot can shade them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from orchestrator.model import WeatherHistoryBucket as B
from orchestrator.model.watches import WeatherWatchHistory as H
from plc_gateway.history import epoch_s

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
RAW_HOURS = 24  # up to this, every stored row; beyond, buckets
TARGET_POINTS = 1500
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _iso_text(column, dialect: str):
    """The time as ISO 8601 text made by the database: no Python datetime per row."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(ISO)


def _raw(session: Session, dialect: str, after) -> list[list]:
    query = (
        select(epoch_s(H.measured, dialect), _iso_text(H.measured, dialect),
               cast(H.is_safe, Integer), *[getattr(H, n) for n in SERIES])
        .where(after)
        .order_by(H.measured)
    )  # fmt: skip
    return [[float(row[0]), *row[1:]] for row in session.execute(query)]  # PostgreSQL: Decimal


def _folded_until(session: Session) -> tuple[datetime | None, int]:
    """Where the gateway's downsampled table ends (raw rows before it are folded), its bucket."""
    last = session.execute(
        select(B.measured, B.period_s).order_by(B.measured.desc()).limit(1)
    ).first()
    return (last[0] + timedelta(seconds=last[1]), last[1]) if last else (None, 60)


def _buckets(session, dialect, since, inclusive, bucket_s, folded) -> list[list]:
    """Buckets [epoch, iso, is_safe, *series], merged from the raw rows and the folded table."""
    merged: dict[int, list] = {}  # index -> [samples, unsafe, *sums or peaks, *weights]
    n = len(SERIES)

    def add(index: int, samples: int, unsafe: int, values) -> None:
        entry = merged.setdefault(int(index), [0, 0] + [None] * n + [0] * n)
        entry[0] += samples
        entry[1] += unsafe
        for i, (name, value) in enumerate(zip(SERIES, values, strict=True)):
            if value is None:
                continue
            value = float(value)
            slot = entry[2 + i]
            if name in PEAK_SERIES:
                entry[2 + i] = value if slot is None else max(slot, value)
            else:  # weighted by rows, so a bucket half raw half folded averages right
                entry[2 + i] = value * samples if slot is None else slot + value * samples
                entry[2 + n + i] += samples

    raw_start = since if folded is None or since >= folded else folded
    after = H.measured >= raw_start if inclusive or raw_start != since else H.measured > raw_start
    index = func.floor(epoch_s(H.measured, dialect) / bucket_s)
    aggregates = [
        func.max(getattr(H, name)) if name in PEAK_SERIES else func.avg(getattr(H, name))
        for name in SERIES
    ]
    unsafe = func.sum(1 - cast(H.is_safe, Integer))
    for row in session.execute(
        select(index, func.count(), unsafe, *aggregates).where(after).group_by(index)
    ):
        add(row[0], row[1], row[2], row[3:])
    if folded is not None and since < folded:
        b_index = func.floor(epoch_s(B.measured, dialect) / bucket_s)
        b_after = B.measured >= since if inclusive else B.measured > since
        aggregates = [
            func.max(getattr(B, name))
            if name in PEAK_SERIES
            else func.sum(getattr(B, name) * B.samples) / func.sum(B.samples)
            for name in SERIES
        ]
        query = (
            select(b_index, func.sum(B.samples), func.sum(B.unsafe_samples), *aggregates)
            .where(b_after, B.measured < folded)
            .group_by(b_index)
        )
        for row in session.execute(query):
            add(row[0], int(row[1]), int(row[2]), row[3:])
    points = []
    for index in sorted(merged):
        entry = merged[index]
        epoch = index * bucket_s
        values = []
        for i, name in enumerate(SERIES):
            value = entry[2 + i]
            if value is not None and name not in PEAK_SERIES:
                value /= entry[2 + n + i]
            values.append(None if value is None else round(value, 3))
        points.append([epoch, _iso(epoch), 0 if entry[1] else 1, *values])
    return points


def _with_gaps(points: list[list], step_s: float, since_epoch: float | None) -> list[list]:
    """Insert a null point where two points are further apart than a few steps."""
    if not points:
        return points
    steps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False)]
    typical_s = max(step_s, median(steps) if steps else step_s)
    gap_s = 3 * typical_s
    out: list[list] = []
    previous = since_epoch
    for point in points:
        if previous is not None and point[0] - previous > gap_s:
            t = previous + typical_s
            out.append([t, _iso(t), None] + [None] * len(SERIES))
        out.append(point)
        previous = point[0]
    return out


def _unsafe_periods(points: list[list], step_s: float) -> list[dict[str, str]]:
    """[start, end) of each run of unsafe points; a gap ends a run."""
    periods = []
    start = None
    for point in points:
        if point[2] == 0 and start is None:
            start = point[1]
        elif point[2] != 0 and start is not None:
            periods.append({"start": start, "end": point[1]})
            start = None
    if start is not None:
        periods.append({"start": start, "end": _iso(points[-1][0] + step_s)})
    return periods


def history(
    session: Session, now: datetime, hours: float, since: datetime | None, history_period_s: float
) -> dict[str, Any]:
    """{"history": [{t, is_safe, series...}], "unsafe_periods": [...], "bucket_s": ...}."""
    dialect = session.connection().dialect.name
    start = now - timedelta(hours=hours)
    incremental = since is not None and since >= start
    first = since if incremental else start
    if hours <= RAW_HOURS:
        after = H.measured > first if incremental else H.measured >= first
        points = _raw(session, dialect, after)
        step_s = history_period_s
        bucket_s = None
    else:
        folded, stored_bucket_s = _folded_until(session)
        if folded is None or first >= folded:
            stored_bucket_s = 60  # only raw rows: any whole minute
        wanted_s = hours * 3600 / TARGET_POINTS
        bucket_s = max(stored_bucket_s, math.ceil(wanted_s / stored_bucket_s) * stored_bucket_s)
        points = _buckets(session, dialect, first, not incremental, bucket_s, folded)
        step_s = bucket_s
    points = _with_gaps(points, step_s, first.timestamp() if incremental else None)
    names = ("t", "is_safe", *SERIES)
    rows = []
    for point in points:
        row = dict(zip(names, point[1:], strict=True))
        row["is_safe"] = None if point[2] is None else bool(point[2])
        rows.append(row)
    return {
        "history": rows,
        "unsafe_periods": _unsafe_periods(points, step_s),
        "bucket_s": bucket_s,
    }
