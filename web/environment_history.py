"""The environment history for plots: plain SQL of the plotted columns, gaps and unsafe periods.

Up to a day: every stored row (the poll resolution). Beyond: ~1,500 buckets per span, averaged
in SQL from the recent rows and the gateway's folded levels (`WeatherHistoryBucket`: fine and
hourly); rain and wind keep their maximum. A gap in the data
is a point whose values are all null (a plot breaks its line there), and the unsafe periods
are listed so a plot can shade them.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Float, Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from orchestrator.model import WeatherHistoryBucket as B
from orchestrator.model.watches import WeatherWatchHistory as H
from plc_gateway.history import PEAK_SERIES, ROLLUP_S, epoch_s, level_end

SERIES = (
    "rain_rate_mm_h",
    "wind_speed_m_s",
    "humidity_pct",
    "temperature_c",
    "dew_point_c",
    "pressure_hpa",
    "sky_minus_ambient_c",
)
RAW_HOURS = 24  # up to this, every stored row; beyond, buckets
TARGET_POINTS = 1500
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _iso_text(column, dialect: str):
    """The time as ISO 8601 text made by the database: no Python datetime per row."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')


def _iso(epoch: float) -> str:
    return time.strftime(ISO, time.gmtime(epoch))


def _raw(session: Session, dialect: str, after) -> list[list]:
    query = (
        select(epoch_s(H.measured, dialect), _iso_text(H.measured, dialect),
               cast(H.is_safe, Integer), *[getattr(H, n) for n in SERIES])
        .where(after)
        .order_by(H.measured)
    )  # fmt: skip
    return [
        [float(row[0]), *row[1:]] for row in session.connection().execute(query).all()
    ]  # PostgreSQL: Decimal


def _aggregates(model, weighted: bool) -> list:
    """max for rain and wind; the mean for the others (of folded means: weighted by rows)."""
    out = []
    for name in SERIES:
        column = getattr(model, name)
        if name in PEAK_SERIES:
            out.append(func.max(column))
        elif weighted:
            weight = func.sum(case((column.is_(None), 0), else_=model.samples))
            out.append(func.sum(column * model.samples) / func.nullif(cast(weight, Float), 0))
        else:
            out.append(func.avg(column))
    return out


def _sources(session: Session, first: datetime, wanted_s: float) -> tuple[int, list]:
    """The query's bucket and where its rows come from: [(level, from, to)], coarse first.

    The hourly level serves buckets of whole hours, the fine level whole multiples of its
    period, the raw rows any whole minute; each level covers the span the coarser one has not.
    """
    fine = level_end(session, fine=True)
    hourly = level_end(session, fine=False)
    sources: list = []
    if hourly is not None and wanted_s >= ROLLUP_S and first < hourly[0]:
        bucket_s = math.ceil(wanted_s / ROLLUP_S) * ROLLUP_S
        sources.append(("hourly", first, hourly[0]))
        first = hourly[0]
    elif fine is not None and first < fine[0]:
        bucket_s = max(fine[1], math.ceil(wanted_s / fine[1]) * fine[1])
    else:
        bucket_s = max(60, math.ceil(wanted_s / 60) * 60)
    if fine is not None and first < fine[0]:
        sources.append(("fine", first, fine[0]))
        first = fine[0]
    sources.append(("raw", first, None))
    return bucket_s, sources


def _buckets(session, dialect, since, inclusive, wanted_s) -> tuple[int, list[list]]:
    """Buckets [epoch, iso, is_safe, *series] from the folded levels and the raw rows."""
    bucket_s, sources = _sources(session, since, wanted_s)
    if not inclusive:  # the bucket holding `since` may have grown since: it is sent again
        since = datetime.fromtimestamp(math.floor(since.timestamp() / bucket_s) * bucket_s, UTC)
        sources[0] = (sources[0][0], since, sources[0][2])
        inclusive = True
    points: list[list] = []
    weights: list[int] = []  # rows behind each point: a bucket two sources share is merged
    for level, lo, hi in sources:
        model = H if level == "raw" else B
        after = model.measured > lo if lo == since and not inclusive else model.measured >= lo
        where = [after] if hi is None else [after, model.measured < hi]
        if level != "raw":
            where.append(B.period_s == ROLLUP_S if level == "hourly" else B.period_s < ROLLUP_S)
        index = func.floor(epoch_s(model.measured, dialect) / bucket_s)
        counts = (
            [func.count(), func.sum(1 - cast(H.is_safe, Integer))]
            if level == "raw"
            else [func.sum(B.samples), func.sum(B.unsafe_samples)]
        )
        query = (
            select(index, *counts, *_aggregates(model, weighted=level != "raw"))
            .where(*where)
            .group_by(literal_column("1"))  # by position: the expression once a row
            .order_by(literal_column("1"))
        )
        for row in session.connection().execute(query).all():
            epoch = int(row[0]) * bucket_s
            samples = int(row[1])
            values = [None if v is None else round(float(v), 3) for v in row[3:]]
            if points and points[-1][0] == epoch:  # the bucket where two sources meet
                _merge(points[-1], weights[-1], values, samples, int(row[2]))
                weights[-1] += samples
                continue
            points.append([epoch, _iso(epoch), 0 if row[2] else 1, *values])
            weights.append(samples)
    return bucket_s, points


def _merge(point: list, point_rows: int, values: list, rows: int, unsafe: int) -> None:
    """Add a source's part of a bucket to the point: peaks by max, means weighted by rows."""
    if unsafe:
        point[2] = 0
    for i, name in enumerate(SERIES):
        old, new = point[3 + i], values[i]
        if new is None or old is None:
            point[3 + i] = old if new is None else new
        elif name in PEAK_SERIES:
            point[3 + i] = max(old, new)
        else:
            point[3 + i] = round((old * point_rows + new * rows) / (point_rows + rows), 3)


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
    """{"history": [{t, is_safe, series...}], "unsafe_periods": [...], "bucket_s": ...}.

    With `since`, only newer points: rows after it, or for buckets from the one holding it.
    """
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
        bucket_s, points = _buckets(
            session, dialect, first, not incremental, hours * 3600 / TARGET_POINTS
        )
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
