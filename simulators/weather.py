"""Varying weather for the PLC simulator: a demo shows curves, not flat lines.

Diurnal temperature (coldest before dawn, warmest mid-afternoon, local solar time), humidity
following it (and the dew point computed from both), gusty wind, slow pressure drift and sensor
noise. Every value is a pure function of (seed, time): the same seed and clock give the same
weather however often the PLC is polled. It stays dry and within the default safety limits;
rain and faults come from scenarios and tests only.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

DAY_S = 86400.0
# (device, value) -> what it is; the values of the seed's dry answer are the typical ones
KEYS = (
    ("WXT520", "OutsideTemp"),
    ("WXT520", "OutsideHumidity"),
    ("WXT520", "DewPoint"),
    ("WXT520", "Pressure"),
    ("WXT520", "WindSpeed"),
    ("WXT520", "WindDir"),
    ("VantagePro", "OutsideTemp"),
    ("VantagePro", "OutsideHumidity"),
    ("VantagePro", "DewPoint"),
    ("VantagePro", "Pressure"),
    ("VantagePro", "WindSpeed"),
    ("VantagePro", "WindDir"),
    ("MLX90614-1", "SensorTemperature"),
    ("MLX90614-1", "SkyTemperature"),
)
MEAN_TEMPERATURE_C = 9.0
DIURNAL_AMPLITUDE_C = 5.0  # half the day-night range
WARMEST_SOLAR_H = 15.0
MEAN_HUMIDITY_PCT = 55.0
HUMIDITY_PER_C = -2.5  # relative humidity falls as the air warms (same moisture)
HUMIDITY_RANGE_PCT = (15.0, 76.0)  # below the default humidity_reopen_pct (80)
MEAN_WIND_M_S = 3.5
WIND_MAX_M_S = 11.0  # gusts stay below the default wind_speed_reopen_m_s (12)
PRESSURE_HPA = 769.2
SKY_MINUS_AMBIENT_C = -39.0  # clear sky (default limit: -20, reopen -23)


def dew_point_c(temperature_c: float, humidity_pct: float) -> float:
    """Magnus formula (Alduchov & Eskridge coefficients), good to 0.4 C over -40..50 C."""
    b, c = 17.625, 243.04
    gamma = math.log(max(humidity_pct, 1.0) / 100.0) + b * temperature_c / (c + temperature_c)
    return c * gamma / (b - gamma)


class WeatherModel:
    """`values(now)` -> {(device, value name): number}, deterministic for `seed` and `now`."""

    def __init__(self, seed: int = 0, longitude_deg: float = -115.4637):
        self.seed = seed
        self.longitude_deg = longitude_deg

    # ---- deterministic noise: value noise on knots every `step_s`, smooth in between --------
    def _knot(self, name: str, index: int) -> float:
        """A uniform number in [-1, 1] for this knot (the same for the same seed)."""
        return random.Random(f"{self.seed}:{name}:{index}").uniform(-1.0, 1.0)

    def _smooth(self, name: str, t_s: float, step_s: float) -> float:
        """Noise in [-1, 1] that varies smoothly over `step_s` (cosine interpolation)."""
        index = math.floor(t_s / step_s)
        frac = t_s / step_s - index
        weight = (1 - math.cos(math.pi * frac)) / 2
        a, b = self._knot(name, index), self._knot(name, index + 1)
        return a + (b - a) * weight

    def _noise(self, name: str, t_s: float, sigma: float) -> float:
        """Sensor noise: a new draw each second, about +-sigma."""
        return sigma * self._knot(f"noise:{name}", math.floor(t_s))

    # ---- the weather -------------------------------------------------------------------------
    def values(self, now: datetime) -> dict[tuple[str, str], float]:
        t_s = now.timestamp()
        solar_h = (t_s / 3600.0 + self.longitude_deg / 15.0) % 24.0
        diurnal = math.cos(2 * math.pi * (solar_h - WARMEST_SOLAR_H) / 24.0)
        temperature = (
            MEAN_TEMPERATURE_C
            + DIURNAL_AMPLITUDE_C * diurnal
            + 1.5 * self._smooth("temperature_days", t_s, 3 * DAY_S)  # warmer and colder days
            + 0.4 * self._smooth("temperature_hour", t_s, 1800.0)
        )
        low, high = HUMIDITY_RANGE_PCT
        humidity = MEAN_HUMIDITY_PCT + HUMIDITY_PER_C * (temperature - MEAN_TEMPERATURE_C)
        humidity += 6.0 * self._smooth("humidity", t_s, 7200.0)
        humidity = min(high, max(low, humidity))
        # wind: a slow mean (hours) and gusts (tens of seconds), never negative
        mean_wind = MEAN_WIND_M_S * (1 + 0.5 * self._smooth("wind_mean", t_s, 3 * 3600.0))
        gust = max(0.0, self._smooth("gust", t_s, 20.0)) ** 2 * 0.8 * mean_wind
        wind = min(WIND_MAX_M_S, max(0.0, mean_wind + gust + 0.3 * self._smooth("lull", t_s, 7.0)))
        direction = (215.0 + 40.0 * self._smooth("direction", t_s, 5400.0)) % 360.0
        pressure = (
            PRESSURE_HPA
            + 0.8 * math.cos(4 * math.pi * (solar_h - 10.0) / 24.0)  # the semi-diurnal tide
            + 1.5 * self._smooth("pressure", t_s, 2 * DAY_S)
        )
        sensor = temperature + 11.0  # the MLX90614's own temperature: the "ambient" of the cloud
        sky = sensor + SKY_MINUS_AMBIENT_C + 2.0 * self._smooth("sky", t_s, 1200.0)
        out: dict[tuple[str, str], float] = {}
        for device, bias_c, sigma in (("WXT520", 0.0, 1.0), ("VantagePro", 0.3, 1.3)):
            t = temperature + bias_c + self._noise(f"{device}:t", t_s, 0.05 * sigma)
            h = min(100.0, humidity + self._noise(f"{device}:h", t_s, 0.4 * sigma))
            out[(device, "OutsideTemp")] = round(t, 2)
            out[(device, "OutsideHumidity")] = round(h, 1)
            out[(device, "DewPoint")] = round(dew_point_c(t, h), 1)
            out[(device, "Pressure")] = round(
                pressure - bias_c + self._noise(f"{device}:p", t_s, 0.1 * sigma), 1
            )
            w = max(0.0, wind + self._noise(f"{device}:w", t_s, 0.2 * sigma))
            out[(device, "WindSpeed")] = round(min(WIND_MAX_M_S, w), 1)
            out[(device, "WindDir")] = round(
                (direction + self._noise(f"{device}:d", t_s, 8.0 * sigma)) % 360.0, 1
            )
        out[("MLX90614-1", "SensorTemperature")] = round(
            sensor + self._noise("mlx:t", t_s, 0.05), 2
        )
        out[("MLX90614-1", "SkyTemperature")] = round(sky + self._noise("mlx:sky", t_s, 0.2), 2)
        return out
