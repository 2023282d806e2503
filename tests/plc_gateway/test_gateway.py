"""The gateway against the PLC simulator over TCP: scenarios, faults and start orders.

IsSafe is read as a client would (alpyca over HTTP); time-based rules (stale timeout, reopen
delay) are crossed with the manual clock.
"""

from __future__ import annotations

import logging

from alpaca.safetymonitor import SafetyMonitor

from simulators.plc_simulator import PlcSimulator
from simulators.scenario import load_scenario
from tests.conftest import TEST_DATA
from tests.helpers import free_port, wait_for


def _monitor(gw) -> SafetyMonitor:
    monitor = SafetyMonitor(f"127.0.0.1:{gw.port}", 0)
    monitor.Connected = True
    return monitor


def _open(gw, clock, monitor) -> None:
    """Bring a fresh gateway to safe: fresh readings, then the reopen delay on the clock."""
    wait_for(
        lambda: gw.state.current().elements.get("plc") and gw.state.current().elements["plc"].safe,
        10,
        what="a first PLC answer",
    )
    wait_for(
        lambda: any("reopen delay" in r for r in gw.state.current().reasons),
        10,
        what="waiting for reopen",
    )
    clock.advance(31)
    wait_for(lambda: monitor.IsSafe, 10, what="IsSafe true after the reopen delay")


def test_seed_rain_scenario_closes_then_reopens_only_after_the_delay(clock, make_gateway):
    scenario = load_scenario(TEST_DATA / "scenarios" / "scenario_plc.json")
    with PlcSimulator(clock=clock, scenario=scenario) as sim:
        gw = make_gateway(sim.port)
        monitor = _monitor(gw)
        wait_for(lambda: gw.state.current().elements.get("rain_rate"), 10, what="a reading")
        assert monitor.IsSafe is False  # never safe before the reopen delay, even at start
        clock.advance(3)  # the scenario's rain starts at t = 3 s
        wait_for(lambda: "heavy rain" in "; ".join(gw.state.current().reasons), 10, what="rain")
        assert monitor.IsSafe is False
        clock.advance(4)  # t = 7 s: dry again
        wait_for(
            lambda: any("reopen delay" in r for r in gw.state.current().reasons), 10, what="dry"
        )
        assert monitor.IsSafe is False
        clock.advance(29)  # 29 s of the 30 s delay: still closed
        wait_for(lambda: "29 s of 30 s" in "; ".join(gw.state.current().reasons), 10, what="29 s")
        assert monitor.IsSafe is False
        clock.advance(1.5)
        wait_for(lambda: monitor.IsSafe, 10, what="IsSafe true after the reopen delay")


def test_rain_while_open_turns_unsafe_with_the_reason(clock, plc_sim, make_gateway):
    gw = make_gateway(plc_sim.port)
    monitor = _monitor(gw)
    _open(gw, clock, monitor)
    plc_sim.set_value("DRD11", "digital", 0)
    wait_for(lambda: not monitor.IsSafe, 10, what="IsSafe false on DRD11 rain")
    assert "DRD11 detects rain (digital)" in "; ".join(gw.state.current().reasons)


def test_plc_killed_goes_unsafe_after_stale_timeout_and_recovers(clock, make_gateway):
    port = free_port()
    sim = PlcSimulator(port=port, clock=clock).start()
    gw = make_gateway(port)
    monitor = _monitor(gw)
    _open(gw, clock, monitor)
    sim.stop()  # the PLC is switched off
    wait_for(
        lambda: "not answering" in gw.state.current().elements["plc"].interpretation,
        10,
        what="errors",
    )
    # Issue 18: a lost link is known at once: unsafe after 2 failed polls, clock not advanced.
    wait_for(lambda: not monitor.IsSafe, 10, what="IsSafe false after 2 failed polls")
    clock.advance(5.5)
    reasons = wait_for(
        lambda: "rain_rate: no valid reading" in (r := "; ".join(gw.state.current().reasons)) and r,
        10,
        what="the stale reasons after the timeout",
    )
    assert "plc: not answering" in reasons
    sim = PlcSimulator(port=port, clock=clock).start()  # the PLC comes back
    try:
        wait_for(lambda: gw.state.current().elements["plc"].safe, 10, what="PLC answering again")
        assert monitor.IsSafe is False  # the reopen delay starts over
        clock.advance(31)
        wait_for(lambda: monitor.IsSafe, 10, what="IsSafe true once recovered and delayed")
    finally:
        sim.stop()


