"""Store the synthesis in WeatherWatch/SiteWatch (latest row) and their history tables.

Run by the gateway's store job: safety never depends on the orchestrator being alive, so
the process that builds the synthesis is the one that records it. Read by `pyros status`
(stale row = UNSAFE) and by the web's environment page. History rows carry the full synthesis
only when the decision changes; the site history only when the site data changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.jobs import upsert_beat
from orchestrator.model import SiteWatch, SiteWatchHistory, WeatherWatch
from orchestrator.model.watches import WeatherWatchHistory
from plc_gateway.synthesis import Synthesis

PROCESS = "gateway"

# WeatherWatch column -> synthesis element
_COLUMNS = {
    "rain_rate_mm_h": "rain_rate",
    "wind_speed_m_s": "wind_speed",
    "wind_direction_deg": "wind_direction",
    "humidity_pct": "humidity",
    "temperature_c": "temperature",
    "dew_point_c": "dew_point",
    "pressure_hpa": "pressure",
    "sky_minus_ambient_c": "cloud",
}


def weather_fields(synthesis: Synthesis) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "measured": synthesis.measured,
        "is_safe": synthesis.is_safe,
        "unsafe_reasons": "; ".join(synthesis.reasons),
        "synthesis": synthesis.to_dict(),
    }
    fields.update({column: synthesis.value(name) for column, name in _COLUMNS.items()})
    return fields


def site_fields(synthesis: Synthesis) -> dict[str, Any]:
    plc = synthesis.elements.get("plc")
    answering = bool(plc and plc.safe)
    return {
        "measured": synthesis.measured,
        "is_safe": answering,
        "unsafe_reasons": "" if answering else "PLC not answering",
        "synthesis": synthesis.site,
    }


class WatchStore:
    """Upserts the latest rows; appends history every `history_period_s` or on a change."""

    def __init__(self, sessions: sessionmaker[Session], history_period_s: float):
        self.sessions = sessions
        self.history_period_s = history_period_s
        self._last_history: datetime | None = None
        self._last_decision: tuple | None = None  # None: the next history row keeps its synthesis
        self._last_site: dict[str, Any] | None = None

    def store(self, synthesis: Synthesis, period_s: float) -> None:
        weather, site = weather_fields(synthesis), site_fields(synthesis)
        decision = decision_of(synthesis)
        history_due = (
            self._last_history is None
            or decision != self._last_decision
            or (synthesis.measured - self._last_history).total_seconds() >= self.history_period_s
        )
        site_changed = site_key(site) != self._last_site
        with self.sessions.begin() as session:
            _upsert(session, WeatherWatch, weather)
            _upsert(session, SiteWatch, site)
            if history_due:
                changed = decision != self._last_decision  # the 2 KB JSON: only on a change
                row = {**weather, "synthesis": weather["synthesis"] if changed else None}
                session.add(WeatherWatchHistory(**row))
            if site_changed:
                session.add(SiteWatchHistory(**site))
            upsert_beat(session, "weather_store", PROCESS, period_s, synthesis.measured)
        if history_due:
            self._last_history = synthesis.measured
            self._last_decision = decision
        if site_changed:
            self._last_site = site_key(site)


def decision_of(synthesis: Synthesis) -> tuple:
    """What a stored synthesis is kept for: the verdict and which elements are unsafe."""
    unsafe = tuple(sorted(name for name, e in synthesis.elements.items() if not e.safe))
    return (synthesis.is_safe, unsafe)


def site_key(site: dict[str, Any]) -> dict[str, Any]:
    return {"is_safe": site["is_safe"], "synthesis": site["synthesis"]}


def _upsert(session: Session, model, fields: dict[str, Any]) -> None:
    row = session.scalar(select(model).order_by(model.id).limit(1))
    if row is None:
        session.add(model(**fields))
        return
    for key, value in fields.items():
        setattr(row, key, value)
