"""Weather history upkeep: fold old rows into bucket means, delete beyond the retention.

Run by the gateway every `gateway.history_maintenance_period_s`. The rows are folded into one
`WeatherHistoryBucket` per `history_bucket_s` (means; rain and wind their maximum; empty
buckets stay absent, so gaps stay gaps), and rolled up into hourly buckets (a year's plot
reads 8,760 rows). Rows older than `history_full_days` are then deleted, except those that
carry a synthesis (decision changes); everything goes after `history_retention_days`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, Integer, case, cast, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.config import GatewayConfig
from orchestrator.model import SiteWatchHistory, WeatherHistoryBucket
from orchestrator.model.watches import WeatherWatchHistory as H

B = WeatherHistoryBucket
MEAN_SERIES = (
    "humidity_pct",
    "temperature_c",
    "dew_point_c",
    "pressure_hpa",
    "sky_minus_ambient_c",
)
PEAK_SERIES = ("rain_rate_mm_h", "wind_speed_m_s")  # the worst of a bucket, not its mean
SERIES = (*PEAK_SERIES, *MEAN_SERIES)
ROLLUP_S = 3600  # the coarse level (history_bucket_s divides it)
SETTLE_S = 600  # rows younger than this may still be arriving: folded at a later pass
CHUNK_S = 7 * 86400  # at most this much history folded per transaction (a first upkeep of
MAX_CHUNKS = 100  # a long history takes several; the next pass goes on where this one ends)


@dataclass(frozen=True)
class Upkeep:
    buckets_added: int
    rows_folded: int
    rows_deleted: int


def epoch_s(column, dialect: str):
    """Whole seconds since 1970 of a stored UTC time, computed by the database."""
    if dialect == "sqlite":  # julianday is about twice as fast as strftime('%s') per row
        return cast((func.julianday(column) - 2440587.5) * 86400.0 + 0.001, Integer)
    return func.floor(func.extract("epoch", column))


def level_end(session: Session, fine: bool) -> tuple[datetime, int] | None:
    """(end, period) of the newest bucket of the fine level (< 1 h) or of the hourly one."""
    level = B.period_s < ROLLUP_S if fine else B.period_s == ROLLUP_S
    last = session.execute(
        select(B.measured, B.period_s).where(level).order_by(B.measured.desc()).limit(1)
    ).first()
    return (last[0] + timedelta(seconds=last[1]), last[1]) if last else None


def _store(session: Session, rows, origin_s: int, period_s: int) -> list[dict]:
    buckets = []
    for row in rows:
        bucket = {
            "measured": datetime.fromtimestamp(origin_s + int(row[0]) * period_s, UTC),
            "period_s": period_s,
            "samples": int(row[1]),
            "unsafe_samples": int(row[2]),
        }
        for name, value in zip(SERIES, row[3:], strict=True):
            bucket[name] = None if value is None else float(value)  # PostgreSQL: Decimal
        buckets.append(bucket)
    if buckets:
        session.execute(insert(B), buckets)
    return buckets


def fold(session: Session, now: datetime, full_days: float, bucket_s: int) -> tuple[int, int, int]:
    """Fold the settled rows into buckets (each row once) and delete the rows older than
    `full_days`; returns (buckets added, rows folded, rows deleted).

    Recent rows are folded too (and kept): a week's plot then reads 2,016 buckets, not
    10,080 rows, and only the rows since the last pass come from the raw table.
    """
    dialect = session.connection().dialect.name
    last = level_end(session, fine=True)
    # buckets start where the previous fold ended, so a changed bucket size never overlaps
    base_s = int(last[0].timestamp()) if last else 0
    # ... at the bucket of the first row not folded yet (a long hole is skipped)
    first = session.scalar(
        select(func.min(H.measured)).where(H.measured >= datetime.fromtimestamp(base_s, UTC))
    )
    first_s = first.timestamp() if first is not None else now.timestamp()
    origin_s = base_s + math.floor((first_s - base_s) / bucket_s) * bucket_s
    cutoff_s = (now - timedelta(seconds=SETTLE_S)).timestamp()
    cutoff_s = min(cutoff_s, origin_s + CHUNK_S)  # a short transaction: the store job waits
    cutoff_s = origin_s + math.floor((cutoff_s - origin_s) / bucket_s) * bucket_s
    buckets: list[dict] = []
    if cutoff_s > origin_s:
        index = func.floor((epoch_s(H.measured, dialect) - origin_s) / bucket_s)
        query = (
            select(
                index,
                func.count(),
                func.sum(case((H.is_safe, 0), else_=1)),
                *[func.max(getattr(H, n)) for n in PEAK_SERIES],
                *[func.avg(getattr(H, n)) for n in MEAN_SERIES],
            )
            .where(
                H.measured >= datetime.fromtimestamp(origin_s, UTC),
                H.measured < datetime.fromtimestamp(cutoff_s, UTC),
            )
            .group_by(literal_column("1"))  # by position: the expression once a row
        )
        buckets = _store(session, session.connection().execute(query).all(), origin_s, bucket_s)
        origin_s = cutoff_s
    # only rows already folded are deleted (the decision changes stay, with their synthesis)
    oldest = min(datetime.fromtimestamp(origin_s, UTC), now - timedelta(days=full_days))
    deleted = session.execute(
        delete(H).where(H.measured < oldest, H.synthesis.is_(None)),
        execution_options={"synchronize_session": False},
    ).rowcount
    return len(buckets) + rollup(session), sum(b["samples"] for b in buckets), deleted or 0


def rollup(session: Session) -> int:
    """Hourly buckets from the fine ones, for every hour the fine level covers whole."""
    dialect = session.connection().dialect.name
    fine = level_end(session, fine=True)
    if fine is None:
        return 0
    hourly = level_end(session, fine=False)
    if hourly is not None:
        origin_s = int(hourly[0].timestamp())
    else:
        first = session.scalar(select(func.min(B.measured)).where(B.period_s < ROLLUP_S))
        origin_s = math.floor(first.timestamp() / ROLLUP_S) * ROLLUP_S
    cutoff_s = math.floor(fine[0].timestamp() / ROLLUP_S) * ROLLUP_S
    if cutoff_s <= origin_s:
        return 0
    index = func.floor((epoch_s(B.measured, dialect) - origin_s) / ROLLUP_S)

    def weighted(name: str):  # a bucket's mean counts as many times as it has rows
        column = getattr(B, name)
        weight = func.sum(case((column.is_(None), 0), else_=B.samples))
        return func.sum(column * B.samples) / func.nullif(cast(weight, Float), 0)

    rows = (
        session.connection()
        .execute(
            select(
                index,
                func.sum(B.samples),
                func.sum(B.unsafe_samples),
                *[func.max(getattr(B, n)) for n in PEAK_SERIES],
                *[weighted(n) for n in MEAN_SERIES],
            )
            .where(
                B.period_s < ROLLUP_S,
                B.measured >= datetime.fromtimestamp(origin_s, UTC),
                B.measured < datetime.fromtimestamp(cutoff_s, UTC),
            )
            .group_by(literal_column("1"))
        )
        .all()
    )
    return len(_store(session, rows, origin_s, ROLLUP_S))


def expire(session: Session, now: datetime, retention_days: float) -> int:
    """Delete every history row and bucket older than the retention; returns rows deleted."""
    oldest = now - timedelta(days=retention_days)
    deleted = 0
    for model in (H, B, SiteWatchHistory):
        result = session.execute(
            delete(model).where(model.measured < oldest),
            execution_options={"synchronize_session": False},
        )
        deleted += result.rowcount or 0
    return deleted


def maintain(sessions: sessionmaker[Session], now: datetime, config: GatewayConfig) -> Upkeep:
    """One upkeep pass: fold (a week per transaction), then expire."""
    buckets = folded = deleted = 0
    for _ in range(MAX_CHUNKS):
        with sessions.begin() as session:
            added, rows, dropped = fold(
                session, now, config.history_full_days, config.history_bucket_s
            )
        buckets, folded, deleted = buckets + added, folded + rows, deleted + dropped
        if not rows:
            break
    with sessions.begin() as session:
        deleted += expire(session, now, config.history_retention_days)
    return Upkeep(buckets, folded, deleted)
