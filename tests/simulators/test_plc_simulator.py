"""The PLC simulator over TCP: the STATUS protocol, scenario events and injected faults."""

from __future__ import annotations

import json
import socket

import pytest

from orchestrator.errors import InputError
from simulators.plc_simulator import PlcSimulator
from simulators.scenario import parse_scenario
from tests.helpers import wait_for

REQUEST = b'{"command": [{"name": "STATUS"}]}\n'


def ask(sim: PlcSimulator, request: bytes = REQUEST, timeout_s: float = 2.0):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout_s) as sock:
        sock.sendall(request)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def device(answer, name):
    return next(d for d in answer[0]["device"] if d["name"] == name)


def value(answer, dev, name):
    return next(v["value"] for v in device(answer, dev)["values"] if v["name"] == name)


def test_status_answer_keeps_the_seed_quirks(plc_sim):
    answer = json.loads(ask(plc_sim))
    assert answer[0]["name"] == "STATUS"
    assert device(answer, "VantagePro")["valid"] == "no"
    names = [d["name"] for d in answer[0]["device"]]
    assert "LAMP_FLAT_CAGIRE" in names and "LAMP FLAT CAGIRE" in names


def test_request_without_newline_and_unknown_commands(plc_sim):
    assert json.loads(ask(plc_sim, REQUEST.strip()))[0]["name"] == "STATUS"
    assert json.loads(ask(plc_sim, b'{"command": [{"name": "OPEN"}]}\n'))[0]["name"] == "ERROR"
    assert json.loads(ask(plc_sim, b"hello\n"))[0]["name"] == "ERROR"


def test_scenario_changes_values_on_the_clock(clock):
    scenario = parse_scenario(
        [
            10,
            {
                "time": 2,
                "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate", "value": 7.5},
            },
            {"time": 4, "plcSimulator": {"device_name": "MLX90614-1", "valid": "no"}},
        ]
    )
    with PlcSimulator(clock=clock, scenario=scenario) as sim:
        assert value(json.loads(ask(sim)), "WXT520", "RainRate") == 0.0
        clock.advance(2)
        wait_for(lambda: value(json.loads(ask(sim)), "WXT520", "RainRate") == 7.5, 5, what="rain")
        clock.advance(2)
        wait_for(
            lambda: device(json.loads(ask(sim)), "MLX90614-1")["valid"] == "no", 5, what="invalid"
        )


def test_silence_malformed_and_dropped_connections(plc_sim, clock):
    plc_sim.apply({"malformed": 1})
    with pytest.raises(json.JSONDecodeError):
        json.loads(ask(plc_sim))
    assert json.loads(ask(plc_sim))[0]["name"] == "STATUS"
    plc_sim.apply({"silent_s": 5})
    with pytest.raises(TimeoutError):
        ask(plc_sim, timeout_s=0.3)
    clock.advance(5)
    assert json.loads(ask(plc_sim))[0]["name"] == "STATUS"
    with socket.create_connection(("127.0.0.1", plc_sim.port), timeout=2) as sock:
        sock.sendall(REQUEST)
        sock.recv(65536)
        plc_sim.apply({"drop_connections": True})
        wait_for(lambda: _closed_by_peer(sock), 5, what="closed by the PLC")
    assert json.loads(ask(plc_sim))[0]["name"] == "STATUS"  # a new connection is answered


def _closed_by_peer(sock: socket.socket) -> bool:
    """True once the peer has closed: end of stream or reset; a timeout means still open."""
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(
    "action",
    [
        "rain",
        {"device_name": "NOPE", "value_name": "RainRate", "value": 1},
        {"device_name": "WXT520", "valid": "maybe"},
        {"silent_s": -1},
        {"unknown": 1},
    ],
)
def test_bad_actions_raise_input_error(plc_sim, action):
    with pytest.raises(InputError):
        plc_sim.apply(action)
