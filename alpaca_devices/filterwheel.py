"""Alpaca FilterWheel adapter: filter names, move by name.

ASCOM members: Names, Position (-1 while moving). Names configured in `devices.<role>.filters`
take precedence over the wheel's own (sites relabel slots); there must not be more of them
than the wheel has slots.
"""

from __future__ import annotations

from alpaca.filterwheel import FilterWheel

from alpaca_devices.base import AlpacaDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until


class AlpacaFilterWheel(AlpacaDevice):
    kind = "filterwheel"
    client_class = FilterWheel

    def capabilities(self) -> frozenset[str]:
        slots = len(self.client.Names)
        if slots and len(self.config.filters) <= slots:
            return frozenset({ports.CAN_FILTERS})
        return frozenset()

    def filter_names(self) -> tuple[str, ...]:
        return self.config.filters or tuple(self.client.Names)

    def current_filter(self) -> str | None:
        position = int(self.client.Position)
        names = self.filter_names()
        return names[position] if 0 <= position < len(names) else None

    def move_to(self, name: str, timeout_s: float) -> None:
        names = self.filter_names()
        if name not in names:
            raise DeviceError(self.role, "move", f"unknown filter {name!r} (have {names})")
        slot = names.index(name)
        self.client.Position = slot
        poll_until(lambda: self.client.Position == slot, timeout_s, self.role, f"move to {name}")
