"""A change of the gateway's verdict is stored at once, not a store period later: the
dashboard and `pyros status` read the stored row (rain must show within seconds)."""

from __future__ import annotations

from sqlalchemy import select

from orchestrator import db
from orchestrator.config import default_config_text, parse_config
from orchestrator.model import WeatherWatch
from plc_gateway.server import Gateway
from tests.conftest import make_runtime
from tests.helpers import wait_for
from tests.plc_gateway.conftest import TEST_TOML, _without_sections

SLOW_STORE = TEST_TOML.replace("store_period_s = 0.1", "store_period_s = 60.0")


def test_a_new_verdict_is_stored_at_once(tmp_path, clock, plc_sim):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'pyros.db'}")
    db.upgrade(runtime.engine)
    text = _without_sections(default_config_text(), ("plc", "safety", "gateway"))
    config = parse_config(text + SLOW_STORE, tmp_path)
    gateway = Gateway(
        config, clock, runtime.sessions, plc_address=("127.0.0.1", plc_sim.port), port=0,
        discovery_port=0,
    ).start()  # fmt: skip

    def stored() -> WeatherWatch | None:
        with runtime.sessions() as session:
            return session.scalar(select(WeatherWatch))

    try:
        wait_for(stored, 10, what="the first store")  # the store job's first run
        assert not stored().is_safe  # the reopen delay is not over
        clock.advance(31)
        wait_for(lambda: stored().is_safe, 10, what="SAFE stored before the 60 s period")
        plc_sim.set_value("WXT520", "RainRate", 4.0)
        wait_for(lambda: not stored().is_safe, 10, what="rain stored at once")
        assert "moderate rain" in stored().unsafe_reasons
    finally:
        gateway.stop()
        runtime.engine.dispose()
