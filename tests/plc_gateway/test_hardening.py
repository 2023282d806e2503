"""Issue 18, items 1-3: what the outside fault-and-fuzz probe broke in the gateway.

Unicode digits in Alpaca numbers, hostile PLC answers that raised out of the poll job, and a
lost or garbled PLC link that stayed safe for the whole stale timeout.
"""

from __future__ import annotations

import json
import logging

import pytest
import requests
from alpaca.safetymonitor import SafetyMonitor

from orchestrator.config import default_config_text, parse_config
from orchestrator.errors import ConfigError
from plc_gateway.parser import PlcAnswerError, parse_status
from simulators.plc_simulator import PlcSimulator, default_status
from tests.helpers import wait_for
from tests.plc_gateway.hostile_plc import HostilePlc

DRY_LINE = json.dumps(default_status()).encode() + b"\n"


@pytest.fixture
def gw(plc_sim, make_gateway):
    gateway = make_gateway(plc_sim.port)
    wait_for(lambda: gateway.state.current().value("temperature") is not None, 10, what="data")
    return gateway


# ---- 1. Alpaca numbers are ASCII digits ---------------------------------------------------
@pytest.mark.parametrize("text", ["\u00b2", "\u0660", "\U0001d7d5", "\uff17", "7\u00b2"])
@pytest.mark.parametrize("name", ["ClientTransactionID", "ClientID"])
def test_unicode_digits_in_client_numbers_are_a_400_naming_the_parameter(gw, name, text):
    for url in (
        f"{gw.url}/api/v1/safetymonitor/0/issafe",
        f"{gw.url}/management/v1/description",
        f"{gw.url}/management/v1/configureddevices",
    ):
        resp = requests.get(url, params={name: text}, timeout=5)
        assert resp.status_code == 400, (url, resp.status_code, resp.text)
        assert name in resp.text and "Traceback" not in resp.text
    put = requests.put(
        f"{gw.url}/api/v1/safetymonitor/0/connected", data={"Connected": "true", name: text},
        timeout=5,
    )  # fmt: skip
    assert put.status_code == 400 and name in put.text


@pytest.mark.parametrize("number", ["%C2%B2", "%D9%A0", "%F0%9D%9F%8E", "+0", " 0", "00x"])
def test_device_number_in_other_digits_is_not_device_0(gw, number):
    resp = requests.get(f"{gw.url}/api/v1/safetymonitor/{number}/issafe", timeout=5)
    assert resp.status_code == 400 and "safetymonitor" in resp.text


def test_ascii_numbers_still_work(gw):
    resp = requests.get(
        f"{gw.url}/api/v1/safetymonitor/0/issafe",
        params={"ClientID": "12", "ClientTransactionID": "4294967295"},
        timeout=5,
    )
    assert resp.status_code == 200 and resp.json()["ClientTransactionID"] == 4294967295


# ---- 2. hostile PLC answers: one refusal, never an exception ------------------------------
HOSTILE = {
    "deep nesting": b"[" * 200_000,
    "5000-digit integer": b"1" * 5000,
    "5000-digit value": json.dumps(default_status()).replace("769.2", "1" * 5000, 1).encode(),
    "1e400-like integer": b'[{"name":"STATUS","device":[{"name":"WXT520","type":"meteo",'
    b'"valid":"yes","values":[{"name":"WindSpeed","value":1' + b"0" * 400 + b"}]}]}]",
    "float overflow": b'[{"name":"STATUS","device":[{"name":"x","valid":"yes",'
    b'"values":[{"name":"v","value":1e400}]}]}]',
    "deep name": b'[{"name":' + b"[" * 5000 + b"]" * 5000 + b"}]",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_parser_refuses_hostile_answers_with_its_own_error_only(text):
    try:
        status = parse_status(text)
    except PlcAnswerError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:  # an absurd number inside a valid document: the value is dropped, never a float inf
        for device in status.devices.values():
            assert all(v != float("inf") for v in device.values.values())


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_poll_job_logs_one_refusal_on_hostile_answers(make_gateway, caplog, text):
    caplog.set_level(logging.WARNING)
    with HostilePlc(lambda: text + b"\n") as plc:
        gw = make_gateway(plc.port)
        wait_for(lambda: plc.requests >= 3, 10, what="three polls")
        synthesis = gw.poll_once()  # the job's own function: must return, not raise
    assert synthesis.is_safe is False
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info], "an exception escaped into the log"


# ---- 3. a lost or garbled link turns unsafe after 2 failed polls --------------------------
def _open(gw, clock) -> SafetyMonitor:
    monitor = SafetyMonitor(f"127.0.0.1:{gw.port}", 0)
    monitor.Connected = True
    wait_for(lambda: gw.state.current().elements.get("plc") is not None, 10, what="a poll")
    wait_for(
        lambda: any("reopen delay" in r for r in gw.state.current().reasons), 10, what="reopen"
    )
    clock.advance(31)
    wait_for(lambda: monitor.IsSafe, 10, what="IsSafe true after the reopen delay")
    return monitor


def test_lost_plc_is_unsafe_after_two_failed_polls_without_the_stale_timeout(clock, make_gateway):
    sim = PlcSimulator(clock=clock).start()
    gw = make_gateway(sim.port)
    monitor = _open(gw, clock)
    sim.stop()
    wait_for(lambda: not monitor.IsSafe, 10, what="IsSafe false with the clock not advanced")
    plc = gw.state.current().elements["plc"]
    assert not plc.safe and "failed poll(s) in a row" in plc.interpretation


def test_answer_followed_by_garbage_lines_is_not_safe(clock, make_gateway):
    good = {"on": True}
    with HostilePlc(lambda: DRY_LINE + (b"" if good["on"] else b"garbage\n{]\n")) as plc:
        gw = make_gateway(plc.port)
        monitor = _open(gw, clock)
        good["on"] = False  # from now on every answer is followed by garbage lines
        wait_for(lambda: not monitor.IsSafe, 10, what="IsSafe false on a garbled stream")
        assert "unexpected bytes" in gw.state.current().elements["plc"].interpretation


def test_failed_poll_limit_is_configurable(tmp_path):
    text = default_config_text()
    assert parse_config(text, tmp_path).plc.unsafe_after_failed_polls == 2
    five = text.replace("unsafe_after_failed_polls = 2", "unsafe_after_failed_polls = 5")
    assert parse_config(five, tmp_path).plc.unsafe_after_failed_polls == 5
    with pytest.raises(ConfigError, match="unsafe_after_failed_polls"):
        parse_config(text.replace("failed_polls = 2", "failed_polls = 0"), tmp_path)


@pytest.mark.parametrize("text", ["\u0663", "1_0", "nan", "inf", "\uff11"])
def test_numeric_parameters_are_ascii_and_finite(gw, text):
    resp = requests.put(
        f"{gw.url}/api/v1/observingconditions/0/averageperiod",
        data={"AveragePeriod": text, "ClientID": "1"},
        timeout=5,
    )
    assert resp.status_code == 400 and "AveragePeriod" in resp.text
