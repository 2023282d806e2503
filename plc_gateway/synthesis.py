"""The weather synthesis: per element a value, an interpretation and a decision (seed §5.1.4).

`Synthesizer.update()` is fed each PLC reading (or the reason it failed) with the clock's
time. Thresholds and hysteresis come from `[safety]`; an element with no valid reading for
`stale_after_s` is unsafe; once unsafe, the whole synthesis turns safe again only after
`reopen_delay_s` of continuously safe elements (no flapping). Every unsafe reason is named.
The `plc` link element turns unsafe after `unsafe_after_failed_polls` failed polls in a row,
well before the stale timeout (a failure is known at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.config import SafetyConfig
from plc_gateway.parser import PlcStatus

WIND_SOURCES = ("WXT520", "VantagePro")  # order = preference for single-valued elements
CARDINALS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Element:
    """One line of the synthesis: the seed's {value; interpretation; decision}."""

    name: str
    value: float | str | None
    unit: str
    interpretation: str
    safe: bool
    updated: datetime | None  # when the value was last read valid (None: never)
    safety_relevant: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "interpretation": self.interpretation,
            "decision": "safe" if self.safe else "unsafe",
            "updated": self.updated.isoformat() if self.updated else None,
            "safety_relevant": self.safety_relevant,
        }


@dataclass(frozen=True)
class Synthesis:
    measured: datetime
    is_safe: bool
    reasons: tuple[str, ...]  # why unsafe (empty when safe)
    elements: dict[str, Element]
    site: dict[str, Any] = field(default_factory=dict)  # calibration lamps and other site data

    def value(self, name: str) -> float | None:
        element = self.elements.get(name)
        return element.value if element and isinstance(element.value, float) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": self.measured.isoformat(),
            "is_safe": self.is_safe,
            "reasons": list(self.reasons),
            "elements": {name: e.to_dict() for name, e in self.elements.items()},
        }


def unsafe_at_start(now: datetime) -> Synthesis:
    """What is served before the first poll: unsafe, with the reason."""
    return Synthesis(now, False, ("no PLC reading yet",), {})


@dataclass
class _Held:
    """The last valid value of an element and when it was read."""

    value: float | None = None
    updated: datetime | None = None


