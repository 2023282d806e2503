"""INDI focuser adapter: absolute moves.

Properties: ABS_FOCUS_POSITION FOCUS_ABSOLUTE_POSITION (steps; the simulator goes straight to
Ok without Busy, so the wait also checks the value); FOCUS_MAX FOCUS_MAX_VALUE.
"""

from __future__ import annotations

import PyIndi

from indi_bridge.base import IndiDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until

POSITION = "ABS_FOCUS_POSITION"


class IndiFocuser(IndiDevice):
    kind = "focuser"
    key_properties = (("number", POSITION),)

    def capabilities(self) -> frozenset[str]:
        return frozenset({ports.CAN_ABSOLUTE_FOCUS})

    def position(self) -> int:
        return int(round(self.props.numbers(POSITION)["FOCUS_ABSOLUTE_POSITION"]))

    def move_to(self, position: int, timeout_s: float) -> None:
        widget = self.props.get("number", POSITION)[0]
        low, high = widget.getMin(), widget.getMax()
        if not low <= position <= high:
            raise DeviceError(self.role, "move", f"position {position} outside {low:g}..{high:g}")
        self.props.set_numbers(POSITION, {"FOCUS_ABSOLUTE_POSITION": position})
        poll_until(
            lambda: (
                self.props.state("number", POSITION) != PyIndi.IPS_BUSY
                and self.position() == position
            ),
            timeout_s,
            self.role,
            "move",
            0.05,
        )