def test_gateway_started_before_the_plc(clock, make_gateway):
    port = free_port()
    gw = make_gateway(port)  # nothing listens yet
    monitor = _monitor(gw)
    wait_for(
        lambda: "not answering" in gw.state.current().elements["plc"].interpretation,
        10,
        what="refused",
    )
    clock.advance(40)
    assert monitor.IsSafe is False
    with PlcSimulator(port=port, clock=clock):
        _open(gw, clock, monitor)


def test_garbage_answer_does_not_crash_and_logs_the_reason(clock, plc_sim, make_gateway, caplog):
    caplog.set_level(logging.WARNING, logger="plc_gateway.server")
    gw = make_gateway(plc_sim.port)
    monitor = _monitor(gw)
    _open(gw, clock, monitor)
    plc_sim.apply({"malformed": 1})
    wait_for(lambda: "malformed answer" in caplog.text, 10, what="the logged reason")
    wait_for(lambda: gw.state.current().elements["plc"].safe, 10, what="good answers again")
    assert monitor.IsSafe is True  # one bad answer (< unsafe_after_failed_polls): no change


def test_hung_plc_times_out_and_goes_unsafe(clock, plc_sim, make_gateway, caplog):
    caplog.set_level(logging.WARNING, logger="plc_gateway.server")
    gw = make_gateway(plc_sim.port)
    monitor = _monitor(gw)
    _open(gw, clock, monitor)
    plc_sim.apply({"silent_s": 60})  # reads the request, never answers
    wait_for(lambda: "TimeoutError" in caplog.text, 10, what="a timeout")
    clock.advance(6)
    wait_for(lambda: not monitor.IsSafe, 10, what="IsSafe false while the PLC hangs")
    clock.advance(60)  # the silence ends
    wait_for(lambda: gw.state.current().elements["plc"].safe, 10, what="answers again")


def test_dropped_connection_reconnects(clock, plc_sim, make_gateway):
    gw = make_gateway(plc_sim.port)
    monitor = _monitor(gw)
    _open(gw, clock, monitor)
    before = plc_sim.requests_answered
    plc_sim.apply({"drop_connections": True})
    wait_for(lambda: plc_sim.requests_answered > before + 3, 10, what="polling again")
    assert monitor.IsSafe is True


def test_invalid_sensor_is_named(clock, plc_sim, make_gateway):
    gw = make_gateway(plc_sim.port)
    plc_sim.apply({"device_name": "WXT520", "valid": "no"})
    wait_for(
        lambda: "WXT520" in gw.state.current().elements["sensors_valid"].interpretation,
        10,
        what="named",
    )
    # VantagePro is invalid in the seed's sample too: no valid rain gauge is left.
    plc_sim.apply({"device_name": "DRD11", "valid": "no"})
    clock.advance(6)
    wait_for(
        lambda: "rain_rate: no valid reading" in "; ".join(gw.state.current().reasons),
        10,
        what="stale rain",
    )


def test_accelerated_clock_keeps_readings_fresh_and_opens_after_the_delay(tmp_path):
    # At 10x, the 30 s reopen delay passes in 3 s of real time; the poll follows the clock
    # (1 s of clock = 0.1 s real), so readings never look stale between polls.
    from datetime import UTC, datetime

    from orchestrator.clock import SimulatedClock
    from plc_gateway.server import Gateway
    from tests.plc_gateway.conftest import gateway_config

    clock = SimulatedClock(datetime(2026, 11, 25, 4, 0, tzinfo=UTC), speed=10)
    config = gateway_config(tmp_path, "").model_copy()
    config = config.model_copy(update={"plc": config.plc.model_copy(update={"poll_period_s": 1.0})})
    with PlcSimulator(clock=clock) as sim:
        gw = Gateway(config, clock, None, ("127.0.0.1", sim.port), 0, 0).start()
        try:
            monitor = _monitor(gw)
            wait_for(lambda: monitor.IsSafe, 20, what="IsSafe true at 10x")
            for _ in range(20):  # it stays safe: no stale gap between polls
                assert monitor.IsSafe is True
        finally:
            gw.stop()


def test_served_answer_goes_unsafe_when_polling_stops(clock):
    from plc_gateway.server import SafetyState
    from plc_gateway.synthesis import Synthesis

    state = SafetyState(clock, stale_after_s=5)
    state.set(Synthesis(clock.now(), True, (), {}))
    assert state.current().is_safe
    clock.advance(6)
    assert not state.current().is_safe
    assert "stale" in state.current().reasons[0]
