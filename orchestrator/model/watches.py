"""Weather and site watches: the current synthesis of the environment, and its history.

`WeatherWatch`/`SiteWatch` hold one row each (the latest). The weather history has the plotted
figures as columns, one row per `gateway.history_period_s`, and the full synthesis JSON only on
rows where the decision changed; older rows are folded into `WeatherHistoryBucket` means.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.model.base import Base


class _WeatherColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    measured: Mapped[datetime] = mapped_column(index=True)
    is_safe: Mapped[bool]
    unsafe_reasons: Mapped[str] = mapped_column(Text, default="")
    rain_rate_mm_h: Mapped[float | None]
    wind_speed_m_s: Mapped[float | None]
    wind_direction_deg: Mapped[float | None]
    humidity_pct: Mapped[float | None]
    temperature_c: Mapped[float | None]
    dew_point_c: Mapped[float | None]
    pressure_hpa: Mapped[float | None]
    sky_minus_ambient_c: Mapped[float | None]
    synthesis: Mapped[dict] = mapped_column(JSON, default=dict)


class WeatherWatch(_WeatherColumns, Base):
    __tablename__ = "weather_watch"


class WeatherWatchHistory(_WeatherColumns, Base):
    __tablename__ = "weather_watch_history"
    # only where the decision changed (and the first row after a gateway start): 2 KB a row
    synthesis: Mapped[dict | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )  # none_as_null: SQL NULL, not the JSON text 'null' (the upkeep deletes on IS NULL)


class WeatherHistoryBucket(Base):
    """History older than `gateway.history_full_days`: one row per `history_bucket_s`.

    Figures are means over the bucket's rows, except rain and wind: their maximum (the worst
    is what matters for safety). A bucket with no row is absent: a gap stays a gap.
    """

    __tablename__ = "weather_history_bucket"
    # two levels: history_bucket_s buckets, and hourly ones rolled up from them
    period_s: Mapped[int] = mapped_column(primary_key=True)
    measured: Mapped[datetime] = mapped_column(primary_key=True, index=True)  # bucket start
    samples: Mapped[int]  # history rows folded in
    unsafe_samples: Mapped[int]  # ... of which unsafe
    rain_rate_mm_h: Mapped[float | None]
    wind_speed_m_s: Mapped[float | None]
    humidity_pct: Mapped[float | None]
    temperature_c: Mapped[float | None]
    dew_point_c: Mapped[float | None]
    pressure_hpa: Mapped[float | None]
    sky_minus_ambient_c: Mapped[float | None]


class _SiteColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    measured: Mapped[datetime] = mapped_column(index=True)
    is_safe: Mapped[bool]
    unsafe_reasons: Mapped[str] = mapped_column(Text, default="")
    synthesis: Mapped[dict] = mapped_column(JSON, default=dict)  # lamps, doors, power, ...


class SiteWatch(_SiteColumns, Base):
    __tablename__ = "site_watch"


class SiteWatchHistory(_SiteColumns, Base):
    __tablename__ = "site_watch_history"
