"""Fixtures of the gateway tests: a PLC simulator over TCP and an in-process gateway.

Both take the test's ManualClock, so the stale timeout and the reopen delay are crossed by
advancing the clock, never by sleeping.
"""

from __future__ import annotations

import pytest

from orchestrator.config import Config, default_config_text, parse_config
from plc_gateway.server import Gateway
from simulators.plc_simulator import PlcSimulator

# Fast polling; delays are crossed with the manual clock.
TEST_TOML = """
[plc]
poll_period_s = 0.05
timeout_s = 0.5

[safety]
stale_after_s = 5.0
reopen_delay_s = 30.0

[gateway]
store_period_s = 0.1
history_period_s = 60.0
"""


def gateway_config(tmp_path, extra: str = "") -> Config:
    # Drop the shipped [plc]/[safety]/[gateway] sections so TEST_TOML can set them.
    text = _without_sections(default_config_text(), ("plc", "safety", "gateway"))
    return parse_config(text + TEST_TOML + extra, tmp_path)


def _without_sections(text: str, names: tuple[str, ...]) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped.split("]")[0].strip("[") in names
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def plc_sim(clock):
    simulator = PlcSimulator(clock=clock).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def make_gateway(tmp_path, clock):
    """Factory: `make_gateway(plc_port, sessions=None)`; every gateway is stopped at the end."""
    started: list[Gateway] = []

    def make(plc_port: int, sessions=None, extra: str = "") -> Gateway:
        gw = Gateway(
            gateway_config(tmp_path, extra),
            clock,
            sessions,
            plc_address=("127.0.0.1", plc_port),
            port=0,
            discovery_port=0,
        ).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
