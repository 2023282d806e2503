"""INDI adapters (pyindi-client) behind the orchestrator's device ports.

`make_device(kind, role, config, site)` is the entry point the registry calls; one module per
device type, one shared client per indiserver. The mapping from port members to INDI standard
properties is in MAPPING.md next to this file.
"""

from __future__ import annotations

import importlib
from typing import Any

from orchestrator.config import DeviceConfig, SiteConfig
from orchestrator.devices.errors import DeviceError

_MODULES = {
    "telescope": ("indi_bridge.telescope", "IndiTelescope"),
    "dome": ("indi_bridge.dome", "IndiDome"),
    "camera": ("indi_bridge.camera", "IndiCamera"),
    "filterwheel": ("indi_bridge.filterwheel", "IndiFilterWheel"),
    "focuser": ("indi_bridge.focuser", "IndiFocuser"),
}


def make_device(kind: str, role: str, config: DeviceConfig, site: SiteConfig) -> Any:
    if kind not in _MODULES:
        raise DeviceError(role, "configure", f"the INDI adapter has no {kind} port")
    module_name, class_name = _MODULES[kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(role, config, site)
