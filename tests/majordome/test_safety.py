"""The one safety read, against our real gateway and PLC simulator over TCP: safe, rain with the
gateway's reasons, and an unreachable gateway (= unsafe, saying so)."""

from __future__ import annotations

from orchestrator.majordome.safety import SafetyReader, read_safety
from tests.helpers import free_port, wait_for
from tests.majordome.conftest import majordome_runtime, make_safe


def test_safe_then_rain_with_the_stored_reasons(runtime, gateway, plc_sim, clock):
    rt = majordome_runtime(runtime, gateway)
    reader = SafetyReader(rt)
    assert not reader.read().is_safe  # the reopen delay is not over at start
    make_safe(gateway, clock)
    verdict = reader.read()
    assert verdict.is_safe and verdict.source == f"{gateway.host}:{gateway.port}"
    plc_sim.set_value("WXT520", "RainRate", 4.0)
    unsafe = wait_for(lambda: (v := reader.read()) and not v.is_safe and v, 10, what="rain")
    wait_for(lambda: "rain" in "; ".join(reader.read().reasons), 10, what="stored reasons")
    assert unsafe.reachable
    reader.close()


def test_an_unreachable_gateway_is_unsafe_and_says_so(runtime, gateway, clock):
    rt = majordome_runtime(runtime, gateway)
    config = rt.config.model_copy(
        update={"gateway": rt.config.gateway.model_copy(update={"port": free_port()})}
    )
    rt.config = config
    verdict = read_safety(rt)
    assert not verdict.is_safe and not verdict.reachable
    assert "safety monitor unreachable" in verdict.reasons[0]


def test_a_stopped_gateway_turns_a_safe_reader_unsafe(runtime, gateway, clock):
    rt = majordome_runtime(runtime, gateway)
    make_safe(gateway, clock)
    reader = SafetyReader(rt)
    assert reader.read().is_safe
    gateway.stop()
    verdict = reader.read()
    assert not verdict.is_safe and "unreachable" in verdict.reasons[0]
