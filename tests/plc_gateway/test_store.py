"""The gateway's store job: WeatherWatch/SiteWatch and history, read by `pyros status`.

Runs on SQLite and on the real PostgreSQL server (the `runtime` fixture).
"""

from __future__ import annotations

from sqlalchemy import func, select

from orchestrator.model import SiteWatch, WeatherWatch
from orchestrator.model.watches import WeatherWatchHistory
from orchestrator.status import system_status
from tests.helpers import wait_for


def test_synthesis_is_stored_and_pyros_status_follows_it(runtime, clock, plc_sim, make_gateway):
    gw = make_gateway(plc_sim.port, runtime.sessions)

    def stored() -> WeatherWatch | None:
        with runtime.sessions() as s:
            return s.scalar(select(WeatherWatch))

    wait_for(lambda: stored() and stored().temperature_c == 12.12, 10, what="a stored row")
    assert system_status(runtime)["safety"]["is_safe"] is False  # reopen delay not over
    clock.advance(31)
    wait_for(lambda: stored().is_safe, 10, what="a safe row")
    assert system_status(runtime)["safety"] == {
        "is_safe": True,
        "reasons": [],
        "age_s": system_status(runtime)["safety"]["age_s"],
    }
    row = stored()
    assert row.pressure_hpa == 769.2 and row.sky_minus_ambient_c < -20
    assert row.synthesis["elements"]["rain_rate"]["decision"] == "safe"
    plc_sim.set_value("WXT520", "RainRate", 4.0)
    wait_for(lambda: not stored().is_safe, 10, what="rain stored")
    assert "moderate rain" in system_status(runtime)["safety"]["reasons"][0]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WeatherWatch)) == 1
        assert s.scalar(select(func.count()).select_from(WeatherWatchHistory)) >= 3
        site = s.scalar(select(SiteWatch))
        assert "LAMP_FLAT_CAGIRE" in site.synthesis["lamps"]
    gw.stop()  # the gateway is gone: the stored row ages into UNSAFE
    clock.advance(11)
    safety = system_status(runtime)["safety"]
    assert safety["is_safe"] is False and "stale" in safety["reasons"][-1]
