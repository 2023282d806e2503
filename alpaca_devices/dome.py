"""Alpaca Dome adapter: shutter, azimuth (to follow the telescope), park, abort.

ASCOM members: OpenShutter/CloseShutter + ShutterStatus, SlewToAzimuth + Slewing + Azimuth,
Park + AtPark, AbortSlew; CanSetShutter / CanSetAzimuth tell the capabilities.
"""

from __future__ import annotations

from alpaca.dome import Dome

from alpaca_devices.base import AlpacaDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.ports import ShutterState
from orchestrator.devices.waiting import poll_until


class AlpacaDome(AlpacaDevice):
    kind = "dome"
    client_class = Dome

    def capabilities(self) -> frozenset[str]:
        found = set()
        if self.client.CanSetShutter:
            found.add(ports.CAN_SHUTTER)
        if self.client.CanSetAzimuth:
            found.add(ports.CAN_DOME_AZIMUTH)
        if self.client.CanPark:
            found.add(ports.CAN_PARK)
        return frozenset(found)

    def shutter_state(self) -> ShutterState:
        return ShutterState(int(self.client.ShutterStatus))

    def _wait_shutter(self, wanted: ShutterState, timeout_s: float, action: str) -> None:
        def done() -> bool:
            state = self.shutter_state()
            if state is ShutterState.ERROR:
                raise DeviceError(self.role, action, "the shutter reports Error")
            return state is wanted

        poll_until(done, timeout_s, self.role, action)

    def open_shutter(self, timeout_s: float) -> None:
        self.client.OpenShutter()
        self._wait_shutter(ShutterState.OPEN, timeout_s, "open shutter")

    def close_shutter(self, timeout_s: float) -> None:
        self.client.CloseShutter()
        self._wait_shutter(ShutterState.CLOSED, timeout_s, "close shutter")

    def azimuth_deg(self) -> float:
        return float(self.client.Azimuth)

    def slew_to_azimuth(self, azimuth_deg: float, timeout_s: float) -> None:
        self.client.SlewToAzimuth(azimuth_deg % 360.0)
        poll_until(lambda: not self.client.Slewing, timeout_s, self.role, "slew to azimuth")

    def is_slewing(self) -> bool:
        return bool(self.client.Slewing)

    def park(self, timeout_s: float) -> None:
        self.client.Park()
        poll_until(lambda: self.client.AtPark, timeout_s, self.role, "park")

    def abort(self) -> None:
        self.client.AbortSlew()
