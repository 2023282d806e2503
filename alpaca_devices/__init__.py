"""ASCOM Alpaca adapters (alpyca) behind the orchestrator's device ports.

`make_device(kind, role, config, site)` is the one entry point the registry calls; there is
one module per device type. Addresses and device numbers come from `devices.<role>`.
"""

from __future__ import annotations

import importlib
from typing import Any

from orchestrator.config import DeviceConfig, SiteConfig

_MODULES = {
    "telescope": ("alpaca_devices.telescope", "AlpacaTelescope"),
    "dome": ("alpaca_devices.dome", "AlpacaDome"),
    "camera": ("alpaca_devices.camera", "AlpacaCamera"),
    "filterwheel": ("alpaca_devices.filterwheel", "AlpacaFilterWheel"),
    "focuser": ("alpaca_devices.focuser", "AlpacaFocuser"),
    "safetymonitor": ("alpaca_devices.safety", "AlpacaSafetyMonitor"),
    "observingconditions": ("alpaca_devices.safety", "AlpacaObservingConditions"),
}


def make_device(kind: str, role: str, config: DeviceConfig, site: SiteConfig) -> Any:
    module_name, class_name = _MODULES[kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(role, config, site)
