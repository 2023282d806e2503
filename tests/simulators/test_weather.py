"""The PLC simulator's varying weather: deterministic for a seed and a time, physically sound,
safe under the default thresholds through whole days, and never overriding a forced value."""

from __future__ import annotations

import json
import socket
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.clock import ManualClock
from orchestrator.config import default_config_text, parse_config
from plc_gateway.parser import parse_status
from plc_gateway.synthesis import Synthesizer
from simulators.plc_simulator import PlcSimulator, default_status
from simulators.weather import WeatherModel, dew_point_c

START = datetime(2026, 11, 25, 0, tzinfo=UTC)


def _day(model: WeatherModel, step_s: int = 600, days: int = 2) -> list[dict]:
    return [model.values(START + timedelta(seconds=s)) for s in range(0, days * 86400, step_s)]


def test_same_seed_and_time_same_weather_another_seed_another():
    a, b, c = WeatherModel(seed=1), WeatherModel(seed=1), WeatherModel(seed=2)
    when = START + timedelta(hours=7, seconds=13)
    assert a.values(when) == b.values(when)
    assert a.values(when) == a.values(when)  # however often it is asked
    assert a.values(when) != c.values(when)


def test_values_stay_physical_and_safe_over_two_days():
    for seed in (0, 7):
        for v in _day(WeatherModel(seed=seed), step_s=97):
            t, h = v[("WXT520", "OutsideTemp")], v[("WXT520", "OutsideHumidity")]
            assert -10 < t < 30 and 10 <= h < 80  # below the default humidity_reopen_pct
            assert v[("WXT520", "DewPoint")] < t - 3  # dew-point margin above the reopen 3 C
            assert 0 <= v[("WXT520", "WindSpeed")] < 12  # below wind_speed_reopen_m_s
            assert 0 <= v[("WXT520", "WindDir")] < 360
            assert 760 < v[("WXT520", "Pressure")] < 780  # 2790 m
            cloud = v[("MLX90614-1", "SkyTemperature")] - v[("MLX90614-1", "SensorTemperature")]
            assert cloud < -23  # clear (sky_minus_ambient_reopen_c)


def test_diurnal_temperature_humidity_following_it_and_gusts():
    model = WeatherModel(seed=3)  # COLIBRI: local solar noon ~ 19:42 UTC
    values = _day(model, step_s=600, days=2)
    temperature = [v[("WXT520", "OutsideTemp")] for v in values]
    humidity = [v[("WXT520", "OutsideHumidity")] for v in values]
    assert max(temperature) - min(temperature) > 6  # day and night
    warmest = values.index(max(values, key=lambda v: v[("WXT520", "OutsideTemp")]))
    warmest_utc_h = (warmest * 600 / 3600) % 24
    assert 20 <= warmest_utc_h <= 24  # mid-afternoon local time (~15 h solar = 22:42 UTC)
    assert statistics.correlation(temperature, humidity) < -0.6
    # gusts: within five minutes the wind changes by more than the sensor noise
    gusts = [model.values(START + timedelta(seconds=s))[("WXT520", "WindSpeed")]
             for s in range(0, 300, 2)]  # fmt: skip
    assert max(gusts) - min(gusts) > 1.0 and len(set(gusts)) > 8  # 0.1 m/s resolution
    # sensor noise: two stations never read exactly the same temperature
    assert all(v[("WXT520", "OutsideTemp")] != v[("VantagePro", "OutsideTemp")] for v in values)


def test_magnus_dew_point():
    assert dew_point_c(20.0, 100.0) == pytest.approx(20.0, abs=0.01)
    assert dew_point_c(20.0, 50.0) == pytest.approx(9.3, abs=0.1)


def test_the_synthesis_of_a_varying_day_is_safe_all_day(tmp_path):
    """The demo opens and stays open: every 20 minutes of two days, the synthesis is SAFE."""
    config = parse_config(default_config_text(), tmp_path)
    clock = ManualClock(START)
    synth = Synthesizer(config.safety)
    sim = PlcSimulator(clock=clock, weather=WeatherModel(seed=0))
    for step in range(2 * 72):
        answer = sim.status_answer()
        synthesis = synth.update(parse_status(json.dumps(answer)), clock.now())
        if step > 0:  # the first reading starts the reopen delay
            assert synthesis.is_safe, synthesis.reasons
        clock.advance(1200)


def test_over_tcp_values_vary_with_the_clock_and_forced_values_stay():
    clock = ManualClock(START)
    with PlcSimulator(clock=clock, weather=WeatherModel(seed=0)) as sim:
        first = _values(_status(sim.port))
        clock.advance(6 * 3600)
        later = _values(_status(sim.port))
        assert first[("WXT520", "OutsideTemp")] != later[("WXT520", "OutsideTemp")]
        assert first[("WXT520", "RainRate")] == later[("WXT520", "RainRate")] == 0.0
        sim.set_value("WXT520", "RainRate", 4.0)  # a scenario's rain, or a test's
        sim.set_value("WXT520", "OutsideTemp", 12.12)
        clock.advance(3 * 3600)
        forced = _values(_status(sim.port))
        assert forced[("WXT520", "RainRate")] == 4.0
        assert forced[("WXT520", "OutsideTemp")] == 12.12
        assert forced[("WXT520", "OutsideHumidity")] != later[("WXT520", "OutsideHumidity")]
    # without a model the answer is the seed's static one, as the other tests expect
    with PlcSimulator(clock=clock) as sim:
        assert _status(sim.port) == _stamped(default_status(), clock)


def _status(port: int) -> list:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b'{"command":[{"name":"STATUS"}]}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    return json.loads(data)


def _values(status: list) -> dict:
    return {
        (d["name"], v["name"]): v["value"] for d in status[0]["device"] for v in d.get("values", [])
    }


def _stamped(status: list, clock) -> list:
    status[0]["date"] = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    return status
