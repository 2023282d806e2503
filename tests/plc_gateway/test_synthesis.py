"""The synthesis rules, element by element: thresholds, hysteresis, staleness, reopen delay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.config import SafetyConfig
from plc_gateway.parser import parse_status
from plc_gateway.synthesis import Synthesizer
from tests.conftest import TEST_DATA

T0 = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
DRY = json.loads((TEST_DATA / "plc" / "status_dry.json").read_text())


def _status(changes: dict):
    doc = json.loads(json.dumps(DRY))
    for (device, name), value in changes.items():
        for dev in doc[0]["device"]:
            if dev["name"] == device:
                for item in dev["values"]:
                    if item["name"] == name:
                        item["value"] = value
    return parse_status(json.dumps(doc))


@pytest.fixture
def synth():
    return Synthesizer(SafetyConfig(reopen_delay_s=60, stale_after_s=10))


def opened(synth) -> datetime:
    synth.update(_status({}), T0)
    now = T0 + timedelta(seconds=60)
    assert synth.update(_status({}), now).is_safe
    return now


def test_dry_sample_is_safe_after_the_reopen_delay_only(synth):
    first = synth.update(_status({}), T0)
    assert not first.is_safe and "reopen delay" in first.reasons[0]
    almost = synth.update(_status({}), T0 + timedelta(seconds=59))
    assert not almost.is_safe
    assert "safe for 59 s of 60 s, reopens in 1 s" in almost.reasons[0]  # why, and how long
    result = synth.update(_status({}), T0 + timedelta(seconds=60))
    assert result.is_safe and result.reasons == ()
    assert result.elements["cloud"].value == pytest.approx(-15.67 - 23.56)
    assert result.elements["cloud"].interpretation == "clear"
    assert "VantagePro" in result.elements["sensors_valid"].interpretation


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({("WXT520", "RainRate"): 0.5}, "rain_rate: light rain"),
        ({("DRD11", "digital"): 0}, "rain_rate: DRD11 detects rain (digital)"),
        ({("DRD11", "analog"): 1.2}, "rain_rate: DRD11 detects rain (1.20 V)"),
        ({("WXT520", "WindSpeed"): 16.0}, "wind_speed: gale"),
        ({("WXT520", "OutsideHumidity"): 90.0}, "humidity: humid"),
        ({("MLX90614-1", "SkyTemperature"): 20.0}, "cloud: overcast"),
        ({("WXT520", "DewPoint"): 11.0}, "dew_point_margin: condensation risk"),
    ],
)
def test_each_unsafe_element_is_named(synth, changes, reason):
    now = opened(synth)
    result = synth.update(_status(changes), now + timedelta(seconds=1))
    assert not result.is_safe
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_wind_hysteresis(synth):
    now = opened(synth)
    for speed, safe in [(16.0, False), (13.0, False), (12.5, False), (11.9, True), (14.0, True)]:
        now += timedelta(seconds=1)
        element = synth.update(_status({("WXT520", "WindSpeed"): speed}), now).elements
        assert element["wind_speed"].safe is safe, speed


def test_no_flapping_reopen_delay_restarts_on_each_unsafe_reading(synth):
    now = opened(synth)
    for step in range(5):  # rain every 30 s: never 60 s continuously safe
        now += timedelta(seconds=30)
        rain = step % 2 == 0
        result = synth.update(_status({("WXT520", "RainRate"): 5.0 if rain else 0.0}), now)
        assert not result.is_safe


def test_stale_readings_turn_unsafe_and_name_the_element(synth):
    now = opened(synth)
    within = synth.update(None, now + timedelta(seconds=9), "refused")
    assert within.is_safe  # the last valid readings hold for stale_after_s
    late = synth.update(None, now + timedelta(seconds=11), "refused")
    assert not late.is_safe
    text = "; ".join(late.reasons)
    assert "plc: not answering (refused)" in text
    assert "rain_rate: no valid reading for 11 s" in text


def test_invalid_wxt520_uses_nothing_from_it(synth):
    doc = json.loads(json.dumps(DRY))
    doc[0]["device"][0]["valid"] = "no"
    doc[0]["device"][0]["values"][3]["value"] = 50.0  # rain from an invalid sensor is ignored
    result = synth.update(parse_status(json.dumps(doc)), T0)
    assert "rain_rate: no valid reading yet" in result.reasons
    assert "WXT520" in result.elements["sensors_valid"].interpretation
