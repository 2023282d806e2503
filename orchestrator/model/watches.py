"""Weather and site watches: the current synthesis of the environment, and its history.

`WeatherWatch`/`SiteWatch` hold one row each (the latest); every stored synthesis is also
appended to the matching history table. `synthesis` keeps each element's value,
interpretation and decision as JSON; the main figures are columns for queries and plots.
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
