"""The PLC simulator's commands besides STATUS, through `orchestrator.plc_command` over TCP:
LIGHTS shows in STATUS as the SITE_LIGHTS device; SIMULATE applies a scenario action; a bad
value or an unknown command is answered ERROR (raised as PlcCommandError) and changes nothing."""

from __future__ import annotations

import pytest

from orchestrator.plc_command import PlcCommandError, send_command, set_lights
from plc_gateway.client import PlcClient
from plc_gateway.parser import device_key
from simulators.plc_simulator import PlcSimulator


@pytest.fixture(scope="module")
def plc():
    with PlcSimulator() as simulator:
        yield simulator


def _status_device(plc: PlcSimulator, name: str):
    status = PlcClient(plc.host, plc.port).read_status()
    return status.devices.get(device_key(name))


def test_lights_show_in_the_status(plc):
    assert set_lights(plc.host, plc.port, True) == "on"
    device = _status_device(plc, "SITE_LIGHTS")
    assert device is not None and device.values["status"] == "on"
    assert set_lights(plc.host, plc.port, False) == "off"
    assert _status_device(plc, "SITE_LIGHTS").values["status"] == "off"


def test_bad_commands_are_answered_error_and_change_nothing(plc):
    with pytest.raises(PlcCommandError, match="LIGHTS.value: must be 'on' or 'off'"):
        send_command(plc.host, plc.port, {"name": "LIGHTS", "value": "dim"})
    bad = {"device_name": "NOPE", "value_name": "RainRate", "value": 1}
    with pytest.raises(PlcCommandError, match="no device named 'NOPE'"):
        send_command(plc.host, plc.port, {"name": "SIMULATE", "action": bad})
    with pytest.raises(PlcCommandError, match="unknown command"):
        send_command(plc.host, plc.port, {"name": "SELF_DESTRUCT"})
    rain = {"device_name": "WXT520", "value_name": "RainRate", "value": 7.5}
    assert send_command(plc.host, plc.port, {"name": "SIMULATE", "action": rain})[0]["done"]
    assert _status_device(plc, "WXT520").values["RainRate"] == 7.5


def test_an_unreachable_plc_is_an_error():
    from tests.pg import free_port

    with pytest.raises(PlcCommandError, match="ConnectionRefusedError"):
        set_lights("127.0.0.1", free_port(), True, timeout_s=1.0)
