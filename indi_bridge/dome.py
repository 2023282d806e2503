"""INDI dome adapter: shutter, azimuth, park, abort.

Properties: DOME_SHUTTER SHUTTER_OPEN/SHUTTER_CLOSE (Busy while moving, Alert on error);
ABS_DOME_POSITION DOME_ABSOLUTE_POSITION (deg); DOME_PARK PARK/UNPARK; DOME_ABORT_MOTION ABORT.
"""

from __future__ import annotations

import PyIndi

from indi_bridge.base import IndiDevice
from orchestrator.devices import ports
from orchestrator.devices.ports import ShutterState

SHUTTER = "DOME_SHUTTER"
AZIMUTH = "ABS_DOME_POSITION"


class IndiDome(IndiDevice):
    kind = "dome"
    key_properties = (("switch", SHUTTER),)

    def capabilities(self) -> frozenset[str]:
        found = set()
        if self.props.has("switch", SHUTTER):
            found.add(ports.CAN_SHUTTER)
        if self.props.has("number", AZIMUTH):
            found.add(ports.CAN_DOME_AZIMUTH)
        if self.props.has("switch", "DOME_PARK"):
            found.add(ports.CAN_PARK)
        return frozenset(found)

    def shutter_state(self) -> ShutterState:
        state = self.props.state("switch", SHUTTER)
        opening = "SHUTTER_OPEN" in self.props.switches_on(SHUTTER)
        if state == PyIndi.IPS_ALERT:
            return ShutterState.ERROR
        if state == PyIndi.IPS_BUSY:
            return ShutterState.OPENING if opening else ShutterState.CLOSING
        return ShutterState.OPEN if opening else ShutterState.CLOSED

    def _move_shutter(self, element: str, wanted: ShutterState, timeout_s: float) -> None:
        action = element.lower().replace("_", " ")
        self.props.set_switch(SHUTTER, element)
        self.props.wait_idle(
            "switch", SHUTTER, timeout_s, action, lambda: self.shutter_state() is wanted
        )

    def open_shutter(self, timeout_s: float) -> None:
        self._move_shutter("SHUTTER_OPEN", ShutterState.OPEN, timeout_s)

    def close_shutter(self, timeout_s: float) -> None:
        self._move_shutter("SHUTTER_CLOSE", ShutterState.CLOSED, timeout_s)

    def azimuth_deg(self) -> float:
        return self.props.numbers(AZIMUTH)["DOME_ABSOLUTE_POSITION"]

    def slew_to_azimuth(self, azimuth_deg: float, timeout_s: float) -> None:
        goal = azimuth_deg % 360.0
        self.props.set_numbers(AZIMUTH, {"DOME_ABSOLUTE_POSITION": goal})
        self.props.wait_idle(
            "number",
            AZIMUTH,
            timeout_s,
            "slew to azimuth",
            lambda: abs((self.azimuth_deg() - goal + 180.0) % 360.0 - 180.0) < 1.0,
        )

    def is_slewing(self) -> bool:
        return self.props.state("number", AZIMUTH) == PyIndi.IPS_BUSY

    def park(self, timeout_s: float) -> None:
        self.props.switch_to("DOME_PARK", "PARK", timeout_s, "park")

    def abort(self) -> None:
        self.props.set_switch("DOME_ABORT_MOTION", "ABORT")
