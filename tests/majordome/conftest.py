"""Fixtures of the majordome tests: the PLC simulator and our gateway on the test's clock, and
runtimes whose config points at them (and at the session's Alpaca simulator when asked).
"""

from __future__ import annotations

import pytest

from orchestrator.config import parse_config
from orchestrator.runtime import Runtime
from plc_gateway.server import Gateway
from simulators.plc_simulator import PlcSimulator
from tests.device_peers import config_text, device_toml
from tests.helpers import wait_for
from tests.plc_gateway.conftest import _without_sections, gateway_config

FAST = """
[majordome]
safety_poll_s = 0.05
safety_timeout_s = 1.0
close_timeout_s = 60
park_timeout_s = 90
open_timeout_s = 60
reconnect_min_s = 0.2
reconnect_max_s = 1.0
min_free_disk_mb = 1
"""


@pytest.fixture
def plc_sim(clock):
    simulator = PlcSimulator(clock=clock).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def gateway(tmp_path, clock, plc_sim, runtime):
    """Our gateway polling the PLC simulator, storing its synthesis in the test's database."""
    gw = Gateway(
        gateway_config(tmp_path),
        clock,
        runtime.sessions,
        plc_address=("127.0.0.1", plc_sim.port),
        port=0,
        discovery_port=0,
    ).start()
    yield gw
    gw.stop()


def make_safe(gateway, clock) -> None:
    """Let a reading arrive, then cross the reopen delay on the manual clock."""
    wait_for(lambda: gateway.state.current().elements.get("rain_rate"), 10, what="a reading")
    clock.advance(31)
    wait_for(lambda: gateway.state.current().is_safe, 10, what="gateway safe")


def majordome_runtime(runtime, gateway, alpaca: str | None = None, extra: str = "") -> Runtime:
    """The test's database and clock; the gateway's address; the Alpaca simulator's devices."""
    devices = device_toml(alpaca=alpaca) if alpaca else ""
    text = _without_sections(config_text(devices), ("majordome",)) + FAST + extra
    config = parse_config(text, runtime.config.folders.data.parent)
    config = config.model_copy(
        update={
            "database": runtime.config.database,
            "folders": runtime.config.folders,
            "gateway": config.gateway.model_copy(
                update={"host": gateway.host, "port": gateway.port}
            ),
        }
    )
    return Runtime(config, runtime.clock)
