"""Weather history upkeep: fold old rows into bucket means, delete beyond the retention.

Run by the gateway every `gateway.history_maintenance_period_s`. Rows older than
`history_full_days` become one `WeatherHistoryBucket` per `history_bucket_s` (means; rain and
wind their maximum; empty buckets stay absent, so gaps stay gaps) and are deleted, except the
rows that carry a synthesis (decision changes), kept until `history_retention_days`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, case, cast, delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.config import GatewayConfig
from orchestrator.model import SiteWatchHistory, WeatherHistoryBucket
from orchestrator.model.watches import WeatherWatchHistory as H

MEAN_SERIES = (
    "humidity_pct",
    "temperature_c",
    "dew_point_c",
    "pressure_hpa",
    "sky_minus_ambient_c",
)
PEAK_SERIES = ("rain_rate_mm_h", "wind_speed_m_s")  # the worst of a bucket, not its mean


@dataclass(frozen=True)
class Upkeep:
    buckets_added: int
    rows_folded: int
    rows_deleted: int


def epoch_s(column, dialect: str):
    """Seconds since 1970 of a stored UTC time, computed by the database."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return func.extract("epoch", column)


def fold(session: Session, now: datetime, full_days: float, bucket_s: int) -> tuple[int, int]:
    """Fold the rows older than `full_days` into buckets; returns (buckets, rows folded)."""
    dialect = session.connection().dialect.name
    last = session.execute(
        select(WeatherHistoryBucket.measured, WeatherHistoryBucket.period_s)
        .order_by(WeatherHistoryBucket.measured.desc())
        .limit(1)
    ).first()
    # buckets start where the previous fold ended, so a changed bucket size never overlaps
    origin_s = int((last[0] + timedelta(seconds=last[1])).timestamp()) if last else 0
    cutoff_s = (now - timedelta(days=full_days)).timestamp()
    cutoff_s = origin_s + math.floor((cutoff_s - origin_s) / bucket_s) * bucket_s
    if cutoff_s <= origin_s:
        return 0, 0
    start = datetime.fromtimestamp(origin_s, UTC)
    cutoff = datetime.fromtimestamp(cutoff_s, UTC)
    index = func.floor((epoch_s(H.measured, dialect) - origin_s) / bucket_s)
    rows = session.execute(
        select(
            index,
            func.count(),
            func.sum(case((H.is_safe, 0), else_=1)),
            *[func.max(getattr(H, n)) for n in PEAK_SERIES],
            *[func.avg(getattr(H, n)) for n in MEAN_SERIES],
        )
        .where(H.measured >= start, H.measured < cutoff)
        .group_by(index)
    ).all()
    buckets = []
    for row in rows:
        bucket = {
            "measured": datetime.fromtimestamp(origin_s + int(row[0]) * bucket_s, UTC),
            "period_s": bucket_s,
            "samples": int(row[1]),
            "unsafe_samples": int(row[2]),
        }
        for name, value in zip((*PEAK_SERIES, *MEAN_SERIES), row[3:], strict=True):
            bucket[name] = None if value is None else float(value)  # PostgreSQL: Decimal
        buckets.append(bucket)
    if buckets:
        session.execute(insert(WeatherHistoryBucket), buckets)
    session.execute(
        delete(H).where(H.measured < cutoff, H.synthesis.is_(None)),
        execution_options={"synchronize_session": False},
    )
    return len(buckets), sum(b["samples"] for b in buckets)


def expire(session: Session, now: datetime, retention_days: float) -> int:
    """Delete every history row and bucket older than the retention; returns rows deleted."""
    oldest = now - timedelta(days=retention_days)
    deleted = 0
    for model in (H, WeatherHistoryBucket, SiteWatchHistory):
        result = session.execute(
            delete(model).where(model.measured < oldest),
            execution_options={"synchronize_session": False},
        )
        deleted += result.rowcount or 0
    return deleted


def maintain(sessions: sessionmaker[Session], now: datetime, config: GatewayConfig) -> Upkeep:
    """One upkeep pass (one transaction): fold, then expire."""
    with sessions.begin() as session:
        buckets, folded = fold(session, now, config.history_full_days, config.history_bucket_s)
        deleted = expire(session, now, config.history_retention_days)
    return Upkeep(buckets, folded, deleted)