class Synthesizer:
    """Stateful: holds last valid values, hysteresis states and the reopen timer."""

    def __init__(self, config: SafetyConfig, unsafe_after_failed_polls: int = 2):
        self.config = config
        self.unsafe_after_failed_polls = unsafe_after_failed_polls
        self._failed_polls = 0  # consecutive
        self._held: dict[str, _Held] = {}
        self._tripped: dict[str, bool] = {}  # hysteresis: element currently beyond its limit
        self._last_answer: datetime | None = None
        self._safe_since: datetime | None = None
        self._open = False  # starts closed: safety first, even after a restart
        self._invalid: list[str] = []  # meteo devices flagged invalid in the last answer

    def update(self, status: PlcStatus | None, now: datetime, error: str = "") -> Synthesis:
        """Fold one poll result in; `status` None means the PLC could not be read (`error`)."""
        if status is not None:
            self._last_answer = now
            self._failed_polls = 0
            self._read(status, now)
        else:
            self._failed_polls += 1
        elements = self._elements(status, now, error)
        raw_reasons = [f"{e.name}: {e.interpretation}" for e in elements.values() if not e.safe]
        reasons = self._reopen(raw_reasons, now)
        site = _site(status) if status is not None else {}
        return Synthesis(now, self._open, tuple(reasons), elements, site)

    # ---- reading ---------------------------------------------------------------------
    def _hold(self, name: str, value: float | None, now: datetime) -> None:
        if value is not None:
            self._held[name] = _Held(value, now)

    def _read(self, s: PlcStatus, now: datetime) -> None:
        rates = [v for d in WIND_SOURCES if (v := s.number(d, "RainRate")) is not None]
        self._hold("rain_rate", max(rates) if rates else None, now)
        self._hold("drd11_digital", s.number("DRD11", "digital"), now)
        self._hold("drd11_analog", s.number("DRD11", "analog"), now)
        for name, key, pick in (
            ("wind_speed", "WindSpeed", max),
            ("humidity", "OutsideHumidity", max),
            ("wind_direction", "WindDir", _first),
            ("temperature", "OutsideTemp", _first),
            ("dew_point", "DewPoint", max),
            ("pressure", "Pressure", _first),
        ):
            values = [v for d in WIND_SOURCES if (v := s.number(d, key)) is not None]
            self._hold(name, pick(values) if values else None, now)
        sky = s.number("MLX90614-1", "SkyTemperature")
        ambient = s.number("MLX90614-1", "SensorTemperature")
        self._hold("sky_temperature", sky, now)
        if sky is not None and ambient is not None:
            self._hold("cloud", sky - ambient, now)
        meteo = [d for d in s.devices.values() if d.kind == "meteo"]
        self._hold("sensors_valid", float(sum(d.valid for d in meteo)), now)
        self._invalid = [d.name for d in meteo if not d.valid]

    def _fresh(self, name: str, now: datetime) -> tuple[float | None, datetime | None, bool]:
        held = self._held.get(name, _Held())
        age_ok = held.updated is not None and (
            (now - held.updated).total_seconds() <= self.config.stale_after_s
        )
        return held.value, held.updated, age_ok

    def _stale_text(self, name: str, now: datetime) -> str:
        held = self._held.get(name)
        if held is None or held.updated is None:
            return "no valid reading yet"
        return f"no valid reading for {(now - held.updated).total_seconds():.0f} s"

    # ---- deciding --------------------------------------------------------------------
    def _limit(self, name: str, value: float, trip_above: float, reopen_at: float) -> bool:
        """Hysteresis: trips above `trip_above`, clears only at or below `reopen_at`."""
        tripped = self._tripped.get(name, False)
        tripped = value > reopen_at if tripped else value > trip_above
        self._tripped[name] = tripped
        return not tripped

    def _elements(self, status: PlcStatus | None, now: datetime, error: str) -> dict[str, Element]:
        c = self.config
        out: dict[str, Element] = {}

        def add(name, unit, judge, relevant=True):
            value, updated, fresh = self._fresh(name, now)
            if not fresh:
                out[name] = Element(
                    name, value, unit, self._stale_text(name, now), not relevant, updated, relevant
                )
                return
            text, safe = judge(value)
            out[name] = Element(name, value, unit, text, safe, updated, relevant)

        plc_ok = (
            self._last_answer is not None
            and (now - self._last_answer).total_seconds() <= c.stale_after_s
            and self._failed_polls < self.unsafe_after_failed_polls
        )
        plc_text = "answering" if status is not None else f"not answering ({error or 'no poll'})"
        if self._failed_polls:
            plc_text += f"; {self._failed_polls} failed poll(s) in a row"
        out["plc"] = Element(
            "plc", "ok" if status else "error", "", plc_text, plc_ok, self._last_answer
        )
        add("rain_rate", "mm/h", lambda v: self._judge_rain(v, now))
        add(
            "wind_speed",
            "m/s",
            lambda v: (
                _wind_text(v),
                self._limit("wind_speed", v, c.wind_speed_max_m_s, c.wind_speed_reopen_m_s),
            ),
        )
        add("wind_direction", "deg", lambda v: (CARDINALS[round(v / 45) % 8], True), False)
        add(
            "humidity",
            "%",
            lambda v: (
                "humid" if v > c.humidity_reopen_pct else "dry enough",
                self._limit("humidity", v, c.humidity_max_pct, c.humidity_reopen_pct),
            ),
        )
        add("temperature", "degC", lambda v: (f"{v:.1f} degC", True), False)
        add("dew_point", "degC", lambda v: (f"{v:.1f} degC", True), False)
        add("pressure", "hPa", lambda v: (f"{v:.1f} hPa at site", True), False)
        add("sky_temperature", "degC", lambda v: (f"{v:.1f} degC", True), False)
        add(
            "cloud",
            "degC",
            lambda v: (
                _cloud_text(v, c),
                self._limit("cloud", v, c.sky_minus_ambient_max_c, c.sky_minus_ambient_reopen_c),
            ),
        )
        self._dew_margin(out, now)
        add(
            "sensors_valid",
            "valid",
            lambda v: (
                "all meteo sensors valid"
                if not self._invalid
                else f"invalid: {', '.join(self._invalid)}",
                v > 0,
            ),
        )
        return out

    def _judge_rain(self, rate: float, now: datetime) -> tuple[str, bool]:
        c = self.config
        reasons = []
        if rate > c.rain_rate_max_mm_h:
            reasons.append(_rain_text(rate))
        digital, _, digital_fresh = self._fresh("drd11_digital", now)
        analog, _, analog_fresh = self._fresh("drd11_analog", now)
        if digital is not None and digital_fresh and digital < 0.5:
            reasons.append("DRD11 detects rain (digital)")
        if analog is not None and analog_fresh and analog < c.drd11_rain_below_v:
            reasons.append(f"DRD11 detects rain ({analog:.2f} V)")
        return ("; ".join(reasons), False) if reasons else ("dry", True)

    def _dew_margin(self, out: dict[str, Element], now: datetime) -> None:
        c = self.config
        temp, dew = out["temperature"], out["dew_point"]
        fresh = self._fresh("temperature", now)[2] and self._fresh("dew_point", now)[2]
        if not fresh or not isinstance(temp.value, float) or not isinstance(dew.value, float):
            out["dew_point_margin"] = Element(
                "dew_point_margin", None, "degC", "no valid temperature and dew point", False, None
            )
            return
        margin = temp.value - dew.value
        safe = self._limit(
            "dew_margin", -margin, -c.dew_point_margin_min_c, -c.dew_point_margin_reopen_c
        )
        text = (
            f"{margin:.1f} degC above the dew point"
            if safe
            else f"condensation risk ({margin:.1f} degC)"
        )
        updated = min(temp.updated, dew.updated) if temp.updated and dew.updated else None
        out["dew_point_margin"] = Element("dew_point_margin", margin, "degC", text, safe, updated)

    def _reopen(self, raw_reasons: list[str], now: datetime) -> list[str]:
        """Close at once; reopen only after `reopen_delay_s` continuously safe."""
        if raw_reasons:
            self._safe_since = None
            self._open = False
            return raw_reasons
        if self._safe_since is None:
            self._safe_since = now
        safe_for_s = (now - self._safe_since).total_seconds()
        if not self._open and safe_for_s >= self.config.reopen_delay_s:
            self._open = True
        if self._open:
            return []
        left_s = self.config.reopen_delay_s - safe_for_s
        return [
            f"reopen delay: safe for {safe_for_s:.0f} s of {self.config.reopen_delay_s:.0f} s, "
            f"reopens in {left_s:.0f} s if it stays safe"
        ]


def _first(values: list[float]) -> float:
    return values[0]


def _rain_text(rate: float) -> str:
    if rate < 2.5:
        return f"light rain ({rate:.1f} mm/h)"
    if rate < 10:
        return f"moderate rain ({rate:.1f} mm/h)"
    return f"heavy rain ({rate:.1f} mm/h)"


def _wind_text(speed: float) -> str:
    if speed < 5:
        return "calm"
    if speed < 10:
        return "breezy"
    return "windy" if speed < 15 else "gale"


def _cloud_text(sky_minus_ambient: float, c: SafetyConfig) -> str:
    if sky_minus_ambient <= c.sky_minus_ambient_reopen_c:
        return "clear"
    if sky_minus_ambient <= c.sky_minus_ambient_max_c:
        return "thin clouds"
    return "cloudy" if sky_minus_ambient <= c.sky_minus_ambient_max_c + 10 else "overcast"


def _site(status: PlcStatus) -> dict[str, Any]:
    """Site data (calibration lamps) for SiteWatch; never part of the safety decision."""
    lamps = {}
    for device in status.devices.values():
        if device.kind == "calib":
            lamps[device.name] = {"valid": device.valid, **device.values}
    return {"lamps": lamps, "warnings": list(status.warnings)}
