"""The gateway's Alpaca devices: SafetyMonitor #0 and ObservingConditions #0.

One class per device type holding only its members (as alpyca has one class per type);
`get_x`/`put_x` methods are found by the envelope. Both read the live synthesis from a
`SynthesisSource`, so every Alpaca client sees the same safety truth as PyROS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from plc_gateway.alpaca.envelope import (
    ActionNotImplemented,
    AlpacaError,
    Call,
    InvalidValue,
    NotConnected,
    NotImplementedAlpaca,
)
from plc_gateway.synthesis import Synthesis

DRIVER_VERSION = "1.0"


class SynthesisSource(Protocol):
    def current(self) -> Synthesis: ...
    def now(self) -> datetime: ...
    def refresh(self) -> None: ...


class AlpacaDevice:
    """Members common to every ASCOM device (Platform 7 included)."""

    device_type = ""
    interface_version = 1
    device_name = ""
    description_text = ""

    def __init__(self, number: int, unique_id: str, source: SynthesisSource):
        self.number = number
        self.unique_id = unique_id
        self.source = source
        # Connected is kept per ClientID: one client disconnecting must not blind another
        # (NINA and the orchestrator share this SafetyMonitor).
        self._connected: set[int] = set()
        self._lock = threading.Lock()

    def is_connected(self, call: Call) -> bool:
        with self._lock:
            return call.client_id in self._connected

    def _require_connected(self, call: Call) -> None:
        if not self.is_connected(call):
            raise NotConnected(f"{self.device_name} is not connected (PUT connected=true first)")

    def _set_connected(self, call: Call, connected: bool) -> None:
        with self._lock:
            (self._connected.add if connected else self._connected.discard)(call.client_id)

    def get_connected(self, call: Call) -> bool:
        return self.is_connected(call)

    def put_connected(self, call: Call) -> None:
        self._set_connected(call, call.boolean("Connected"))

    def put_connect(self, call: Call) -> None:  # Platform 7: asynchronous, done at once here
        self._set_connected(call, True)

    def put_disconnect(self, call: Call) -> None:
        self._set_connected(call, False)

    def get_connecting(self, call: Call) -> bool:
        return False

    def get_description(self, call: Call) -> str:
        return self.description_text

    def get_driverinfo(self, call: Call) -> str:
        return "PyROS plc_gateway: COLIBRI PLC weather synthesis served over ASCOM Alpaca"

    def get_driverversion(self, call: Call) -> str:
        return DRIVER_VERSION

    def get_interfaceversion(self, call: Call) -> int:
        return self.interface_version

    def get_name(self, call: Call) -> str:
        return self.device_name

    def get_supportedactions(self, call: Call) -> list[str]:
        return []

    def put_action(self, call: Call) -> None:
        raise ActionNotImplemented(f"action {call.params.get('action', '')!r} is not supported")

    def put_commandblind(self, call: Call) -> None:
        raise NotImplementedAlpaca("CommandBlind is not implemented")

    def put_commandbool(self, call: Call) -> None:
        raise NotImplementedAlpaca("CommandBool is not implemented")

    def put_commandstring(self, call: Call) -> None:
        raise NotImplementedAlpaca("CommandString is not implemented")

    def get_devicestate(self, call: Call) -> list[dict[str, Any]]:
        self._require_connected(call)
        state = [{"Name": name, "Value": value} for name, value in self.operational_state()]
        state.append({"Name": "TimeStamp", "Value": self.source.now().isoformat()})
        return state

    def operational_state(self) -> list[tuple[str, Any]]:
        return []


class SafetyMonitorDevice(AlpacaDevice):
    device_type = "safetymonitor"
    interface_version = 3  # ISafetyMonitorV3: Platform 7 members
    device_name = "PyROS weather safety"
    description_text = "IsSafe from the PLC weather synthesis (rain, wind, humidity, cloud, dew)"

    def get_issafe(self, call: Call) -> bool:
        # ASCOM: IsSafe must be False (not an error) when the device is not connected.
        return self.is_connected(call) and self.source.current().is_safe

    def operational_state(self) -> list[tuple[str, Any]]:
        return [("IsSafe", self.source.current().is_safe)]


# ASCOM sensor name -> (synthesis element, description, converter to ASCOM range)
_SENSORS: dict[str, tuple[str, str, Callable[[float], float]]] = {
    "DewPoint": ("dew_point", "dew point from WXT520/VantagePro (degC)", float),
    "Humidity": ("humidity", "outside relative humidity (%)", lambda v: min(100.0, max(0.0, v))),
    "Pressure": ("pressure", "pressure at site elevation (hPa)", float),
    "RainRate": (
        "rain_rate",
        "rain rate, highest of WXT520/VantagePro (mm/h)",
        lambda v: max(0.0, v),
    ),
    "SkyTemperature": ("sky_temperature", "sky temperature from MLX90614 (degC)", float),
    "Temperature": ("temperature", "outside temperature (degC)", float),
    "WindDirection": ("wind_direction", "wind direction, N=0 E=90 (deg)", lambda v: v % 360.0),
    "WindSpeed": (
        "wind_speed",
        "wind speed, highest of WXT520/VantagePro (m/s)",
        lambda v: max(0.0, v),
    ),
}
_NOT_IMPLEMENTED = ("CloudCover", "SkyBrightness", "SkyQuality", "StarFWHM", "WindGust")
_BY_LOWER = {name.lower(): name for name in (*_SENSORS, *_NOT_IMPLEMENTED)}


class ObservingConditionsDevice(AlpacaDevice):
    device_type = "observingconditions"
    interface_version = 2  # IObservingConditionsV2: Platform 7 members
    device_name = "PyROS weather station"
    description_text = "COLIBRI weather sensors read through the PLC (instantaneous values)"

    def _sensor(self, call: Call, name: str) -> float:
        self._require_connected(call)
        element_name, _, convert = _SENSORS[name]
        value = self.source.current().value(element_name)
        if value is None:
            raise AlpacaError(f"{name}: no valid reading from the PLC yet")
        if name == "WindDirection" and (self.source.current().value("wind_speed") or 0.0) == 0.0:
            return 0.0  # ASCOM: direction is 0 when there is no wind
        return convert(value)

    def get_averageperiod(self, call: Call) -> float:
        self._require_connected(call)
        return 0.0

    def put_averageperiod(self, call: Call) -> None:
        period_h = call.number("AveragePeriod")  # a malformed value is a 400 in any state
        self._require_connected(call)
        # ASCOM: a driver that does not average accepts only 0 (instantaneous values).
        if period_h != 0:
            raise InvalidValue(f"AveragePeriod {period_h} h: only 0 (no averaging) is supported")

    def put_refresh(self, call: Call) -> None:
        self._require_connected(call)
        self.source.refresh()

    def _sensor_name(self, call: Call) -> str:
        raw = call.required("SensorName")
        name = _BY_LOWER.get(raw.strip().lower())
        if name is None:
            raise InvalidValue(f"unknown sensor {raw!r}")
        if name in _NOT_IMPLEMENTED:
            raise NotImplementedAlpaca(f"sensor {name} is not implemented")
        return name

    def get_sensordescription(self, call: Call) -> str:
        self._require_connected(call)
        return _SENSORS[self._sensor_name(call)][1]

    def get_timesincelastupdate(self, call: Call) -> float:
        self._require_connected(call)
        synthesis = self.source.current()
        raw = call.required("SensorName")
        if raw.strip() == "":  # ASCOM: "" = the most recent update of any sensor
            names = list(_SENSORS)
        else:
            names = [self._sensor_name(call)]
        updates = [
            e.updated
            for n in names
            if (e := synthesis.elements.get(_SENSORS[n][0])) is not None and e.updated
        ]
        if not updates:
            raise AlpacaError(f"{', '.join(names) if len(names) == 1 else 'no sensor'} read yet")
        return max(0.0, (self.source.now() - max(updates)).total_seconds())

    def operational_state(self) -> list[tuple[str, Any]]:
        synthesis = self.source.current()
        state = []
        for name, (element_name, _, convert) in _SENSORS.items():
            value = synthesis.value(element_name)
            if value is not None:
                state.append((name, convert(value)))
        return state


def _make_getter(name: str):
    def getter(self: ObservingConditionsDevice, call: Call) -> float:
        return self._sensor(call, name)

    return getter


def _make_not_implemented(name: str):
    def getter(self: ObservingConditionsDevice, call: Call) -> float:
        raise NotImplementedAlpaca(f"sensor {name} is not implemented")

    return getter


for _name in _SENSORS:
    setattr(ObservingConditionsDevice, f"get_{_name.lower()}", _make_getter(_name))
for _name in _NOT_IMPLEMENTED:
    setattr(ObservingConditionsDevice, f"get_{_name.lower()}", _make_not_implemented(_name))
