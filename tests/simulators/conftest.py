"""A PLC simulator on a free port, driven by the test's manual clock."""

from __future__ import annotations

import pytest

from simulators.plc_simulator import PlcSimulator


@pytest.fixture
def plc_sim(clock):
    simulator = PlcSimulator(clock=clock).start()
    yield simulator
    simulator.stop()
