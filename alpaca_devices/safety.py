"""Alpaca SafetyMonitor and ObservingConditions adapters (our gateway serves both).

ASCOM members: SafetyMonitor.IsSafe; ObservingConditions' sensor members, each optional
(a member the station lacks answers NotImplemented and reads as None).
"""

from __future__ import annotations

from alpaca.observingconditions import ObservingConditions
from alpaca.safetymonitor import SafetyMonitor

from alpaca_devices.base import AlpacaDevice, optional

CONDITION_MEMBERS = (
    "CloudCover",
    "DewPoint",
    "Humidity",
    "Pressure",
    "RainRate",
    "SkyBrightness",
    "SkyQuality",
    "SkyTemperature",
    "StarFWHM",
    "Temperature",
    "WindDirection",
    "WindGust",
    "WindSpeed",
)


class AlpacaSafetyMonitor(AlpacaDevice):
    kind = "safetymonitor"
    client_class = SafetyMonitor

    def is_safe(self) -> bool:
        return bool(self.client.IsSafe)


class AlpacaObservingConditions(AlpacaDevice):
    kind = "observingconditions"
    client_class = ObservingConditions

    def conditions(self) -> dict[str, float | None]:
        return {
            member.lower(): optional(lambda m=member: getattr(self.client, m))
            for member in CONDITION_MEMBERS
        }
