"""INDI filter wheel adapter: names by slot, move by name.

Properties: FILTER_SLOT FILTER_SLOT_VALUE (1-based slot; Busy while turning, some drivers go
straight to Ok); FILTER_NAME FILTER_SLOT_NAME_1..N. Names in `devices.<role>.filters` take
precedence over the wheel's own.
"""

from __future__ import annotations

import PyIndi

from indi_bridge.base import IndiDevice
from orchestrator.devices import ports
from orchestrator.devices.errors import DeviceError
from orchestrator.devices.waiting import poll_until

SLOT = "FILTER_SLOT"


class IndiFilterWheel(IndiDevice):
    kind = "filterwheel"
    key_properties = (("number", SLOT), ("text", "FILTER_NAME"))

    def _slots(self) -> int:
        return int(self.props.get("number", SLOT)[0].getMax())

    def capabilities(self) -> frozenset[str]:
        if len(self.config.filters) <= self._slots():
            return frozenset({ports.CAN_FILTERS})
        return frozenset()

    def filter_names(self) -> tuple[str, ...]:
        if self.config.filters:
            return self.config.filters
        names = self.props.texts("FILTER_NAME")
        count = self._slots()
        return tuple(names.get(f"FILTER_SLOT_NAME_{i}", f"slot {i}") for i in range(1, count + 1))

    def _slot(self) -> int:
        return int(round(self.props.numbers(SLOT)["FILTER_SLOT_VALUE"]))

    def current_filter(self) -> str | None:
        names = self.filter_names()
        slot = self._slot()
        return names[slot - 1] if 1 <= slot <= len(names) else None

    def move_to(self, name: str, timeout_s: float) -> None:
        names = self.filter_names()
        if name not in names:
            raise DeviceError(self.role, "move", f"unknown filter {name!r} (have {names})")
        slot = names.index(name) + 1
        self.props.set_numbers(SLOT, {"FILTER_SLOT_VALUE": slot})
        poll_until(
            lambda: (
                self.props.state("number", SLOT) not in (PyIndi.IPS_BUSY, PyIndi.IPS_ALERT)
                and self._slot() == slot
            ),
            timeout_s,
            self.role,
            f"move to {name}",
            0.05,
        )
