"""Alpaca Focuser adapter: absolute moves in steps.

ASCOM members: Absolute, Move(Position), IsMoving, Position, MaxStep.
"""

from __future__ import annotations

from alpaca.focuser import Focuser

from alpaca_devices.base import AlpacaDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until


class AlpacaFocuser(AlpacaDevice):
    kind = "focuser"
    client_class = Focuser

    def capabilities(self) -> frozenset[str]:
        return frozenset({ports.CAN_ABSOLUTE_FOCUS}) if self.client.Absolute else frozenset()

    def position(self) -> int:
        return int(self.client.Position)

    def move_to(self, position: int, timeout_s: float) -> None:
        max_step = int(self.client.MaxStep)
        if not 0 <= position <= max_step:
            raise DeviceError(self.role, "move", f"position {position} outside 0..{max_step}")
        self.client.Move(int(position))
        poll_until(
            lambda: not self.client.IsMoving and self.client.Position == position,
            timeout_s,
            self.role,
            "move",
        )
